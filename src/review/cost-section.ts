/**
 * The review's monthly cost section: both rosters priced by `npm run cost`'s engine (each with
 * its own region's price file, from the configurations the review already synthesized), base →
 * new and the difference in words, always on and, when either roster has a schedule, as
 * scheduled. When a roster cannot be priced (its region has no price file), the section says so
 * and how to make one: it is never silently left out. A `--var data_volume_size_gb` prices the new
 * roster's data volume at that size (the only variable the cost model reads).
 */
import { relative } from "node:path";
import { boundOf, deltaInWords, movesBetween, reasonsOf, type Bound, type Move } from "../cost/delta";
import { monthlyCost, type Bill } from "../cost/engine";
import type { UsageAssumptions } from "../cost/inventory";
import { loadPrices, pricedRegions, PRICES_DIR, PriceError } from "../cost/prices";
import type { Review, ReviewedRoster, ReviewSection } from "./review";

const TITLE = "Monthly cost (npm run cost)";
const usd = (n: number) => `$${n.toFixed(2)}`;

function bill(roster: ReviewedRoster, assumptions: Partial<UsageAssumptions> = {}): Bill {
  const { fleet, config } = roster;
  return monthlyCost(fleet, { region: fleet.region, prices: loadPrices(fleet.region), config, schedule: fleet.schedule, assumptions });
}

/** What the change's `--var`s tell the cost model about the new roster: the data volume's size. */
function assumedBy(vars: Readonly<Record<string, string>>): Partial<UsageAssumptions> {
  const size = vars.data_volume_size_gb;
  return size !== undefined && /^\d+$/.test(size) ? { dataVolumeGb: Number(size) } : {};
}

/** Why a roster in `region` cannot be priced, and what to do about it. */
function whyNot(err: PriceError, region: string, whose: string): string {
  const regions = pricedRegions();
  if (regions.includes(region)) return `No cost figures: ${whose} price file cannot be read: ${err.message}`;
  const dir = relative(process.cwd(), PRICES_DIR) || PRICES_DIR;
  return (
    `No cost figures: ${whose} region ${region} has no price file (${dir}/ has ${regions.join(", ")}). ` +
    `Create it with npm run cost -- --update-prices ${region} (it reads AWS's public price list), then review again.`
  );
}

/** Both bills, or the section's lines saying why there are none. */
function bothBills(review: Review): { base: Bill; current: Bill } | string[] {
  const priced = [review.base, review.current].map((roster, index) => {
    try {
      return bill(roster, index === 1 ? assumedBy(review.vars) : {});
    } catch (err) {
      if (err instanceof PriceError) return err;
      throw err;
    }
  });
  const [base, current] = priced;
  if (!(base instanceof PriceError) && !(current instanceof PriceError)) return { base, current };
  const [baseRegion, currentRegion] = [review.base.fleet.region, review.current.fleet.region];
  if (base instanceof PriceError && current instanceof PriceError && baseRegion === currentRegion) {
    return [whyNot(current, currentRegion, "both rosters'")];
  }
  return [
    ...(base instanceof PriceError ? [whyNot(base, baseRegion, "the base roster's")] : []),
    ...(current instanceof PriceError ? [whyNot(current, currentRegion, "the new roster's")] : []),
  ];
}

/** One row: base → new sums (marked "at least" when a line has no price) and the difference in words. */
function row(label: string, base: Bill, current: Bill, [from, to]: [number, number], bound: Bound, why: string): string {
  const sum = (b: Bill, n: number) => (b.complete ? usd(n) : `at least ${usd(n)}`);
  const delta = deltaInWords(from, to, bound, why, base.complete && current.complete);
  return `${label.padEnd(28)}${sum(base, from).padStart(16)} → ${sum(current, to).padStart(16)}   ${delta}`;
}

/** The always-on (or scheduled) rows: the total, and per developer. */
function rows(base: Bill, current: Bill, moves: Move[], scheduled: boolean, label: string): string[] {
  const bound = boundOf(moves);
  const why = reasonsOf(moves, bound);
  // Per developer, a bound holds only over the same number of developers; so does an exact
  // difference of incomplete sums, whose unpriced part is divided differently on each side.
  const shared = base.developers === current.developers || (bound === "exact" && base.complete && current.complete) || bound === "unknown";
  const spread = `the lines with no price are shared by ${current.developers} developers instead of ${base.developers}`;
  const perDeveloperWhy = shared ? why : why ? `${why}; and ${spread}` : spread;
  const sums = (b: Bill) => (scheduled ? b.scheduled : b.monthly);
  const total: [number, number] = [sums(base).total, sums(current).total];
  const each: [number, number] = [sums(base).perDeveloper, sums(current).perDeveloper];
  const perDeveloper = scheduled
    ? "Scheduled, per developer"
    : `Per developer (${base.developers === current.developers ? base.developers : `${base.developers} → ${current.developers}`})`;
  return [
    row(label, base, current, total, bound, why),
    row(perDeveloper, base, current, each, shared ? bound : "unknown", perDeveloperWhy),
  ];
}

/** The section: both bills and their difference, or why there are none. */
export function costDeltaSection(review: Review): ReviewSection {
  const bills = bothBills(review);
  if (Array.isArray(bills)) return { title: TITLE, lines: bills };
  const { base, current } = bills;
  const priced = (b: Bill) => `${b.region} prices from ${relative(process.cwd(), b.pricesFile)}`;
  const where = base.region === current.region ? priced(current) : `base with ${priced(base)}, new with ${priced(current)}`;
  const complete = base.complete && current.complete;
  const sized = assumedBy(review.vars).dataVolumeGb;
  const withVars = sized === undefined ? "" : `, the new one with a ${sized} GB data volume (--var data_volume_size_gb)`;
  const lines = [`USD a month, ${where}${withVars}${complete ? "" : `; "at least": a sum that leaves out lines with no price`}:`];
  const alwaysOn = movesBetween(base, current, false);
  lines.push(...rows(base, current, alwaysOn, false, "Always on"));
  const hasSchedule = review.base.fleet.schedule || review.current.fleet.schedule;
  const scheduled = hasSchedule ? movesBetween(base, current, true) : [];
  if (hasSchedule) {
    const hours = `${base.scheduled.hoursPerWeek} → ${current.scheduled.hoursPerWeek} h/week`;
    lines.push(...rows(base, current, scheduled, true, `Scheduled (${hours})`));
  }
  lines.push(...notes(base, current, [...alwaysOn, ...scheduled]));
  return { title: TITLE, lines };
}

/** The lines with no price: those the change moves, and how many the sums leave out. */
function notes(base: Bill, current: Bill, moves: Move[]): string[] {
  const lines: string[] = [];
  const moved = [...new Set(moves.map((m) => m.line))];
  if (moved.length > 2) lines.push(`Lines with no price that the change moves: ${moved.join(", ")}.`);
  const billLines = [...base.monthly.lines, ...current.monthly.lines];
  const unpriced = new Map(billLines.filter((l) => l.monthlyUsd === null).map((l) => [l.id, l.description]));
  if (unpriced.size > 0) {
    const count = new Set(billLines.map((l) => l.id)).size;
    const named = unpriced.size <= 4 ? `: ${[...unpriced.values()].join(", ")}` : "";
    lines.push(`${unpriced.size} of ${count} lines have no sourced price and are left out of the sums${named}; npm run cost lists them.`);
  }
  const unknown = new Set([...base.unknownResources, ...current.unknownResources].map((u) => u.type));
  if (unknown.size > 0) lines.push(`Resource types the cost model does not know, left out: ${[...unknown].join(", ")}.`);
  return lines;
}
