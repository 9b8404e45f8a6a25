/**
 * `npm run bench`: median wall time and peak memory of the cdktf app step for the default
 * roster, a generated 48-developer roster, and the one-resource floor, each run as the cdktf
 * CLI runs the app (node --import tsx). Prints the figures and the two ratios the README quotes.
 *
 *   npm run bench [-- --runs 7]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { generatedRosterText } from "../__tests__/helpers/fleet";

const TIME = "/usr/bin/time";
const TARGETS = { defaultVsFloor: 3, defaultPeakMiB: 250, largeVsDefault: 1.3 };

interface Sample {
  seconds: number;
  peakMiB?: number;
}

function run(args: string[], env: NodeJS.ProcessEnv): Sample {
  const hasTime = existsSync(TIME);
  const command = hasTime ? TIME : process.execPath;
  const argv = hasTime ? ["-f", "%e %M", process.execPath, ...args] : args;
  const start = process.hrtime.bigint();
  const result = spawnSync(command, argv, { env: { ...process.env, ...env }, encoding: "utf8" });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`${args.join(" ")} failed:\n${result.stdout}${result.stderr}`);
  if (!hasTime) return { seconds };
  const [, maxKb] = result.stderr.trim().split("\n").pop()!.split(" ").map(Number);
  return { seconds, peakMiB: maxKb / 1024 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function measure(label: string, runs: number, args: string[], env: NodeJS.ProcessEnv = {}) {
  run(args, env); // warm the file cache; not counted
  const samples = Array.from({ length: runs }, () => run(args, env));
  const seconds = median(samples.map((s) => s.seconds));
  const peaks = samples.map((s) => s.peakMiB).filter((p): p is number => p !== undefined);
  const peakMiB = peaks.length ? median(peaks) : undefined;
  console.log(
    `${label.padEnd(34)} median ${seconds.toFixed(3)} s   peak ${peakMiB ? `${peakMiB.toFixed(0)} MiB` : "n/a (no /usr/bin/time)"}   (${runs} runs)`,
  );
  return { seconds, peakMiB };
}

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs must be a whole number >= 1 (got ${values.runs})`);
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), "bench-"));
try {
  const large = join(work, "roster-48.yaml");
  writeFileSync(large, generatedRosterText(48, "m5.16xlarge"));
  const app = (roster: string) => ({ args: ["--import", "tsx", "main.ts", "--outdir", join(work, "out")], env: { ROSTER_FILE: roster } });

  console.log(`cdktf app step, node ${process.version}, ${runs} runs each after one warm-up\n`);
  const floor = measure("floor (1 resource)", runs, ["--import", "tsx", "bench/floor.ts", join(work, "floor")]);
  const def = measure("default roster (8 developers)", runs, app("roster.yaml").args, app("roster.yaml").env);
  const big = measure("generated roster (48 developers)", runs, app(large).args, app(large).env);

  const ratio = (a: number, b: number) => a / b;
  const lines = [
    ["default / floor", ratio(def.seconds, floor.seconds), TARGETS.defaultVsFloor],
    ["48 developers / default", ratio(big.seconds, def.seconds), TARGETS.largeVsDefault],
  ] as const;
  console.log("");
  for (const [name, value, target] of lines) {
    console.log(`${name.padEnd(34)} ${value.toFixed(2)}x   (target <= ${target}x: ${value <= target ? "met" : "MISSED"})`);
  }
  if (def.peakMiB !== undefined) {
    console.log(
      `${"default peak memory".padEnd(34)} ${def.peakMiB.toFixed(0)} MiB   (target <= ${TARGETS.defaultPeakMiB} MiB: ${def.peakMiB <= TARGETS.defaultPeakMiB ? "met" : "MISSED"})`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
