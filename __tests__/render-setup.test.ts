/**
 * setup.sh against a scratch root with the system commands stubbed: it formats only a blank
 * device, never one with a filesystem, mounts the data volume by its EBS volume id (never a copy
 * of it) with nosuid and nodev, loads the isolation rules before dockerd can start (and starts no
 * dockerd when they cannot be loaded), trusts only Docker's pinned key, installs the AWS CLI only
 * from signed sources, and a second run changes nothing.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DATA_MOUNT, DEVELOPER_BRIDGE_PREFIX, hostPaths, isolationChains } from "../src/naming";
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

  it("mounts it by the device name that carries its EBS volume id, with nosuid, nodev and nofail, recorded once in fstab", () => {
    const lines = s
      .read("/etc/fstab")
      .split("\n")
      .filter((l) => l.includes(DATA_MOUNT));
    expect(lines).toEqual([`${NITRO_DEVICE} ${DATA_MOUNT} ext4 defaults,nosuid,nodev,nofail,x-systemd.device-timeout=30s 0 2`]);
    expect(calls(first, "mount")).toEqual([`mount -t ext4 -o nosuid,nodev ${s.path(NITRO_DEVICE)} ${s.path(DATA_MOUNT)}`]);
  });

  it("installs Docker from Docker's repository, the CloudWatch agent, argon2 and jq", () => {
    const installs = calls(first, "apt-get").filter((c) => c.includes(" install "));
    expect(installs.join("\n")).toMatch(/docker-ce .*docker-compose-plugin/);
    expect(installs.join("\n")).toMatch(/jq argon2/);
    expect(s.read("/etc/apt/sources.list.d/docker.list")).toContain("https://download.docker.com/linux/ubuntu jammy stable");
    expect(calls(first, "dpkg")).toHaveLength(1);
  });

  it("applies sysctl and daemon.json, and leaves the developers' directories to apply.sh", () => {
    expect(calls(first, "sysctl")).toEqual([`sysctl -q -p ${s.path(`/etc/sysctl.d/90-${fleet.project}.conf`)}`]);
    expect(s.read("/etc/docker/daemon.json")).toContain('"max-size": "10m"');
    expect(readdirSync(s.path(DATA_MOUNT))).toEqual([]);
    expect(calls(first, "chown")).toEqual([]);
  });

  it("loads the isolation rules, jumped to first from INPUT and DOCKER-USER, and installs their unit", () => {
    const chains = isolationChains(fleet);
    const rules = readFileSync(s.stateFile("iptables-restore.rules"), "utf8");
    expect(calls(first, "iptables-restore")).toEqual(["iptables-restore --wait 30 --noflush"]);
    expect(rules).toMatch(new RegExp(`^\\*filter\n:${chains.forward} - \\[0:0\\]\n:${chains.input} - \\[0:0\\]\n`));
    expect(rules).toContain(`-A ${chains.input} -i ${DEVELOPER_BRIDGE_PREFIX}+ -p tcp -j REJECT --reject-with tcp-reset\n`);
    expect(rules).toContain(`-A ${chains.forward} -i ${DEVELOPER_BRIDGE_PREFIX}+ -o ${DEVELOPER_BRIDGE_PREFIX}+ -p tcp -j REJECT`);
    expect(rules.trimEnd().endsWith("COMMIT")).toBe(true);
    expect(calls(first, "iptables").filter((c) => / -I /.test(c))).toEqual([
      `iptables --wait 30 -I INPUT 1 -j ${chains.input}`,
      `iptables --wait 30 -I DOCKER-USER 1 -j ${chains.forward}`,
    ]);
    expect(calls(first, "iptables")).toContain("iptables --wait 30 -N DOCKER-USER");
    const unit = `${fleet.project}-isolation.service`;
    expect(s.read(`/etc/systemd/system/${unit}`)).toContain(`ExecStart=/bin/bash ${hostPaths(fleet).root}/scripts/isolate-developers.sh`);
  });

  it("installs the drop-in by which docker.service requires the isolation unit, and loads the rules before installing Docker", () => {
    const dropIn = s.read(`/etc/systemd/system/docker.service.d/${fleet.project}-isolation.conf`);
    expect(dropIn).toMatch(new RegExp(`^Requires=${fleet.project}-isolation\\.service$`, "m"));
    expect(dropIn).toMatch(new RegExp(`^After=${fleet.project}-isolation\\.service$`, "m"));
    const order = first.calls;
    const rules = order.indexOf("iptables-restore --wait 30 --noflush");
    const dockerInstall = order.findIndex((c) => c.startsWith("apt-get") && c.includes(" docker-ce "));
    expect(rules).toBeGreaterThanOrEqual(0);
    expect(dockerInstall).toBeGreaterThan(rules);
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
    expect(calls(second, "systemctl").filter((c) => !/^systemctl is-(active|enabled) /.test(c))).toEqual([]);
    expect(calls(second, "iptables").filter((c) => / -[IN] /.test(c))).toEqual([]);
    expect(etcSnapshot(s)).toEqual(etcAfterFirst);
  });
});

describe("setup.sh on a volume that already holds a filesystem", () => {
  it("never formats it, and mounts it as the filesystem blkid finds", () => {
    const s = sandbox();
    s.attachBlankVolume();
    s.recordFilesystem(NITRO_DEVICE, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "xfs");
    const run = s.run("scripts/setup.sh");
    expectSuccess(run);
    expect(calls(run, "mkfs.ext4")).toEqual([]);
    expect(s.read("/etc/fstab")).toContain(`${NITRO_DEVICE} ${DATA_MOUNT} xfs defaults,nosuid,nodev,nofail`);
  });

  it("finds the Xen device name when there is no NVMe device for the volume id", () => {
    const s = sandbox();
    s.attachBlankVolume("/dev/xvdf");
    s.recordFilesystem("/dev/xvdf", "12345678-bbbb-cccc-dddd-eeeeeeeeeeee");
    const run = s.run("scripts/setup.sh");
    expectSuccess(run);
    expect(calls(run, "mkfs.ext4")).toEqual([]);
    expect(calls(run, "blkid")[0]).toBe(`blkid -p -o export ${s.path("/dev/xvdf")}`);
    expect(s.read("/etc/fstab")).toContain(`/dev/xvdf ${DATA_MOUNT} ext4 defaults,nosuid,nodev,nofail`);
  });
});

describe("setup.sh beside a copy of the data volume (a restored snapshot: the same filesystem UUID)", () => {
  const uuid = "0f3c6a4e-1111-2222-3333-444455556666";
  const copyId = "vol-0c0c0c0c0c0c0c0c0";
  const copyDevice = `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${copyId.replace("-", "")}`;
  const beside = () => {
    const s = sandbox();
    // The copy sorts first among the NVMe links: a search by UUID would find it first.
    s.attachBlankVolume(copyDevice);
    s.recordFilesystem(copyDevice, uuid);
    s.attachBlankVolume();
    s.recordFilesystem(NITRO_DEVICE, uuid);
    return s;
  };

  it("mounts the data volume by its EBS volume id, never the copy, and fstab names it so", () => {
    const s = beside();
    const run = s.run("scripts/setup.sh");
    expectSuccess(run);
    expect(calls(run, "mount")).toEqual([`mount -t ext4 -o nosuid,nodev ${s.path(NITRO_DEVICE)} ${s.path(DATA_MOUNT)}`]);
    expect(calls(run, "blkid").every((c) => !c.includes(copyId.replace("-", "")))).toBe(true);
    const line = s
      .read("/etc/fstab")
      .split("\n")
      .find((l) => l.includes(DATA_MOUNT));
    expect(line).toBe(`${NITRO_DEVICE} ${DATA_MOUNT} ext4 defaults,nosuid,nodev,nofail,x-systemd.device-timeout=30s 0 2`);
    expect(s.read("/etc/fstab")).not.toMatch(/UUID=/);
  });

  it("stops, changing nothing, when the copy is what is mounted at the data mount", () => {
    const s = beside();
    expectSuccess(s.run("scripts/setup.sh"));
    const fstab = s.read("/etc/fstab");
    // Someone mounted the copy there (or a restore left the host on another volume than fleet.env names).
    writeFileSync(s.stateFile("mounted", s.path(DATA_MOUNT).replace(/[/:]/g, "_")), `${s.path(copyDevice)} ext4\n`);
    const run = s.run("scripts/setup.sh");
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      `${DATA_MOUNT} holds ${s.path(copyDevice)} (EBS volume ${copyId}), not the data volume vol-0123456789abcdef0 (${s.path(NITRO_DEVICE)})`,
    );
    expect(run.stderr).toMatch(/finish the restore .*Nothing was changed/);
    expect(s.read("/etc/fstab")).toBe(fstab);
    expect(calls(run, "mount")).toEqual([]);
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

describe("setup.sh on a host mounted before nosuid,nodev", () => {
  it("remounts the data volume with them in place, and rewrites its fstab line", () => {
    const s = sandbox();
    s.attachBlankVolume();
    s.recordFilesystem(NITRO_DEVICE, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
    const key = s.path(DATA_MOUNT).replace(/[/:]/g, "_");
    mkdirSync(s.stateFile("mounted"), { recursive: true });
    mkdirSync(s.stateFile("mount-options"), { recursive: true });
    writeFileSync(s.stateFile("mounted", key), `${s.path(NITRO_DEVICE)} ext4\n`);
    writeFileSync(s.stateFile("mount-options", key), "rw,relatime\n");
    s.write("/etc/fstab", `${NITRO_DEVICE} ${DATA_MOUNT} ext4 defaults,nofail,x-systemd.device-timeout=30s 0 2\n`);
    const run = s.run("scripts/setup.sh");
    expectSuccess(run);
    expect(calls(run, "mount")).toEqual([`mount -o remount,nosuid,nodev ${s.path(DATA_MOUNT)}`]);
    expect(run.stderr).toContain(`remounted ${DATA_MOUNT} with nosuid,nodev (it had: rw,relatime)`);
    expect(s.read("/etc/fstab")).toContain(`${DATA_MOUNT} ext4 defaults,nosuid,nodev,nofail`);
    const again = s.run("scripts/setup.sh");
    expectSuccess(again);
    expect(calls(again, "mount")).toEqual([]);
  });
});

describe("setup.sh where the isolation rules cannot be loaded", () => {
  it("stops before dockerd starts, naming the rules: no developer container runs without them", () => {
    const s = sandbox();
    s.attachBlankVolume();
    const run = s.run("scripts/setup.sh", [], { STUB_IPTABLES_RESTORE_FAILS: "1", STUB_DOCKER_INACTIVE: "1" });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("iptables-restore refused the isolation rules of the developer networks");
    expect(calls(run, "systemctl").filter((c) => / docker$/.test(c) && !c.includes("is-active"))).toEqual([]);
    expect(calls(run, "apt-get").filter((c) => c.includes("docker-ce"))).toEqual([]);
  });

  it("starts dockerd only after loading them", () => {
    const s = sandbox();
    s.attachBlankVolume();
    const run = s.run("scripts/setup.sh", [], { STUB_DOCKER_INACTIVE: "1" });
    expectSuccess(run);
    const rules = run.calls.indexOf("iptables-restore --wait 30 --noflush");
    const start = run.calls.indexOf("systemctl enable --now docker");
    expect(rules).toBeGreaterThanOrEqual(0);
    expect(start).toBeGreaterThan(rules);
  });

  it("fails, naming the isolation unit, when dockerd (which requires that unit) does not start", () => {
    const s = sandbox();
    s.attachBlankVolume();
    const run = s.run("scripts/setup.sh", [], { STUB_DOCKER_INACTIVE: "1", STUB_DOCKER_START_FAILS: "1" });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      `dockerd did not start. It requires ${fleet.project}-isolation.service, which loads the isolation rules: until they load, no developer container runs`,
    );
  });
});

describe("setup.sh and Docker's signing key", () => {
  const dockerless = () => {
    const s = sandbox();
    s.attachBlankVolume();
    // A host without Docker yet: the sandbox's dpkg-query knows no docker-ce until apt-get installs it.
    return s;
  };

  it("installs the key apt checks Docker's repository with only when its fingerprint is Docker's", () => {
    const s = dockerless();
    const run = s.run("scripts/setup.sh");
    expectSuccess(run);
    expect(calls(run, "curl").filter((c) => c.includes("download.docker.com"))).toHaveLength(1);
    expect(s.read("/etc/apt/keyrings/docker.asc")).toContain("9DC858229FC7DD38854AE2D88D81803C0EBFCD88");
    expect(s.read("/etc/apt/sources.list.d/docker.list")).toContain("signed-by=/etc/apt/keyrings/docker.asc");
  });

  it("refuses a key with another fingerprint, installing neither it nor Docker", () => {
    const s = dockerless();
    const run = s.run("scripts/setup.sh", [], {
      STUB_DOCKER_KEY_FINGERPRINT: "0000000000000000000000000000000000000000",
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      "is not Docker's release key (fingerprint 0000000000000000000000000000000000000000, expected 9DC858229FC7DD38854AE2D88D81803C0EBFCD88): refusing to trust it",
    );
    expect(existsSync(s.path("/etc/apt/keyrings/docker.asc"))).toBe(false);
    expect(calls(run, "apt-get").filter((c) => c.includes("docker-ce"))).toEqual([]);
  });

  it("refuses a real OpenPGP key that is not Docker's, read by the real gpg", () => {
    const s = dockerless();
    const home = join(s.dir, "keygen");
    mkdirSync(home, { mode: 0o700 });
    const gpg = (args: string[]) => spawnSync("gpg", ["--batch", "--homedir", home, ...args], { encoding: "utf8" });
    expect(gpg(["--passphrase", "", "--quick-gen-key", "Not Docker <not-docker@example.com>", "ed25519", "sign", "1d"]).status).toBe(0);
    const exported = gpg(["--armor", "--export", "not-docker@example.com"]);
    const keyFile = join(s.dir, "not-docker.asc");
    writeFileSync(keyFile, exported.stdout);
    const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(gpg(["--with-colons", "--list-keys", "not-docker@example.com"]).stdout)![1];
    const run = s.run("scripts/setup.sh", [], { STUB_DOCKER_KEY_FILE: keyFile });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      `is not Docker's release key (fingerprint ${fingerprint}, expected 9DC858229FC7DD38854AE2D88D81803C0EBFCD88)`,
    );
    expect(existsSync(s.path("/etc/apt/keyrings/docker.asc"))).toBe(false);
  });
});

describe("setup.sh on a host without the AWS CLI", () => {
  it("installs it from the Snap Store (signed), never from an unsigned download", () => {
    const s = sandbox();
    s.attachBlankVolume();
    // The sandbox's stubs without aws, and no aws of this machine's either.
    const bin = join(s.dir, "bin-without-aws");
    mkdirSync(bin);
    for (const name of readdirSync(join(s.dir, "bin")).filter((n) => n !== "aws")) copyFileSync(join(s.dir, "bin", name), join(bin, name));
    spawnSync("chmod", ["-R", "755", bin]);
    const run = s.run("scripts/setup.sh", [], { PATH: `${bin}:/usr/bin:/bin:/usr/sbin:/sbin` });
    expect(calls(run, "snap")).toEqual(["snap install aws-cli --classic"]);
    expect(calls(run, "curl").filter((c) => /awscli|\.zip/.test(c))).toEqual([]);
  });
});
