/**
 * The working hours seen from a moment, on the schedule's wall clock: inside or not, and when
 * they next begin, daylight saving time included.
 */
import type { Schedule } from "../src/roster/schedule";
import { nextStart, wallClock, withinHours } from "../src/lambdas/sleep-wake/hours";

const berlin: Schedule = { timezone: "Europe/Berlin", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "18:00" };

describe("working hours", () => {
  it("follows daylight saving time: 08:00 in Berlin is 07:00 UTC in winter and 06:00 in summer", () => {
    expect(withinHours(berlin, new Date("2026-12-07T07:00:00Z"))).toBe(true);
    expect(withinHours(berlin, new Date("2026-12-07T06:59:00Z"))).toBe(false);
    expect(withinHours(berlin, new Date("2026-07-06T06:00:00Z"))).toBe(true);
    expect(withinHours(berlin, new Date("2026-07-06T05:59:00Z"))).toBe(false);
  });

  it("ends at the stop and is closed on days off", () => {
    expect(withinHours(berlin, new Date("2026-12-07T16:59:00Z"))).toBe(true);
    expect(withinHours(berlin, new Date("2026-12-07T17:00:00Z"))).toBe(false);
    expect(withinHours(berlin, new Date("2026-12-12T10:00:00Z"))).toBe(false); // Saturday
  });

  it("reads the weekday on the schedule's clock, not UTC's", () => {
    expect(wallClock("Pacific/Auckland", new Date("2026-12-06T20:00:00Z"))).toEqual({ day: "mon", minutes: 9 * 60 });
  });

  it("names the next start as people say it", () => {
    expect(nextStart(berlin, new Date("2026-12-07T05:00:00Z"))).toBe("today 08:00");
    expect(nextStart(berlin, new Date("2026-12-08T18:00:00Z"))).toBe("tomorrow 08:00");
    expect(nextStart(berlin, new Date("2026-12-11T18:00:00Z"))).toBe("Monday 08:00");
    expect(nextStart({ ...berlin, days: ["wed"] }, new Date("2026-12-09T12:00:00Z"))).toBe("next Wednesday 08:00");
  });
});
