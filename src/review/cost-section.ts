/**
 * The review's monthly cost section: both rosters priced by `npm run cost`'s engine (each with
 * its own region's price file, from the configurations the review already synthesized), base →
 * new and the difference, always on and, when either roster has a schedule, as scheduled.
 */
import { relative } from "node:path";
import { monthlyCost, type Bill } from "../cost/engine";
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

function row(label: string, from: number, to: number): string {
  return `${label.padEnd(28)}${usd(from).padStart(10)} → ${usd(to).padStart(10)}   ${signed(to - from)}${percent(from, to)}`;
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
  const lines = [
    base.region === current.region
      ? `Priced lines only, USD a month, ${priced(current)}:`
      : `Priced lines only, USD a month: base with ${priced(base)}, new with ${priced(current)}:`,
    row("Always on", base.monthly.total, current.monthly.total),
    row(`Per developer (${base.developers} → ${current.developers})`, base.monthly.perDeveloper, current.monthly.perDeveloper),
  ];
  if (review.base.fleet.schedule || review.current.fleet.schedule) {
    const hours = `${base.scheduled.hoursPerWeek} → ${current.scheduled.hoursPerWeek} h/week`;
    lines.push(
      row(`Scheduled (${hours})`, base.scheduled.total, current.scheduled.total),
      row("Scheduled, per developer", base.scheduled.perDeveloper, current.scheduled.perDeveloper),
    );
  }
  const billLines = [...base.monthly.lines, ...current.monthly.lines];
  const unpriced = new Map(billLines.filter((l) => l.monthlyUsd === null).map((l) => [l.id, l.description]));
  if (unpriced.size > 0) {
    const count = new Set(billLines.map((l) => l.id)).size;
    const named = unpriced.size <= 4 ? `: ${[...unpriced.values()].join(", ")}` : "";
    lines.push(`${unpriced.size} of ${count} lines have no sourced price and are left out of the totals${named}; npm run cost lists them.`);
  }
  const unknown = new Set([...base.unknownResources, ...current.unknownResources].map((u) => u.type));
  if (unknown.size > 0) lines.push(`Resource types the cost model does not know, left out: ${[...unknown].join(", ")}.`);
  return { title: "Monthly cost (npm run cost)", lines };
}
