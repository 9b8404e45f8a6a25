/**
 * How two bills differ, in words a reviewer reads at a glance: "$12.40 more (+2.9 %)", "at least
 * $3.60 more: …", "unknown: the new host type c5.4xlarge has no price". The sums of two bills
 * with unpriced lines are sums of their priced lines; their difference is exact only when no
 * unpriced line moves, and otherwise a bound or unknown, with the lines that make it so named.
 */
import type { Bill, CostLine } from "./engine";

/** How far a difference of the priced lines' sums can be trusted. */
export type Bound = "exact" | "floor" | "ceiling" | "unknown";

/** An unpriced line (or resource type) the change moves: up (1), down (-1) or either way (0), and why. */
export interface Move {
  readonly direction: -1 | 0 | 1;
  /** The line's description, as `npm run cost` lists it. */
  readonly line: string;
  /** What happens to it, in a clause: "the new host type c5.4xlarge has no price". */
  readonly reason: string;
}

const unpriced = (l: CostLine | undefined) => l !== undefined && l.monthlyUsd === null;

/** Why an unpriced line that both bills have moves, and which way; undefined when it does not move. */
function lineMove(base: Bill, current: Bill, was: CostLine, is: CostLine, hours: number): Move | undefined {
  const line = is.description;
  if (base.region !== current.region) {
    const where = unpriced(is) ? current.region : base.region;
    return { direction: 0, line, reason: `the region changes and ${line} has no price in ${where}` };
  }
  if (was.id === "ec2.host" && (was.description !== is.description || unpriced(was) !== unpriced(is))) {
    const [age, type] = unpriced(is) ? ["new", current.instanceType] : ["old", base.instanceType];
    return { direction: 0, line, reason: `the ${age} host type ${type} has no price` };
  }
  if (unpriced(was) !== unpriced(is) || was.description !== is.description) {
    return { direction: 0, line, reason: `${line} has a price on one side only` };
  }
  const quantity = Math.sign(is.quantity - was.quantity);
  const time = is.scalesWithHost ? hours : 0;
  if (quantity === 0 && time === 0) return undefined;
  const what = `${line} (no price)`;
  if (quantity !== 0 && time !== 0 && quantity !== time) {
    return { direction: 0, line, reason: quantity > 0 ? `more ${what}, but fewer hours of it` : `less ${what}, but more hours of it` };
  }
  const direction = (quantity || time) as -1 | 1;
  const reason = quantity !== 0 ? `${direction > 0 ? "more" : "less"} ${what}` : `${direction > 0 ? "more" : "fewer"} hours of ${what}`;
  return { direction, line, reason };
}

/**
 * The unpriced lines the change moves, in the bills' order (the host first). `scheduled`: the
 * lines that stop with the host also move with the hours a week.
 */
export function movesBetween(base: Bill, current: Bill, scheduled: boolean): Move[] {
  const before = new Map(base.monthly.lines.map((l) => [l.id, l]));
  const after = new Map(current.monthly.lines.map((l) => [l.id, l]));
  const hours = scheduled ? Math.sign(current.scheduled.hoursPerWeek - base.scheduled.hoursPerWeek) : 0;
  const moves: Move[] = [];
  for (const id of new Set([...before.keys(), ...after.keys()])) {
    const was = before.get(id);
    const is = after.get(id);
    if (!unpriced(was) && !unpriced(is)) continue;
    if (!was) moves.push({ direction: 1, line: is!.description, reason: `${is!.description} (a new line) has no price` });
    else if (!is) moves.push({ direction: -1, line: was.description, reason: `${was.description} (a removed line) has no price` });
    else {
      const move = lineMove(base, current, was, is, hours);
      if (move) moves.push(move);
    }
  }
  // Resources of a type the cost model does not know cost something it cannot say.
  const countOf = (bill: Bill) => new Map(bill.unknownResources.map((u) => [u.type, u.count]));
  const [wasUnknown, isUnknown] = [countOf(base), countOf(current)];
  for (const type of new Set([...wasUnknown.keys(), ...isUnknown.keys()])) {
    const direction = Math.sign((isUnknown.get(type) ?? 0) - (wasUnknown.get(type) ?? 0)) as -1 | 0 | 1;
    const what = direction > 0 ? "added" : "removed";
    if (direction !== 0) moves.push({ direction, line: type, reason: `${type}, a resource type the cost model does not know, is ${what}` });
  }
  return moves;
}

/** What the moves do to the priced lines' difference: nothing, only add, only take away, or either. */
export function boundOf(moves: readonly Move[]): Bound {
  if (moves.length === 0) return "exact";
  if (moves.every((m) => m.direction === 1)) return "floor";
  if (moves.every((m) => m.direction === -1)) return "ceiling";
  return "unknown";
}

const usd = (n: number) => `$${n.toFixed(2)}`;

/** The moves a reviewer must hear of first: those that go either way, else one each way. */
function culprits(moves: readonly Move[], bound: Bound): Move[] {
  if (bound !== "unknown") return [...moves];
  const either = moves.filter((m) => m.direction === 0);
  if (either.length > 0) return [...either, ...moves.filter((m) => m.direction !== 0)];
  const up = moves.find((m) => m.direction === 1)!;
  const down = moves.find((m) => m.direction === -1)!;
  return [up, down, ...moves.filter((m) => m !== up && m !== down)];
}

/** The first two reasons, and how many more lines there are. */
export function reasonsOf(moves: readonly Move[], bound: Bound): string {
  const ordered = culprits(moves, bound);
  const more = ordered.length - 2;
  return `${ordered
    .slice(0, 2)
    .map((m) => m.reason)
    .join("; ")}${more > 0 ? `; and ${more} more line${more === 1 ? "" : "s"} with no price` : ""}`;
}

/**
 * The difference from `from` to `to` in words, as far as `bound` lets it be known; `why` names
 * what makes it a bound or unknown. A percentage only for complete bills: one of a floor says nothing.
 */
export function deltaInWords(from: number, to: number, bound: Bound, why: string, complete: boolean): string {
  const cents = Math.round((to - from) * 100) / 100;
  const amount = usd(Math.abs(cents));
  const direction = cents > 0 ? "more" : "less";
  if (bound === "exact") {
    if (cents === 0) return "no change";
    const change = from === 0 || !complete ? "" : ` (${cents > 0 ? "+" : "−"}${Math.abs(Math.round(((to - from) / from) * 1000) / 10)} %)`;
    return `${amount} ${direction}${change}`;
  }
  if (bound === "unknown") return `unknown: ${why}`;
  const same = bound === "floor" ? "the same or more" : "the same or less";
  // A floor bounds an increase from below and a decrease from above; a ceiling the other way round.
  const least = (bound === "floor") === cents > 0;
  return `${cents === 0 ? same : `${least ? "at least" : "at most"} ${amount} ${direction}`}: ${why}`;
}
