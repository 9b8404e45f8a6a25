/**
 * The working-hours schedule the cost engine prices: the roster's `schedule` (`Fleet.schedule`)
 * has this shape, so `monthlyCost(fleet, { schedule: fleet.schedule })` prices it.
 */
import { WEEKDAYS, type Weekday } from "../roster/schedule";

export { WEEKDAYS, type Weekday };

export interface CostSchedule {
  /** IANA time zone the times are in, e.g. "Asia/Bangkok". Hours per week do not depend on it. */
  readonly timezone: string;
  /** Days the host runs, e.g. ["mon", "tue", "wed", "thu", "fri"]. */
  readonly days: readonly Weekday[];
  /** Start of the working day, HH:MM (24 h). */
  readonly start: string;
  /** End of the working day, HH:MM (24 h), after `start`. */
  readonly stop: string;
}

/** Hours in a week: what "always on" means. */
export const HOURS_PER_WEEK = 168;

function minutesOf(time: string, field: string): number {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(time);
  if (!match) throw new Error(`schedule.${field} "${time}" is not a time of day HH:MM (00:00-23:59)`);
  return Number(match[1]) * 60 + Number(match[2]);
}

/** Hours per week the host runs under `schedule` (168 without one). */
export function hoursPerWeek(schedule?: CostSchedule): number {
  if (!schedule) return HOURS_PER_WEEK;
  const start = minutesOf(schedule.start, "start");
  const stop = minutesOf(schedule.stop, "stop");
  if (stop <= start) throw new Error(`schedule.stop ${schedule.stop} must be after schedule.start ${schedule.start}`);
  const unknown = schedule.days.filter((d) => !(WEEKDAYS as readonly string[]).includes(d));
  if (unknown.length > 0) throw new Error(`schedule.days: unknown day ${unknown.join(", ")} (use ${WEEKDAYS.join(", ")})`);
  return (new Set(schedule.days).size * (stop - start)) / 60;
}
