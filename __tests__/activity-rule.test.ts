/**
 * The idle rule of sleep when idle, as the host runs it (scripts/activity.sh, sourced by
 * publish-metrics.sh): a developer is active in a minute when code-server's heartbeat is fresh, a
 * connection to code-server has lasted since the previous sample, or their container used 5 % of a
 * vCPU. Its edges: a forgotten open tab, a background job after the tab closed, a heartbeat that
 * stops updating while a tab stays open, and an environment nobody uses.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderHostFiles } from "../src/render";
import { defaultFleet, editedFleet } from "./helpers/fleet";

const fleet = editedFleet((roster) => {
  roster.sleep = { idleMinutes: 30 };
});
const files = renderHostFiles(fleet);
const activity = files.find((f) => f.path === "scripts/activity.sh")!;
const dir = mkdtempSync(join(tmpdir(), "activity-"));
const script = join(dir, "activity.sh");
writeFileSync(script, activity.content);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs one of activity.sh's functions with `args`; its output. */
function call(fn: string, ...args: (string | number)[]): string {
  const run = spawnSync("bash", ["-c", `set -euo pipefail; source "$0"; ${fn} "$@"`, script, ...args.map(String)], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`${fn} failed: ${run.stderr}`);
  return run.stdout.trim();
}

const NOW = 1_800_000_000;
const healthz = (status: "alive" | "expired", secondsAgo: number) => JSON.stringify({ status, lastHeartbeat: (NOW - secondsAgo) * 1000 });
const active = (json: string, held: number, cpuTenths: number) => call("active_of", json, NOW, held, cpuTenths);

describe("the idle rule", () => {
  it("a forgotten open tab keeps the developer active: its websocket keeps code-server's heartbeat alive", () => {
    expect(active(healthz("alive", 20), 0, 0)).toBe("1");
  });

  it("a heartbeat that stopped updating while a tab stays open: the connection held since the last sample counts", () => {
    expect(active(healthz("expired", 3600), 1, 0)).toBe("1");
    expect(active(healthz("expired", 3600), 0, 0)).toBe("0");
  });

  it("a background job after the tab closed: the container's CPU counts, from 5 % of one vCPU over the minute", () => {
    expect(active(healthz("expired", 3600), 0, 800)).toBe("1");
    expect(active(healthz("expired", 3600), 0, 50)).toBe("1");
    expect(active(healthz("expired", 3600), 0, 49)).toBe("0");
  });

  it("a heartbeat counts for 90 seconds, code-server's own minute and a late sample's margin", () => {
    expect(active(healthz("expired", 89), 0, 0)).toBe("1");
    expect(active(healthz("expired", 91), 0, 0)).toBe("0");
  });

  it("code-server that does not answer, or answers nonsense, says nothing: the other signals decide", () => {
    for (const json of ["", "not json", "{}", '{"lastHeartbeat":"soon"}']) {
      expect([json, active(json, 0, 0)]).toEqual([json, "0"]);
      expect([json, active(json, 0, 60)]).toEqual([json, "1"]);
    }
  });
});

describe("what the rule is fed", () => {
  it("counts only the connections the previous sample already had: a health check never lasts a minute", () => {
    const file = join(dir, "c1.connections");
    expect(call("held_connections", file, "10.0.1.5:8080 10.0.0.9:41000")).toBe("0");
    expect(call("held_connections", file, "10.0.1.5:8080 10.0.0.9:41000\n10.0.1.5:8080 10.0.0.7:52000")).toBe("1");
    expect(call("held_connections", file, "10.0.1.5:8080 10.0.0.8:53000")).toBe("0");
    expect(call("held_connections", file, "")).toBe("0");
    expect(readFileSync(file, "utf8")).toBe("\n");
  });

  it("turns the container's CPU time into tenths of a percent of one vCPU since the previous sample", () => {
    const file = join(dir, "c1.cpu");
    expect(call("cpu_tenths_since", file, 1_000_000, 60_000_000)).toBe("0");
    expect(call("cpu_tenths_since", file, 4_000_000, 120_000_000)).toBe("50");
    // A recreated container starts its count again: no negative use.
    expect(call("cpu_tenths_since", file, 10, 180_000_000)).toBe("0");
  });
});

describe("rendering", () => {
  it("renders activity.sh and publishes Active only for a roster that sleeps", () => {
    const plain = renderHostFiles(defaultFleet());
    expect(plain.map((f) => f.path)).not.toContain("scripts/activity.sh");
    expect(plain.find((f) => f.path === "scripts/publish-metrics.sh")!.content).not.toMatch(/activity|Active/);
    const publish = files.find((f) => f.path === "scripts/publish-metrics.sh")!.content;
    expect(publish).toContain('source "$(dirname "${BASH_SOURCE[0]}")/activity.sh"');
    expect(publish).toContain("ACTIVE_METRIC='Active'");
  });
});
