/** Step 6: the operator guide's day-two operations (docs/operator-guide.md#day-two-operations), each on the running rehearsal host. */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DATA_MOUNT, containerName, hostPaths, isolationChains, metricNames } from "../../src/naming";
import { engineCtl } from "../engine";
import type { ContainerInfo } from "../host";
import { ARCHIVE_BUCKET } from "../host";
import { layout } from "../lib/layout";
import { run, runOk } from "../lib/run";
import type { Rehearsal } from "../rehearsal";
import type { RosterEdit } from "../rosters";
import { applyPhases, check, expect, tail } from "./check";
import { isolationProbes } from "./hardening";

const nonce = randomBytes(4).toString("hex");
/** Files written by the persistence check; the host-restart check looks for them again. */
const persisted = {
  workspace: `workspace/kept-${nonce}.txt`,
  userData: `.local/share/code-server/kept-${nonce}.json`,
  content: `kept ${nonce}`,
};
/**
 * Everything else a developer keeps in the home, with the mode each must keep: keys, git and tool
 * settings, Claude's, code-server's settings and an extension. Shell history is checked apart:
 * the editor's terminals append to it when their container goes, so only its line is looked for.
 */
/** A line the persistence check appends to ~/.bash_history. */
const historyLine = `echo kept-history-${nonce}`;
const homeFiles: readonly { path: string; mode: string }[] = [
  { path: ".ssh/id_ed25519", mode: "600" },
  { path: ".ssh/config", mode: "644" },
  { path: ".gitconfig", mode: "644" },
  { path: ".config/rehearsal-tool/settings.toml", mode: "640" },
  { path: ".claude.json", mode: "600" },
  { path: ".claude/settings.json", mode: "644" },
  { path: ".local/share/code-server/User/settings.json", mode: "644" },
  { path: ".local/share/code-server/extensions/rehearsal.kept-1.0.0/package.json", mode: "644" },
  { path: ".local/bin/rehearsal-tool", mode: "755" },
];

/** A password of the generated kind (letters, digits, a symbol), for rotations. */
const newPassword = () => `Rot-${randomBytes(12).toString("base64url").replace(/[-_]/g, "x")}9!`;

export type Snapshot = Map<string, ContainerInfo>;
/** Names whose container id or start time changed between two snapshots. */
export function restarted(before: Snapshot, after: Snapshot, names: readonly string[]): string[] {
  return names.filter((n) => before.get(n)?.id !== after.get(n)?.id || before.get(n)?.startedAt !== after.get(n)?.startedAt);
}

export const names = (r: Rehearsal) => r.host.fleet.developers.map((d) => d.name);

/**
 * What a power loss does to the host here: the kernel's iptables state goes (the isolation
 * chains), systemd forgets which units ran, the engine's processes end, the data volume is
 * unmounted. Returns the length of the stand-in's boot log before, to read what the boot did.
 */
export async function powerLoss(r: Rehearsal): Promise<number> {
  const chains = isolationChains(r.host.fleet);
  for (const [chain, target] of [
    ["INPUT", chains.input],
    ["DOCKER-USER", chains.forward],
  ]) {
    await run("iptables", ["-D", chain, "-j", target]);
  }
  for (const chain of [chains.input, chains.forward]) {
    await run("iptables", ["-F", chain]);
    await run("iptables", ["-X", chain]);
  }
  const units = join(r.host.state, "systemd");
  for (const file of readdirSync(units).filter((f) => f.endsWith(".active"))) rmSync(join(units, file));
  const bootLog = join(units, "boot.log");
  const before = existsSync(bootLog) ? readFileSync(bootLog, "utf8").length : 0;
  const poweroff = await engineCtl("poweroff", r.engineEnv);
  expect(poweroff.code === 0, `stopping the engine failed: ${poweroff.stderr.trim()}`);
  await runOk("umount", [r.host.path(DATA_MOUNT)]);
  expect(!(await r.host.dataMounted()), "the data volume is still mounted");
  return before;
}

/** The stand-in systemd's boot log from `from` on, one line a unit start. */
export function bootLogSince(r: Rehearsal, from: number): string[] {
  return readFileSync(join(r.host.state, "systemd", "boot.log"), "utf8")
    .slice(from)
    .trim()
    .split("\n");
}

// The roster changes, cumulative: remove the last developer, add a new one, change the tag.
const removedName = (r: Rehearsal) => r.base.fleet.developers[r.base.fleet.developers.length - 1].name;
function addedDeveloper(r: Rehearsal): { name: string; port: number } {
  const base = r.base.fleet.developers;
  const numbered = base.map((d) => /^(.*?)(\d+)$/.exec(d.name)).filter((m): m is RegExpExecArray => m !== null);
  const name = numbered.length ? `${numbered[0][1]}${Math.max(...numbered.map((m) => Number(m[2]))) + 1}` : "rehearsal-added";
  return { name, port: Math.max(...base.map((d) => d.port)) + 1 };
}
const withoutRemoved =
  (r: Rehearsal): RosterEdit =>
  (roster) => {
    roster.developers = roster.developers.filter((d) => d.name !== removedName(r));
  };
const withAdded =
  (r: Rehearsal): RosterEdit =>
  (roster) => {
    withoutRemoved(r)(roster);
    roster.developers.push(addedDeveloper(r));
  };
const newTag = (r: Rehearsal) => {
  const tag = r.base.fleet.codeServer.tag;
  return r.image && r.image.codeServerVersion !== tag ? r.image.codeServerVersion : `${tag}-rehearsal`;
};
const withNewTag =
  (r: Rehearsal): RosterEdit =>
  (roster) => {
    withAdded(r)(roster);
    roster.codeServer.tag = newTag(r);
  };

export const DAY_TWO = [
  check("no-op apply: an apply with nothing to change restarts nothing", async (r) => {
    const before = await r.host.containers();
    const result = await r.host.apply();
    r.report.timings.noopApplySeconds = Number(result.seconds.toFixed(1));
    expect(result.code === 0, `apply.sh exited ${result.code}:\n${tail(result.stderr)}`);
    const after = await r.host.containers();
    const changed = restarted(before, after, names(r));
    expect(changed.length === 0, `restarted by an apply with nothing to change: ${changed.join(", ")}`);
    const rolls = result.stderr.split("\n").filter((l) => /creating|recreating/.test(l));
    expect(rolls.length === 0, `apply announced changes:\n${rolls.join("\n")}`);
    const phases = applyPhases(result.stderr);
    if (phases) r.report.timings.noopApplyPhasesSeconds = phases;
    return `${after.size} containers kept their ids and start times; apply took ${result.seconds.toFixed(1)}s (checking the containers ${phases?.rollOutSeconds}s, failing extension installs ${phases?.extensionSeconds}s)`;
  }),

  check("metrics: publish-metrics.sh reads the real engine and publishes every developer as healthy", async (r) => {
    const result = await r.host.runScript("scripts/publish-metrics.sh");
    expect(result.code === 0, `publish-metrics.sh exited ${result.code}:\n${tail(result.stderr)}`);
    const lines = readFileSync(join(r.host.state, "aws/cloudwatch/metric-data.jsonl"), "utf8").trim().split("\n");
    const last = JSON.parse(lines[lines.length - 1]) as {
      Namespace: string;
      MetricData: { MetricName: string; Value: number; Dimensions: { Value: string }[] }[];
    };
    const metrics = metricNames(r.host.fleet);
    expect(last.Namespace === metrics.containerNamespace, `published to ${last.Namespace}`);
    const value = (metric: string, name: string) =>
      last.MetricData.find((m) => m.MetricName === metric && m.Dimensions[0].Value === name)?.Value;
    const unhealthy = names(r).filter((n) => value(metrics.containerHealthy, n) !== 1);
    const noCpu = names(r).filter(
      (n) => value(metrics.containerCpuPercent, n) === undefined || value(metrics.containerMemoryPercent, n) === undefined,
    );
    expect(unhealthy.length === 0, `published as not healthy: ${unhealthy.join(", ")}`);
    expect(noCpu.length === 0, `no CPU or memory figure for: ${noCpu.join(", ")} (docker stats --format json on the real engine)`);
    return `${last.MetricData.length} data points: healthy, restarts, CPU % and memory % for ${names(r).length} developers`;
  }),

  check(
    "persistence: recreating a container keeps the whole home: workspace, ~/.ssh, ~/.gitconfig, ~/.config, ~/.claude*, shell history, settings, extensions",
    async (r) => {
      const [developer] = r.host.fleet.developers;
      const write = [
        `echo '${persisted.content}' | tee ~/${persisted.workspace} > ~/${persisted.userData}`,
        "mkdir -p ~/.ssh && chmod 700 ~/.ssh",
        ...homeFiles.map(
          (f) => `mkdir -p "$(dirname ~/${f.path})" && echo '${nonce} ${f.path}' > ~/${f.path} && chmod ${f.mode} ~/${f.path}`,
        ),
        `echo '${historyLine}' >> ~/.bash_history`,
      ].join(" && ");
      const written = await r.host.exec(developer.name, write);
      expect(written.code === 0, `cannot write in ${developer.name}'s container: ${written.stderr.trim()}`);
      const list = `stat -c '%n %a %U %s' ${[persisted.workspace, persisted.userData, ".ssh", ...homeFiles.map((f) => f.path)].map((p) => `~/${p}`).join(" ")}`;
      const statsBefore = (await r.host.exec(developer.name, list)).stdout;
      const before = await r.host.container(developer.name);
      await r.host.recreate(developer.name);
      const after = await r.host.container(developer.name);
      expect(before?.id !== after?.id, `${containerName(developer)} was not recreated`);
      const read = await r.host.exec(developer.name, `cat ~/${persisted.workspace} ~/${persisted.userData}`);
      expect(
        read.stdout === `${persisted.content}\n${persisted.content}\n`,
        `after recreation the files read: ${JSON.stringify(read.stdout)} ${read.stderr.trim()}`,
      );
      const statsAfter = await r.host.exec(developer.name, list);
      expect(
        statsAfter.code === 0 && statsAfter.stdout === statsBefore,
        `after recreation:\n${statsAfter.stdout}${statsAfter.stderr}\nbefore:\n${statsBefore}`,
      );
      const contents = await r.host.exec(developer.name, homeFiles.map((f) => `cat ~/${f.path}`).join(" && "));
      expect(
        contents.stdout === homeFiles.map((f) => `${nonce} ${f.path}\n`).join(""),
        `after recreation the home's files read:\n${contents.stdout}`,
      );
      const history = await r.host.exec(developer.name, `grep -cxF '${historyLine}' ~/.bash_history`);
      expect(history.stdout.trim() === "1", `after recreation ~/.bash_history lacks its line: ${history.stdout}${history.stderr}`);
      return `${containerName(developer)} recreated (${before?.id.slice(0, 12)} -> ${after?.id.slice(0, 12)}); ~/${persisted.workspace}, ~/${persisted.userData} and ${homeFiles.length} more (${homeFiles.map((f) => `~/${f.path}`).join(", ")}) kept with their content, modes and owner; ~/.bash_history still holds its line`;
    },
  ),

  check(
    "rotate: after a password rotation the old password is refused and the new one accepted; only that container restarts, its home kept",
    async (r) => {
      const developer = r.host.fleet.developers[1];
      const kept = `mkdir -p ~/.ssh && echo 'key ${nonce}' > ~/.ssh/id_rotate && git config --global user.name 'Rotated ${nonce}' && echo '${nonce}' > ~/workspace/rotate.txt`;
      const written = await r.host.exec(developer.name, kept);
      expect(written.code === 0, `cannot write in ${developer.name}'s home: ${written.stderr.trim()}`);
      const before = await r.host.containers();
      const old = await r.host.password(developer.name);
      const rotated = newPassword();
      await r.host.setPassword(developer.name, rotated);
      const result = await r.host.apply();
      expect(result.code === 0, `apply.sh exited ${result.code}:\n${tail(result.stderr)}`);
      const changed = restarted(before, await r.host.containers(), names(r));
      expect(changed.length === 1 && changed[0] === developer.name, `restarted: [${changed.join(", ")}], expected only ${developer.name}`);
      const oldOutcome = await r.login(developer.name, old);
      const newOutcome = await r.login(developer.name, rotated);
      expect(!oldOutcome.accepted, `${developer.hostname} still accepts the old password`);
      expect(newOutcome.accepted, `${developer.hostname} refuses the new password: ${newOutcome.accepted ? "" : newOutcome.message}`);
      const read = await r.host.exec(developer.name, "cat ~/.ssh/id_rotate ~/workspace/rotate.txt && git config --global user.name");
      expect(
        read.stdout === `key ${nonce}\n${nonce}\nRotated ${nonce}\n`,
        `after the rotation ${developer.name}'s ~/.ssh, workspace and ~/.gitconfig read: ${JSON.stringify(read.stdout)} ${read.stderr.trim()}`,
      );
      return `${developer.name}: old password refused ("${oldOutcome.accepted ? "" : oldOutcome.message}"), new one accepted; no other container restarted; ~/.ssh/id_rotate, ~/.gitconfig and ~/workspace/rotate.txt kept`;
    },
  ),

  check("rotate: a roll-out that stopped half-way through a rotation is finished by the next apply", async (r) => {
    expect(r.host.fleet.developers.length >= 4, "needs at least four developers");
    const [first, second] = r.host.fleet.developers.slice(2, 4);
    const before = await r.host.containers();
    const secondPassword = newPassword();
    await r.host.setPassword(first.name, newPassword());
    await r.host.setPassword(second.name, secondPassword);
    // The roll-out stops at the first rotated container: its health check cannot pass within 1 s
    // (code-server's first check runs 5 s after start). Both configs are already rewritten then.
    const stopped = await r.host.apply({ HEALTH_TIMEOUT_SECONDS: "1", POLL_SECONDS: "1" });
    expect(stopped.code !== 0, "the interrupted apply succeeded: the check did not interrupt the roll-out");
    expect(
      stopped.stderr.includes(`${containerName(first)} did not become healthy`),
      `the interrupted apply stopped elsewhere:\n${tail(stopped.stderr)}`,
    );
    const interrupted = await r.host.container(second.name);
    expect(interrupted?.id === before.get(second.name)?.id, `${containerName(second)} was recreated by the interrupted apply already`);
    await r.host.waitHealthy(first.name);
    const next = await r.host.apply();
    expect(next.code === 0, `the next apply exited ${next.code}:\n${tail(next.stderr)}`);
    const after = await r.host.container(second.name);
    const outcome = await r.login(second.name, secondPassword);
    expect(
      after?.id !== before.get(second.name)?.id && outcome.accepted,
      `${containerName(second)} was ${after?.id === before.get(second.name)?.id ? "never recreated" : "recreated"}; its new password is ${outcome.accepted ? "accepted" : `refused ("${outcome.message}")`}`,
    );
    return `the interrupted apply stopped at ${containerName(first)}; the next one recreated ${containerName(second)} and its new password is accepted`;
  }),

  check(
    "remove: a removed developer's workspace is archived to S3, read back and moved to .removed/; the others keep running",
    async (r) => {
      const name = removedName(r);
      const note = `notes-${nonce}.txt`;
      const write = await r.host.exec(name, `echo 'work of ${name}' > ~/workspace/${note}`);
      expect(write.code === 0, `cannot write in ${name}'s container: ${write.stderr}`);
      // Their code-server died without cleaning up (a crash, an OOM kill, a power loss), so its
      // IPC socket is still in the user-data dir; a clean stop would have removed it.
      const killed = await r.host.docker(["stop", "--signal", "KILL", containerName({ name })]);
      expect(killed.code === 0, `cannot kill ${containerName({ name })}: ${killed.stderr.trim()}`);
      r.socketsBeforeRemoval = (await runOk("find", [r.host.path(`${DATA_MOUNT}/${name}`), "-type", "s"])).stdout.trim();
      const before = await r.host.containers();
      await r.deploy(await r.roster("removed", withoutRemoved(r)));
      const result = await r.host.apply();
      r.removalOutput = result.stderr;
      r.report.timings.removeSeconds = Number(result.seconds.toFixed(1));
      expect(result.code === 0, `apply.sh exited ${result.code}:\n${tail(result.stderr)}`);
      expect((await r.host.container(name)) === undefined, `${containerName({ name })} still exists`);
      const archives = r.host.s3Objects(ARCHIVE_BUCKET, `removed/${name}`);
      expect(archives.length === 1, `expected one archive under s3://${ARCHIVE_BUCKET}/removed/${name}/, found ${archives.length}`);
      const listing = (await runOk("tar", ["-tzf", archives[0]])).stdout.split("\n");
      expect(listing.includes(`${name}/home/workspace/${note}`), `the archive lacks ${name}/home/workspace/${note}`);
      const removedDir = r.host.path(`${DATA_MOUNT}/.removed`);
      const moved = existsSync(removedDir) ? readdirSync(removedDir).filter((d) => d.startsWith(`${name}-`)) : [];
      expect(
        moved.length === 1 && existsSync(join(removedDir, moved[0], "home", "workspace", note)),
        `${name}'s workspace is not in ${DATA_MOUNT}/.removed/`,
      );
      expect(!existsSync(r.host.path(`${DATA_MOUNT}/${name}`)), `${DATA_MOUNT}/${name} is still there`);
      expect(
        !existsSync(r.host.path(`${hostPaths(r.host.fleet).secretsDir}/${name}.env`)),
        `${name}'s env file (hash and API key) is still there`,
      );
      const changed = restarted(before, await r.host.containers(), names(r));
      expect(changed.length === 0, `other containers restarted: ${changed.join(", ")}`);
      const { proxyRequest } = await import("../proxy");
      const gone = await proxyRequest("https", `${name}.${r.domain}`, "/healthz", r.ports);
      expect(gone.status === 404, `${name}.${r.domain} still answers ${gone.status}`);
      return `archived to s3://${ARCHIVE_BUCKET}/removed/${name}/ (${listing.filter(Boolean).length} entries, read back), moved to .removed/${moved[0]}; ${names(r).length} others untouched; apply took ${result.seconds.toFixed(1)}s`;
    },
  ),

  check("remove: archiving a workspace does not warn about the IPC socket a killed code-server left", (r) => {
    expect(r.removalOutput !== undefined, "the removal check did not run");
    expect(r.socketsBeforeRemoval, "the removed developer's directory held no socket, so there was nothing to prove");
    const warnings = r.removalOutput.split("\n").filter((l) => /socket ignored/.test(l));
    expect(warnings.length === 0, `tar warned while archiving:\n${warnings.join("\n")}`);
    return `the archived directory held ${r.socketsBeforeRemoval
      .split("\n")
      .map((s) => s.split("/").pop())
      .join(", ")}; tar skipped it silently`;
  }),

  check("add: adding a developer creates only that developer's container", async (r) => {
    const added = addedDeveloper(r);
    const before = await r.host.containers();
    await r.deploy(await r.roster("added", withAdded(r)));
    const result = await r.host.apply();
    r.report.timings.addSeconds = Number(result.seconds.toFixed(1));
    expect(result.code === 0, `apply.sh exited ${result.code}:\n${tail(result.stderr)}`);
    const after = await r.host.containers();
    expect(after.get(added.name)?.health === "healthy", `${containerName(added)} is ${after.get(added.name)?.health ?? "missing"}`);
    expect(result.stderr.includes(`${containerName(added)}: creating (new container)`), `no "creating" line for ${containerName(added)}`);
    const others = names(r).filter((n) => n !== added.name);
    const changed = restarted(before, after, others);
    expect(changed.length === 0, `other containers restarted: ${changed.join(", ")}`);
    expect((await r.host.password(added.name)).length >= 16, `${added.name} got no password`);
    const health = await r.get(added.name, "/healthz");
    expect(health.status === 200, `${r.hostname(added.name)} answers ${health.status} through the proxy`);
    return `${containerName(added)} created on port ${added.port} and reachable at ${r.hostname(added.name)}; ${others.length} others kept their ids; apply took ${result.seconds.toFixed(1)}s`;
  }),

  check("image tag: a new tag rolls the containers one at a time, each healthy before the next", async (r) => {
    const oldRef = `${r.host.fleet.codeServer.image}:${r.host.fleet.codeServer.tag}`;
    const newRef = `${r.host.fleet.codeServer.image}:${newTag(r)}`;
    const tagged = await r.host.docker(["tag", oldRef, newRef]);
    expect(tagged.code === 0, `docker tag failed: ${tagged.stderr.trim()}`);
    const before = await r.host.containers();
    await r.deploy(await r.roster("retagged", withNewTag(r)));
    const watch = await r.watchEvents();
    const result = await r.host.apply();
    const events = await watch();
    r.report.timings.imageTagRolloutSeconds = Number(result.seconds.toFixed(1));
    expect(result.code === 0, `apply.sh exited ${result.code}:\n${tail(result.stderr)}`);
    const after = await r.host.containers();
    const notRolled = names(r).filter((n) => after.get(n)?.image !== newRef || after.get(n)?.id === before.get(n)?.id);
    expect(notRolled.length === 0, `still on ${oldRef}: ${notRolled.join(", ")}`);
    const service = (n: string) => containerName({ name: n });
    const overlaps: string[] = [];
    const order = names(r);
    // Compose creates the new container under a temporary name and renames it before starting
    // it, so "start" is the first event under the service's own name.
    const started = (n: string) => events.find((e) => e.container === service(n) && e.action === "start");
    const healthy = (n: string) =>
      events.find((e) => e.container === service(n) && e.action === "health_status: healthy" && e.time >= (started(n)?.time ?? Infinity));
    for (let i = 1; i < order.length; i++) {
      const previousHealthy = healthy(order[i - 1]);
      const nextStarted = started(order[i]);
      if (!previousHealthy || !nextStarted || nextStarted.time < previousHealthy.time) {
        overlaps.push(
          `${service(order[i])} started ${nextStarted?.time ?? "never"}, ${service(order[i - 1])} healthy ${previousHealthy?.time ?? "never"}`,
        );
      }
    }
    expect(overlaps.length === 0, `the roll-out overlapped: ${overlaps.join("; ")}`);
    return `${order.length} containers moved to ${newRef} one at a time, each created after the previous was healthy; apply took ${result.seconds.toFixed(1)}s`;
  }),

  check("isolation: after dockerd restarts, the rules are still in force and the containers kept running (live-restore)", async (r) => {
    const before = await r.host.containers();
    const restart = await run(join(layout.standins, "systemctl"), ["restart", "docker"], { env: r.host.env(), timeoutSeconds: 180 });
    expect(restart.code === 0, `systemctl restart docker failed: ${restart.stderr.trim()}`);
    for (const name of names(r)) await r.host.waitHealthy(name);
    const changed = restarted(before, await r.host.containers(), names(r));
    expect(changed.length === 0, `containers restarted with dockerd: ${changed.join(", ")}`);
    return `dockerd restarted; ${before.size} containers kept running; ${await isolationProbes(r, { full: false })}`;
  }),

  check(
    "host restart: after the engine and the data volume go down (and the isolation rules with them, as at a reboot), the isolation unit loads them before dockerd starts and start-containers.sh brings every container back healthy with its data",
    async (r) => {
      const bootLogBefore = await powerLoss(r);
      const result = await r.host.runScript("scripts/start-containers.sh", [], {}, 600);
      r.report.timings.hostRestartSeconds = Number(result.seconds.toFixed(1));
      expect(result.code === 0, `start-containers.sh exited ${result.code}:\n${tail(result.stderr)}`);
      expect(await r.host.dataMounted(), "the data volume is not mounted again");
      const containers = await r.host.containers();
      const unhealthy = names(r).filter((n) => containers.get(n)?.health !== "healthy");
      expect(unhealthy.length === 0, `not healthy after the restart: ${unhealthy.join(", ")}`);
      const [developer] = r.host.fleet.developers;
      const read = await r.host.exec(developer.name, `cat ~/${persisted.workspace}`);
      expect(read.stdout.trim() === persisted.content, `${developer.name}'s workspace lost ~/${persisted.workspace} over the restart`);
      const formats = (await run("grep", ["-c", "creating an ext4 filesystem", join(r.host.state, "syslog")])).stdout.trim();
      expect(formats === "1", `the data volume was formatted ${formats} times`);
      const boot = bootLogSince(r, bootLogBefore);
      const unit = boot.findIndex((l) => l.includes(`${r.host.fleet.project}-isolation.service started (before docker.service)`));
      const docker = boot.findIndex((l) => / docker\.service start$/.test(l));
      expect(unit >= 0 && docker > unit, `the isolation unit did not run before dockerd started:\n${boot.join("\n")}`);
      return `${containers.size} containers healthy ${result.seconds.toFixed(1)}s after start-containers.sh; the data volume was mounted, not formatted, and ${developer.name}'s files are there; the isolation unit ran before dockerd; ${await isolationProbes(r, { full: false })}`;
    },
  ),
];
