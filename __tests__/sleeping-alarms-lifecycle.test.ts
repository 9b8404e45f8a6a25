/**
 * The alarms that sleep with the host have their actions switched off and on by the schedule and
 * by sleep.sh / wake.sh, outside Terraform. Terraform must leave that switch alone: without
 * `ignore_changes = [actions_enabled]`, a plan made while the host sleeps shows
 * `actions_enabled = false -> true` for every one of them, and applying it re-arms them on a
 * stopped host.
 */
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { ACTIONS_ENABLED, declareSleepsWithHost } from "../src/constructs/monitoring";
import { renderHcl } from "../src/export/hcl";
import { defaultFleet, editedFleet } from "./helpers/fleet";
import { synthLayer } from "./helpers/layer";
import { synthesize } from "./helpers/synth";
import type { ProviderBlock } from "../src/terraform/plan-json";

const plain = synthesize(defaultFleet());
const scheduled = synthesize(
  editedFleet((roster) => {
    roster.schedule = { timezone: "Asia/Bangkok", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "20:00" };
  }),
);

/** `[alarm name, its ignore_changes]` of every metric alarm in `config`. */
function ignoredChanges(config: ProviderBlock): [string, unknown][] {
  return Object.values<ProviderBlock>(config.resource.aws_cloudwatch_metric_alarm).map((alarm) => [
    alarm.alarm_name as string,
    alarm.lifecycle?.ignore_changes,
  ]);
}

describe("alarms that sleep with the host ignore changes to actions_enabled", () => {
  it.each([
    ["the default roster", plain],
    ["a roster with a schedule", scheduled],
  ])("%s: every sleeping alarm, and no other", (_, { stack, config }) => {
    const sleeping = new Set(stack.sleepingAlarmNames);
    expect(sleeping.size).toBe(5 + 3 * 8);
    const alarms = ignoredChanges(config);
    expect(alarms.filter(([name]) => sleeping.has(name))).toEqual([...sleeping].map((name) => [name, [ACTIONS_ENABLED]]));
    // The alarms that keep notifying while the host sleeps stay under Terraform's control.
    expect(alarms.filter(([name]) => !sleeping.has(name))).toEqual(
      (config === scheduled.config
        ? ["code-server-dev-host-auto-recovery", "code-server-dev-schedule-failed"]
        : ["code-server-dev-host-auto-recovery"]
      ).map((name) => [name, undefined]),
    );
  });

  it("the exported HCL says the same", () => {
    const main = renderHcl(plain.stack)["main.tf"];
    const block = /resource "aws_cloudwatch_metric_alarm" "monitoring_alarm-dev3-unhealthy" \{\n([\s\S]*?)\n\}/.exec(main)?.[1];
    expect(block).toMatch(/lifecycle \{\s*ignore_changes = \[actions_enabled\]\s*\}/);
    const recovery = /resource "aws_cloudwatch_metric_alarm" "compute_auto-recovery" \{\n([\s\S]*?)\n\}/.exec(main)?.[1];
    expect(recovery).toBeDefined();
    expect(recovery).not.toMatch(/ignore_changes/);
  });
});

describe("declareSleepsWithHost, for alarms created outside the monitoring layer", () => {
  const alarmIn = (scope: ConstructScope, id: string, lifecycle?: CloudwatchMetricAlarm["lifecycle"]) =>
    new CloudwatchMetricAlarm(scope, id, {
      alarmName: id,
      comparisonOperator: "GreaterThanThreshold",
      evaluationPeriods: 1,
      lifecycle,
    });
  type ConstructScope = ConstructorParameters<typeof CloudwatchMetricAlarm>[0];

  const { config } = synthLayer((scope) => {
    declareSleepsWithHost(alarmIn(scope, "sleeps"), true);
    declareSleepsWithHost(alarmIn(scope, "keeps-notifying"), false);
    declareSleepsWithHost(alarmIn(scope, "own-ignores", { ignoreChanges: ["threshold"], preventDestroy: true }), true);
    declareSleepsWithHost(alarmIn(scope, "ignores-all", { ignoreChanges: "all" }), true);
    const changedItsMind = alarmIn(scope, "changed-its-mind");
    declareSleepsWithHost(changedItsMind, true);
    declareSleepsWithHost(changedItsMind, false);
    const declaredTwice = alarmIn(scope, "declared-twice");
    declareSleepsWithHost(declaredTwice, true);
    declareSleepsWithHost(declaredTwice, true);
  });
  const lifecycleOf = (id: string) =>
    (config.resource.aws_cloudwatch_metric_alarm as ProviderBlock)[id].lifecycle as ProviderBlock | undefined;

  it("adds actions_enabled to the ignored changes of an alarm that sleeps with the host", () => {
    expect(lifecycleOf("sleeps")).toEqual({ ignore_changes: [ACTIONS_ENABLED] });
    expect(lifecycleOf("declared-twice")).toEqual({ ignore_changes: [ACTIONS_ENABLED] });
  });

  it("keeps the alarm's own lifecycle settings", () => {
    expect(lifecycleOf("own-ignores")).toEqual({ ignore_changes: ["threshold", ACTIONS_ENABLED], prevent_destroy: true });
    expect(lifecycleOf("ignores-all")).toEqual({ ignore_changes: "all" });
  });

  it("leaves an alarm that keeps notifying (or is re-declared so) under Terraform's control", () => {
    expect(lifecycleOf("keeps-notifying")?.ignore_changes).toBeUndefined();
    expect(lifecycleOf("changed-its-mind")?.ignore_changes).toBeUndefined();
  });
});
