/**
 * Sleep when idle in the bill: a developer's compute runs the hours they are active plus, after each
 * working session, their idle minutes before it sleeps. What stops with the compute (the lines
 * marked as scaling with the host) is billed for those hours; the rest runs all month.
 */
import type { Fleet } from "../roster";
import type { Bill } from "./engine";
import { HOURS_PER_WEEK, hoursPerWeek } from "./schedule";

/** Working sessions a week, each ending with the idle minutes before sleep: one a working day. */
export const SESSIONS_PER_WEEK = 5;
/** The idle minutes of a roster without `sleep` (the roster's own default). */
export const DEFAULT_IDLE_MINUTES = 120;

export interface SleepingCost {
  /** Hours a week each developer is active (`--active-hours`). */
  readonly activeHours: number;
  /** Hours a week the compute runs: active hours plus the idle tails, within the working hours. */
  readonly awakeHours: number;
  readonly total: number;
  readonly perDeveloper: number;
}

/**
 * Hours a week the compute of a developer active `activeHours` runs: each session's idle tail added,
 * never more than the working hours (or the week) allow, since the schedule's end puts everyone to sleep.
 */
export function awakeHoursPerWeek(fleet: Pick<Fleet, "sleep" | "schedule">, activeHours: number): number {
  const idleMinutes = fleet.sleep ? fleet.sleep.idleMinutes : DEFAULT_IDLE_MINUTES;
  const limit = fleet.schedule ? hoursPerWeek(fleet.schedule) : HOURS_PER_WEEK;
  // A team that never idles to sleep still sleeps at the working hours' end.
  return idleMinutes === 0 ? limit : Math.min(limit, activeHours + (SESSIONS_PER_WEEK * idleMinutes) / 60);
}

const cents = (usd: number) => Math.round(usd * 100) / 100;

/** `bill` (of a roster that sleeps) with what scales with the compute running `awakeHours` a week. */
export function sleepingCost(bill: Bill, activeHours: number, awakeHours: number): SleepingCost {
  const share = awakeHours / HOURS_PER_WEEK;
  const total = cents(
    bill.monthly.lines.reduce((sum, l) => sum + (l.monthlyUsd === null ? 0 : l.scalesWithHost ? l.monthlyUsd * share : l.monthlyUsd), 0),
  );
  return { activeHours, awakeHours: cents(awakeHours), total, perDeveloper: cents(total / bill.developers) };
}
