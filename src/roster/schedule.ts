/**
 * The roster's working-hours `schedule`: when the host runs. Its cross-field rules (a known time
 * zone, day names, stop after start) live here; the roster reports them like every other roster
 * problem, and the result is `Fleet.schedule`.
 */
import { INVALID, type Part } from "./parts";
import { closest } from "./suggest";

/** A time of day, 00:00 to 23:59. */
export const TIME_OF_DAY = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** Days of the week as the roster writes them, in week order (Monday first, as ISO 8601 numbers them). */
export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/**
 * The shortest working day the schedule accepts, in minutes. The host needs a few minutes to boot
 * and its containers to become healthy, and the alarms' actions come back only after a warm-up
 * (`ScheduleLayer`); a shorter day would end before the alarms were watching again.
 */
export const MIN_RUN_MINUTES = 60;

export interface Schedule {
  /** IANA time zone the times are in, e.g. "Asia/Bangkok"; daylight saving time is followed. */
  readonly timezone: string;
  /** Days the host runs, in week order. */
  readonly days: readonly Weekday[];
  /** When the host starts, HH:MM (24 h) in `timezone`. */
  readonly start: string;
  /** When the host stops, HH:MM (24 h) in `timezone`, later the same day than `start`. */
  readonly stop: string;
}

/**
 * The schedule as the roster writes it, each field's form checked by the schema. Written out here
 * rather than inferred from the schema, which reads TIME_OF_DAY from this module; the compiler
 * holds the schema's parts to it where the rules pass them.
 */
export type RosterSchedule = Omit<Schedule, "days"> & { readonly days: readonly string[] };
/** Each field of the roster's schedule as the schema parsed it, or INVALID. */
export type ScheduleParts = { readonly [K in keyof RosterSchedule]: Part<RosterSchedule[K]> };

/** Minutes after midnight of an HH:MM time (which the schema has checked). */
export function minutesOfDay(time: string): number {
  const match = TIME_OF_DAY.exec(time);
  if (!match) throw new Error(`"${time}" is not a time of day HH:MM`);
  return Number(match[1]) * 60 + Number(match[2]);
}

/** HH:MM of minutes after midnight. */
export function timeOfDay(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

/** Hours a week the host runs under `schedule`. */
export function scheduledHoursPerWeek(schedule: Schedule): number {
  return (schedule.days.length * (minutesOfDay(schedule.stop) - minutesOfDay(schedule.start))) / 60;
}

let zones: readonly string[] | undefined;
/** The time zones this Node.js knows by their canonical IANA names. */
function knownZones(): readonly string[] {
  zones ??= Intl.supportedValuesOf("timeZone");
  return zones;
}

/**
 * Why `zone` is not a time zone EventBridge Scheduler accepts, or undefined when it is one: a
 * canonical IANA name (`Asia/Bangkok`), or an alias the IANA database keeps (`Etc/UTC`, `UTC`,
 * `Asia/Calcutta`). Names are case-sensitive: `asia/bangkok` is refused with the right spelling.
 */
export function timeZoneProblem(zone: string): string | undefined {
  if (knownZones().includes(zone)) return undefined;
  let resolved: string | undefined;
  try {
    resolved = new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    resolved = undefined;
  }
  // Every part of an IANA name starts with a capital (Etc/GMT+7, America/Argentina/Buenos_Aires).
  if (resolved !== undefined && zone.split("/").every((part) => /^[A-Z]/.test(part))) return undefined;
  const suggestion =
    resolved ??
    knownZones().find((z) => z.split("/").pop()!.toLowerCase() === zone.split("/").pop()!.toLowerCase().replace(/ /g, "_")) ??
    closest(zone, knownZones(), Math.max(3, Math.floor(zone.length / 3)));
  const hint = suggestion ? `did you mean "${suggestion}"? ` : "";
  return `"${zone}" is not an IANA time zone: ${hint}write it as Area/City, e.g. Asia/Bangkok or Europe/Berlin (the zone the schedule's times are in)`;
}

type ScheduleProblem = { readonly path: readonly (string | number)[]; readonly message: string };

/**
 * What keeps the roster's schedule from being a `Schedule`: each rule runs on the fields it reads
 * that the schema accepted, so a malformed `start` does not hide a misspelt time zone or day.
 */
export function scheduleProblems(parts: ScheduleParts): ScheduleProblem[] {
  const problems: ScheduleProblem[] = [];
  const at = (...path: (string | number)[]) => ["schedule", ...path];

  const zoneProblem = parts.timezone === INVALID ? undefined : timeZoneProblem(parts.timezone);
  if (zoneProblem) problems.push({ path: at("timezone"), message: zoneProblem });

  const seen = new Set<string>();
  (parts.days === INVALID ? [] : parts.days).forEach((day, i) => {
    if (!(WEEKDAYS as readonly string[]).includes(day)) {
      const lower = day.toLowerCase();
      const guess = WEEKDAYS.find((w) => lower.startsWith(w)) ?? closest(lower, WEEKDAYS, 1);
      problems.push({
        path: at("days", i),
        message: `"${day}" is not a day: write days as ${WEEKDAYS.join(", ")}${guess ? ` (did you mean "${guess}"?)` : ""}`,
      });
    } else if (seen.has(day)) {
      problems.push({ path: at("days", i), message: `"${day}" is listed twice in schedule.days: list each day once` });
    }
    seen.add(day);
  });

  if (parts.start !== INVALID && parts.stop !== INVALID) problems.push(...runTimeProblems(parts.start, parts.stop));
  return problems;
}

function runTimeProblems(startTime: string, stopTime: string): ScheduleProblem[] {
  const start = minutesOfDay(startTime);
  const stop = minutesOfDay(stopTime);
  if (stop <= start) {
    return [
      {
        path: ["schedule", "stop"],
        message: `stop ${stopTime} is not after start ${startTime}: the host starts and stops on the same day, so stop must be later than start (overnight schedules are not supported)`,
      },
    ];
  }
  if (stop - start < MIN_RUN_MINUTES) {
    return [
      {
        path: ["schedule", "stop"],
        message: `stop ${stopTime} is only ${stop - start} minutes after start ${startTime}: run the host at least ${MIN_RUN_MINUTES} minutes a day (it boots, starts every container and lets the alarms settle before they watch again), e.g. stop ${timeOfDay(Math.min(start + MIN_RUN_MINUTES, 23 * 60 + 59))}`,
      },
    ];
  }
  return [];
}

/** The roster's schedule as a `Schedule`, its days in week order; `scheduleProblems` found nothing wrong with it. */
export function resolveSchedule(raw: RosterSchedule): Schedule {
  return {
    timezone: raw.timezone,
    days: WEEKDAYS.filter((d) => raw.days.includes(d)),
    start: raw.start,
    stop: raw.stop,
  };
}
