/**
 * apply.sh with oidc sign-in, against a scratch root with stubbed docker: each developer's gate
 * gets a root-only directory with its configuration and two 0600 secrets (the client secret, or
 * the placeholder until an operator stores it; a cookie key generated into Secrets Manager), no
 * password is made, the gate starts before the code-server that joins its network, a gate that
 * restarted gets its code-server recreated into its new namespace, and switching between password
 * and oidc moves each code-server behind the gate or out from it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { hostPaths, oidcClientSecretName, secretName } from "../src/naming";
import { SECRET_PLACEHOLDER } from "../src/secret-placeholder";
import { callsOf, sandboxHosts, succeeded as ok, type HostSandbox, type RunResult } from "./fixtures/host-sandbox";
import { BASE_DEVELOPERS, fleetOf } from "./fixtures/rosters";
import { editedFleet } from "./helpers/fleet";

const AUTH = { type: "oidc", issuer: "https://login.example.com", clientId: "code-server-fleet" };
const oidcFleet = editedFleet((roster) => {
  roster.auth = AUTH;
  roster.developers = BASE_DEVELOPERS.map((d) => ({ ...d, email: `${d.name}@example.com` }));
});
const passwordFleet = fleetOf();
const CLIENT_SECRET = "client-secret-from-the-provider-0123456789";
const host = sandboxHosts(oidcFleet);
const gateDir = (name: string) => `${hostPaths(oidcFleet).gateDir}/${name}`;
const mode = (s: HostSandbox, hostPath: string) => statSync(s.path(hostPath)).mode & 0o777;
/** The services `compose up` was asked for, in order, with "!" after those force-recreated. */
const ups = (run: RunResult) =>
  callsOf(run, "docker compose").flatMap((c) => {
    const words = c.split(" ");
    if (!words.includes("up")) return [];
    return [`${words[words.length - 1]}${words.includes("--force-recreate") ? "!" : ""}`];
  });

describe("apply.sh on a new host with oidc sign-in", () => {
  const s = host();
  let first: RunResult;
  let second: RunResult;
  beforeAll(() => {
    first = s.run("scripts/apply.sh");
    second = s.run("scripts/apply.sh");
  });

  it("writes each gate's configuration and secrets into a root-only directory, 0600, the configuration as rendered", () => {
    ok(first);
    expect(mode(s, hostPaths(oidcFleet).gateDir)).toBe(0o700);
    for (const d of oidcFleet.developers) {
      expect(mode(s, gateDir(d.name))).toBe(0o700);
      expect(mode(s, `${gateDir(d.name)}/client-secret`)).toBe(0o600);
      expect(mode(s, `${gateDir(d.name)}/cookie-key`)).toBe(0o600);
      expect(s.read(`${gateDir(d.name)}/config.json`)).toBe(s.read(`${hostPaths(oidcFleet).root}/gate/${d.name}.json`));
    }
  });

  it("writes the placeholder while no client secret is stored, and says what the operator must run", () => {
    expect(s.read(`${gateDir("alice")}/client-secret`).trim()).toBe(SECRET_PLACEHOLDER);
    expect(first.stderr).toContain("scripts/set-oidc-client-secret.sh");
  });

  it("generates each developer's own cookie key into Secrets Manager through a file, never argv", () => {
    const keys = oidcFleet.developers.map((d) => s.account.secretValue(secretName(oidcFleet, d, "gate-cookie-key"))!);
    expect(new Set(keys).size).toBe(keys.length);
    oidcFleet.developers.forEach((d, i) => {
      expect(Buffer.from(keys[i], "base64")).toHaveLength(32);
      expect(s.read(`${gateDir(d.name)}/cookie-key`).trim()).toBe(keys[i]);
      expect(first.calls.join("\n")).not.toContain(keys[i]);
    });
    const puts = callsOf(first, "aws secretsmanager put-secret-value");
    expect(puts.every((c) => / --secret-string file:\/\//.test(c))).toBe(true);
  });

  it("makes no password: code-server has none, and the env files hold no hash", () => {
    for (const d of oidcFleet.developers) {
      expect(s.account.secretValue(secretName(oidcFleet, d, "password"))).toBeUndefined();
      expect(s.read(`${hostPaths(oidcFleet).secretsDir}/${d.name}.env`)).not.toContain("HASHED_PASSWORD");
    }
  });

  it("starts each developer's gate before the code-server that joins its network", () => {
    expect(ups(first)).toEqual(oidcFleet.developers.flatMap((d) => [`gate-${d.name}`, `code-server-${d.name}`]));
  });

  it("recreates nothing on a second run", () => {
    ok(second);
    expect(ups(second).filter((u) => u.endsWith("!"))).toEqual([]);
    expect(callsOf(second, "aws secretsmanager put-secret-value")).toEqual([]);
  });
});

describe("apply.sh after the operator stores the client secret", () => {
  const s = host();
  let applied: RunResult;
  beforeAll(() => {
    ok(s.run("scripts/apply.sh"));
    s.setSecret(oidcClientSecretName(oidcFleet), CLIENT_SECRET);
    applied = s.run("scripts/apply.sh");
  });

  it("gives every gate the secret, and recreates each gate and then its code-server", () => {
    ok(applied);
    for (const d of oidcFleet.developers) expect(s.read(`${gateDir(d.name)}/client-secret`).trim()).toBe(CLIENT_SECRET);
    expect(ups(applied)).toEqual(oidcFleet.developers.flatMap((d) => [`gate-${d.name}!`, `code-server-${d.name}!`]));
    expect(applied.calls.join("\n") + applied.stderr).not.toContain(CLIENT_SECRET);
  });

  it("keeps the client secret and every cookie key in the gates' directories only, nowhere else on the host", () => {
    const values = [CLIENT_SECRET, ...oidcFleet.developers.map((d) => s.account.secretValue(secretName(oidcFleet, d, "gate-cookie-key"))!)];
    for (const value of values) {
      const found = spawnSync("grep", ["-rlF", "--", value, s.root], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
      expect(found.length).toBeGreaterThan(0);
      expect(found.filter((path) => !path.startsWith(s.path(`${hostPaths(oidcFleet).gateDir}/`)))).toEqual([]);
    }
  });
});

describe("apply.sh after a gate restarted on its own", () => {
  const s = host();
  let applied: RunResult;
  beforeAll(() => {
    ok(s.run("scripts/apply.sh"));
    // dockerd restarted gate-bob (its restart policy): a start later than its code-server's.
    writeFileSync(s.stateFile("started", "gate-bob"), "2030-01-01T00:00:00.000000000Z\n");
    applied = s.run("scripts/apply.sh");
  });

  it("recreates that developer's code-server into the gate's new namespace, and nothing else", () => {
    ok(applied);
    expect(ups(applied).filter((u) => u.endsWith("!"))).toEqual(["code-server-bob!"]);
    expect(applied.stderr).toContain("code-server-bob: recreating it in the network of gate-bob");
  });
});

describe("switching a host between password and oidc sign-in", () => {
  const s = host(passwordFleet);
  let toOidc: RunResult;
  let back: RunResult;
  beforeAll(() => {
    ok(s.run("scripts/apply.sh"));
    s.installHostFiles(oidcFleet);
    toOidc = s.run("scripts/apply.sh");
    s.installHostFiles(passwordFleet);
    back = s.run("scripts/apply.sh");
  });

  it("to oidc: removes each code-server that holds its port, starts the gate, then code-server behind it", () => {
    ok(toOidc);
    const removals = callsOf(toOidc, "docker rm --force");
    expect(removals).toEqual(oidcFleet.developers.map((d) => `docker rm --force code-server-${d.name}`));
    expect(ups(toOidc)).toEqual(oidcFleet.developers.flatMap((d) => [`gate-${d.name}`, `code-server-${d.name}`]));
  });

  it("back to password: removes the gates and their directories (the secrets with them), and hashes passwords again", () => {
    ok(back);
    for (const d of passwordFleet.developers) {
      expect(back.calls).toContain(`docker rm id-gate-${d.name}`);
      expect(s.read(`${hostPaths(passwordFleet).secretsDir}/${d.name}.env`)).toMatch(/^HASHED_PASSWORD='\$argon2id\$/m);
    }
    expect(existsSync(s.path(hostPaths(passwordFleet).gateDir))).toBe(false);
    expect(back.stderr).toContain("stopping and removing gate-alice: developers sign in with code-server's password again, without a gate");
    expect(back.stderr).not.toContain("its developer left the roster");
    // The code-servers stay in the roster: compose recreates them with their own network again.
    expect(back.calls.some((c) => c.startsWith("docker rm id-code-server"))).toBe(false);
  });

  it("removes a departed developer's gate directory with the developer", () => {
    const t = host();
    ok(t.run("scripts/apply.sh"));
    const remaining = editedFleet((roster) => {
      roster.auth = AUTH;
      roster.developers = BASE_DEVELOPERS.filter((d) => d.name !== "carol").map((d) => ({ ...d, email: `${d.name}@example.com` }));
    });
    t.installHostFiles(remaining);
    ok(t.run("scripts/apply.sh"));
    expect(existsSync(t.path(gateDir("carol")))).toBe(false);
    expect(existsSync(t.path(gateDir("alice")))).toBe(true);
    expect(readFileSync(t.path(`${gateDir("alice")}/cookie-key`), "utf8").trim()).not.toBe("");
  });
});
