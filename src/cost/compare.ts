/**
 * `npm run cost -- --compare 8,50,200`: what a team of each size costs on each platform, always
 * on and on weekdays 08:00-20:00, a month in all and per developer. Each figure is the bill of a
 * roster generated from the operator's own (`team-rosters.ts`) and synthesized as `npm run synth`
 * would, so the comparison says no more than the two platforms' stacks do.
 */
import { relative } from "node:path";
import { RosterError, type Fleet, type PlatformKind } from "../roster";
import { describeFargateSize } from "../roster/fargate";
import { monthlyCost, type Bill } from "./engine";
import { dataVolumeGbLimits, DEFAULT_ASSUMPTIONS, HOURS_PER_MONTH, type UsageAssumptions } from "./inventory";
import type { PriceBook } from "./prices";
import { HOURS_PER_WEEK } from "./schedule";
import { awakeHoursPerWeek, DEFAULT_IDLE_MINUTES, sleepingCost, type SleepingCost } from "./sleep";
import {
  cheapestHostRoster,
  ecsRoster,
  fleetOf,
  WEEKDAY_SCHEDULE,
  withWeekdaySchedule,
  type EcsNetwork,
  type RosterDocument,
} from "./team-rosters";

export interface CompareOptions {
  /** Team sizes, in the order the table lists them. */
  readonly sizes: readonly number[];
  readonly prices: PriceBook;
  /** Usage assumptions given as flags; the rest are the defaults. @default none */
  readonly assumptions?: Partial<UsageAssumptions>;
  /** Told each roster as it is priced (a large team takes a while to synthesize). @default nothing */
  readonly progress?: (line: string) => void;
  /** Hours a week each developer works: adds sleep when idle's figures. @default - no sleep column */
  readonly activeHours?: number;
}

/** One platform and team size: its two bills, or why the roster refuses the team there. */
export interface ComparisonRow {
  readonly platform: PlatformKind;
  /** On ECS, the tasks' way out to the internet. */
  readonly network?: EcsNetwork;
  readonly developers: number;
  /** What the team runs on: the host's type, or the tasks' size, architecture and network. */
  readonly runsOn: string;
  /** The roster without a schedule. */
  readonly always?: Bill;
  /** The same roster with the weekday schedule; its scheduled column is the one compared. */
  readonly weekdays?: Bill;
  /** The same roster sleeping when idle (idleMinutes DEFAULT_IDLE_MINUTES), with `activeHours`. */
  readonly sleeping?: SleepingCost;
  /** The roster's own problems with this team on this platform. */
  readonly refused?: string;
}

/**
 * The host holds the homes on its data volume: the same homes as on EFS, on a volume twice their
 * size (the default roster's 500 GB for its 8 developers' 250 GB), never below the variable's default.
 */
function hostAssumptions(count: number, given: Partial<UsageAssumptions>): Partial<UsageAssumptions> {
  const homes = count * (given.homeGbPerDeveloper ?? DEFAULT_ASSUMPTIONS.homeGbPerDeveloper);
  const limits = dataVolumeGbLimits();
  const volume = Math.min(limits.max, Math.max(limits.default, Math.ceil(2 * homes)));
  return { usedGb: homes, dataVolumeGb: volume, ...given };
}

/** The tasks' size(s) and architecture, as the fleet gives them, and the load balancers they need. */
function tasksOf(fleet: Fleet, bill: Bill): string {
  const sizes = [...new Set(fleet.developers.flatMap((d) => (d.fargate ? [describeFargateSize(d.fargate)] : [])))];
  const albs = Math.round((bill.monthly.lines.find((l) => l.id === "elb.alb-hours")?.quantity ?? 0) / HOURS_PER_MONTH);
  return `Fargate ${sizes.join(", ")} ${fleet.ecs!.architecture}, ${albs} ALB${albs === 1 ? "" : "s"}`;
}

/** Both bills of one generated roster, or the roster's problems with it. */
function priced(doc: RosterDocument, fleet: Fleet, options: CompareOptions, assumptions: Partial<UsageAssumptions>) {
  const always = monthlyCost(fleet, { region: options.prices.region, prices: options.prices, assumptions });
  const scheduled = fleetOf(withWeekdaySchedule(doc));
  if (scheduled instanceof RosterError) return { always, refused: problemsOf(scheduled) };
  const weekdays = monthlyCost(scheduled, {
    region: options.prices.region,
    prices: options.prices,
    assumptions,
    schedule: scheduled.schedule,
  });
  return { always, weekdays, ...sleepingRow(doc, options, assumptions) };
}

/** The roster sleeping when idle, priced with the options' active hours; nothing without them. */
function sleepingRow(doc: RosterDocument, options: CompareOptions, assumptions: Partial<UsageAssumptions>): { sleeping?: SleepingCost } {
  if (options.activeHours === undefined) return {};
  const fleet = fleetOf({ ...doc, sleep: { idleMinutes: DEFAULT_IDLE_MINUTES } });
  if (fleet instanceof RosterError) return {};
  const bill = monthlyCost(fleet, { region: options.prices.region, prices: options.prices, assumptions });
  return { sleeping: sleepingCost(bill, options.activeHours, awakeHoursPerWeek(fleet, options.activeHours)) };
}

const problemsOf = (err: RosterError) => err.problems.map((p) => p.message).join("; ");

function hostRow(base: RosterDocument, count: number, options: CompareOptions): ComparisonRow {
  const generated = cheapestHostRoster(base, count, options.prices);
  if (generated instanceof RosterError) return { platform: "host", developers: count, runsOn: "—", refused: problemsOf(generated) };
  options.progress?.(`host, ${count} developers on ${generated.fleet.host!.instanceType}`);
  const bills = priced(generated.doc, generated.fleet, options, hostAssumptions(count, options.assumptions ?? {}));
  return { platform: "host", developers: count, runsOn: `EC2 ${generated.fleet.host!.instanceType}`, ...bills };
}

function ecsRow(base: RosterDocument, count: number, network: EcsNetwork, options: CompareOptions): ComparisonRow {
  const doc = ecsRoster(base, count, network);
  const fleet = fleetOf(doc);
  if (fleet instanceof RosterError) return { platform: "ecs", network, developers: count, runsOn: "—", refused: problemsOf(fleet) };
  options.progress?.(`ecs (${network}), ${count} developers`);
  const bills = priced(doc, fleet, options, options.assumptions ?? {});
  return { platform: "ecs", network, developers: count, runsOn: tasksOf(fleet, bills.always), ...bills };
}

/** Every size on the host, then every size on ECS with public addresses, then behind a NAT gateway. */
export function compareCosts(base: RosterDocument, options: CompareOptions): ComparisonRow[] {
  return [
    ...options.sizes.map((n) => hostRow(base, n, options)),
    ...(["public", "private"] as const).flatMap((network) => options.sizes.map((n) => ecsRow(base, n, network, options))),
  ];
}

const money = (usd: number, complete: boolean) => `${complete ? "" : "at least "}$${usd.toFixed(2)}`;

/** The figures of a row: always on and on weekdays (and sleeping when idle), in all and per developer. */
function figures(row: ComparisonRow): string[] {
  if (!row.always || !row.weekdays) return ["not possible", "", "", "", ...(row.sleeping ? ["", ""] : [])];
  const [a, w] = [row.always, row.weekdays];
  return [
    money(a.monthly.total, a.complete),
    money(a.monthly.perDeveloper, a.complete),
    money(w.scheduled.total, w.complete),
    money(w.scheduled.perDeveloper, w.complete),
    ...(row.sleeping ? [money(row.sleeping.total, a.complete), money(row.sleeping.perDeveloper, a.complete)] : []),
  ];
}

const label = (row: ComparisonRow) => (row.network ? `${row.platform} (${row.network})` : row.platform);

/** The table: one row per platform and size, columns padded, figures right-aligned. */
export function comparisonTable(rows: readonly ComparisonRow[]): string[] {
  const weekdays = `Weekdays ${WEEKDAY_SCHEDULE.start}-${WEEKDAY_SCHEDULE.stop}`;
  const active = rows.find((r) => r.sleeping)?.sleeping?.activeHours;
  const sleepColumns = active === undefined ? [] : [`Sleeping, ${active} h active`, "Per developer"];
  const cells = [
    ["Platform", "Developers", "Runs on", "Always on", "Per developer", weekdays, "Per developer", ...sleepColumns],
    ...rows.map((r) => [label(r), String(r.developers), r.runsOn, ...figures(r)]),
  ].map((r) => [...r, ...Array<string>(Math.max(0, 7 + sleepColumns.length - r.length)).fill("")]);
  const widths = cells[0].map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  const right = new Set([1, 3, 4, 5, 6, 7, 8]);
  return cells.map((r) =>
    r
      .map((cell, c) => (right.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join("  ")
      .trimEnd(),
  );
}

/** What the sums leave out, by platform: the descriptions of the lines without a price. */
function unpricedByPlatform(rows: readonly ComparisonRow[]): string[] {
  return (["host", "ecs"] as const).flatMap((platform) => {
    const bills = rows.filter((r) => r.platform === platform).flatMap((r) => [r.always, r.weekdays]);
    const names = [...new Set(bills.flatMap((b) => b?.unpriced ?? []))];
    return names.length ? [`  - ${platform}: ${names.join(", ")}`] : [];
  });
}

/** How the sleeping columns were made, when the table has them. */
function sleepingNote(rows: readonly ComparisonRow[]): string[] {
  const sleeping = rows.find((r) => r.sleeping)?.sleeping;
  if (!sleeping) return [];
  return [
    `Sleeping: the always-on roster with sleep.idleMinutes ${DEFAULT_IDLE_MINUTES}, each developer active ${sleeping.activeHours} h a week and awake ${sleeping.awakeHours} (the idle minutes after each of 5 sessions); the host runs while anyone is awake (the team's hours taken as the same), each task its developer's own hours.`,
  ];
}

/** The whole printout: title, table, and how each figure was made. */
export function renderComparison(
  rows: readonly ComparisonRow[],
  prices: PriceBook,
  rosterFile: string,
  assumptions: Partial<UsageAssumptions>,
): string {
  const hours = rows.find((r) => r.weekdays)?.weekdays?.scheduled.hoursPerWeek;
  const home = assumptions.homeGbPerDeveloper ?? DEFAULT_ASSUMPTIONS.homeGbPerDeveloper;
  const lines = [
    `Monthly cost by platform and team size: prices for ${prices.region} from ${relative(process.cwd(), prices.file)}, USD a month`,
    "",
    ...comparisonTable(rows),
    "",
    `Each row is a roster generated from ${rosterFile}: its developers replaced by dev1 to devN (ports from 8443; on ECS listener-rule priorities 1 to N, 50 to an ALB), synthesized and priced as npm run cost prices it.`,
    `Always on: the roster without a schedule. Weekdays: the same roster with ${WEEKDAY_SCHEDULE.days.join(" ")} ${WEEKDAY_SCHEDULE.start}-${WEEKDAY_SCHEDULE.stop}${hours === undefined ? "" : ` (${hours} of ${HOURS_PER_WEEK} hours a week)`}, the scheduled column of its bill.`,
    `host: the roster's instance type when it holds the team, else the cheapest built-in type of its architecture that synth's capacity check accepts; the homes on its data volume, sized twice their ${home} GB each, at least the data_volume_size_gb default.`,
    `ecs: one Fargate task per developer, the smallest size holding the roster's limits, with the roster's ecs settings but ecs.network public (a public address per task), then private (one NAT gateway, ${assumptions.natGbPerDeveloper ?? DEFAULT_ASSUMPTIONS.natGbPerDeveloper} GB per developer through it, --nat-gb-per-developer); homes of ${home} GB each on EFS (--home-gb-per-developer).`,
    "Other usage: npm run cost's assumptions (npm run cost -- --help), the same on both platforms.",
    ...sleepingNote(rows),
  ];
  const refused = rows.filter((r) => r.refused);
  if (refused.length) lines.push("Not possible:", ...refused.map((r) => `  - ${label(r)}, ${r.developers} developers: ${r.refused}`));
  const unpriced = unpricedByPlatform(rows);
  if (unpriced.length) lines.push('Sums marked "at least" leave out the lines with no price here:', ...unpriced);
  return `${lines.join("\n")}\n`;
}
