/** Running commands: output captured (and logged), failures that say what ran, retries for downloads. */
import { spawn } from "node:child_process";
import { record, say } from "./log";

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly input?: string;
  /** Kill the command (and fail) after this many seconds. @default 600 */
  readonly timeoutSeconds?: number;
  /** Log only the exit status, not the output (it may hold a secret value). @default false */
  readonly quiet?: boolean;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
  readonly timedOut: boolean;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly result: RunResult,
  ) {
    const tail = (result.stderr || result.stdout).trim().split("\n").slice(-15).join("\n");
    super(`${command} ${result.timedOut ? "timed out" : `exited ${result.code}`} after ${result.seconds.toFixed(1)}s\n${tail}`);
  }
}

const quote = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);
export const commandLine = (command: string, args: readonly string[]) => [command, ...args].map(quote).join(" ");

/** Process groups of the commands running now, for an interrupted run to end. */
const running = new Set<number>();

/** Kills every command still running (each with what it started). */
export function killRunning(): void {
  for (const pid of running) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  running.clear();
}

/** Runs a command to completion; never throws for a non-zero exit (see runOk). */
export function run(command: string, args: readonly string[] = [], options: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const line = commandLine(command, args);
  record(`$ ${options.quiet ? command : line}`);
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout kills whatever the command started too.
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, detached: true, stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    if (child.pid) running.add(child.pid);
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(
      () => {
        timedOut = true;
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          // already gone
        }
      },
      (options.timeoutSeconds ?? 600) * 1000,
    );
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${line}: ${err.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (child.pid) running.delete(child.pid);
      const result = { code, stdout, stderr, seconds: (Date.now() - started) / 1000, timedOut };
      record(`${options.quiet ? "" : `${stdout}${stderr}`}[exit ${code}${timedOut ? ", timed out" : ""}, ${result.seconds.toFixed(1)}s]`);
      resolve(result);
    });
    // A command that exits before reading its input closes the pipe: not an error of ours.
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input);
  });
}

/** Runs a command and throws a CommandError unless it exits 0. */
export async function runOk(command: string, args: readonly string[] = [], options: RunOptions = {}): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) throw new CommandError(commandLine(command, args), result);
  return result;
}

/** Retries what may fail for a passing reason (a download): 4 attempts, 5, 10, 20 s apart. */
export async function retry<T>(what: string, attempt: () => Promise<T>, attempts = 4): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= attempts) throw err;
      const wait = 5 * 2 ** (n - 1);
      say(`${what} failed (attempt ${n} of ${attempts}); retrying in ${wait}s: ${(err as Error).message.split("\n")[0]}`);
      await sleep(wait * 1000);
    }
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
