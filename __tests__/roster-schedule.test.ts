/**
 * The roster's `schedule`: accepted shapes become a frozen `Fleet.schedule` in week order; every
 * bad one is refused with its line, field, value and the fix (time zone, days, times).
 */
import { stringify } from "yaml";
import { parseRoster, scheduledHoursPerWeek } from "../src/roster";
import { problemsOf } from "./helpers/fleet";
import { timeZoneProblem } from "../src/roster/schedule";

function roster(schedule: unknown): string {
  return stringify({
    domain: "dev.example.com",
    host: { instanceType: "t3.2xlarge" },
    developers: [{ name: "alice", port: 8443 }],
    schedule,
  });
}

const WEEKDAYS_8_TO_8 = { timezone: "Asia/Bangkok", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "20:00" };

/** The line of the first roster line starting with `prefix` (after indentation). */
const lineOf = (text: string, prefix: string) => text.split("\n").findIndex((l) => l.trimStart().startsWith(prefix)) + 1;

describe("an accepted schedule", () => {
  it("becomes Fleet.schedule, frozen, with its days in week order whatever order the roster lists them", () => {
    const fleet = parseRoster(roster({ ...WEEKDAYS_8_TO_8, days: ["fri", "mon", "wed", "tue", "thu"] }));
    expect(fleet.schedule).toEqual(WEEKDAYS_8_TO_8);
    expect(Object.isFrozen(fleet.schedule)).toBe(true);
    expect(Object.isFrozen(fleet.schedule!.days)).toBe(true);
    expect(scheduledHoursPerWeek(fleet.schedule!)).toBe(60);
  });

  it("takes unquoted times (YAML 1.2 reads 08:00 as text) and time-zone aliases Intl accepts", () => {
    const text = roster(WEEKDAYS_8_TO_8).replace('start: "08:00"', "start: 08:00").replace('stop: "20:00"', "stop: 20:00");
    expect(text).toContain("start: 08:00");
    expect(parseRoster(text).schedule).toMatchObject({ start: "08:00", stop: "20:00" });
    for (const zone of ["Etc/UTC", "UTC", "Asia/Calcutta", "America/Argentina/Buenos_Aires", "Etc/GMT+7"]) {
      expect([zone, parseRoster(roster({ ...WEEKDAYS_8_TO_8, timezone: zone })).schedule?.timezone]).toEqual([zone, zone]);
    }
  });

  it("is absent from a roster without one: the Fleet has no schedule key at all", () => {
    const fleet = parseRoster(roster(undefined));
    expect("schedule" in fleet).toBe(false);
  });
});

describe("a bad schedule is refused with the line, the field, the value and the fix", () => {
  it.each([
    ["Asia/Bankok", /"Asia\/Bankok" is not an IANA time zone: did you mean "Asia\/Bangkok"\?/],
    ["Bangkok", /"Bangkok" is not an IANA time zone: did you mean "Asia\/Bangkok"\?/],
    ["asia/bangkok", /"asia\/bangkok" is not an IANA time zone: did you mean "Asia\/Bangkok"\?/],
    ["Mars/Olympus_Mons", /"Mars\/Olympus_Mons" is not an IANA time zone: write it as Area\/City/],
  ])("an unknown time zone %j, suggesting the closest", (timezone, message) => {
    const text = roster({ ...WEEKDAYS_8_TO_8, timezone });
    const [problem, ...rest] = problemsOf(text);
    expect(rest).toEqual([]);
    expect(problem).toMatch(new RegExp(`^${lineOf(text, "timezone:")}\\|schedule\\.timezone\\|`));
    expect(problem).toMatch(message);
  });

  it("bad day names, each at its index, with the day it probably means", () => {
    const text = roster({ ...WEEKDAYS_8_TO_8, days: ["Monday", "tue", "thurs", "funday"] });
    const problems = problemsOf(text);
    expect(problems).toEqual([
      expect.stringMatching(
        /^\d+\|schedule\.days\.0\|"Monday" is not a day: write days as mon, tue, wed, thu, fri, sat, sun \(did you mean "mon"\?\)$/,
      ),
      expect.stringMatching(/\|schedule\.days\.2\|"thurs" is not a day: .*\(did you mean "thu"\?\)$/),
      expect.stringMatching(/\|schedule\.days\.3\|"funday" is not a day: write days as mon, tue, wed, thu, fri, sat, sun$/),
    ]);
    expect(problems[0].startsWith(`${lineOf(text, "- Monday")}|`)).toBe(true);
  });

  it("a day listed twice, and no days at all", () => {
    expect(problemsOf(roster({ ...WEEKDAYS_8_TO_8, days: ["mon", "tue", "mon"] }))).toEqual([
      expect.stringMatching(/\|schedule\.days\.2\|"mon" is listed twice in schedule\.days: list each day once$/),
    ]);
    expect(problemsOf(roster({ ...WEEKDAYS_8_TO_8, days: [] }))).toEqual([
      expect.stringMatching(/\|schedule\.days\|schedule\.days is empty: list the days the host runs, e\.g\. \[mon, tue, wed, thu, fri\]/),
    ]);
  });

  it("stop not after start: overnight schedules are not supported", () => {
    const text = roster({ ...WEEKDAYS_8_TO_8, start: "22:00", stop: "06:00" });
    expect(problemsOf(text)).toEqual([
      `${lineOf(text, "stop:")}|schedule.stop|stop 06:00 is not after start 22:00: the host starts and stops on the same day, so stop must be later than start (overnight schedules are not supported)`,
    ]);
    expect(problemsOf(roster({ ...WEEKDAYS_8_TO_8, stop: "08:00" }))[0]).toMatch(/stop 08:00 is not after start 08:00/);
  });

  it("a working day shorter than an hour, naming the earliest stop it accepts", () => {
    expect(problemsOf(roster({ ...WEEKDAYS_8_TO_8, stop: "08:45" }))).toEqual([
      expect.stringMatching(
        /\|schedule\.stop\|stop 08:45 is only 45 minutes after start 08:00: run the host at least 60 minutes a day .* e\.g\. stop 09:00$/,
      ),
    ]);
  });

  it.each([
    [
      { start: "8:00" },
      /schedule\.start\|schedule\.start must be a time of day HH:MM from 00:00 to 23:59, e\.g\. "08:00" \(found "8:00"\)/,
    ],
    [{ stop: "24:00" }, /schedule\.stop\|schedule\.stop must be a time of day HH:MM .*\(found "24:00"\)/],
    [{ stop: 800 }, /schedule\.stop\|stop must be text, but YAML reads 800 as the number 800: put it in quotes/],
  ])("a time that is not HH:MM: %j", (change, message) => {
    expect(problemsOf(roster({ ...WEEKDAYS_8_TO_8, ...change }))).toEqual([expect.stringMatching(message)]);
  });

  it("missing fields and unknown keys, with a hint for a misspelt one", () => {
    const { timezone: _zone, ...withoutZone } = WEEKDAYS_8_TO_8;
    expect(problemsOf(roster(withoutZone))).toEqual([
      expect.stringMatching(
        /\|schedule\.timezone\|schedule\.timezone is required: the IANA time zone of start and stop, e\.g\. Asia\/Bangkok$/,
      ),
    ]);
    expect(problemsOf(roster({ ...WEEKDAYS_8_TO_8, timzone: "UTC" }))).toEqual([
      expect.stringMatching(/\|schedule\.timzone\|unknown key "timzone" \(did you mean "timezone"\?\)/),
    ]);
  });

  it("reports every schedule problem at once, beside the roster's other problems", () => {
    const text = stringify({
      domain: "dev.example.com",
      host: { instanceType: "t3.2xlarge" },
      developers: [
        { name: "alice", port: 8443 },
        { name: "bob", port: 8443 },
      ],
      schedule: { timezone: "Asia/Bankok", days: ["mon", "mon"], start: "20:00", stop: "08:00" },
    });
    const paths = problemsOf(text).map((p) => p.split("|")[1]);
    expect(paths).toEqual(["developers.1.port", "schedule.timezone", "schedule.days.1", "schedule.stop"]);
  });
});

describe("timeZoneProblem", () => {
  it("accepts every zone Intl lists, and refuses names that only differ in case", () => {
    for (const zone of Intl.supportedValuesOf("timeZone")) expect([zone, timeZoneProblem(zone)]).toEqual([zone, undefined]);
    expect(timeZoneProblem("utc")).toMatch(/did you mean "UTC"\?/);
    expect(timeZoneProblem("")).toMatch(/"" is not an IANA time zone/);
  });
});
