/**
 * `npm run cost`: the monthly bill of the roster (ROSTER_FILE, default roster.yaml) as
 * synthesized, line by line, with the usage assumptions stated and overridable.
 */
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parse } from "yaml";
import { parseCommandLine } from "../command-line";
import { DEFAULT_ROSTER_FILE, type Fleet, loadRoster, RosterError } from "../roster";
import { MAX_ECS_DEVELOPERS } from "../roster/rules";
import { cheaperChoices, readRawRoster } from "./choices";
import { compareCosts, renderComparison } from "./compare";
import { type Bill, billJson, monthlyCost } from "./engine";
import { dataVolumeGbLimits, DEFAULT_ASSUMPTIONS, type UsageAssumptions } from "./inventory";
import { loadPrices, PRICES_DIR, PriceError } from "./prices";
import { renderReport } from "./report";
import { awakeHoursPerWeek, DEFAULT_IDLE_MINUTES, sleepingCost, type SleepingCost } from "./sleep";
import { fleetOf } from "./team-rosters";
import { bulkOffersSource, DEFAULT_OFFERS_URL, type BulkOptions } from "./bulk-offers";
import { NOT_IN_THE_PRICE_LIST } from "./price-list";
import { awsCli, queryApiSource } from "./query-api";
import type { RosterDocument } from "./team-rosters";
import { updatePrices, type PriceListSource } from "./update-prices";

/** The flags that override a usage assumption, with what each means. */
const ASSUMPTION_FLAGS: Record<string, { key: keyof UsageAssumptions; help: string; min?: number; integer?: boolean }> = {
  "data-volume-gb": {
    key: "dataVolumeGb",
    help: "size of the data volume in GB (default: the data_volume_size_gb variable's default)",
    integer: true,
  },
  "egress-gb": { key: "egressGb", help: "GB a month from the ALB to the developers' browsers" },
  "api-egress-gb": { key: "apiEgressGb", help: "GB a month from the host or the tasks to the Anthropic API and the internet" },
  "logs-gb-per-developer": { key: "logsGbPerDeveloper", help: "GB of container logs per developer a month" },
  "host-logs-gb": { key: "hostLogsGb", help: "GB of host logs (system, docker) a month" },
  "used-gb": { key: "usedGb", help: "GB of data on the data volume (the first full snapshot)" },
  "changed-gb-per-day": { key: "changedGbPerDay", help: "GB of the data volume or EFS homes changed a day (what each backup adds)" },
  lcu: { key: "lcuPerHour", help: "average ALB capacity units an hour" },
  "dns-queries-million": { key: "dnsQueriesMillion", help: "million DNS queries a month" },
  "s3-gb-per-bucket": { key: "s3GbPerBucket", help: "GB stored per S3 bucket" },
  "flow-logs-gb": { key: "flowLogsGb", help: "GB of VPC flow logs a month per flow log (when the stack has them)" },
  "waf-requests-million": { key: "wafRequestsMillion", help: "million requests a month per WAF web ACL (when the stack has one)" },
  "home-gb-per-developer": { key: "homeGbPerDeveloper", help: "GB in each developer's home on EFS (ECS)" },
  "efs-read-gb-per-developer": { key: "efsReadGbPerDeveloper", help: "GB each developer reads from EFS a month (ECS)" },
  "efs-write-gb-per-developer": { key: "efsWriteGbPerDeveloper", help: "GB each developer writes to EFS a month (ECS)" },
  "nat-gb-per-developer": { key: "natGbPerDeveloper", help: "GB a month each task moves through the NAT gateway (ECS, network private)" },
};

const FLAG_WIDTH = Math.max(...Object.keys(ASSUMPTION_FLAGS).map((f) => f.length)) + 2;

export const USAGE = `usage: npm run cost -- [--json] [--region <region>] [--<assumption> <number> ...]
       npm run cost -- --compare <sizes> [--region <region>] [--<assumption> <number> ...]
       npm run cost -- --update-prices <region> [--offers-url <url> | --query-api]
  --json              print {currency, region, developers, complete, unpriced, monthly, scheduled,
                      sleeping (with --active-hours)} as JSON; complete is false when a line has
                      no price (unpriced names them)
  --region <region>   price the roster with another region's price file (default: the roster's region)
  --active-hours <h>  hours a week each developer actually works (above 0, at most 168): adds what
                      sleep when idle costs (the roster's sleep settings, or idleMinutes ${DEFAULT_IDLE_MINUTES}),
                      next to always on and scheduled; with --compare, a column for each platform
  --compare <sizes>   a table of both platforms (ECS with public addresses and behind a NAT gateway)
                      for teams of each size (e.g. 8,50,200), always on and on weekdays 08:00-20:00,
                      from rosters generated from this one (a team of hundreds takes a while to synthesize)
  --update-prices <region>
                      rewrite prices/<region>.json from the AWS Price List's public bulk offer
                      files (no credentials); a figure it does not find keeps its entry
  --offers-url <url>  where the bulk offer files are (default ${DEFAULT_OFFERS_URL}; a mirror,
                      or file:///path for a local copy of the same tree)
  --query-api         read the Price List Query API instead (aws pricing get-products, with your
                      AWS credentials and the pricing:GetProducts permission)
${Object.entries(ASSUMPTION_FLAGS)
  .map(
    ([flag, a]) =>
      `  --${flag.padEnd(FLAG_WIDTH)}${a.help}${a.key in DEFAULT_ASSUMPTIONS ? ` (default ${DEFAULT_ASSUMPTIONS[a.key]})` : ""}`,
  )
  .join("\n")}
  ROSTER_FILE         the roster to read (default: ${DEFAULT_ROSTER_FILE})`;

export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Where the price files are read from, and `--update-prices` writes. @default PRICES_DIR */
  readonly pricesDir?: string;
  /** How `--update-prices` retries the bulk offer files. @default BulkOptions' defaults */
  readonly bulk?: Pick<BulkOptions, "attempts" | "retryDelayMs" | "idleTimeoutMs">;
}

class UsageError extends Error {}

function parseAssumptions(values: Record<string, unknown>): Partial<UsageAssumptions> {
  const out: Record<string, number> = {};
  for (const [flag, spec] of Object.entries(ASSUMPTION_FLAGS)) {
    const text = values[flag];
    if (text === undefined) continue;
    const value = Number(text);
    if (typeof text !== "string" || text.trim() === "" || !Number.isFinite(value) || value < 0) {
      throw new UsageError(`--${flag} ${JSON.stringify(text)}: expected a number of 0 or more (${spec.help})`);
    }
    if (flag === "data-volume-gb") {
      const { min, max } = dataVolumeGbLimits();
      if (!Number.isInteger(value) || value < min || value > max) {
        throw new UsageError(
          `--data-volume-gb ${text}: expected a whole number of GB from ${min} to ${max}, as the data_volume_size_gb variable allows`,
        );
      }
    }
    if (flag === "lcu" && value === 0)
      throw new UsageError(`--lcu 0: an ALB bills at least a fraction of an LCU every hour it runs; give a number above 0`);
    out[spec.key] = value;
  }
  return out;
}

/** The options that only go with --update-prices. */
const UPDATE_OPTIONS = ["offers-url", "query-api"];

/** Runs the cost report; resolves to the exit code (0 ok, 1 roster or prices problem, 2 bad arguments). */
export async function runCostCli(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseCommandLine<Record<string, unknown>>(
    argv,
    {
      json: { type: "boolean" },
      region: { type: "string" },
      compare: { type: "string" },
      "active-hours": { type: "string" },
      "update-prices": { type: "string" },
      "offers-url": { type: "string" },
      "query-api": { type: "boolean" },
      ...Object.fromEntries(Object.keys(ASSUMPTION_FLAGS).map((f) => [f, { type: "string" as const }])),
    },
    USAGE,
    { out: (text) => io.stdout(`${text}\n`), err: (text) => io.stderr(`${text}\n`) },
  );
  if ("exit" in parsed) return parsed.exit;
  const values = parsed.values;
  if (values["update-prices"] !== undefined) return runUpdatePrices(values, io);
  const rosterFile = io.env.ROSTER_FILE || DEFAULT_ROSTER_FILE;
  try {
    const stray = UPDATE_OPTIONS.filter((o) => values[o] !== undefined);
    if (stray.length > 0) throw new UsageError(`--${stray[0]} goes with --update-prices <region> only`);
    const assumptions = parseAssumptions(values);
    if (values.region !== undefined && (typeof values.region !== "string" || !/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(values.region))) {
      throw new UsageError(`--region ${JSON.stringify(values.region)}: expected an AWS region code such as us-east-1`);
    }
    const activeHours = parseActiveHours(values["active-hours"]);
    const fleet = loadRoster(rosterFile, io.env);
    if (values.compare !== undefined) return runCompare(values, rosterFile, fleet.region, assumptions, io, activeHours);
    const region = values.region ?? fleet.region;
    const prices = loadPrices(region, io.pricesDir);
    const bill = monthlyCost(fleet, { region, prices, assumptions, schedule: fleet.schedule });
    const sleeping =
      activeHours === undefined
        ? undefined
        : sleepingOf(rosterFile, fleet, activeHours, (f) => monthlyCost(f, { region, prices, assumptions }));
    if (values.json) {
      io.stdout(`${JSON.stringify({ ...billJson(bill), ...(sleeping ? { sleeping } : {}) }, null, 2)}\n`);
      return 0;
    }
    const choices = cheaperChoices(readRawRoster(rosterFile), fleet, bill, prices);
    const schedule = fleet.schedule
      ? `, ${fleet.platform === "host" ? "host" : "tasks"} scheduled ${fleet.schedule.days.join(" ")} ${fleet.schedule.start}-${fleet.schedule.stop} ${fleet.schedule.timezone}`
      : "";
    io.stdout(renderReport(bill, choices, `Monthly cost of ${fleet.namePrefix} (${rosterFile}${schedule})`, sleeping));
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`${err.message}\n${USAGE}\n`);
      return 2;
    }
    if (err instanceof RosterError || err instanceof PriceError) {
      io.stderr(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

/** `--active-hours <h>`: hours a week, above 0 and at most the week's 168. */
function parseActiveHours(text: unknown): number | undefined {
  if (text === undefined) return undefined;
  const hours = Number(text);
  if (typeof text !== "string" || text.trim() === "" || !Number.isFinite(hours) || hours <= 0 || hours > 168) {
    throw new UsageError(`--active-hours ${JSON.stringify(text)}: expected the hours a week a developer works, above 0 and at most 168`);
  }
  return hours;
}

/**
 * What sleep when idle costs with developers active `activeHours` a week: the roster as it is when
 * it sleeps, else the roster with the default sleep settings (which adds the idle alarms and metric).
 */
function sleepingOf(rosterFile: string, fleet: Fleet, activeHours: number, price: (fleet: Fleet) => Bill): SleepingCost {
  let sleepy = fleet;
  if (!fleet.sleep) {
    const doc = parse(readFileSync(rosterFile, "utf8")) as RosterDocument;
    const generated = fleetOf({ ...doc, sleep: { idleMinutes: DEFAULT_IDLE_MINUTES } });
    if (generated instanceof RosterError) throw generated;
    sleepy = generated;
  }
  return sleepingCost(price(sleepy), activeHours, awakeHoursPerWeek(sleepy, activeHours));
}

/** `--compare 8,50,200`: the team sizes, each once, each a team one environment holds. */
function compareSizes(text: unknown): number[] {
  if (typeof text !== "string" || !/^\s*\d+(\s*,\s*\d+)*\s*$/.test(text)) {
    throw new UsageError(`--compare ${JSON.stringify(text)}: expected team sizes separated by commas, such as 8,50,200`);
  }
  const sizes = text.split(",").map(Number);
  const outside = sizes.find((n) => n < 1 || n > MAX_ECS_DEVELOPERS);
  if (outside !== undefined) {
    throw new UsageError(`--compare: a team of ${outside}: give sizes from 1 to ${MAX_ECS_DEVELOPERS}, the most one environment holds`);
  }
  const twice = sizes.find((n, i) => sizes.indexOf(n) !== i);
  if (twice !== undefined) throw new UsageError(`--compare: ${twice} is given twice: give each team size once`);
  return sizes;
}

/** `--compare <sizes>`: both platforms for teams of each size, priced from rosters generated from the roster file. */
function runCompare(
  values: Record<string, unknown>,
  rosterFile: string,
  rosterRegion: string,
  assumptions: Partial<UsageAssumptions>,
  io: CliIo,
  activeHours?: number,
) {
  if (values.json) throw new UsageError("--compare prints a table, not JSON: leave out --json");
  const sizes = compareSizes(values.compare);
  const prices = loadPrices((values.region as string | undefined) ?? rosterRegion, io.pricesDir);
  const base = parse(readFileSync(rosterFile, "utf8")) as RosterDocument;
  const progress = (line: string) => io.stderr(`pricing ${line}\n`);
  const rows = compareCosts(base, { sizes, prices, assumptions, progress, ...(activeHours === undefined ? {} : { activeHours }) });
  io.stdout(renderComparison(rows, prices, rosterFile, assumptions));
  return 0;
}

const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;

/** The arguments of `--update-prices`, or the usage problem with them. */
function updateArguments(values: Record<string, unknown>): { region: string; offersUrl?: string; queryApi: boolean } | string {
  const region = values["update-prices"];
  const others = Object.keys(values).filter((k) => k !== "update-prices" && !UPDATE_OPTIONS.includes(k));
  const offersUrl = values["offers-url"] as string | undefined;
  if (others.length > 0) return `--update-prices takes no other option than --offers-url or --query-api (got --${others.join(", --")})`;
  if (typeof region !== "string" || !REGION.test(region))
    return `--update-prices ${JSON.stringify(region)}: expected an AWS region code such as ap-southeast-7`;
  if (offersUrl !== undefined && values["query-api"]) return "--offers-url and --query-api are two different sources: give one";
  if (offersUrl !== undefined && !/^(https?|file):\/\/./.test(offersUrl)) {
    return `--offers-url ${JSON.stringify(offersUrl)}: expected an http(s):// or file:// URL, such as ${DEFAULT_OFFERS_URL}`;
  }
  return { region, offersUrl, queryApi: values["query-api"] === true };
}

/** `--update-prices <region>`: rewrites that region's price file from the Price List. */
async function runUpdatePrices(values: Record<string, unknown>, io: CliIo): Promise<number> {
  const args = updateArguments(values);
  if (typeof args === "string") {
    io.stderr(`${args}\n${USAGE}\n`);
    return 2;
  }
  const shown = relative(process.cwd(), join(io.pricesDir ?? PRICES_DIR, `${args.region}.json`));
  try {
    let source: PriceListSource;
    if (args.queryApi) source = queryApiSource(args.region, awsCli(io.env));
    else {
      io.stdout(`Reading the AWS Price List bulk offer files for ${args.region} (EC2's is hundreds of MB; this takes minutes):\n`);
      source = await bulkOffersSource(args.region, { baseUrl: args.offersUrl, progress: (line) => io.stdout(`${line}\n`), ...io.bulk });
    }
    const result = updatePrices(args.region, source, { dir: io.pricesDir });
    io.stdout(`${updateReport(result, source, relative(process.cwd(), result.file) || result.file).join("\n")}\n`);
    return 0;
  } catch (err) {
    if (err instanceof PriceError) {
      io.stderr(`${err.message}\n${shown} is unchanged.\n`);
      return 1;
    }
    throw err;
  }
}

function updateReport(result: ReturnType<typeof updatePrices>, source: PriceListSource, file: string): string[] {
  const lines = [
    `Rewrote ${file} from ${source.name} (${source.where}): ${result.found.length} prices found` +
      (result.instanceTypes ? `, EC2 on-demand rates for ${result.instanceTypes} instance types` : "") +
      ".",
  ];
  if (result.missing.length > 0) {
    lines.push("Not found (the entry keeps its sourced figure, else it is unpriced):");
    for (const m of result.missing) lines.push(`  - ${m.id}: ${m.reason}`);
  }
  lines.push(`Not in the Price List's products (entries kept): ${Object.keys(NOT_IN_THE_PRICE_LIST).join(", ")}.`);
  lines.push(`Review the change (git diff ${file}) and commit it with the date it was read.`);
  return lines;
}
