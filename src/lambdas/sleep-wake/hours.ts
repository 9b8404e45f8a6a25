/**
 * The working hours seen from a moment: whether it falls inside them, and when they next begin,
 * on the wall clock of the schedule's time zone (daylight saving time included, as Intl knows it).
 */
import { minutesOfDay, WEEKDAYS, type Schedule, type Weekday } from "../../roster/schedule";

/** The weekday and minutes after midnight of `now` on `timezone`'s wall clock. */
export function wallClock(timezone: string, now: Date): { readonly day: Weekday; readonly minutes: number } {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: timezone,
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  })
    .formatToParts(now)
    .reduce<Record<string, string>>((all, part) => ({ ...all, [part.type]: part.value }), {});
  return { day: parts.weekday.toLowerCase() as Weekday, minutes: Number(parts.hour) * 60 + Number(parts.minute) };
}

/** Whether `now` is on one of the schedule's days, at or after its start and before its stop. */
export function withinHours(schedule: Schedule, now: Date): boolean {
  const { day, minutes } = wallClock(schedule.timezone, now);
  return schedule.days.includes(day) && minutes >= minutesOfDay(schedule.start) && minutes < minutesOfDay(schedule.stop);
}

const DAY_NAMES: Record<Weekday, string> = {
  mon: "Monday",
  tue: "Tuesday",
  wed: "Wednesday",
  thu: "Thursday",
  fri: "Friday",
  sat: "Saturday",
  sun: "Sunday",
};

/** When the working hours next begin after `now`, as people say it: "today 08:00", "tomorrow 08:00", "Monday 08:00". */
export function nextStart(schedule: Schedule, now: Date): string {
  const { day, minutes } = wallClock(schedule.timezone, now);
  const today = WEEKDAYS.indexOf(day);
  const start = minutesOfDay(schedule.start);
  // Seven days on is today's weekday again: the only start left when today is the one working day.
  for (let ahead = 0; ahead <= 7; ahead++) {
    const candidate = WEEKDAYS[(today + ahead) % 7];
    if (!schedule.days.includes(candidate) || (ahead === 0 && minutes >= start)) continue;
    const when = ahead === 0 ? "today" : ahead === 1 ? "tomorrow" : ahead === 7 ? `next ${DAY_NAMES[candidate]}` : DAY_NAMES[candidate];
    return `${when} ${schedule.start}`;
  }
  throw new Error("a schedule without days has no start");
}
