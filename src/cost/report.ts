/** The human-readable cost table. */
import { relative } from "node:path";
import type { CheaperChoice } from "./choices";
import type { Bill } from "./engine";
import type { SleepingCost } from "./sleep";

const money = (usd: number | null) => (usd === null ? "unpriced" : `$${usd.toFixed(2)}`);
// Two significant digits below 0.01, where two decimals would print a billed quantity as 0.00.
const qty = (n: number) => (Number.isInteger(n) ? String(n) : n >= 0.01 ? n.toFixed(2) : String(+n.toPrecision(2)));

function table(rows: string[][], rightAligned: ReadonlySet<number>): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) =>
    r
      .map((cell, c) => (rightAligned.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join("  ")
      .trimEnd(),
  );
}

/** The sleep-when-idle figures beside always on and scheduled. */
function sleepingLines(bill: Bill, sleeping: SleepingCost): string[] {
  const floor = (usd: number) => (bill.complete ? money(usd) : `at least ${money(usd)}`);
  const compute =
    bill.platform === "host"
      ? "the host runs while anyone is awake (the team's active hours taken as the same hours)"
      : "each developer's task runs their own awake hours";
  return [
    "",
    `Sleep when idle, developers active ${sleeping.activeHours} h a week: awake ${sleeping.awakeHours} of 168 hours a week (active hours, plus the idle minutes before sleep after each of 5 sessions, within the working hours); ${compute}.`,
    `  ${floor(sleeping.total)} a month, ${floor(sleeping.perDeveloper)} per developer; always on ${floor(bill.monthly.total)}, scheduled ${floor(bill.scheduled.total)}.`,
  ];
}

export function renderReport(bill: Bill, choices: readonly CheaperChoice[], title: string, sleeping?: SleepingCost): string {
  const scheduled = bill.scheduled.hoursPerWeek;
  const rows = [
    ["Line", "Quantity", "Unit price", "Always on", `${scheduled} h/week`],
    ...bill.monthly.lines.map((l) => [
      l.description,
      `${qty(l.quantity)} ${l.unit}`,
      l.unitPriceUsd === null ? "unpriced" : `$${l.unitPriceUsd}/${l.unit.replace(/^GB \(.*$/, "GB")}`,
      money(l.monthlyUsd),
      money(l.scheduledUsd),
    ]),
  ];
  // With a line unpriced the sums are floors of the bill: marked "at least", never a total.
  const floor = (usd: number) => (bill.complete ? money(usd) : `at least ${money(usd)}`);
  rows.push([
    bill.complete ? "Total" : `Total: incomplete, ${bill.unpriced.length} unpriced`,
    "",
    "",
    floor(bill.monthly.total),
    floor(bill.scheduled.total),
  ]);
  rows.push([`Per developer (${bill.developers})`, "", "", floor(bill.monthly.perDeveloper), floor(bill.scheduled.perDeveloper)]);
  const lines = [
    `${title}: ${bill.developers} developers, ${bill.runsOn}, prices for ${bill.region} from ${relative(process.cwd(), bill.pricesFile)}, USD a month`,
    "",
    ...table(rows, new Set([1, 2, 3, 4])),
    "",
    `Scheduled column: ${bill.platform === "host" ? "the host runs" : "each developer's task runs"} ${scheduled} of ${168} hours a week${scheduled === 168 ? " (no schedule: always on)" : ""}; lines marked * stop with ${bill.platform === "host" ? "it" : "them"}.`,
  ];
  const scaled = bill.monthly.lines.filter((l) => l.scalesWithHost).map((l) => l.description);
  if (scaled.length) lines.push(`  * ${scaled.join(", ")}`);
  if (sleeping) lines.push(...sleepingLines(bill, sleeping));
  if (!bill.complete) {
    const host = bill.monthly.lines.find((l) => l.id === "ec2.host");
    lines.push(
      "",
      `The totals are incomplete: they add up the priced lines only, so the bill is higher${host?.monthlyUsd === null ? ", by at least the host itself, which has no price here" : ""}.`,
      `Unpriced (left out of the totals; the price file has no sourced figure):`,
    );
    const byReason = new Map<string, string[]>();
    for (const l of bill.monthly.lines.filter((x) => x.monthlyUsd === null)) {
      byReason.set(l.unpricedReason!, [...(byReason.get(l.unpricedReason!) ?? []), l.description]);
    }
    for (const [reason, names] of byReason) lines.push(`  - ${names.join(", ")}: ${reason}`);
    for (const u of bill.unknownResources)
      lines.push(`  - ${u.type} × ${u.count}: a resource type the cost model does not know; add it to src/cost/inventory.ts`);
  }
  lines.push("", "How each quantity was derived (usage assumptions are flags, see --help):");
  for (const l of bill.monthly.lines) lines.push(`  - ${l.description}: ${l.basis}`);
  lines.push("", "Cheaper choices that fit the roster:");
  if (choices.length === 0) lines.push("  (none found)");
  for (const c of choices) {
    const saving =
      c.monthlySavingUsd === null
        ? "saving unknown"
        : `saves ${money(c.monthlySavingUsd)} a month always on, ${money(c.scheduledSavingUsd)} at ${scheduled} h/week`;
    lines.push(`  - ${c.description}: ${saving}; ${c.note}`);
  }
  lines.push("", "Sources of the prices used:");
  const used = new Set(bill.monthly.lines.map((l) => l.source));
  for (const [id, s] of Object.entries(bill.sources).filter(([id]) => used.has(id))) {
    lines.push(`  - ${id}: ${s.url} (figures as of ${s.asOf ?? "undated"}, read ${s.read})`);
  }
  return `${lines.join("\n")}\n`;
}
