/**
 * `node --import tsx rehearse/ecs/run-task.ts <context.json> <container> <word>...`: what ECS does
 * for `aws ecs run-task` with a command override, for the control-plane stand-in the migration
 * check puts before the operator scripts: runs the task definition the context names on the
 * engine, with `<word>...` as `<container>`'s command, waits until that container exits, prints its
 * output on stderr (as its log group would hold it), removes the task and exits with its exit code.
 */
import { readFileSync } from "node:fs";
import { stackConfigOf } from "../rosters";
import { ecsStackOf } from "./definitions";
import { engine, startTask, stopTask, waitExit, type TaskContext } from "./tasks";

/** What the check writes for this program: the stack, the family, and the task's surroundings. */
export interface RunTaskContext extends Omit<TaskContext, "secretValue" | "secretNames"> {
  readonly outdir: string;
  readonly family: string;
  readonly id: string;
  readonly extraArgs: readonly string[];
}

async function main([contextFile, container, ...words]: string[]): Promise<number> {
  if (!contextFile || !container) {
    console.error("usage: run-task.ts <context.json> <container> <word>...");
    return 2;
  }
  const context = JSON.parse(readFileSync(contextFile, "utf8")) as RunTaskContext;
  const definition = ecsStackOf(stackConfigOf(context.outdir)).tasks.get(context.family);
  if (!definition) throw new Error(`the stack in ${context.outdir} has no task definition ${context.family}`);
  const noSecrets: Pick<TaskContext, "secretValue" | "secretNames"> = {
    secretNames: new Map(),
    secretValue: (name) => Promise.reject(new Error(`the task ${context.family} reads no secret, yet asked for ${name}`)),
  };
  const task = await startTask(
    definition,
    context.id,
    { ...context, ...noSecrets },
    {
      commands: new Map([[container, words]]),
      extraArgs: context.extraArgs,
    },
  );
  try {
    const code = await waitExit(task, container);
    const logs = await engine(["logs", task.containers.get(container)!]);
    process.stderr.write(logs.stdout + logs.stderr);
    return code;
  } finally {
    await stopTask(task);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`run-task: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
