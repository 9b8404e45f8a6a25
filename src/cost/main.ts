/** Entry point of `npm run cost` (see cli.ts). */
import { speedUpSynthesis } from "../speed";
import { runCostCli } from "./cli";

speedUpSynthesis();

runCostCli(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  },
);
