/**
 * The ECS leg's state: the ECS roster synthesized by the project's entry point, its task
 * definitions read from the stack, the secrets the secret initializer would fill (filled here by its
 * own generator, through the Secrets Manager stand-in), the file system's directory, and the tasks
 * running now, which the ALB stand-in reaches at their own addresses beside the host's developers.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadRoster, type Fleet } from "../../src/roster";
import { layout } from "../lib/layout";
import { startProxy } from "../proxy";
import type { Rehearsal } from "../rehearsal";
import { stackConfigOf, synthesize, type Route, type RosterDocumentEdit } from "../rosters";
import { ecsStackOf, type EcsStack, type ServiceTarget } from "./definitions";
import { startTask, stopTask, waitHealthy, type Task, type TaskContext } from "./tasks";

/** Where the leg keeps the file system's directory and its scratch files. */
export const ecsDir = join(layout.root, "ecs");
export const efsRoot = join(ecsDir, "efs");
/** The engine checks health this often during a start period (ECS: at the interval from the start). */
export const HEALTH_START_INTERVAL_SECONDS = 1;

/** The base roster on ECS, with developers of its own names (the host's keep theirs behind the same proxy). */
export const ECS_DEVELOPERS = [
  { name: "ecs1", port: 8501 },
  { name: "ecs2", port: 8502 },
];
const onEcs: RosterDocumentEdit = (document) => {
  document.set("platform", "ecs");
  document.delete("host");
  document.delete("migration");
  document.set("developers", document.createNode(ECS_DEVELOPERS, { flow: false }));
};

export interface SynthesizedEcs {
  readonly fleet: Fleet;
  readonly stack: EcsStack;
  /** The rendered operator scripts (`deployment/scripts`). */
  readonly scripts: string;
  readonly outdir: string;
}

export async function synthesizeEcs(variant: string, edit: RosterDocumentEdit): Promise<SynthesizedEcs> {
  const { rosterFile, outdir } = await synthesize(variant, edit);
  return {
    fleet: loadRoster(rosterFile),
    stack: ecsStackOf(stackConfigOf(outdir)),
    scripts: join(outdir, "..", "deployment", "scripts"),
    outdir,
  };
}

/** What terraform apply resolves in the definitions' environment, as the stand-ins name it. */
export const deployTimeValues = (archiveBucket: string): Record<string, string> => ({ ARCHIVE_BUCKET: archiveBucket });

export class EcsLeg {
  readonly tasks = new Map<string, Task>();

  private constructor(
    private readonly r: Rehearsal,
    readonly synthesized: SynthesizedEcs,
    readonly context: TaskContext,
  ) {}

  /** Synthesizes the ECS roster, fills its secrets as the initializer does, and starts with an empty file system. */
  static async prepare(r: Rehearsal, archiveBucket: string, nofileMax: number): Promise<EcsLeg> {
    rmSync(ecsDir, { recursive: true, force: true });
    mkdirSync(efsRoot, { recursive: true });
    const synthesized = await synthesizeEcs("ecs", onEcs);
    await initializeSecrets(r, synthesized.stack);
    const context: TaskContext = {
      efsRoot,
      nofileMax,
      secretNames: synthesized.stack.secretNames,
      secretValue: (name) => secretValue(r, name),
      deployTimeValues: deployTimeValues(archiveBucket),
      scratch: join(ecsDir, "scratch"),
      healthStartInterval: HEALTH_START_INTERVAL_SECONDS,
    };
    return new EcsLeg(r, synthesized, context);
  }

  get services(): readonly ServiceTarget[] {
    return this.synthesized.stack.services;
  }

  service(name: string): ServiceTarget {
    const service = this.services.find((s) => s.service === name);
    if (!service) throw new Error(`no ECS service ${name} in the synthesized stack`);
    return service;
  }

  /** Starts the service's task (replacing the one running, as a deployment at 0 % minimum healthy does) and waits until its target is healthy. */
  async start(name: string): Promise<Task> {
    const service = this.service(name);
    await this.stop(name);
    const definition = this.synthesized.stack.tasks.get(service.family);
    if (!definition) throw new Error(`the service ${name} runs ${service.family}, which the stack does not define`);
    const task = await startTask(definition, `ecs-${name}`, this.context);
    this.tasks.set(name, task);
    await waitHealthy(task, service.container);
    await this.route();
    return task;
  }

  async stop(name: string): Promise<void> {
    const task = this.tasks.get(name);
    if (!task) return;
    this.tasks.delete(name);
    await stopTask(task);
    await this.route();
  }

  async stopAll(): Promise<void> {
    for (const name of [...this.tasks.keys()]) await this.stop(name);
  }

  /** The routing table: the host's developers, and each running task's target at the task's address. */
  routes(): Route[] {
    const ecs = [...this.tasks.entries()].map(([name, task]) => {
      const service = this.service(name);
      return {
        developer: name,
        host: service.host,
        port: service.port,
        container: task.containers.get(service.container)!,
        address: task.address,
      };
    });
    return [...this.r.host.roster.routes, ...ecs];
  }

  /** The ALB stand-in from the routing table as it is now (a target group registers the new task's address). */
  async route(): Promise<void> {
    await startProxy(this.r.domain, this.routes(), this.r.ports, this.r.host.roster.responseHeaders);
  }
}

/** A secret's value from the stand-in (its output never logged). */
export async function secretValue(r: Rehearsal, name: string): Promise<string> {
  const out = await r.host.awsOk([
    "secretsmanager",
    "get-secret-value",
    "--secret-id",
    name,
    "--query",
    "SecretString",
    "--output",
    "text",
  ]);
  return out.replace(/\n$/, "");
}

/** Puts a new version of a secret into the stand-in, through a file (never argv), as set-api-key and the rotations do. */
export async function putSecretValue(r: Rehearsal, name: string, value: string): Promise<void> {
  const file = join(ecsDir, "secret-value");
  mkdirSync(ecsDir, { recursive: true });
  try {
    writeFileSync(file, value, { mode: 0o600 });
    await r.host.awsOk(["secretsmanager", "put-secret-value", "--secret-id", name, "--secret-string", `file://${file}`]);
  } finally {
    rmSync(file, { force: true });
  }
}

/**
 * What Terraform and the secret initializer do on the first apply: every secret the stack names,
 * created empty (or those of `only`); then the initializer's passwords and placeholders into those that have no value,
 * by its own generator, through a file (never argv).
 */
export async function initializeSecrets(r: Rehearsal, stack: EcsStack, only?: ReadonlySet<string>): Promise<void> {
  const chosen = (name: string) => !only || only.has(name);
  // Loaded here: the initializer's module brings the AWS SDK, which the other legs never need.
  const { API_KEY_PLACEHOLDER, generatePassword } = await import("../../src/lambdas/secret-initializer/handler");
  const fills = [
    ...stack.initializer.passwords.map((name) => ({ name, value: generatePassword })),
    ...stack.initializer.placeholders.map((name) => ({ name, value: () => API_KEY_PLACEHOLDER })),
  ].filter((f) => chosen(f.name));
  for (const name of [...stack.secretNames.values()].filter(chosen)) {
    if ((await r.host.aws(["secretsmanager", "describe-secret", "--secret-id", name])).code !== 0)
      await r.host.awsOk(["secretsmanager", "create-secret", "--name", name]);
  }
  for (const { name, value } of fills) {
    if ((await secretValue(r, name).catch(() => "")) !== "") continue;
    await putSecretValue(r, name, value());
  }
}
