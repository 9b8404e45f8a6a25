/**
 * The review's monthly cost section: both rosters priced by `npm run cost`'s engine (each with
 * its own region's price file, from the configurations the review already synthesized), base →
 * new and the difference, always on and, when either roster has a schedule, as scheduled.
 */
import { relative } from "node:path";
import { monthlyCost, type Bill, type CostLine } from "../cost/engine";
import { loadPrices, PriceError } from "../cost/prices";
import type { ReviewedRoster, Review, ReviewSection } from "./review";

const usd = (n: number) => `$${n.toFixed(2)}`;
const signed = (n: number) => {
  const cents = Math.round(n * 100) / 100;
  return cents === 0 ? "±$0.00" : `${cents > 0 ? "+" : "−"}${usd(Math.abs(cents))}`;
};
const percent = (from: number, to: number) => {
  if (from === 0) return "";
  const change = Math.round(((to - from) / from) * 1000) / 10;
  return ` (${change > 0 ? "+" : change < 0 ? "−" : "±"}${Math.abs(change)} %)`;
};

function bill(roster: ReviewedRoster): Bill {
  const { fleet, config } = roster;
  return monthlyCost(fleet, { region: fleet.region, prices: loadPrices(fleet.region), config, schedule: fleet.schedule });
}

/** How far a difference of the priced lines' sums can be trusted. */
type Bound = "exact" | "floor" | "ceiling" | "unknown";

/**
 * What the unpriced lines do to a difference of the priced lines' sums: nothing (exact), only add
 * (the difference is a floor), only take away (a ceiling), or either (unknown: lines moving both
 * ways, a line priced on one side only, another instance type, another region). `scheduled`: the
 * lines that stop with the host also move with the hours a week. Returns the bound and the lines.
 */
function boundOf(base: Bill, current: Bill, scheduled: boolean): { bound: Bound; lines: string[] } {
  const before = new Map(base.monthly.lines.map((l) => [l.id, l]));
  const after = new Map(current.monthly.lines.map((l) => [l.id, l]));
  const hours = Math.sign(current.scheduled.hoursPerWeek - base.scheduled.hoursPerWeek);
  const moves: { direction: number; description: string }[] = [];
  for (const id of new Set([...before.keys(), ...after.keys()])) {
    const was = before.get(id);
    const is = after.get(id);
    const unpriced = (l: CostLine | undefined) => l !== undefined && l.monthlyUsd === null;
    if (!unpriced(was) && !unpriced(is)) continue;
    const description = (is ?? was)!.description;
    let direction: number;
    if (!was) direction = 1;
    else if (!is) direction = -1;
    else if (base.region !== current.region || unpriced(was) !== unpriced(is) || was.description !== is.description) direction = 0;
    else {
      const quantity = Math.sign(is.quantity - was.quantity);
      const time = scheduled && is.scalesWithHost ? hours : 0;
      if (quantity === 0 && time === 0) continue;
      direction = quantity === 0 ? time : time === 0 || time === quantity ? quantity : 0;
    }
    moves.push({ direction, description });
  }
  // Resources of a type the cost model does not know cost something it cannot say.
  const countOf = (bill: Bill) => new Map(bill.unknownResources.map((u) => [u.type, u.count]));
  const [wasUnknown, isUnknown] = [countOf(base), countOf(current)];
  for (const type of new Set([...wasUnknown.keys(), ...isUnknown.keys()])) {
    const direction = Math.sign((isUnknown.get(type) ?? 0) - (wasUnknown.get(type) ?? 0));
    if (direction !== 0) moves.push({ direction, description: `${type} (a type the cost model does not know)` });
  }
  const lines = moves.map((m) => m.description);
  if (moves.length === 0) return { bound: "exact", lines };
  if (moves.every((m) => m.direction === 1)) return { bound: "floor", lines };
  if (moves.every((m) => m.direction === -1)) return { bound: "ceiling", lines };
  return { bound: "unknown", lines };
}

/** One line of figures; sums of incomplete bills marked ≥; the difference as far as it is known. */
function row(base: Bill, current: Bill, bound: Bound, label: string, from: number, to: number): string {
  const floor = (bill: Bill, n: number) => `${bill.complete ? "" : "≥"}${usd(n)}`;
  // A percentage of a floor says nothing: only complete bills get one.
  const exact = `${signed(to - from)}${base.complete && current.complete ? percent(from, to) : ""}`;
  const delta = { exact, floor: `≥ ${signed(to - from)}`, ceiling: `≤ ${signed(to - from)}`, unknown: "unknown" }[bound];
  return `${label.padEnd(28)}${floor(base, from).padStart(11)} → ${floor(current, to).padStart(11)}   ${delta}`;
}

/**
 * The section, or undefined when the engine cannot price one of the rosters (a region without a
 * price file): a cost it cannot state is left out rather than guessed.
 */
export function costDeltaSection(review: Review): ReviewSection | undefined {
  let base: Bill;
  let current: Bill;
  try {
    base = bill(review.base);
    current = bill(review.current);
  } catch (err) {
    if (err instanceof PriceError) return undefined;
    throw err;
  }
  const priced = (b: Bill) => `${b.region} prices from ${relative(process.cwd(), b.pricesFile)}`;
  const alwaysOn = boundOf(base, current, false);
  const scheduled = boundOf(base, current, true);
  // Per developer, a bound holds only over the same number of developers.
  const perDeveloper = (bound: Bound): Bound => (bound === "exact" || base.developers === current.developers ? bound : "unknown");
  const complete = base.complete && current.complete;
  const what = complete ? "USD a month" : "USD a month, sums of the priced lines (≥: the bill is higher)";
  const lines = [
    base.region === current.region ? `${what}, ${priced(current)}:` : `${what}: base with ${priced(base)}, new with ${priced(current)}:`,
    row(base, current, alwaysOn.bound, "Always on", base.monthly.total, current.monthly.total),
    row(
      base,
      current,
      perDeveloper(alwaysOn.bound),
      `Per developer (${base.developers} → ${current.developers})`,
      base.monthly.perDeveloper,
      current.monthly.perDeveloper,
    ),
  ];
  const hasSchedule = review.base.fleet.schedule || review.current.fleet.schedule;
  if (hasSchedule) {
    const hours = `${base.scheduled.hoursPerWeek} → ${current.scheduled.hoursPerWeek} h/week`;
    lines.push(
      row(base, current, scheduled.bound, `Scheduled (${hours})`, base.scheduled.total, current.scheduled.total),
      row(
        base,
        current,
        perDeveloper(scheduled.bound),
        "Scheduled, per developer",
        base.scheduled.perDeveloper,
        current.scheduled.perDeveloper,
      ),
    );
  }
  const moved = [...new Set([...alwaysOn.lines, ...(hasSchedule ? scheduled.lines : [])])];
  if (moved.length > 0) {
    lines.push(
      `The change also moves lines with no sourced price (${moved.slice(0, 4).join(", ")}${moved.length > 4 ? ` and ${moved.length - 4} more` : ""}): ` +
        "a difference marked ≥ is a floor, ≤ a ceiling, and unknown where they move both ways or change their kind.",
    );
  }
  const billLines = [...base.monthly.lines, ...current.monthly.lines];
  const unpriced = new Map(billLines.filter((l) => l.monthlyUsd === null).map((l) => [l.id, l.description]));
  if (unpriced.size > 0) {
    const count = new Set(billLines.map((l) => l.id)).size;
    const named = unpriced.size <= 4 ? `: ${[...unpriced.values()].join(", ")}` : "";
    lines.push(`${unpriced.size} of ${count} lines have no sourced price and are left out of the sums${named}; npm run cost lists them.`);
  }
  const unknown = new Set([...base.unknownResources, ...current.unknownResources].map((u) => u.type));
  if (unknown.size > 0) lines.push(`Resource types the cost model does not know, left out: ${[...unknown].join(", ")}.`);
  return { title: "Monthly cost (npm run cost)", lines };
}
