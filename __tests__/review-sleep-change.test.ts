/**
 * The review says when sleep when idle is turned on or off on ECS (Terraform shows new task
 * definitions and services updated in place): every developer's task is replaced, and such a
 * review exits 3. On the host the containers stay as they are, and nothing more is said.
 */
import { parse, stringify } from "yaml";
import { parseRoster } from "../src/roster";
import { renderReview } from "../src/review/report";
import { exitCodeOf, synthesizeRoster, type Review } from "../src/review/review";
import { sleepChangeOf } from "../src/review/sleep";
import { DEFAULT_ROSTER_TEXT } from "./helpers/fleet";

const edited = (edit: (roster: Record<string, unknown>) => void) => {
  const roster = parse(DEFAULT_ROSTER_TEXT) as Record<string, unknown>;
  edit(roster);
  return parseRoster(stringify(roster));
};
const onEcs = (roster: Record<string, unknown>) => {
  delete roster.host;
  roster.platform = "ecs";
};
const ecsAwake = edited(onEcs);
const ecsSleeping = edited((roster) => {
  onEcs(roster);
  roster.sleep = { idleMinutes: 60 };
});

describe("sleep turned on or off", () => {
  it("is a change on ECS, in either direction, and none on the host or when the idle time changes", () => {
    expect(sleepChangeOf(ecsAwake, ecsSleeping)).toEqual({ on: true });
    expect(sleepChangeOf(ecsSleeping, ecsAwake)).toEqual({ on: false });
    const longer = edited((roster) => {
      onEcs(roster);
      roster.sleep = { idleMinutes: 120 };
    });
    expect(sleepChangeOf(ecsSleeping, longer)).toBeUndefined();
    const hostSleeping = edited((roster) => (roster.sleep = { idleMinutes: 60 }));
    expect(
      sleepChangeOf(
        edited(() => undefined),
        hostSleeping,
      ),
    ).toBeUndefined();
  });

  it("says every developer's task is replaced, and makes the review exit 3", () => {
    const base = synthesizeRoster("base.yaml", ecsAwake);
    const current = synthesizeRoster("roster.yaml", ecsSleeping);
    const review: Review = {
      base,
      current,
      diffs: [],
      changes: [],
      protected: [],
      impacts: [],
      refusals: [],
      vars: {},
      sleepChange: sleepChangeOf(base.fleet, current.fleet)!,
    };
    const text = renderReview(review).replace(/\n(?!\n)/g, " ");
    expect(text).toContain("! Sleep change: sleep when idle is turned on.");
    expect(text).toContain("every developer's task is replaced at the apply");
    expect(text).toContain("open terminals and running jobs end (homes are untouched)");
    expect(exitCodeOf(review)).toBe(3);
    const { sleepChange: _, ...unchanged } = review;
    expect(exitCodeOf(unchanged)).toBe(0);
  });
});
