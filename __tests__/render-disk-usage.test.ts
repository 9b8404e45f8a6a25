/**
 * publish-disk-usage.sh against a scratch root: each developer's directory as a share of the
 * data volume, in the container namespace with the Developer dimension, from `du -sx` (real) and
 * the volume's size (a stub df); nothing is published while the volume is not mounted. Its systemd
 * units run it every 15 minutes at idle CPU and I/O priority.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { DATA_MOUNT, hostPaths, metricNames } from "../src/naming";
import { renderHostFiles } from "../src/render";
import { HostSandbox, type RunResult } from "./fixtures/host-sandbox";
import { fleetOf } from "./fixtures/rosters";

const fleet = fleetOf();
const metrics = metricNames(fleet);
const MIB = 1024 * 1024;
const sandboxes: HostSandbox[] = [];
afterAll(() => sandboxes.forEach((s) => s.dispose()));

function host(mounted: boolean): HostSandbox {
  const s = new HostSandbox(fleet);
  sandboxes.push(s);
  if (mounted) {
    // What the mountpoint stub reads: the mount point's path with / as _.
    mkdirSync(s.stateFile("mounted"), { recursive: true });
    writeFileSync(s.stateFile("mounted", s.path(DATA_MOUNT).replace(/[/:]/g, "_")), "");
  }
  return s;
}
const calls = (run: RunResult, prefix: string) => run.calls.filter((c) => c.startsWith(prefix));

type Datum = { MetricName: string; Value: number; Unit: string; Dimensions: { Name: string; Value: string }[] };

describe("on a host whose data volume is mounted", () => {
  const s = host(true);
  // alice holds 10 MiB, bob an empty directory, carol has no directory yet.
  s.write(`${DATA_MOUNT}/alice/workspace/data.bin`, Buffer.alloc(10 * MIB, 1));
  mkdirSync(s.path(`${DATA_MOUNT}/bob`), { recursive: true });
  let run: RunResult;
  let data: Datum[];
  beforeAll(() => {
    run = s.run("scripts/publish-disk-usage.sh", [], { STUB_DF_SIZE: String(100 * MIB) });
    data = run.status === 0 ? (s.account.metricData<Datum>().pop()?.MetricData ?? []) : [];
  });

  it("publishes one datum per developer, in the container namespace, with the Developer dimension", () => {
    expect([run.status, run.stderr]).toEqual([0, ""]);
    expect(calls(run, "aws cloudwatch put-metric-data")).toEqual([expect.stringContaining(`--namespace ${metrics.containerNamespace} `)]);
    expect(data.map((d) => [d.MetricName, d.Unit, d.Dimensions])).toEqual(
      fleet.developers.map((d) => [metrics.dataVolumeSharePercent, "Percent", [{ Name: metrics.developerDimension, Value: d.name }]]),
    );
  });

  it("gives each directory's share of the volume, counted with du on the volume alone, to two decimals", () => {
    const share = Object.fromEntries(data.map((d) => [d.Dimensions[0].Value, d.Value]));
    // 10 MiB of 100 MiB, plus the directories' own blocks.
    expect(share.alice).toBeGreaterThanOrEqual(10);
    expect(share.alice).toBeLessThan(10.1);
    expect(share.bob).toBeLessThan(0.1);
    expect(share.carol).toBe(0);
    for (const value of Object.values(share)) expect(Math.round(value * 100)).toBe(value * 100);
    expect(calls(run, "df")).toEqual([`df -B1 --output=size ${s.path(DATA_MOUNT)}`]);
  });
});

describe("on a host whose data volume is not mounted (a restore in progress)", () => {
  it("publishes nothing, and says why", () => {
    const s = host(false);
    const run = s.run("scripts/publish-disk-usage.sh");
    expect(run.status).toBe(0);
    expect(run.stderr).toContain(`${DATA_MOUNT} is not mounted; no disk usage to publish`);
    expect(calls(run, "aws cloudwatch")).toEqual([]);
  });
});

describe("its systemd units", () => {
  const unit = (name: string) => renderHostFiles(fleet).find((f) => f.path === `systemd/${fleet.project}-${name}`)!.content;

  it("run it every 15 minutes, after boot, spread by a minute", () => {
    expect(unit("disk-usage.timer")).toMatch(/OnBootSec=5min\nOnUnitActiveSec=15min\nRandomizedDelaySec=60s[\s\S]*WantedBy=timers.target/);
  });

  it("at idle CPU and I/O priority, only with the data volume mounted, never longer than 14 minutes", () => {
    const service = unit("disk-usage.service");
    for (const line of [
      "Type=oneshot",
      "Nice=19",
      "CPUSchedulingPolicy=idle",
      "IOSchedulingClass=idle",
      "TimeoutStartSec=14min",
      `RequiresMountsFor=${DATA_MOUNT}`,
      `ExecStart=/bin/bash ${hostPaths(fleet).root}/scripts/publish-disk-usage.sh`,
    ]) {
      expect(service.split("\n")).toContain(line);
    }
  });
});
