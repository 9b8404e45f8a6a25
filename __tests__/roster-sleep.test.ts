/**
 * The roster's `sleep`: absent, nothing sleeps; present, every developer's idle time resolves to
 * their own or the team's; bad values and a developer's idle time without the team's section are
 * refused with the line, the field and the fix.
 */
import { stringify } from "yaml";
import { parseRoster } from "../src/roster";
import { IDLE_MINUTES, keysAt, rosterSchema } from "../src/roster/schema";
import { problemsOf } from "./helpers/fleet";

const SCHEDULE = { timezone: "Asia/Bangkok", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "20:00" };

function roster(extra: Record<string, unknown>, developers: object[] = [{ name: "alice", port: 8443 }]): string {
  return stringify({ domain: "dev.example.com", host: { instanceType: "t3.2xlarge" }, developers, ...extra });
}

/** The line of the first roster line starting with `prefix` (after indentation and a list's dash). */
const lineOf = (text: string, prefix: string) => text.split("\n").findIndex((l) => l.replace(/^[\s-]*/, "").startsWith(prefix)) + 1;

describe("without a sleep section", () => {
  it("nothing sleeps: the Fleet has no sleep key and every developer's idle time is 0", () => {
    const fleet = parseRoster(
      roster({}, [
        { name: "alice", port: 8443 },
        { name: "bob", port: 8444 },
      ]),
    );
    expect("sleep" in fleet).toBe(false);
    expect(fleet.developers.map((d) => d.idleMinutes)).toEqual([0, 0]);
  });

  it("a developer's own idleMinutes is refused at its line, saying to add sleep", () => {
    const text = roster({}, [
      { name: "alice", port: 8443 },
      { name: "bob", port: 8444, idleMinutes: 30 },
    ]);
    expect(problemsOf(text)).toEqual([
      `${lineOf(text, "idleMinutes:")}|developers.1.idleMinutes|developer "bob": idleMinutes takes effect only when the team sleeps when idle: add a top-level sleep section (e.g. sleep: { idleMinutes: 120 }), or remove idleMinutes`,
    ]);
  });
});

describe("with a sleep section", () => {
  it("the team's idle time defaults to 120 minutes and waking outside hours to off; an empty section is the same", () => {
    for (const sleep of [{}, { idleMinutes: 120 }, { wakeOutsideHours: false }]) {
      const fleet = parseRoster(roster({ sleep }));
      expect(fleet.sleep).toEqual({ idleMinutes: 120, wakeOutsideHours: false });
      expect(fleet.developers[0].idleMinutes).toBe(120);
    }
    expect(IDLE_MINUTES.default).toBe(120);
  });

  it("each developer gets their own idle time, else the team's; 0 means never, for the team or one developer", () => {
    const developers = [
      { name: "alice", port: 8443 },
      { name: "bob", port: 8444, idleMinutes: 30 },
      { name: "carol", port: 8445, idleMinutes: 0 },
    ];
    const fleet = parseRoster(roster({ sleep: { idleMinutes: 45 } }, developers));
    expect(fleet.developers.map((d) => [d.name, d.idleMinutes])).toEqual([
      ["alice", 45],
      ["bob", 30],
      ["carol", 0],
    ]);
    const never = parseRoster(roster({ sleep: { idleMinutes: 0 } }, developers));
    expect(never.developers.map((d) => d.idleMinutes)).toEqual([0, 30, 0]);
    expect(Object.isFrozen(never.sleep)).toBe(true);
  });

  it("accepts the bounds, 5 and 1440 minutes", () => {
    expect(parseRoster(roster({ sleep: { idleMinutes: 5 } })).developers[0].idleMinutes).toBe(5);
    expect(parseRoster(roster({ sleep: {} }, [{ name: "alice", port: 8443, idleMinutes: 1440 }])).developers[0].idleMinutes).toBe(1440);
  });

  it("takes wakeOutsideHours: true with a schedule", () => {
    expect(parseRoster(roster({ schedule: SCHEDULE, sleep: { wakeOutsideHours: true } })).sleep).toEqual({
      idleMinutes: 120,
      wakeOutsideHours: true,
    });
  });

  it("refuses wakeOutsideHours: true without a schedule, at its line", () => {
    const text = roster({ sleep: { wakeOutsideHours: true } });
    expect(problemsOf(text)).toEqual([
      `${lineOf(text, "wakeOutsideHours:")}|sleep.wakeOutsideHours|sleep.wakeOutsideHours: true means nothing without a schedule (without one, every hour is a working hour): remove it, or add a schedule`,
    ]);
  });
});

describe("a bad idle time is refused with the field, the range and why", () => {
  const range = (field: string, never: string) =>
    `${field} must be 0 (${never}) or a whole number of minutes from 5 to 1440 (a day, the longest CloudWatch evaluates)`;
  const team = range("sleep.idleMinutes", "nobody sleeps unless their own idleMinutes says so");
  const own = range("idleMinutes", "this developer never sleeps");

  it.each([4, 1441, -5])("the team's %j", (idleMinutes) => {
    const text = roster({ sleep: { idleMinutes } });
    expect(problemsOf(text)).toEqual([`${lineOf(text, "idleMinutes:")}|sleep.idleMinutes|${team} (found ${idleMinutes})`]);
  });

  it.each([1, 2000])("a developer's %j", (idleMinutes) => {
    const text = roster({ sleep: {} }, [{ name: "alice", port: 8443, idleMinutes }]);
    expect(problemsOf(text)).toEqual([`${lineOf(text, "idleMinutes:")}|developers.0.idleMinutes|${own} (found ${idleMinutes})`]);
  });

  it("a fraction, a quoted number, a wrong type of wakeOutsideHours, an unknown key with a suggestion", () => {
    expect(problemsOf(roster({ sleep: { idleMinutes: 30.5 } }))).toEqual([
      expect.stringMatching(/\|sleep\.idleMinutes\|idleMinutes must be a whole number \(found 30\.5\)$/),
    ]);
    expect(problemsOf(roster({ sleep: { idleMinutes: "30" } })).join("\n")).toMatch(/idleMinutes must be a number, but "30" is in quotes/);
    expect(problemsOf(roster({ sleep: { wakeOutsideHours: "yes" } }))).toEqual([
      expect.stringMatching(/\|sleep\.wakeOutsideHours\|wakeOutsideHours must be true or false \(found yes\)$/),
    ]);
    expect(problemsOf(roster({ sleep: 5 }))).toEqual([expect.stringMatching(/\|sleep\|sleep must be a mapping/)]);
    expect(problemsOf(roster({ sleep: { idleMinute: 30 } })).join("\n")).toMatch(/idleMinute.*did you mean "idleMinutes"/);
  });

  it("is reported with the developer's other problems, not instead of them", () => {
    const text = roster({}, [{ name: "alice", port: 80, idleMinutes: 30 }]);
    const problems = problemsOf(text);
    expect(problems).toEqual([
      expect.stringMatching(/\|developers\.0\.port\|port must be 1024\.\.65535/),
      expect.stringMatching(/\|developers\.0\.idleMinutes\|developer "alice": idleMinutes takes effect only when/),
    ]);
  });
});

describe("the sleep keys", () => {
  it("are the schema's, for suggestions", () => {
    expect(keysAt(rosterSchema, ["sleep"])).toEqual(["idleMinutes", "wakeOutsideHours"]);
    expect(keysAt(rosterSchema, ["developers", 0])).toContain("idleMinutes");
  });
});
