/**
 * The ECS leg's migration: the rendered migrate-homes.sh of a roster that prepares ECS beside the
 * host copies a developer's home from the host's data volume to the file system's directory. Its
 * AWS calls go to the control-plane stand-in of the operator scripts' tests, with this rehearsal's
 * host behind SSM (its commands run on the rehearsed host's root) and the engine behind run-task
 * (rehearse/ecs/run-task.ts runs the synthesized maintenance task definition). Then the developer's
 * own task starts on the copy, and everything of the host's home is there for them.
 */
import { chownSync, existsSync, readFileSync, linkSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hostInstanceName, maintenanceNames } from "../../src/naming";
import { SECRET_PLACEHOLDER } from "../../src/secret-placeholder";
import {
  ecsDir,
  efsRoot,
  HEALTH_START_INTERVAL_SECONDS,
  synthesizeEcs,
  deployTimeValues,
  secretValue,
  type SynthesizedEcs,
} from "../ecs/leg";
import type { EcsStack, TaskDefinition } from "../ecs/definitions";
import type { Rehearsal } from "../rehearsal";
import type { RunTaskContext } from "../ecs/run-task";
import { engine, execIn, startTask, stopTask, waitHealthy, type Task, type TaskContext } from "../ecs/tasks";
import { ARCHIVE_BUCKET } from "../host";
import { AwsAccount } from "../lib/aws-account";
import { PROJECT_ROOT } from "../lib/layout";
import { run, runOk } from "../lib/run";
import { check, expect, tail } from "./check";

/** The AWS stand-in the unit tests and the host leg use: an account kept in a directory. */
const AWS_STANDIN = join(PROJECT_ROOT, "rehearse", "standins", "aws");
/** Where the rehearsal's code-server image (the maintenance image here) keeps its node. */
const IMAGE_NODE = "/usr/lib/code-server/lib/node";
/** The developer whose home moves: one of the host's, in the middle of the roster. */
const MIGRATED = 2;

/** Files a developer keeps that a copy must keep alike: modes, a symbolic and a hard link, odd names, an old time. */
function plant(home: string): string {
  const dir = join(home, "migration-probe");
  mkdirSync(join(dir, "nested", "empty"), { recursive: true });
  writeFileSync(join(dir, "nested", "notes.txt"), "kept across the move\n", { mode: 0o640 });
  writeFileSync(join(dir, "run.sh"), "#!/bin/sh\necho ran\n", { mode: 0o755 });
  writeFileSync(join(dir, "with space ü.txt"), "odd name\n");
  linkSync(join(dir, "nested", "notes.txt"), join(dir, "notes-hardlink.txt"));
  symlinkSync("nested/notes.txt", join(dir, "current"));
  utimesSync(join(dir, "run.sh"), new Date("2020-01-02T03:04:05Z"), new Date("2020-01-02T03:04:05Z"));
  for (const path of ["", "nested", "nested/empty", "nested/notes.txt", "run.sh", "with space ü.txt", "notes-hardlink.txt"])
    chownSync(join(dir, path), 1000, 1000);
  return dir;
}

/**
 * Every entry of a home the developer works with (code-server's own state and caches aside, which
 * each code-server rewrites): directories with owner and mode; files with owner, mode, link count
 * and modification time; symbolic links with their target; and every file's checksum.
 */
const LISTING = [
  'cd "$1"',
  'skip() { find . -mindepth 1 \\( -path ./.local/share/code-server -o -path ./.cache \\) -prune -o "$@"; }',
  "skip -type d -printf 'directory %U:%G %m %p\\n' | sort",
  "skip -type f -print0 | xargs -0 -r stat -c 'file %u:%g %a %h %Y %n' | sort",
  "skip -type l -printf 'link %p -> %l\\n' | sort",
  "skip -type f -print0 | sort -z | xargs -0 -r sha256sum",
].join("\n");

/** The maintenance task's definition: the one no service runs. Its image, when the engine lacks it, is the rehearsal's under its name. */
async function maintenanceDefinition(synthesized: SynthesizedEcs): Promise<TaskDefinition> {
  const { stack, fleet } = synthesized;
  const maintenance = [...stack.tasks.values()].filter((t) => !stack.services.some((s) => s.family === t.family));
  expect(maintenance.length === 1, `expected one task definition without a service (the maintenance task), found ${maintenance.length}`);
  const image = maintenance[0].containers[0].image;
  if ((await engine(["image", "inspect", image])).code !== 0) {
    const tagged = await engine(["tag", `${fleet.codeServer.image}:${fleet.codeServer.tag}`, image]);
    expect(tagged.code === 0, `docker tag ... ${image}: ${tagged.stderr.trim()}`);
  }
  return maintenance[0];
}

/**
 * The AWS stand-in's account in `dir`, seeded as a migration's deploy leaves it (the host running,
 * a service per developer, the maintenance task's definition, the archive bucket): its `aws` first
 * on PATH, the rehearsed host behind its SSM (its host directory is the host's root), and behind
 * its run-task, run-task.ts with this maintenance definition (the same stand-in inside, run by the
 * image's node, on the same account). Returns the environment migrate-homes.sh runs in.
 */
function controlPlane(r: Rehearsal, synthesized: SynthesizedEcs, definition: TaskDefinition, dir: string): NodeJS.ProcessEnv {
  rmSync(dir, { recursive: true, force: true });
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  symlinkSync(AWS_STANDIN, join(bin, "aws"));
  const { fleet } = synthesized;
  const account = new AwsAccount(join(dir, "aws"), fleet.region);
  symlinkSync(r.host.root, join(account.dir, "host"));
  account.addInstance({ id: "i-0123456789abcdef0", name: hostInstanceName(fleet) });
  for (const developer of fleet.developers)
    account.addService({ cluster: fleet.namePrefix, name: developer.name, subnets: ["subnet-0aaa"], securityGroups: ["sg-0ccc"] });
  const maintenance = maintenanceNames(fleet);
  account.addTaskDefinition(maintenance.family, maintenance.container, { ARCHIVE_BUCKET });
  account.addBucket(ARCHIVE_BUCKET);
  const inside = join(dir, "aws-in-task");
  writeFileSync(inside, `#!/bin/sh\nexec ${IMAGE_NODE} '${AWS_STANDIN}-account/cli-entry.cjs' "$@"\n`, { mode: 0o755 });
  const context: RunTaskContext = {
    outdir: synthesized.outdir,
    family: definition.family,
    id: "ecs-maintenance",
    ...taskSurroundings(r),
    extraArgs: [
      `--mount=type=bind,src=${inside},dst=/usr/local/bin/aws,readonly`,
      `--mount=type=bind,src=${PROJECT_ROOT},dst=${PROJECT_ROOT},readonly`,
      `--mount=type=bind,src=${account.dir},dst=${account.dir}`,
      `--env=AWS_STANDIN_STATE=${account.dir}`,
    ],
  };
  writeFileSync(join(dir, "run-task.json"), JSON.stringify(context));
  const runTask = `rehearse/ecs/run-task.ts '${join(dir, "run-task.json")}' '${definition.containers[0].name}'`;
  writeFileSync(join(dir, "run-task.sh"), `cd '${PROJECT_ROOT}' && exec node --import tsx ${runTask} "$@"\n`);
  return {
    PATH: `${bin}:${process.env.PATH}`,
    HOME: dir,
    TMPDIR: join(r.host.root, "..", "tmp"),
    POLL_SECONDS: "0",
    ...account.env,
    AWS_STANDIN_MAINTENANCE: join(dir, "run-task.sh"),
  };
}

/** What every task of the leg runs with but its secrets. */
function taskSurroundings(r: Rehearsal): Omit<TaskContext, "secretValue" | "secretNames"> {
  return {
    efsRoot,
    nofileMax: Number(r.engineEnv.REHEARSAL_NOFILE_MAX),
    deployTimeValues: deployTimeValues(ARCHIVE_BUCKET),
    scratch: join(ecsDir, "scratch"),
    healthStartInterval: HEALTH_START_INTERVAL_SECONDS,
  };
}

/** Runs migrate-homes.sh for one developer; throws with its output and the task's log unless it verified the copy. */
async function migrateHomes(synthesized: SynthesizedEcs, name: string, env: NodeJS.ProcessEnv): Promise<void> {
  const script = join(synthesized.scripts, "migrate-homes.sh");
  const migrated = await run("bash", [script, "--developer", name, "--yes"], { env, timeoutSeconds: 300 });
  const output = migrated.stdout + migrated.stderr;
  const taskLog = join(env.AWS_STANDIN_STATE!, "task.log");
  const log = existsSync(taskLog) ? tail(readFileSync(taskLog, "utf8"), 15) : "none";
  expect(migrated.code === 0, `migrate-homes.sh exited ${migrated.code}:\n${tail(output, 25)}\nthe maintenance task's log:\n${log}`);
  expect(/verified: the copy holds every file/.test(output), `migrate-homes.sh printed no verification:\n${tail(output, 25)}`);
}

/** The developer's task on the migrated home, started as the service's scale-up would, once healthy. */
async function startDeveloperTask(r: Rehearsal, stack: EcsStack, name: string): Promise<{ task: Task; container: string }> {
  const service = stack.services.find((s) => s.service === name);
  expect(service, `the migration roster has no ECS service ${name}`);
  const definition = stack.tasks.get(service.family)!;
  // The host's developer shares these secrets: one still empty there (the API key) gets the
  // initializer's placeholder in this task alone, as storing it would change the host's container.
  const value = async (secret: string) => {
    const stored = await secretValue(r, secret).catch(() => "");
    if (stored !== "") return stored;
    if (stack.initializer.placeholders.includes(secret)) return SECRET_PLACEHOLDER;
    throw new Error(`the secret ${secret} has no value: ECS would not start the task`);
  };
  const context = { ...taskSurroundings(r), secretNames: stack.secretNames, secretValue: value };
  const task = await startTask(definition, `ecs-${name}`, context);
  try {
    await waitHealthy(task, service.container);
  } catch (err) {
    await stopTask(task);
    throw err;
  }
  return { task, container: service.container };
}

/** Every entry of the host's home found alike in the task, as its user sees it; how many. */
async function findsEveryFile(name: string, home: string, task: Task, container: string): Promise<number> {
  const onHost = await runOk("bash", ["-c", LISTING, "listing", home]);
  const quoted = LISTING.replace(/'/g, "'\\''");
  const inTask = await execIn(task, container, `bash -c '${quoted}' listing "$HOME"`, { timeoutSeconds: 120 });
  expect(inTask.code === 0, `listing the home in ${name}'s task: ${inTask.stderr.trim()}`);
  const found = new Set(inTask.stdout.split("\n"));
  const missing = onHost.stdout.split("\n").filter((line) => line && !found.has(line));
  expect(
    missing.length === 0,
    `in ${name}'s task, ${missing.length} entries of the host's home are missing or differ:\n${missing.slice(0, 15).join("\n")}`,
  );
  const hardLink = await execIn(
    task,
    container,
    "stat -c %i ~/migration-probe/nested/notes.txt ~/migration-probe/notes-hardlink.txt | uniq | wc -l",
  );
  expect(hardLink.stdout.trim() === "1", `the hard link is no longer one file with notes.txt: ${hardLink.stdout}`);
  return onHost.stdout.split("\n").filter((l) => /^(directory|file|link) /.test(l)).length;
}

export const MIGRATION_CHECK = check(
  "ecs: migrate-homes.sh moves a developer's home from the host's data volume through the maintenance task; on ECS the developer finds every file",
  async (r) => {
    const synthesized = await synthesizeEcs("ecs-migration", (d) => d.set("migration", d.createNode({ prepare: "ecs" })));
    const { name } = r.host.fleet.developers[MIGRATED];
    const definition = await maintenanceDefinition(synthesized);
    const home = r.host.home(name);
    rmSync(join(efsRoot, "home", name), { recursive: true, force: true });
    const env = controlPlane(r, synthesized, definition, join(ecsDir, "control-plane"));
    const probe = plant(home);
    // What the stand-in's SSM only logs: the host's container stopped for the copy, started again after.
    const stopped = await r.host.runScript("scripts/stop-containers.sh", ["--developer", name]);
    let started: { task: Task; container: string } | undefined;
    try {
      expect(stopped.code === 0, `stop-containers.sh --developer ${name}: ${tail(stopped.stderr)}`);
      await migrateHomes(synthesized, name, env);
      started = await startDeveloperTask(r, synthesized.stack, name);
      const entries = await findsEveryFile(name, home, started.task, started.container);
      const dropped = definition.containers[0].linuxParameters?.capabilities?.drop ?? [];
      return `${name}: the maintenance task (${definition.family}: user ${definition.containers[0].user}, ${dropped.length} capabilities dropped) verified the copy; in ${name}'s task (uid 1000) all ${entries} entries of the host's home are found alike (owner, mode, time, link count, link target, checksum), the hard link still one file`;
    } finally {
      if (started) await stopTask(started.task);
      rmSync(probe, { recursive: true, force: true });
      const restarted = await r.host.runScript("scripts/start-containers.sh", ["--developer", name]);
      if (restarted.code === 0) await r.host.waitHealthy(name);
    }
  },
);
