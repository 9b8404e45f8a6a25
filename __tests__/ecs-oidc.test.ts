/**
 * Sign-in through the company's OpenID provider on ECS: in each developer's task the gate takes
 * the port the load balancer targets and code-server moves behind it, on loopback, without its own
 * password; the gate is copied from the fleet's private bucket when the task starts, and its two
 * secrets (the client secret and the developer's cookie key) reach it by ARN, never as values.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { synthInto } from "../src/app";
import { exportDeployment } from "../src/export/deployment";
import { parseRoster, type Fleet } from "../src/roster";
import type { ProviderBlock } from "../src/terraform/plan-json";
import { ecsOidcRosterText } from "./helpers/ecs-oidc";
import { PROJECT_ROOT } from "./helpers/fleet";
import { only, resources, synthStack } from "./helpers/synth";

const fleet: Fleet = parseRoster(ecsOidcRosterText());
const config = synthStack(fleet);
const ref = (type: string, id: string, attribute: string) => `\${${type}.${id}.${attribute}}`;
const secretId = (name: string) => resources(config, "aws_secretsmanager_secret").find(([, s]) => s.name === name)![0];
const containersOf = (developer: string): Map<string, ProviderBlock> => {
  const task = resources(config, "aws_ecs_task_definition").find(([, t]) => t.family === `code-server-dev-${developer}`)![1];
  return new Map((JSON.parse(task.container_definitions as string) as ProviderBlock[]).map((c) => [c.name as string, c]));
};

describe("a developer's task with oidc sign-in", () => {
  const containers = containersOf("dev1");
  const gate = containers.get("gate")!;
  const codeServer = containers.get("code-server")!;

  it("runs code-server on loopback behind the gate with --auth none, given no password", () => {
    expect(codeServer.command).toEqual(["--bind-addr", "127.0.0.1:8081", "--auth", "none", "/home/coder/workspace"]);
    expect(codeServer.portMappings).toBeUndefined();
    expect((codeServer.secrets as ProviderBlock[]).map((s) => s.name)).toEqual(["ANTHROPIC_API_KEY", "CLAUDE_API_KEY"]);
    expect(codeServer.healthCheck.command).toEqual(["CMD-SHELL", "curl -fsS -o /dev/null http://localhost:8081/healthz || exit 1"]);
  });

  it("serves the load balancer from the gate on code-server's old port, the only port the task maps", () => {
    expect(gate.portMappings).toEqual([{ containerPort: 8080, hostPort: 8080, protocol: "tcp" }]);
    const service = resources(config, "aws_ecs_service").find(([, s]) => s.name === "dev1")![1];
    expect(service.load_balancer).toEqual([expect.objectContaining({ container_name: "gate", container_port: 8080 })]);
    const mapped = [...containers.values()].filter((c) => c.portMappings);
    expect(mapped.map((c) => c.name)).toEqual(["gate"]);
  });

  it("makes the gate's port privileged in the task and gives the bind capability to the gate alone", () => {
    for (const container of containers.values()) {
      expect([container.name, container.systemControls]).toEqual([
        container.name,
        [{ namespace: "net.ipv4.ip_unprivileged_port_start", value: "8081" }],
      ]);
    }
    for (const name of ["code-server", "prepare-home", "gate-fetch"]) {
      expect([name, containers.get(name)!.linuxParameters.capabilities]).toEqual([name, { add: [], drop: ["ALL"] }]);
    }
    // Fargate adds no capability but SYS_PTRACE: the gate keeps NET_BIND_SERVICE by dropping every other default.
    const dropped = gate.linuxParameters.capabilities.drop as string[];
    expect(dropped).not.toContain("NET_BIND_SERVICE");
    expect(dropped).toEqual(expect.arrayContaining(["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID", "NET_RAW", "SETPCAP"]));
    expect(gate).toMatchObject({ readonlyRootFilesystem: true, essential: true, entryPoint: ["node"], command: ["/gate/gate.js"] });
  });

  it("gets the client secret and the developer's own cookie key by ARN, and the rest of its configuration as JSON", () => {
    expect(gate.secrets).toEqual([
      { name: "GATE_CLIENT_SECRET", valueFrom: ref("aws_secretsmanager_secret", secretId("code-server/dev/oidc-client-secret"), "arn") },
      { name: "GATE_COOKIE_KEY", valueFrom: ref("aws_secretsmanager_secret", secretId("code-server/dev/dev1/gate-cookie-key"), "arn") },
    ]);
    const json = (gate.environment as ProviderBlock[]).find((e) => e.name === "GATE_CONFIG_JSON")!.value as string;
    expect(JSON.parse(json)).toEqual({
      issuer: "https://login.example.com",
      clientId: "code-server-fleet",
      clientSecretEnv: "GATE_CLIENT_SECRET",
      cookieKeyEnv: "GATE_COOKIE_KEY",
      publicUrl: "https://dev1.dev.example.com",
      identity: { email: "dev1@example.com" },
      upstream: "http://127.0.0.1:8081",
      listenPort: 8080,
      maxSessionSeconds: 36000,
    });
  });

  it("starts the gate once its bundle is copied from the fleet's bucket into a volume it reads only", () => {
    const fetch = containers.get("gate-fetch")!;
    expect(fetch).toMatchObject({ essential: false, readonlyRootFilesystem: true });
    expect(fetch.command.slice(0, 3)).toEqual(["s3", "cp", "--only-show-errors"]);
    const object = only(config, "aws_s3_object");
    expect(fetch.command[3]).toBe(`s3://${object.bucket as string}/${object.key as string}`);
    expect(gate.dependsOn).toEqual([{ containerName: "gate-fetch", condition: "SUCCESS" }]);
    expect(gate.mountPoints).toEqual([{ sourceVolume: "gate", containerPath: "/gate", readOnly: true }]);
  });
});

describe("the gate's secrets on ECS", () => {
  it("are created empty: the cookie keys generated before the first task starts, the client secret a placeholder an operator replaces", () => {
    const input = only(config, "aws_lambda_invocation").input as string;
    for (const developer of fleet.developers) {
      expect(input).toMatch(new RegExp(`"keyArns":\\[[^\\]]*${secretId(`code-server/dev/${developer.name}/gate-cookie-key`)}\\.arn`));
    }
    expect(input).toMatch(new RegExp(`"placeholderArns":\\[[^\\]]*${secretId("code-server/dev/oidc-client-secret")}\\.arn`));
    expect(resources(config, "aws_secretsmanager_secret_version")).toEqual([]);
  });

  it("reach the initializer as the text jsonencode() made of them: compact, keys sorted (a changed input would run it again)", () => {
    const input = only(config, "aws_lambda_invocation").input as string;
    const lists = JSON.parse(input) as Record<string, string[]>;
    expect(Object.keys(lists)).toEqual(["keyArns", "placeholderArns", "secretArns"]);
    expect(input).toBe(JSON.stringify(lists));
  });

  it("let each task role read nothing of the gate but the one bundle", () => {
    const object = only(config, "aws_s3_object");
    // The developers' roles: the maintenance task's reads the archive's migration prefix, never the gate.
    const developerPolicies = resources(config, "aws_iam_role_policy").filter(([, p]) => !String(p.role).includes("ecs_maintenance_role"));
    const policies = JSON.stringify(developerPolicies.map(([, p]) => p.policy));
    const count = (text: string) => policies.split(text).length - 1;
    // One read per developer's role, of `<bucket ARN>/<the bundle's key>` alone.
    expect(count("s3:GetObject")).toBe(fleet.developers.length);
    expect(count("ecs_gate-files_bucket_bucket.arn}/${aws_s3_object.ecs_gate-files_gate-bundle.key}")).toBe(fleet.developers.length);
    expect(object.key).toMatch(/^gate\/gate-[0-9a-f]{16}\.js$/);
  });
});

describe("the gate's bundle", () => {
  const out = mkdtempSync(join(tmpdir(), "synth-oidc-"));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it("is written beside the configuration and into the export, where the bucket object's source names it", async () => {
    const { stack, stackDir } = synthInto(fleet, join(out, "cdktf.out"));
    const written = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8")) as typeof config;
    const source = only(written, "aws_s3_object").source as string;
    expect(source).toMatch(/^assets\/gate-[0-9a-f]{16}\.js$/);
    expect(readFileSync(join(stackDir, source), "utf8")).toContain("oauth2");
    await exportDeployment(stack, join(out, "deployment"), { projectRoot: PROJECT_ROOT });
    expect(existsSync(join(out, "deployment", "terraform", source))).toBe(true);
    expect(readdirSync(join(out, "deployment", "terraform", "assets")).filter((f) => f.startsWith("gate-"))).toHaveLength(1);
  });
});
