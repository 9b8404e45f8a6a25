/**
 * `npm run bench`: the cdktf app step (what `cdktf synth` runs) for the default roster, a generated
 * 48-developer roster, the default roster on ECS and a 250-developer ECS roster, against the floor: a one-resource cdktf app with deep provider
 * imports, compiled to JavaScript and run by plain `node`. Medians of interleaved runs after a
 * warm-up, wall and CPU time, peak memory from /usr/bin/time. Prints both ratios docs/contributing.md#benchmark
 * quotes.
 *
 *   npm run bench [-- --runs 9]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCommandLine } from "../src/command-line";
import { transformSync } from "esbuild";
import { parse, stringify } from "yaml";
import { generatedRosterText } from "../__tests__/helpers/fleet";

/** `rosterText` on ECS (no host section). */
function onEcs(rosterText: string): string {
  const roster = parse(rosterText) as Record<string, unknown>;
  delete roster.host;
  return stringify({ ...roster, platform: "ecs" });
}

const TIME = "/usr/bin/time";
const TARGETS = { defaultVsFloor: 3, largeVsDefault: 1.3, defaultPeakMiB: 250, ecsVsHost: 1.2, ecs250VsEcsDefault: 3 };

interface Sample {
  readonly wall: number;
  readonly cpu: number;
  readonly peakMiB?: number;
}

interface Case {
  readonly label: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly samples: Sample[];
}

function run(c: Case): Sample {
  const hasTime = existsSync(TIME);
  const command = hasTime ? TIME : process.execPath;
  const argv = hasTime ? ["-f", "BENCH %e %U %S %M", process.execPath, ...c.args] : [...c.args];
  const start = process.hrtime.bigint();
  const result = spawnSync(command, argv, { env: { ...process.env, ...c.env }, encoding: "utf8" });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`${c.label} failed:\n${result.stdout}${result.stderr}`);
  const measured = /BENCH ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(result.stderr);
  if (!measured) return { wall, cpu: Number.NaN };
  const [, , user, system, maxKb] = measured.map(Number);
  return { wall, cpu: user + system, peakMiB: maxKb / 1024 };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const USAGE = `usage: npm run bench [-- --runs <n>]
  --runs <n>   runs of each case, whose median is printed (default: 9)
Times the synthesis of the default roster, a 48-developer roster and the app as cdktf.json runs it,
against a floor (one resource, plain node), and prints medians and ratios.`;
const parsed = parseCommandLine<{ runs: string }>(process.argv.slice(2), { runs: { type: "string", default: "9" } }, USAGE);
if ("exit" in parsed) process.exit(parsed.exit);
const { values } = parsed;
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs must be a whole number >= 1 (got ${values.runs})`);
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), "bench-"));
try {
  // The floor, compiled as the app is (esbuild) but not bundled: plain node resolves its deep
  // provider imports from node_modules, as any cdktf app run by node does.
  const floorJs = join(".build", "bench", "floor.js");
  mkdirSync(join(".build", "bench"), { recursive: true });
  writeFileSync(floorJs, transformSync(readFileSync("bench/floor.ts", "utf8"), { loader: "ts", format: "cjs", target: "node20" }).code);

  const large = join(work, "roster-48.yaml");
  writeFileSync(large, generatedRosterText(48, "m5.16xlarge"));
  const ecsDefault = join(work, "roster-ecs.yaml");
  writeFileSync(ecsDefault, onEcs(readFileSync("roster.yaml", "utf8")));
  const ecs250 = join(work, "roster-ecs-250.yaml");
  writeFileSync(ecs250, onEcs(generatedRosterText(250)));
  const app = (roster: string, ...extra: string[]) => ({
    args: ["tools/launch.js", "main.ts", "--outdir", join(work, "out"), ...extra],
    env: { ROSTER_FILE: roster },
  });
  const cases: Case[] = [
    { label: "floor: 1 resource, plain node", args: [floorJs, join(work, "floor")], samples: [] },
    { label: "default roster (8 developers)", ...app("roster.yaml"), samples: [] },
    { label: "48 developers (m5.16xlarge)", ...app(large), samples: [] },
    { label: "default, as cdktf.json runs it (+ deployment/)", ...app("roster.yaml", "--export", join(work, "deployment")), samples: [] },
    { label: "default roster on ECS (8 developers)", ...app(ecsDefault), samples: [] },
    { label: "250 developers on ECS", ...app(ecs250), samples: [] },
  ];

  console.log(`cdktf app step, node ${process.version}, ${runs} interleaved runs each after one warm-up\n`);
  for (const c of cases) run(c); // builds the bundle if needed, warms the file cache; not counted
  for (let i = 0; i < runs; i++) for (const c of cases) c.samples.push(run(c));

  const summary = cases.map((c) => ({
    label: c.label,
    wall: median(c.samples.map((s) => s.wall)),
    cpu: median(c.samples.map((s) => s.cpu)),
    peakMiB: c.samples[0].peakMiB === undefined ? undefined : median(c.samples.map((s) => s.peakMiB!)),
  }));
  console.log(`${"".padEnd(48)} ${"wall".padStart(8)} ${"cpu".padStart(8)} ${"peak".padStart(9)}`);
  for (const s of summary) {
    const peak = s.peakMiB === undefined ? "n/a" : `${s.peakMiB.toFixed(0)} MiB`;
    console.log(`${s.label.padEnd(48)} ${s.wall.toFixed(3).padStart(6)} s ${s.cpu.toFixed(2).padStart(6)} s ${peak.padStart(9)}`);
  }

  const [floor, def, big, full, ecs, ecsLarge] = summary;
  const ratio = (name: string, a: number, b: number, target?: number) =>
    console.log(
      `${name.padEnd(48)} ${(a / b).toFixed(2)}x${target ? `   (target <= ${target}x: ${a / b <= target ? "met" : "MISSED"})` : ""}`,
    );
  console.log("");
  ratio("default / floor (wall)", def.wall, floor.wall, TARGETS.defaultVsFloor);
  ratio("48 developers / default (wall)", big.wall, def.wall, TARGETS.largeVsDefault);
  ratio("default / floor (cpu)", def.cpu, floor.cpu);
  ratio("default with deployment/ / floor (wall)", full.wall, floor.wall);
  ratio("default on ECS / default on the host (wall)", ecs.wall, def.wall, TARGETS.ecsVsHost);
  ratio("250 developers on ECS / default on ECS (wall)", ecsLarge.wall, ecs.wall, TARGETS.ecs250VsEcsDefault);
  if (def.peakMiB !== undefined) {
    const met = def.peakMiB <= TARGETS.defaultPeakMiB ? "met" : "MISSED";
    console.log(`${"default peak memory".padEnd(48)} ${def.peakMiB.toFixed(0)} MiB   (target <= ${TARGETS.defaultPeakMiB} MiB: ${met})`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
