/**
 * setup.sh against a scratch root with the system commands stubbed: it formats only a blank
 * device, never one with a filesystem, and a second run changes nothing.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { DATA_MOUNT, hostPaths } from "../src/naming";
import { HostSandbox, NITRO_DEVICE, type RunResult } from "./fixtures/host-sandbox";
import { fleetOf } from "./fixtures/rosters";

const fleet = fleetOf();
const sandboxes: HostSandbox[] = [];
const sandbox = () => {
  const s = new HostSandbox(fleet);
  sandboxes.push(s);
  return s;
};
afterAll(() => sandboxes.forEach((s) => s.dispose()));

const calls = (run: RunResult, command: string) => run.calls.filter((c) => c === command || c.startsWith(`${command} `));
const expectSuccess = (run: RunResult) => {
  if (run.status !== 0) throw new Error(`exit ${run.status}\n${run.stderr}`);
};

/** Every file under <root>/etc with its content and mtime. */
function etcSnapshot(s: HostSandbox): Map<string, string> {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  return new Map(walk(s.path("/etc")).map((f) => [f, `${statSync(f).mtimeMs} ${readFileSync(f, "utf8")}`]));
}

describe("setup.sh on a new, blank data volume", () => {
  const s = sandbox();
  s.attachBlankVolume();
  let first: RunResult;
  let second: RunResult;
  let etcAfterFirst: Map<string, string>;
  beforeAll(() => {
    first = s.run("scripts/setup.sh");
    etcAfterFirst = etcSnapshot(s);
    second = s.run("scripts/setup.sh");
  });

  it("formats the device found by its EBS volume id, once", () => {
    expectSuccess(first);
    expect(calls(first, "mkfs.ext4")).toEqual([`mkfs.ext4 -q -L ebs-data ${s.path(NITRO_DEVICE)}`]);
  });

  it("mounts it by UUID with nofail, recorded once in fstab", () => {
    const lines = s
      .read("/etc/fstab")
      .split("\n")
      .filter((l) => l.includes(DATA_MOUNT));
    expect(lines).toEqual([
      `UUID=0f3c6a4e-1111-2222-3333-444455556666 ${DATA_MOUNT} ext4 defaults,nofail,x-systemd.device-timeout=30s 0 2`,
    ]);
    expect(calls(first, "mount")).toEqual([`mount -t ext4 UUID=0f3c6a4e-1111-2222-3333-444455556666 ${s.path(DATA_MOUNT)}`]);
  });

  it("installs Docker from Docker's repository, the CloudWatch agent, argon2 and jq", () => {
    const installs = calls(first, "apt-get").filter((c) => c.includes(" install "));
    expect(installs.join("\n")).toMatch(/docker-ce .*docker-compose-plugin/);
    expect(installs.join("\n")).toMatch(/jq argon2/);
    expect(s.read("/etc/apt/sources.list.d/docker.list")).toContain("https://download.docker.com/linux/ubuntu jammy stable");
    expect(calls(first, "dpkg")).toHaveLength(1);
  });

  it("applies sysctl and daemon.json, and creates every developer's directories owned by 1000", () => {
    expect(calls(first, "sysctl")).toEqual([`sysctl -q -p ${s.path(`/etc/sysctl.d/90-${fleet.project}.conf`)}`]);
    expect(s.read("/etc/docker/daemon.json")).toContain('"max-size": "10m"');
    for (const d of fleet.developers) {
      for (const dir of ["workspace", "config"]) {
        const path = s.path(`${DATA_MOUNT}/${d.name}/${dir}`);
        expect(statSync(path).isDirectory()).toBe(true);
        expect(calls(first, "chown")).toContain(`chown 1000:1000 ${path}`);
      }
    }
  });

  it("installs the systemd units of both metrics timers and reloads systemd for them", () => {
    for (const unit of ["metrics.service", "metrics.timer", "disk-usage.service", "disk-usage.timer"]) {
      const name = `${fleet.project}-${unit}`;
      expect(s.read(`/etc/systemd/system/${name}`)).toBe(s.read(`${hostPaths(fleet).root}/systemd/${name}`));
    }
    expect(calls(first, "systemctl daemon-reload")).toHaveLength(1);
  });

  it("a second run installs nothing, formats nothing, appends nothing and rewrites no config", () => {
    expectSuccess(second);
    expect(calls(second, "mkfs.ext4")).toEqual([]);
    expect(calls(second, "apt-get")).toEqual([]);
    expect(calls(second, "dpkg")).toEqual([]);
    expect(calls(second, "curl")).toEqual([]);
    expect(calls(second, "sysctl")).toEqual([]);
    expect(calls(second, "mount")).toEqual([]);
    expect(calls(second, "systemctl").filter((c) => !c.startsWith("systemctl is-active"))).toEqual([]);
    expect(etcSnapshot(s)).toEqual(etcAfterFirst);
  });
});

describe("setup.sh on a volume that already holds a filesystem", () => {
  it("never formats it, and mounts it by its own UUID", () => {
    const s = sandbox();
    s.attachBlankVolume();
    s.recordFilesystem(NITRO_DEVICE, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "xfs");
    const run = s.run("scripts/setup.sh");
    expectSuccess(run);
    expect(calls(run, "mkfs.ext4")).toEqual([]);
    expect(s.read("/etc/fstab")).toContain(`UUID=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee ${DATA_MOUNT} xfs defaults,nofail`);
  });

  it("finds the Xen device name when there is no NVMe device for the volume id", () => {
    const s = sandbox();
    s.attachBlankVolume("/dev/xvdf");
    s.recordFilesystem("/dev/xvdf", "12345678-bbbb-cccc-dddd-eeeeeeeeeeee");
    const run = s.run("scripts/setup.sh");
    expectSuccess(run);
    expect(calls(run, "mkfs.ext4")).toEqual([]);
    expect(calls(run, "blkid")[0]).toBe(`blkid -p -o export ${s.path("/dev/xvdf")}`);
  });
});

describe("setup.sh where cloud-init never finishes", () => {
  it("stops waiting after CLOUD_INIT_WAIT_SECONDS, warns and completes (it holds the apply lock meanwhile)", () => {
    const s = sandbox();
    s.attachBlankVolume();
    const started = Date.now();
    const run = s.run("scripts/setup.sh", [], { STUB_CLOUD_INIT_HANGS: "1", CLOUD_INIT_WAIT_SECONDS: "1" });
    expectSuccess(run);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(run.stderr).toMatch(/WARNING: cloud-init did not finish within 1s; continuing without it/);
    expect(calls(run, "mount")).toHaveLength(1);
  });
});

describe("setup.sh refuses to format when in doubt", () => {
  it("does not format a device blkid finds empty but whose first MiB holds data", () => {
    const s = sandbox();
    s.write(NITRO_DEVICE, Buffer.alloc(1024 * 1024, 0x5a));
    const run = s.run("scripts/setup.sh");
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/refusing to format/);
    expect(calls(run, "mkfs.ext4")).toEqual([]);
    expect(s.read("/etc/fstab")).not.toContain(DATA_MOUNT);
  });

  it("does not format when blkid fails to probe the device", () => {
    const s = sandbox();
    s.attachBlankVolume();
    const run = s.run("scripts/setup.sh", [], { STUB_BLKID_EXIT: "4" });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/blkid could not probe/);
    expect(calls(run, "mkfs.ext4")).toEqual([]);
  });

  it("stops with a clear error when the data volume never appears", () => {
    const s = sandbox();
    const run = s.run("scripts/setup.sh");
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/data volume vol-0123456789abcdef0 did not appear within 1s/);
    expect(calls(run, "mkfs.ext4")).toEqual([]);
  });
});
