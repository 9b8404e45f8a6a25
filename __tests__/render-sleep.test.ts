/**
 * The host scripts of a roster that sleeps when idle, run against a scratch root with stubbed
 * docker and aws: a developer stopped by stop-containers.sh --developer (the sleeper) stays stopped
 * through any later apply.sh, until start-containers.sh (the wake) starts them; a roster without
 * `sleep` renders none of this.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { containerName, hostPaths } from "../src/naming";
import { renderHostFiles } from "../src/render";
import { callsOf, sandboxHosts, succeeded } from "./fixtures/host-sandbox";
import { BASE_DEVELOPERS } from "./fixtures/rosters";
import { editedFleet, defaultFleet } from "./helpers/fleet";

const fleet = editedFleet((roster) => {
  roster.sleep = { idleMinutes: 30 };
});
const host = sandboxHosts(fleet);
const [alice, bob] = fleet.developers;
const ups = (calls: readonly string[], name: string) =>
  callsOf({ calls } as never, "docker compose").filter((c) => / up /.test(c) && c.includes(containerName({ name })));

describe("a sleeping developer on the host", () => {
  const s = host();
  const marker = () => s.path(`${hostPaths(fleet).stateDir}/asleep/${alice.name}`);
  beforeAll(() => succeeded(s.run("scripts/apply.sh")));

  it("is marked asleep when the sleeper stops their container, and apply.sh leaves it stopped", () => {
    succeeded(s.run("scripts/stop-containers.sh", ["--developer", alice.name]));
    expect(existsSync(marker())).toBe(true);
    const apply = succeeded(s.run("scripts/apply.sh"));
    expect(ups(apply.calls, alice.name)).toEqual([]);
    expect(ups(apply.calls, bob.name).length).toBeGreaterThan(0);
    expect(apply.stdout + apply.stderr).toContain(`${containerName(alice)}: asleep, left stopped until it is woken`);
  });

  it("is started by start-containers.sh --developer, which clears the mark, so the next apply manages it again", () => {
    const start = succeeded(s.run("scripts/start-containers.sh", ["--developer", alice.name]));
    expect(ups(start.calls, alice.name).length).toBeGreaterThan(0);
    expect(existsSync(marker())).toBe(false);
    expect(ups(succeeded(s.run("scripts/apply.sh")).calls, alice.name).length).toBeGreaterThan(0);
  });

  it("all are marked when every container stops (the host's sleep), and all cleared when all start", () => {
    succeeded(s.run("scripts/stop-containers.sh"));
    for (const d of fleet.developers) expect(existsSync(s.path(`${hostPaths(fleet).stateDir}/asleep/${d.name}`))).toBe(true);
    succeeded(s.run("scripts/start-containers.sh"));
    for (const d of fleet.developers) expect(existsSync(s.path(`${hostPaths(fleet).stateDir}/asleep/${d.name}`))).toBe(false);
  });
});

describe("a sleeping developer behind the sign-in gate on the host", () => {
  const gated = editedFleet((roster) => {
    roster.sleep = { idleMinutes: 30 };
    roster.auth = { type: "oidc", issuer: "https://login.example.com", clientId: "code-server-fleet" };
    roster.developers = BASE_DEVELOPERS.map((d) => ({ ...d, email: `${d.name}@example.com` }));
  });
  const s = sandboxHosts(gated)();
  const [first, second] = gated.developers;
  const gate = (d: { name: string }) => `gate-${d.name}`;
  const stopped = (name: string) => existsSync(join(s.state, "stopped", name));
  const stub = (kind: string, name: string) => readFileSync(join(s.state, kind, name), "utf8").trim();
  beforeAll(() => succeeded(s.run("scripts/apply.sh")));

  it("sleeps with their gate: stop-containers.sh --developer stops both, and no other developer's", () => {
    succeeded(s.run("scripts/stop-containers.sh", ["--developer", first.name]));
    expect(stopped(containerName(first))).toBe(true);
    expect(stopped(gate(first))).toBe(true);
    expect(stopped(containerName(second))).toBe(false);
    expect(stopped(gate(second))).toBe(false);
    const apply = succeeded(s.run("scripts/apply.sh"));
    // Nothing of theirs is started by an apply while they sleep, their gate included.
    expect(callsOf(apply, "docker compose").filter((c) => / up /.test(c) && c.endsWith(gate(first)))).toEqual([]);
    expect(stopped(gate(first))).toBe(true);
  });

  it("wakes with it: the gate first, then code-server in the gate's new namespace, with nothing recreated", () => {
    const start = succeeded(s.run("scripts/start-containers.sh", ["--developer", first.name]));
    const started = callsOf(start, "docker compose")
      .filter((c) => / up /.test(c))
      .map((c) => c.split(" ").pop());
    expect(started).toEqual([gate(first), containerName(first)]);
    expect(callsOf(start, "docker compose").join("\n")).not.toContain("--force-recreate");
    expect(stopped(gate(first)) || stopped(containerName(first))).toBe(false);
    expect(stub("mode", containerName(first))).toBe(`container:id-${gate(first)}`);
    expect(Date.parse(stub("started", containerName(first)))).toBeGreaterThan(Date.parse(stub("started", gate(first))));
  });
});

describe("the host scripts of a roster that sleeps", () => {
  const hasShellcheck = spawnSync("shellcheck", ["--version"]).status === 0;
  (hasShellcheck || process.env.CI === "true" ? it : it.skip)("pass shellcheck, following sourced files (-x)", () => {
    const dir = mkdtempSync(join(tmpdir(), "sleep-scripts-"));
    try {
      mkdirSync(join(dir, "scripts"));
      const scripts = renderHostFiles(fleet).filter((f) => f.path.startsWith("scripts/"));
      for (const f of scripts) writeFileSync(join(dir, f.path), f.content, { mode: f.mode });
      const result = spawnSync("shellcheck", ["-x", "--severity=style", ...scripts.map((f) => join(dir, f.path))], { encoding: "utf8" });
      expect(result.stdout + result.stderr).toBe("");
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a roster without sleep", () => {
  it("renders no mark of sleep in the host scripts", () => {
    for (const file of renderHostFiles(defaultFleet()).filter((f) => f.path.startsWith("scripts/"))) {
      expect([file.path, /ASLEEP_DIR|activity\.sh|ACTIVE_METRIC/.test(file.content)]).toEqual([file.path, false]);
    }
  });
});
