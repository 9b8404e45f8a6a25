/**
 * Runs an entry point the way `npm run synth`, `npm run review` and the cdktf CLI do: through
 * tools/launch.js, which runs a build that is never older than the sources.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { PROJECT_ROOT } from "./fleet";

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `node tools/launch.js <entry> ...args` in `cwd` (default: the project root). */
export function launch(entry: string, args: readonly string[] = [], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Run {
  const cwd = options.cwd ?? PROJECT_ROOT;
  const result = spawnSync(process.execPath, [join(cwd, "tools", "launch.js"), entry, ...args], {
    cwd,
    env: { ...process.env, ...options.env },
    encoding: "utf8",
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
