/**
 * apply.sh, publish-metrics.sh and backup.sh against a scratch root with stubbed docker, aws and
 * argon2: passwords are generated into Secrets Manager and hashed into root-only env files, homes
 * are seeded by a container of the image, containers roll one at a time, a re-run changes
 * nothing, and a departed developer is archived, never deleted. The legacy layout's move into the
 * home is in render-home.test.ts.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { DATA_MOUNT, containerName, hostPaths, metricNames, secretName } from "../src/naming";
import { SECRET_PLACEHOLDER } from "../src/secret-placeholder";
import { callsOf, sandboxHosts, succeeded, type HostSandbox, type RunResult } from "./fixtures/host-sandbox";
import { BASE_DEVELOPERS, fleetOf } from "./fixtures/rosters";

const fleet = fleetOf();
const API_KEY = "sk-ant-api03-TESTKEY_0123456789-abcdef";
/** A fleet-wide extension whose first download fails. */
const FLAKY_EXTENSION = fleet.codeServer.extensions[0];
const host = sandboxHosts(fleet);
const calls = callsOf;
/** The one archive of a departed developer in the archive bucket. */
const archiveOf = (s: HostSandbox, name: string) => {
  const [archive, ...more] = readdirSync(s.account.objectPath("archive-bucket", `removed/${name}`));
  expect(more).toEqual([]);
  return s.account.objectPath("archive-bucket", `removed/${name}/${archive}`);
};
const ok = succeeded;

describe("apply.sh on a new host", () => {
  const s = host();
  const alice = fleet.developers[0];
  const envFile = (name: string) => s.path(`${hostPaths(fleet).secretsDir}/${name}.env`);
  s.setSecret(secretName(fleet, alice, "anthropic-api-key"), API_KEY);
  // What the deployment stores in a key nobody has set yet, where ECS runs beside the host.
  s.setSecret(secretName(fleet, fleet.developers[2], "anthropic-api-key"), SECRET_PLACEHOLDER);
  let first: RunResult;
  let second: RunResult;
  let envMtimes: number[];
  let extensionsAfterFirst: string[][];
  beforeAll(() => {
    first = s.run("scripts/apply.sh", [], { STUB_FAILING_EXTENSIONS: FLAKY_EXTENSION });
    extensionsAfterFirst = fleet.developers.map((d) =>
      readFileSync(s.stateFile("extensions", containerName(d)), "utf8")
        .trim()
        .split("\n"),
    );
    envMtimes = fleet.developers.map((d) => statSync(envFile(d.name)).mtimeMs);
    second = s.run("scripts/apply.sh");
  });

  it("generates each missing password and stores it through a file, never argv", () => {
    ok(first);
    const puts = calls(first, "aws secretsmanager put-secret-value");
    expect(puts).toHaveLength(fleet.developers.length);
    for (const d of fleet.developers) {
      const password = s.account.secretValue(secretName(fleet, d, "password"))!;
      expect(password).toMatch(/^.{32}$/);
      expect(password).toMatch(/[A-Za-z]/);
      expect(password).toMatch(/[0-9]/);
      expect(password).toMatch(/[^A-Za-z0-9]/);
      expect(first.calls.join("\n")).not.toContain(password);
    }
    expect(puts.every((c) => / --secret-string file:\/\//.test(c))).toBe(true);
  });

  it("hashes each password with argon2 into a 0600 env file in the 0700 secrets directory, never into the home", () => {
    expect(statSync(s.path(hostPaths(fleet).secretsDir)).mode & 0o777).toBe(0o700);
    for (const d of fleet.developers) {
      expect(statSync(envFile(d.name)).mode & 0o777).toBe(0o600);
      expect(readFileSync(envFile(d.name), "utf8")).toMatch(
        /^HASHED_PASSWORD='\$argon2id\$v=19\$m=65536,t=3,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+'$/m,
      );
    }
    const onVolume = spawnSync("grep", ["-rl", "argon2", s.path(DATA_MOUNT)], { encoding: "utf8" });
    expect(onVolume.stdout).toBe("");
  });

  it("installs each developer's code-server config, without a hash, 0644 in a root-owned 0755 directory", () => {
    const dir = s.path(hostPaths(fleet).codeServerConfigDir);
    expect(statSync(dir).mode & 0o777).toBe(0o755);
    for (const d of fleet.developers) {
      const installed = `${dir}/${d.name}.yaml`;
      expect(statSync(installed).mode & 0o777).toBe(0o644);
      expect(readFileSync(installed, "utf8")).toBe(s.read(`${hostPaths(fleet).root}/config/${d.name}/config.yaml.tmpl`));
      expect(readFileSync(installed, "utf8")).not.toMatch(/^(hashed-)?password:/m);
    }
  });

  it("writes the API key into the same env file, and warns (but starts) without one", () => {
    expect(readFileSync(envFile(alice.name), "utf8")).toMatch(/^HASHED_PASSWORD='[^']+'\nANTHROPIC_API_KEY='(.+)'\nCLAUDE_API_KEY='\1'\n$/);
    expect(readFileSync(envFile(alice.name), "utf8")).toContain(`ANTHROPIC_API_KEY='${API_KEY}'`);
    expect(readFileSync(envFile("bob"), "utf8")).not.toMatch(/API_KEY=/);
    expect(first.stderr).toMatch(/WARNING: bob has no Anthropic API key/);
    expect(readFileSync(envFile(fleet.developers[2].name), "utf8")).not.toMatch(/API_KEY=|not-set/);
    expect(first.stderr).toMatch(new RegExp(`WARNING: ${fleet.developers[2].name} has no Anthropic API key`));
    expect(first.calls.join("\n")).not.toContain(API_KEY);
  });

  it("seeds each home from the image's /home/coder with a container running as coder, without network, capabilities or a writable root", () => {
    const seeds = calls(first, "docker run");
    expect(seeds).toHaveLength(fleet.developers.length);
    for (const d of fleet.developers) {
      const dir = s.path(`${DATA_MOUNT}/${d.name}`);
      expect(seeds).toContainEqual(
        expect.stringContaining(
          `docker run --rm --network none --read-only --user 1000:1000 --cap-drop ALL --security-opt no-new-privileges --entrypoint /bin/sh --volume ${dir}/.home-seeding:/seed ${fleet.codeServer.image}:${fleet.codeServer.tag} -c`,
        ),
      );
      expect(readdirSync(dir)).toEqual(["home"]);
      expect(statSync(dir).mode & 0o777).toBe(0o755);
      expect(statSync(`${dir}/home`).mode & 0o777).toBe(0o750);
      expect(readdirSync(`${dir}/home`).sort()).toEqual([".bashrc", ".local", ".profile", "workspace"]);
      expect(readdirSync(`${dir}/home/.local/share`)).toEqual([]);
    }
    // Root gives the seed directory to coder before anything is in it, and otherwise owns its own.
    expect(calls(first, "chown")).toEqual(
      fleet.developers.flatMap((d) => [
        `chown 0:0 ${s.path(`${DATA_MOUNT}/${d.name}`)}`,
        `chown 1000:1000 -- ${s.path(`${DATA_MOUNT}/${d.name}/.home-seeding`)}`,
      ]),
    );
  });

  it("logs each new container as created, not as recreated", () => {
    for (const service of fleet.developers.map(containerName)) expect(first.stderr).toContain(`${service}: creating (new container)`);
    expect(first.stderr).not.toContain("recreating");
    expect(calls(first, "docker compose").filter((c) => c.includes("--force-recreate"))).toEqual([]);
  });

  it("starts the containers one at a time, each healthy before the next", () => {
    const sequence = first.calls.filter((c) => c.startsWith("docker compose") || c.startsWith("docker inspect "));
    const ups = sequence.filter((c) => c.includes(" up "));
    expect(ups.map((c) => c.split(" ").pop())).toEqual(fleet.developers.map(containerName));
    for (const service of fleet.developers.map(containerName)) {
      const up = sequence.findIndex((c) => c.includes(" up ") && c.endsWith(` ${service}`));
      // The health check right after its start (container_state: docker inspect --format ... <name>).
      expect(sequence[up + 1]).toMatch(new RegExp(`^docker inspect --format \\{\\{.*\\}\\} ${service}$`));
    }
  });

  it("installs the pinned Claude extension and the roster's extensions with one start of code-server's CLI each; a failed download only warns", () => {
    expect(first.stderr).toMatch(
      new RegExp(
        `installing anthropic\\.claude-code@\\S+ ${FLAKY_EXTENSION.replace(".", "\\.")} .*did not succeed for all of them; the container keeps running and the next apply retries what is still missing`,
      ),
    );
    for (const d of fleet.developers) {
      expect(calls(first, "docker exec").filter((c) => c.includes(` ${containerName(d)} `) && c.includes("--install-extension"))).toEqual([
        `docker exec --user 1000:1000 ${containerName(d)} code-server ${d.extensions.map((e) => `--install-extension ${e}`).join(" ")} --force`,
      ]);
    }
    expect(calls(first, "docker stop")).toEqual([]);
    expect(extensionsAfterFirst).toEqual(fleet.developers.map((d) => d.extensions.filter((e) => e !== FLAKY_EXTENSION)));
    for (const d of fleet.developers) expect(existsSync(s.stateFile("containers", containerName(d)))).toBe(true);
    expect(fleet.developers[0].extensions[0]).toBe(`anthropic.claude-code@${fleet.codeServer.claudeExtensionVersion}`);
    expect(fleet.developers[2].extensions).toContain("rust-lang.rust-analyzer@0.3.2593");
  });

  it("enables the metrics and disk-usage timers and starts the CloudWatch agent with the rendered config", () => {
    expect(first.calls).toContain(`systemctl enable --now ${fleet.project}-metrics.timer`);
    expect(first.calls).toContain(`systemctl enable --now ${fleet.project}-disk-usage.timer`);
    expect(first.calls).toContain(
      `amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:${hostPaths(fleet).root}/config/cloudwatch-agent.json`,
    );
  });

  it("a second run keeps passwords, hashes and containers as they are", () => {
    ok(second);
    expect(calls(second, "aws secretsmanager put-secret-value")).toEqual([]);
    expect(fleet.developers.map((d) => statSync(envFile(d.name)).mtimeMs)).toEqual(envMtimes);
    expect(calls(second, "docker compose").filter((c) => c.includes("--force-recreate"))).toEqual([]);
    expect(calls(second, "docker run")).toEqual([]);
    expect(calls(second, "chown")).toEqual([]);
    expect(calls(second, "amazon-cloudwatch-agent-ctl -a fetch-config")).toEqual([]);
  });

  it("the second run retries the extension that failed, and only that one", () => {
    // Containers are served in parallel, so in no particular order.
    expect(
      calls(second, "docker exec")
        .filter((c) => c.includes("--install-extension"))
        .sort(),
    ).toEqual(
      fleet.developers
        .map((d) => `docker exec --user 1000:1000 ${containerName(d)} code-server --install-extension ${FLAKY_EXTENSION} --force`)
        .sort(),
    );
  });

  it("a rotated password rewrites only that developer's env file and recreates only their container", () => {
    const bob = fleet.developers[1];
    const before = readFileSync(envFile("alice"), "utf8");
    const bobBefore = readFileSync(envFile("bob"), "utf8");
    s.setSecret(secretName(fleet, bob, "password"), "Rotated-Passw0rd!Rotated-Passw0rd");
    const run = ok(s.run("scripts/apply.sh"));
    expect(calls(run, "docker compose").filter((c) => c.includes("--force-recreate"))).toEqual([
      expect.stringMatching(/up --detach --no-deps --force-recreate code-server-bob$/),
    ]);
    expect(readFileSync(envFile("alice"), "utf8")).toBe(before);
    expect(readFileSync(envFile("bob"), "utf8")).not.toBe(bobBefore);
  });
});

describe("apply.sh after a roll-out that stopped half-way through a password rotation", () => {
  const s = host();
  const [alice, bob] = fleet.developers;
  let stopped: RunResult;
  let next: RunResult;
  beforeAll(() => {
    ok(s.run("scripts/apply.sh"));
    s.setSecret(secretName(fleet, alice, "password"), "Rotated-Alice-Passw0rd!Rotated-Alice");
    s.setSecret(secretName(fleet, bob, "password"), "Rotated-Bob-Passw0rd!Rotated-Bob-Pw");
    stopped = s.run("scripts/apply.sh", [], { STUB_UNHEALTHY: containerName(alice) });
    next = s.run("scripts/apply.sh");
  });
  const recreated = (run: RunResult) =>
    calls(run, "docker compose")
      .filter((c) => c.includes("--force-recreate"))
      .map((c) => c.split(" ").pop());

  it("the first run rewrote both configs, recreated alice, then stopped before bob", () => {
    expect(stopped.status).toBe(1);
    expect(stopped.stderr).toMatch(/code-server-alice did not become healthy; the roll-out stopped here/);
    expect(recreated(stopped)).toEqual([containerName(alice)]);
  });

  it("the next run recreates bob, whose config no longer looks changed, and alice, who never became healthy", () => {
    ok(next);
    expect(recreated(next)).toEqual([containerName(alice), containerName(bob)]);
    expect(next.stderr).toMatch(/bob: its container still has to be recreated/);
  });

  it("a run after that recreates nothing", () => {
    expect(recreated(ok(s.run("scripts/apply.sh")))).toEqual([]);
  });
});

describe("apply.sh beside a developer's container that crash-loops on its own", () => {
  const s = host();
  const [alice, bob] = fleet.developers;
  let run: RunResult;
  beforeAll(() => {
    ok(s.run("scripts/apply.sh"));
    // bob's password rotates while alice's container, which this apply does not change, keeps failing.
    s.setSecret(secretName(fleet, bob, "password"), "Rotated-Bob-Passw0rd!Rotated-Bob-Pw");
    run = s.run("scripts/apply.sh", [], { STUB_UNHEALTHY: containerName(alice), UNCHANGED_HEALTH_TIMEOUT_SECONDS: "1" });
  });

  it("leaves alice's container as it is and goes on: bob's rotation is rolled out all the same", () => {
    expect(calls(run, "docker compose").filter((c) => c.includes("--force-recreate"))).toEqual([
      expect.stringMatching(/--force-recreate code-server-bob$/),
    ]);
    expect(run.stderr).toContain("code-server-alice is not healthy, and this apply did not change it: left as it is, the roll-out goes on");
    expect(calls(run, "docker compose").filter((c) => c.endsWith(" code-server-carol"))).not.toEqual([]);
  });

  it("fails the run, so the failed-apply alarm tells the operators, naming the step count", () => {
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/ERROR: 1 step\(s\) failed \(see the warnings above\); the containers are running/);
  });
});

describe("apply.sh on full disks", () => {
  const s = host();
  let dataFull: RunResult;
  let rootFull: RunResult;
  let freed: RunResult;
  let daveSeeded: boolean;
  beforeAll(() => {
    ok(s.run("scripts/apply.sh"));
    s.installHostFiles(fleetOf([...BASE_DEVELOPERS, { name: "dave", port: 8446 }]));
    dataFull = s.run("scripts/apply.sh", [], { STUB_DF_DATA_AVAIL_MIB: "100" });
    daveSeeded = existsSync(s.path(`${DATA_MOUNT}/dave`));
    rootFull = s.run("scripts/apply.sh", [], { STUB_DF_AVAIL_MIB: "1000" });
    freed = s.run("scripts/apply.sh");
  });

  it("refuses to start any work while the data volume is (nearly) full, changing nothing", () => {
    expect(dataFull.status).toBe(1);
    expect(dataFull.stderr).toContain(
      "the data volume /mnt/ebs-data has 100 MiB free, less than the 512 MiB this apply needs to start or recreate a container or seed a home: nothing was changed and every running container keeps running",
    );
    expect(calls(dataFull, "docker").filter((c) => !c.startsWith("docker inspect"))).toEqual([]);
    expect(daveSeeded).toBe(false);
  });

  it("refuses likewise while the root disk is (nearly) full", () => {
    expect(rootFull.status).toBe(1);
    expect(rootFull.stderr).toContain("the root disk has 1000 MiB free, less than the 2048 MiB this apply needs");
    expect(calls(rootFull, "docker").filter((c) => !c.startsWith("docker inspect"))).toEqual([]);
  });

  it("goes on once there is room again", () => {
    ok(freed);
    expect(freed.stderr).toContain("code-server-dave: creating (new container)");
  });
});

describe("apply.sh when a developer leaves the roster", () => {
  const s = host();
  const remaining = fleetOf(BASE_DEVELOPERS.filter((d) => d.name !== "carol"));
  let failed: RunResult;
  let lost: RunResult;
  let keptAfterLost: boolean;
  let retried: RunResult;
  beforeAll(() => {
    ok(s.run("scripts/apply.sh"));
    s.write(`${DATA_MOUNT}/carol/home/workspace/notes.txt`, "carol's work\n");
    // code-server leaves its IPC socket in the user-data dir.
    const socket = spawnSync("python3", [
      "-c",
      "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])",
      s.path(`${DATA_MOUNT}/carol/home/.local/share/code-server-ipc.sock`),
    ]);
    if (socket.status !== 0) throw new Error(`cannot create a socket: ${String(socket.stderr)}`);
    s.installHostFiles(remaining);
    failed = s.run("scripts/apply.sh", [], { AWS_STANDIN_FAULT_S3: "fail" });
    lost = s.run("scripts/apply.sh", [], { AWS_STANDIN_FAULT_S3: "lose" });
    keptAfterLost = existsSync(s.path(`${DATA_MOUNT}/carol/home/workspace/notes.txt`));
    retried = s.run("scripts/apply.sh");
  });

  it("stops and removes the departed container before the roll-out", () => {
    const stop = failed.calls.indexOf("docker stop --time 30 id-code-server-carol");
    expect(stop).toBeGreaterThanOrEqual(0);
    expect(failed.calls).toContain("docker rm id-code-server-carol");
    expect(stop).toBeLessThan(failed.calls.findIndex((c) => c.includes(" up ")));
  });

  it("when the upload fails, leaves the directory in place and fails the run", () => {
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/archiving .*carol failed: it stays in place and the next apply retries/);
  });

  it("when the upload reports success but the archive cannot be read back, still leaves the directory in place", () => {
    expect(lost.status).toBe(1);
    expect(lost.stderr).toMatch(/was uploaded but cannot be read back/);
    expect(keptAfterLost).toBe(true);
  });

  it("the next run archives the whole directory under removed/ and moves it aside, never deleting it", () => {
    ok(retried);
    expect(calls(retried, "aws s3 cp - s3://archive-bucket/removed/carol/")).toHaveLength(1);
    expect(readdirSync(s.account.objectPath("archive-bucket", ""), { recursive: true })).toEqual([
      "removed",
      "removed/carol",
      expect.stringMatching(/^removed\/carol\/\d{8}T\d{6}Z\.tar\.gz$/),
    ]);
    expect(existsSync(s.path(`${DATA_MOUNT}/carol`))).toBe(false);
    const moved = readdirSync(s.path(`${DATA_MOUNT}/.removed`));
    expect(moved).toEqual([expect.stringMatching(/^carol-\d{8}T\d{6}Z$/)]);
    expect(readFileSync(s.path(`${DATA_MOUNT}/.removed/${moved[0]}/home/workspace/notes.txt`), "utf8")).toBe("carol's work\n");
  });

  it("archives without tar's warning about the socket it skips", () => {
    expect(retried.stderr).not.toMatch(/socket ignored/);
  });

  it("the uploaded archive holds the developer's files", () => {
    const listing = spawnSync("tar", ["-tzf", archiveOf(s, "carol")], { encoding: "utf8" }).stdout;
    expect(listing.split("\n")).toContain("carol/home/workspace/notes.txt");
  });

  it("removes the departed developer's env file and code-server config, and keeps the others'", () => {
    const { secretsDir, codeServerConfigDir } = hostPaths(fleet);
    expect(existsSync(s.path(`${secretsDir}/carol.env`))).toBe(false);
    expect(existsSync(s.path(`${codeServerConfigDir}/carol.yaml`))).toBe(false);
    expect(existsSync(s.path(`${secretsDir}/alice.env`))).toBe(true);
    expect(existsSync(s.path(`${codeServerConfigDir}/alice.yaml`))).toBe(true);
  });
});

describe("apply.sh archiving a departed developer who planted a terabyte of holes", () => {
  const s = host();
  let run: RunResult;
  let seconds: number;
  beforeAll(() => {
    ok(s.run("scripts/apply.sh"));
    s.write(`${DATA_MOUNT}/carol/home/workspace/notes.txt`, "carol's work\n");
    // Apparent size 1 TiB, nothing allocated: read as zeros it would take tar hours.
    const truncate = spawnSync("truncate", ["-s", "1T", s.path(`${DATA_MOUNT}/carol/home/holes.img`)]);
    if (truncate.status !== 0) throw new Error(`cannot create a sparse file: ${String(truncate.stderr)}`);
    s.installHostFiles(fleetOf(BASE_DEVELOPERS.filter((d) => d.name !== "carol")));
    const started = Date.now();
    run = s.run("scripts/apply.sh");
    seconds = (Date.now() - started) / 1000;
  });

  it("archives the holes as holes (tar --sparse), in seconds, and moves the directory aside", () => {
    ok(run);
    expect(seconds).toBeLessThan(30);
    const archive = archiveOf(s, "carol");
    expect(statSync(archive).size).toBeLessThan(10 * 1024 * 1024);
    const listing = spawnSync("tar", ["-tvzf", archive], { encoding: "utf8" });
    expect(listing.stdout).toMatch(/ 1099511627776 .*carol\/home\/holes\.img$/m);
    expect(listing.stdout).toMatch(/carol\/home\/workspace\/notes\.txt$/m);
    expect(readdirSync(s.path(`${DATA_MOUNT}/.removed`))).toEqual([expect.stringMatching(/^carol-/)]);
  });
});

describe("on a running host", () => {
  const s = host();
  beforeAll(() => ok(s.run("scripts/apply.sh")));

  it("publish-metrics.sh publishes CPU, memory, restarts and health per developer into the container namespace", () => {
    const run = ok(s.run("scripts/publish-metrics.sh"));
    const metrics = metricNames(fleet);
    expect(calls(run, "aws cloudwatch put-metric-data")).toEqual([expect.stringContaining(`--namespace ${metrics.containerNamespace} `)]);
    const [published, ...more] = s.account.metricData<{
      MetricName: string;
      Value: number;
      Dimensions: { Name: string; Value: string }[];
    }>();
    expect([published.Namespace, more]).toEqual([metrics.containerNamespace, []]);
    const data = published.MetricData;
    for (const d of fleet.developers) {
      const mine = data.filter(
        (m) => m.Dimensions.length === 1 && m.Dimensions[0].Name === metrics.developerDimension && m.Dimensions[0].Value === d.name,
      );
      expect(Object.fromEntries(mine.map((m) => [m.MetricName, m.Value]))).toEqual({
        [metrics.containerHealthy]: 1,
        [metrics.containerRestarts]: 0,
        [metrics.containerCpuPercent]: 12.5,
        [metrics.containerMemoryPercent]: 25,
      });
    }
  });

  it("backup.sh snapshots the data volume with tags and uploads one developer's workspace under backups/", () => {
    const run = ok(s.run("scripts/backup.sh", ["--developer", "alice"]));
    const snapshot = calls(run, "aws ec2 create-snapshot");
    expect(snapshot).toEqual([expect.stringContaining("--volume-id vol-0123456789abcdef0")]);
    expect(snapshot[0]).toContain('{"Key":"source-instance","Value":"i-0123456789abcdef0"}');
    const [taken] = s.account.list<{ SnapshotId: string; VolumeId: string; Tags: { Key: string; Value: string }[] }>("snapshots");
    expect(run.stdout.trim()).toBe(taken.SnapshotId);
    expect(taken.VolumeId).toBe("vol-0123456789abcdef0");
    expect(taken.Tags).toContainEqual({ Key: "created-by", Value: "backup.sh" });
    expect(calls(run, "aws s3 cp - s3://archive-bucket/backups/alice/")).toHaveLength(1);
    expect(readdirSync(s.account.objectPath("archive-bucket", "backups/alice"))).toEqual([expect.stringMatching(/\.tar\.gz$/)]);
  });

  it.each([
    [["--developer"], /--developer needs a value/],
    [["--developer", "mallory"], /unknown developer 'mallory'; the roster has: alice bob carol/],
    [["--bogus"], /unknown argument: --bogus/],
  ])("backup.sh exits 2 with usage on %j", (args, message) => {
    const run = s.run("scripts/backup.sh", args);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/Usage: backup\.sh/);
    expect(calls(run, "aws")).toEqual([]);
  });

  it.each([
    [["--developer"], /--developer needs a value/],
    [["--developer", "mallory"], /unknown developer 'mallory'; the roster has: alice bob carol/],
    [["--unmount", "--developer", "alice"], /--unmount stops every container; it cannot be combined with --developer/],
    [["--bogus=secret-value"], /unknown argument: --bogus=…/],
    [["stray-secret"], /an argument that is not an option was given \(not shown\)/],
  ])("stop-containers.sh exits 2 with usage on %j, repeating no value", (args, message) => {
    const run = s.run("scripts/stop-containers.sh", args);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/secret/);
    expect(calls(run, "docker")).toEqual([]);
  });

  // The host side of restore.sh, in its order: stop and unmount, swap volumes, mount and start.
  const restored = "vol-0fedcba9876543210";
  const restoredDevice = `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${restored.replace("-", "")}`;

  it("stop-containers.sh --unmount stops everything, unmounts the data volume and blocks apply", () => {
    const stop = ok(s.run("scripts/stop-containers.sh", ["--unmount"]));
    expect(stop.calls).toContain(`docker compose --file ${s.path(`${hostPaths(fleet).root}/docker/docker-compose.yml`)} stop`);
    expect(calls(stop, "umount")).toEqual([`umount ${s.path(DATA_MOUNT)}`]);
    const apply = s.run("scripts/apply.sh");
    expect(apply.status).toBe(1);
    expect(apply.stderr).toMatch(/the host is in maintenance/);
    expect(calls(apply, "docker")).toEqual([]);
  });

  it("start-containers.sh refuses a swapped-in volume without a filesystem", () => {
    s.attachBlankVolume(restoredDevice);
    const start = s.run("scripts/start-containers.sh", ["--data-volume-id", restored]);
    expect(start.status).toBe(1);
    expect(start.stderr).toMatch(/holds no filesystem\. Only setup\.sh formats/);
    expect(calls(start, "mkfs")).toEqual([]);
  });

  it("start-containers.sh mounts the restored volume, records its id and ends maintenance", () => {
    s.recordFilesystem(restoredDevice, "0f3c6a4e-1111-2222-3333-444455556666");
    const start = ok(s.run("scripts/start-containers.sh", ["--data-volume-id", restored]));
    expect(calls(start, "mount ")).toEqual([`mount -t ext4 -o nosuid,nodev ${s.path(restoredDevice)} ${s.path(DATA_MOUNT)}`]);
    expect(s.read(hostPaths(fleet).fleetEnv)).toContain(`DATA_VOLUME_ID=${restored}\n`);
    // fstab now names the restored volume by its id: the old one, kept detached, would not be it.
    expect(
      s
        .read("/etc/fstab")
        .split("\n")
        .filter((l) => l.includes(DATA_MOUNT)),
    ).toEqual([`${restoredDevice} ${DATA_MOUNT} ext4 defaults,nosuid,nodev,nofail,x-systemd.device-timeout=30s 0 2`]);
    expect(calls(start, "docker compose").map((c) => c.split(" ").pop())).toEqual(fleet.developers.map(containerName));
    expect(existsSync(s.path(`/var/lib/${fleet.project}/maintenance`))).toBe(false);
  });

  it("start-containers.sh tries a service again when its start races with dockerd's own restart of it", () => {
    const [alice] = fleet.developers;
    const start = ok(s.run("scripts/start-containers.sh", ["--developer", alice.name], { STUB_UP_FAILS_ONCE: containerName(alice) }));
    expect(start.stderr).toMatch(/starting code-server-alice failed \(attempt 1 of 3\); trying again/);
    expect(calls(start, "docker compose").filter((c) => c.includes(" up "))).toHaveLength(2);
  });
});
