/**
 * Runs a synthesized ECS task definition on the rehearsal's engine as the ECS agent runs a Fargate
 * task: a pause container holds the task's network namespace on a bridge of its own (its "ENI"),
 * and every container of the definition joins it (network mode container:), started in the order
 * its dependsOn conditions impose, each with the definition's image, entry point and command,
 * user, environment, secrets (read from the Secrets Manager stand-in and handed over in a file
 * that is deleted once the container exists, never in argv), mounts (an EFS access point's
 * directory, made with the access point's owner and mode when missing; the task's own scratch
 * volumes), read-only root, capabilities, init process, ulimits and health check.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dockerCli } from "../engine";
import { run, sleep, type RunResult } from "../lib/run";
import type { ContainerDefinition, TaskDefinition, Volume } from "./definitions";

/** What a task needs from around it: where EFS is, the machine's limits, the stand-ins' values. */
export interface TaskContext {
  /** The file system's root on this machine: an access point's `/home/x` is `<efsRoot>/home/x`. */
  readonly efsRoot: string;
  /** The open-files hard limit of this machine: a higher ulimit is capped to it. */
  readonly nofileMax: number;
  /** A secret's current value, by name, as ECS reads it with the execution role. */
  readonly secretValue: (name: string) => Promise<string>;
  /** Secret names by the `valueFrom` references of the definitions. */
  readonly secretNames: ReadonlyMap<string, string>;
  /** Values for environment variables Terraform resolves at deploy time (`${...}`), by variable name. */
  readonly deployTimeValues: Readonly<Record<string, string>>;
  /** Where secrets files live for the moment between writing and `docker create`. */
  readonly scratch: string;
  /** Seconds between health checks during the start period (the engine's start interval). */
  readonly healthStartInterval: number;
}

/** A running task: its containers by definition name, its network and address. */
export interface Task {
  readonly id: string;
  readonly definition: TaskDefinition;
  readonly network: string;
  readonly pause: string;
  readonly containers: ReadonlyMap<string, string>;
  readonly volumes: readonly string[];
  readonly address: string;
}

/** The engine, its output kept out of the log: an inspect shows a container's secrets. */
export function engine(args: readonly string[], timeoutSeconds = 120): Promise<RunResult> {
  return run(dockerCli, args, { quiet: true, timeoutSeconds });
}

async function engineOk(args: readonly string[], timeoutSeconds = 120): Promise<string> {
  const result = await engine(args, timeoutSeconds);
  if (result.code !== 0) throw new Error(`docker ${args.slice(0, 2).join(" ")} ... exited ${result.code}: ${result.stderr.trim()}`);
  return result.stdout;
}

const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** The health check as the engine's flags (ECS's defaults where the definition is silent). */
function healthArgs(check: NonNullable<ContainerDefinition["healthCheck"]>, startInterval: number): string[] {
  const [kind, ...rest] = check.command;
  const command = kind === "CMD-SHELL" ? rest.join(" ") : kind === "CMD" ? rest.map(quote).join(" ") : undefined;
  if (command === undefined) throw new Error(`health check ${JSON.stringify(check.command)}: neither CMD nor CMD-SHELL`);
  return [
    `--health-cmd=${command}`,
    `--health-interval=${check.interval ?? 30}s`,
    `--health-timeout=${check.timeout ?? 5}s`,
    `--health-retries=${check.retries ?? 3}`,
    `--health-start-period=${check.startPeriod ?? 0}s`,
    `--health-start-interval=${startInterval}s`,
  ];
}

/** The mount of a task volume at a mount point. */
function mountArg(volume: Volume, containerPath: string, readOnly: boolean, efsRoot: string, scratchVolume: string): string {
  const source = volume.accessPoint ? `type=bind,src=${join(efsRoot, volume.accessPoint.path)}` : `type=volume,src=${scratchVolume}`;
  return `--mount=${source},dst=${containerPath}${readOnly ? ",readonly" : ""}`;
}

/** The container's environment as Terraform's apply leaves it: a value it resolves (`${...}`) is the stand-in's. */
export function resolvedEnvironment(
  definition: TaskDefinition,
  container: ContainerDefinition,
  deployTimeValues: Readonly<Record<string, string>>,
): Map<string, string> {
  const env = new Map<string, string>();
  for (const { name, value } of container.environment ?? []) {
    const resolved = value.includes("${") ? deployTimeValues[name] : value;
    if (resolved === undefined)
      throw new Error(`${definition.family}/${container.name}: no stand-in value for ${name} (Terraform sets ${value})`);
    env.set(name, resolved);
  }
  return env;
}

/**
 * `docker create` arguments for one container of a task (pure: the translation of its definition).
 * `scratchVolumes` names the engine volume of each task volume without EFS.
 */
export function containerArgs(
  definition: TaskDefinition,
  container: ContainerDefinition,
  task: { readonly id: string; readonly pause: string; readonly scratchVolumes: ReadonlyMap<string, string> },
  context: Pick<TaskContext, "efsRoot" | "nofileMax" | "deployTimeValues" | "healthStartInterval">,
): string[] {
  const args = ["create", `--name=${task.id}-${container.name}`, `--network=container:${task.pause}`];
  if (container.user) args.push(`--user=${container.user}`);
  if (container.readonlyRootFilesystem) args.push("--read-only");
  const linux = container.linuxParameters ?? {};
  for (const cap of linux.capabilities?.drop ?? []) args.push(`--cap-drop=${cap}`);
  for (const cap of linux.capabilities?.add ?? []) args.push(`--cap-add=${cap}`);
  if (linux.initProcessEnabled) args.push("--init");
  for (const u of container.ulimits ?? [])
    args.push(`--ulimit=${u.name}=${Math.min(u.softLimit, context.nofileMax)}:${Math.min(u.hardLimit, context.nofileMax)}`);
  for (const [name, value] of resolvedEnvironment(definition, container, context.deployTimeValues)) args.push(`--env=${name}=${value}`);
  for (const point of container.mountPoints ?? []) {
    const volume = definition.volumes.find((v) => v.name === point.sourceVolume);
    if (!volume) throw new Error(`${definition.family}/${container.name} mounts ${point.sourceVolume}, which the task does not define`);
    args.push(mountArg(volume, point.containerPath, point.readOnly ?? false, context.efsRoot, task.scratchVolumes.get(volume.name) ?? ""));
  }
  if (container.healthCheck) args.push(...healthArgs(container.healthCheck, context.healthStartInterval));
  const [entry, ...entryRest] = container.entryPoint ?? [];
  if (entry !== undefined) args.push(`--entrypoint=${entry}`);
  args.push(container.image, ...entryRest, ...(container.command ?? []));
  return args;
}

/** The order containers start in: every dependency before what depends on it. */
export function startOrder(definition: TaskDefinition): ContainerDefinition[] {
  const byName = new Map(definition.containers.map((c) => [c.name, c]));
  const ordered: ContainerDefinition[] = [];
  const visit = (c: ContainerDefinition, path: string[]) => {
    if (ordered.includes(c)) return;
    if (path.includes(c.name)) throw new Error(`${definition.family}: dependsOn cycle ${[...path, c.name].join(" -> ")}`);
    for (const d of c.dependsOn ?? []) {
      const dep = byName.get(d.containerName);
      if (!dep) throw new Error(`${definition.family}/${c.name} depends on ${d.containerName}, which the task does not have`);
      visit(dep, [...path, c.name]);
    }
    ordered.push(c);
  };
  for (const c of definition.containers) visit(c, []);
  return ordered;
}

/** The access point's directory, made as EFS makes it on first use: the creation owner and mode. */
function ensureAccessPointDirectory(volume: Volume, efsRoot: string): void {
  if (!volume.accessPoint) return;
  const dir = join(efsRoot, volume.accessPoint.path);
  if (existsSync(dir)) return;
  const creation = volume.accessPoint.creation;
  if (!creation) throw new Error(`access point ${volume.accessPoint.id}: ${volume.accessPoint.path} does not exist and it creates nothing`);
  mkdirSync(join(dir, ".."), { recursive: true });
  mkdirSync(dir);
  chownSync(dir, creation.uid, creation.gid);
  chmodSync(dir, creation.mode);
}

/** Waits until a started container meets a dependency condition; throws when it never can. */
async function waitFor(container: string, condition: string, timeoutSeconds = 300): Promise<void> {
  if (condition === "COMPLETE" || condition === "SUCCESS") {
    const code = (await engineOk(["wait", container], timeoutSeconds)).trim();
    if (condition === "SUCCESS" && code !== "0") throw new Error(`${container} exited ${code}; what depends on its SUCCESS cannot start`);
    return;
  }
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const [status, health] = (
      await engineOk(["inspect", "--format", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", container])
    )
      .trim()
      .split(" ");
    if (condition === "START" && status !== "created") return;
    if (condition === "HEALTHY" && health === "healthy") return;
    if (status === "exited" || Date.now() > deadline) throw new Error(`${container} is ${status} ${health ?? ""}: never ${condition}`);
    await sleep(500);
  }
}

/** The container's secrets as an env file (mode 0600) for `docker create`; its path, or undefined. */
async function secretsFile(container: ContainerDefinition, context: TaskContext, id: string): Promise<string | undefined> {
  if (!container.secrets?.length) return undefined;
  const lines: string[] = [];
  for (const { name, valueFrom } of container.secrets) {
    const secret = context.secretNames.get(valueFrom);
    if (!secret) throw new Error(`${id}/${container.name}: secret ${name} comes from ${valueFrom}, no secret of the stack`);
    const value = await context.secretValue(secret);
    if (/[\n\r]/.test(value)) throw new Error(`the secret ${secret} holds a line break, which an env file cannot carry`);
    lines.push(`${name}=${value}`);
  }
  mkdirSync(context.scratch, { recursive: true, mode: 0o700 });
  const file = join(mkdtempSync(join(context.scratch, "secrets-")), "env");
  writeFileSync(file, `${lines.join("\n")}\n`, { mode: 0o600 });
  return file;
}

/** The task's network, pause container, scratch volumes and containers, each started when its dependencies allow. */
async function createTask(
  definition: TaskDefinition,
  task: { id: string; network: string; pause: string; containers: Map<string, string>; scratchVolumes: Map<string, string> },
  context: TaskContext,
  overrides: TaskOverrides,
): Promise<void> {
  const { id, network, pause, containers, scratchVolumes } = task;
  const commands = overrides.commands ?? new Map<string, readonly string[]>();
  await engineOk(["network", "create", "--driver=bridge", network]);
  await engineOk([
    "run",
    "--detach",
    `--name=${pause}`,
    `--network=${network}`,
    "--read-only",
    "--cap-drop=ALL",
    "--user=65534:65534",
    "--entrypoint=sleep",
    definition.containers[0].image,
    "infinity",
  ]);
  for (const volume of definition.volumes) {
    ensureAccessPointDirectory(volume, context.efsRoot);
    if (!volume.accessPoint) scratchVolumes.set(volume.name, (await engineOk(["volume", "create", `${id}-${volume.name}`])).trim());
  }
  for (const container of startOrder(definition)) {
    for (const dep of container.dependsOn ?? []) await waitFor(containers.get(dep.containerName)!, dep.condition);
    const command = commands.get(container.name);
    const args = containerArgs(definition, command ? { ...container, command } : container, { id, pause, scratchVolumes }, context);
    const env = await secretsFile(container, context, id);
    try {
      await engineOk([args[0], ...(env ? [`--env-file=${env}`] : []), ...(overrides.extraArgs ?? []), ...args.slice(1)]);
    } finally {
      if (env) rmSync(join(env, ".."), { recursive: true, force: true });
    }
    containers.set(container.name, `${id}-${container.name}`);
    await engineOk(["start", `${id}-${container.name}`]);
  }
}

/** What run-task may change of a definition, and what the rehearsal adds to every container. */
export interface TaskOverrides {
  /** Commands by container name, as run-task's containerOverrides. */
  readonly commands?: ReadonlyMap<string, readonly string[]>;
  /** `docker create` options added to every container (a stand-in mounted in). @default none */
  readonly extraArgs?: readonly string[];
}

/**
 * Starts a task of `definition` named `id` (its containers are `<id>-<container>`), each container
 * once its dependencies meet their conditions; `commands` overrides containers' commands, as
 * run-task's overrides do. Returns once the last container has started.
 */
export async function startTask(
  definition: TaskDefinition,
  id: string,
  context: TaskContext,
  overrides: TaskOverrides = {},
): Promise<Task> {
  if (definition.networkMode !== "awsvpc") throw new Error(`${definition.family}: network mode ${definition.networkMode}, not awsvpc`);
  const network = `${id}-eni`;
  const pause = `${id}-pause`;
  const containers = new Map<string, string>();
  const scratchVolumes = new Map<string, string>();
  try {
    await createTask(definition, { id, network, pause, containers, scratchVolumes }, context, overrides);
  } catch (err) {
    // A task that fails to start leaves nothing behind, as ECS stops what it had started.
    await stopTask({ id, definition, network, pause, containers, volumes: [...scratchVolumes.values()], address: "" });
    throw err;
  }
  const address = (await engineOk(["inspect", "--format", `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, pause])).trim();
  return { id, definition, network, pause, containers, volumes: [...scratchVolumes.values()], address };
}

/** Waits until a container of the task is healthy. */
export function waitHealthy(task: Task, container: string, timeoutSeconds = 180): Promise<void> {
  return waitFor(task.containers.get(container)!, "HEALTHY", timeoutSeconds);
}

/** Waits until a container of the task exits; its exit code. */
export async function waitExit(task: Task, container: string, timeoutSeconds = 600): Promise<number> {
  return Number((await engineOk(["wait", task.containers.get(container)!], timeoutSeconds)).trim());
}

/** Stops a task and removes what it had of its own: containers, scratch volumes, its network. EFS stays. */
export async function stopTask(task: Task): Promise<void> {
  const names = [...task.containers.values()].reverse();
  if (names.length) await engine(["stop", "--time=10", ...names], 60);
  await engine(["rm", "--force", ...names, task.pause], 60);
  if (task.volumes.length) await engine(["volume", "rm", "--force", ...task.volumes]);
  await engine(["network", "rm", task.network]);
}

/** Runs a command inside a container of the task. */
export function execIn(task: Task, container: string, command: string, options: { user?: string; timeoutSeconds?: number } = {}) {
  return engine(
    ["exec", ...(options.user ? [`--user=${options.user}`] : []), task.containers.get(container)!, "sh", "-c", command],
    options.timeoutSeconds ?? 60,
  );
}
