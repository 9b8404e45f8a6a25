/**
 * `npm run cost -- --active-hours <h>`: sleep when idle priced next to always on and scheduled. The
 * compute runs the active hours plus each session's idle minutes, within the working hours; what
 * stops with it is billed for those hours, the rest all month; a roster without `sleep` is priced
 * with the default sleep settings, whose idle alarms and metric it then adds.
 */
import type { Bill, CostLine } from "../src/cost/engine";
import { awakeHoursPerWeek, sleepingCost } from "../src/cost/sleep";
import { runCost } from "./helpers/cost-cli";

const run = runCost;

const WEEKDAYS = { timezone: "UTC", days: ["mon", "tue", "wed", "thu", "fri"] as const, start: "08:00", stop: "20:00" };

describe("the hours a sleeping developer's compute runs", () => {
  it("are the active hours plus the idle minutes after each of 5 sessions a week", () => {
    expect(awakeHoursPerWeek({ sleep: { idleMinutes: 120, wakeOutsideHours: false } }, 20)).toBe(30);
    expect(awakeHoursPerWeek({ sleep: { idleMinutes: 30, wakeOutsideHours: false } }, 20)).toBe(22.5);
    expect(awakeHoursPerWeek({}, 20)).toBe(30);
  });

  it("never exceed the working hours (their end puts everyone to sleep) or the week", () => {
    expect(
      awakeHoursPerWeek({ sleep: { idleMinutes: 120, wakeOutsideHours: false }, schedule: { ...WEEKDAYS, days: [...WEEKDAYS.days] } }, 58),
    ).toBe(60);
    expect(awakeHoursPerWeek({ sleep: { idleMinutes: 1440, wakeOutsideHours: false } }, 100)).toBe(168);
    expect(
      awakeHoursPerWeek({ sleep: { idleMinutes: 0, wakeOutsideHours: false }, schedule: { ...WEEKDAYS, days: [...WEEKDAYS.days] } }, 5),
    ).toBe(60);
  });
});

describe("the sleeping bill", () => {
  const line = (monthlyUsd: number | null, scalesWithHost: boolean) => ({ monthlyUsd, scalesWithHost }) as CostLine;
  const bill = { developers: 4, monthly: { lines: [line(168, true), line(10, false), line(null, true)] } } as unknown as Bill;

  it("bills what stops with the compute for the awake share of the week and the rest in full", () => {
    expect(sleepingCost(bill, 20, 42)).toEqual({ activeHours: 20, awakeHours: 42, total: 52, perDeveloper: 13 });
  });
});

describe("npm run cost -- --active-hours", () => {
  it("prints sleep when idle beside always on and scheduled, below both for a team that works 20 h a week", async () => {
    const { code, stdout, stderr } = await run(["--json", "--active-hours", "20"]);
    expect([code, stderr]).toEqual([0, ""]);
    const bill = JSON.parse(stdout);
    expect(bill.sleeping).toMatchObject({ activeHours: 20, awakeHours: 30 });
    expect(bill.sleeping.total).toBeLessThan(bill.scheduled.total);
    const text = await run(["--active-hours", "20"]);
    expect(text.stdout).toMatch(/^Sleep when idle, developers active 20 h a week: awake 30 of 168 hours a week/m);
    expect(text.stdout).toContain(`a month, `);
  });

  it.each(["0", "-3", "169", "many", ""])("refuses --active-hours %j, saying what it takes", async (hours) => {
    const { code, stderr } = await run([`--active-hours=${hours}`]);
    expect(code).toBe(2);
    expect(stderr).toContain(
      `--active-hours ${JSON.stringify(hours)}: expected the hours a week a developer works, above 0 and at most 168`,
    );
  });
});
