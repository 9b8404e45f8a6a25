/** `npm run cost` run in process on the project's roster: its exit code and what it printed. */
import { join } from "node:path";
import { runCostCli } from "../../src/cost/cli";
import { PROJECT_ROOT } from "./fleet";

export async function runCost(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runCostCli(argv, {
    env: { ROSTER_FILE: join(PROJECT_ROOT, "roster.yaml") },
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  });
  return { code, stdout, stderr };
}
