/**
 * Sign-in through the company's OpenID provider on the host: each developer's gate owns their
 * network (the published port, the bridge the isolation rules match) with the gate's port
 * privileged in it, and their code-server joins it, on loopback, with --auth none. The gate's
 * bundle reaches the host as a host file, checked against the manifest like the others; its
 * configuration names its secrets as files and holds none.
 */
import { parse } from "yaml";
import { gateFile } from "../src/identity/gate-bundle";
import { HOST_FILES_MANIFEST, HOST_FILES_MODES } from "../src/naming";
import { renderHostFiles } from "../src/render";
import { parseRoster, type Fleet } from "../src/roster";
import { withOidc } from "./helpers/ecs-oidc";
import { DEFAULT_ROSTER_TEXT } from "./helpers/fleet";
import { offlineSynthesis } from "./helpers/offline-synthesis";
import { resources, synthStack } from "./helpers/synth";
import { changesOf, plannedByAddress, type PlanJson, terraformOrSkip, validatedPlan } from "./helpers/terraform";

const fleet: Fleet = parseRoster(withOidc(DEFAULT_ROSTER_TEXT));
const files = renderHostFiles(fleet);
const fileText = (path: string) => files.find((f) => f.path === path)!.content;
type Service = Record<string, unknown> & { volumes?: { source: string; target: string; read_only?: boolean }[] };
const services = (parse(fileText("docker/docker-compose.yml")) as { services: Record<string, Service> }).services;

describe("the host's compose file with oidc sign-in", () => {
  const gate = services["gate-dev1"];
  const codeServer = services["code-server-dev1"];

  it("gives each developer a gate that owns their published port and their bridge network", () => {
    for (const d of fleet.developers) {
      expect(services[`gate-${d.name}`]).toMatchObject({ ports: [`${d.port}:8080`], networks: [`net-${d.name}`] });
      expect(services[`code-server-${d.name}`]).toMatchObject({ network_mode: `service:gate-${d.name}` });
      expect(services[`code-server-${d.name}`].ports).toBeUndefined();
      expect(services[`code-server-${d.name}`].networks).toBeUndefined();
    }
  });

  it("runs code-server on loopback above the privileged ports, with --auth none", () => {
    expect(codeServer.command).toEqual(["--bind-addr", "127.0.0.1:8081", "--auth", "none", "/home/coder/workspace"]);
    expect(gate.sysctls).toEqual({ "net.ipv4.ip_unprivileged_port_start": "8081" });
    expect((codeServer.healthcheck as { test: string[] }).test.join(" ")).toContain("http://localhost:8081/healthz");
    const config = fileText("config/dev1/config.yaml.tmpl");
    expect(config).toMatch(/^bind-addr: 127\.0\.0\.1:8081$/m);
    expect(config).toMatch(/^auth: none$/m);
  });

  it("gives the bind capability to the gate alone, read-only, without new privileges", () => {
    expect(gate).toMatchObject({
      user: "0:0",
      read_only: true,
      cap_drop: ["ALL"],
      cap_add: ["NET_BIND_SERVICE"],
      security_opt: ["no-new-privileges:true"],
      image: "node:24.22.3-trixie-slim",
      command: ["node", "/opt/gate/gate.js", "--config", "/run/gate/config.json"],
    });
    expect(codeServer).toMatchObject({ cap_drop: ["ALL"], security_opt: ["no-new-privileges:true"], user: "1000:1000" });
    expect(codeServer.cap_add).toBeUndefined();
  });

  it("mounts the bundle and the developer's own gate directory read-only, nothing else", () => {
    expect(gate.volumes).toEqual([
      expect.objectContaining({ source: "${ROOT_PREFIX:-}/opt/code-server/gate/gate.js", target: "/opt/gate/gate.js", read_only: true }),
      expect.objectContaining({ source: "${ROOT_PREFIX:-}/etc/code-server/gate/dev1", target: "/run/gate", read_only: true }),
    ]);
  });
});

describe("the gate's configuration on the host", () => {
  it("binds each developer's URL to their identity and names the two secrets as files in its directory", () => {
    for (const d of fleet.developers) {
      expect(JSON.parse(fileText(`gate/${d.name}.json`))).toEqual({
        issuer: "https://login.example.com",
        clientId: "code-server-fleet",
        clientSecretFile: "/run/gate/client-secret",
        cookieKeyFile: "/run/gate/cookie-key",
        publicUrl: `https://${d.hostname}`,
        identity: { email: `${d.name}@example.com` },
        upstream: "http://127.0.0.1:8081",
        listenPort: 8080,
        maxSessionSeconds: 36000,
      });
    }
  });
});

describe("the gate's bundle among the host files", () => {
  const config = synthStack(fleet);
  const bundle = gateFile();
  const objects = resources(config, "aws_s3_object");
  const objectAt = (key: string) => objects.find(([, o]) => o.key === key)?.[1];

  it("is uploaded from its file beside the configuration, not inlined", () => {
    expect(objectAt("host-files/gate/gate.js")).toMatchObject({ source: bundle.path, source_hash: bundle.sha256Hex });
    expect(objectAt("host-files/gate/gate.js")!.content).toBeUndefined();
  });

  it("is in the manifest with its sha256 and in the modes list, so the host installs it only when it matches", () => {
    const manifest = objectAt(`host-files/${HOST_FILES_MANIFEST}`)!.content as string;
    expect(manifest).toContain(`${bundle.sha256Hex}  gate/gate.js\n`);
    expect(objectAt(`host-files/${HOST_FILES_MODES}`)!.content).toContain("0644 gate/gate.js\n");
  });

  it("lets the host role generate the gates' cookie keys, and write no other secret than those and passwords", () => {
    const policies = resources(config, "aws_iam_role_policy").map(([, p]) => String(p.policy));
    const secrets = policies.find((p) => p.includes("FillMissingPasswords"))!;
    expect(secrets).toContain("*/gate-cookie-key-??????");
    expect(secrets).toContain("*/password-??????");
    expect(secrets).not.toContain("oidc-client-secret");
  });
});

describe("a fleet with code-server's password", () => {
  const passwordFiles = renderHostFiles(parseRoster(DEFAULT_ROSTER_TEXT));
  const compose = parse(passwordFiles.find((f) => f.path === "docker/docker-compose.yml")!.content) as {
    services: Record<string, Service>;
  };

  it("runs no gate, and code-server keeps its port and its password", () => {
    expect(Object.keys(compose.services).some((name) => name.startsWith("gate-"))).toBe(false);
    expect(compose.services["code-server-dev1"].command).toEqual([
      "--bind-addr",
      "0.0.0.0:8080",
      "--auth",
      "password",
      "/home/coder/workspace",
    ]);
    expect(passwordFiles.some((f) => f.path.startsWith("gate/"))).toBe(false);
  });
});

const terraform = terraformOrSkip();
(terraform ? describe : describe.skip)("offline terraform of a host roster with oidc sign-in", () => {
  const synthesis = offlineSynthesis(terraform!, () => fleet);
  let jsonPlan: PlanJson;

  it("validates and plans the synthesized JSON offline, only creating, the bundle among the host files", () => {
    jsonPlan = validatedPlan(synthesis.json, { varFile: "test.tfvars" });
    expect(new Set(changesOf(jsonPlan).map((r) => r.change.actions.join(",")))).toEqual(new Set(["create"]));
    const keys = changesOf(jsonPlan)
      .filter((r) => r.type === "aws_s3_object")
      .map((r) => (r.change.after as { key: string }).key);
    expect(keys).toContain("host-files/gate/gate.js");
  });

  it("exports HCL that validates and plans exactly like the JSON", () => {
    expect(plannedByAddress(validatedPlan(synthesis.hcl, { varFile: "test.tfvars" }))).toEqual(plannedByAddress(jsonPlan));
  });
});
