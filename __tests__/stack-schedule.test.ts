/**
 * The stack with and without the roster's schedule: without one, nothing of it exists (the JSON is
 * the scheduled roster's minus exactly the schedule's own additions); with one, the schedules turn
 * the actions of exactly the alarms that sleep with the host off and on. Every alarm of the stack
 * declares what it does while the host sleeps, and this file holds the table of those decisions:
 * a new alarm fails here until it is declared and listed.
 */
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { Testing } from "cdktf";
import { stackProps } from "../src/app";
import { classifiedAlarms, declareSleepsWithHost } from "../src/constructs/monitoring";
import { DevEnvironmentStack } from "../src/stacks/dev-environment-stack";
import type { Schedule } from "../src/roster";
import { defaultFleet, editedFleet } from "./helpers/fleet";
import { parseDocument } from "./helpers/hcl-object";
import { synthesize } from "./helpers/synth";
import type { ProviderBlock } from "../src/terraform/plan-json";

const WEEKDAYS_8_TO_8: Schedule = { timezone: "Asia/Bangkok", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "20:00" };
const plain = synthesize(defaultFleet());
const scheduled = synthesize(
  editedFleet((roster) => {
    roster.schedule = WEEKDAYS_8_TO_8;
  }),
);
const SCHEDULE_TYPES = ["aws_scheduler_schedule", "aws_scheduler_schedule_group"];

/**
 * What each alarm does while the host sleeps, and why: `true`, it sleeps with the host (its actions
 * are off from just before the stop until 15 minutes after the start); `false`, it keeps notifying.
 */
const WHILE_THE_HOST_SLEEPS: readonly [pattern: RegExp, sleepsWithHost: boolean, why: string][] = [
  [/^code-server-dev-host-cpu$/, true, "EC2 publishes CPUUtilization only for a running instance"],
  [/^code-server-dev-host-memory$/, true, "published by the CloudWatch agent on the host"],
  [/^code-server-dev-data-disk$/, true, "published by the CloudWatch agent on the host"],
  [/^code-server-dev-root-disk$/, true, "published by the CloudWatch agent on the host"],
  [/^code-server-dev-dev\d+-disk-share$/, true, "published by the host's disk-usage timer"],
  [/^code-server-dev-alb-5xx$/, true, "the ALB answers 503 while the target is stopped"],
  [/^code-server-dev-dev\d+-unhealthy$/, true, "targets are unhealthy while the host boots"],
  [/^code-server-dev-dev\d+-restarts$/, true, "published by the host's metrics timer"],
  [/^code-server-dev-host-auto-recovery$/, false, "must recover a host that boots onto failing hardware; missing data reads as passing"],
  [/^code-server-dev-schedule-failed$/, false, "a start that did not happen must reach the operators"],
];

function declarations(stack: DevEnvironmentStack) {
  return classifiedAlarms(stack).map((a) => {
    const row = WHILE_THE_HOST_SLEEPS.find(([pattern]) => pattern.test(a.alarmName));
    return { alarm: a.alarmName, declared: a.sleepsWithHost, expected: row ? row[1] : "not in WHILE_THE_HOST_SLEEPS" };
  });
}

describe("every alarm of the stack declares what it does while the host sleeps", () => {
  it.each([
    ["the default roster", plain.stack],
    ["a roster with a schedule", scheduled.stack],
  ])("%s: each alarm is in the table, and declares what the table says", (_, stack) => {
    const found = declarations(stack);
    expect(found.filter((d) => d.declared !== d.expected)).toEqual([]);
    expect(found.length).toBe(Object.keys(plain.config.resource.aws_cloudwatch_metric_alarm).length + (stack === scheduled.stack ? 1 : 0));
  });

  it("an alarm added anywhere in the stack without declaring it stops the synth, naming the alarm", () => {
    const stack = new DevEnvironmentStack(Testing.app(), "code-server-dev", stackProps(defaultFleet()));
    new CloudwatchMetricAlarm(stack.backup, "failed-jobs", {
      alarmName: "code-server-dev-backup-failed",
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      evaluationPeriods: 1,
    });
    expect(() => Testing.synth(stack, true)).toThrow(
      /an alarm does not say whether it sleeps with the host: code-server-dev\/backup\/failed-jobs\./,
    );
  });

  it("an alarm that sleeps with the host but is created after the stack collected them stops the synth", () => {
    const stack = new DevEnvironmentStack(Testing.app(), "code-server-dev", stackProps(defaultFleet()));
    declareSleepsWithHost(
      new CloudwatchMetricAlarm(stack.monitoring, "late", {
        alarmName: "code-server-dev-late",
        comparisonOperator: "GreaterThanThreshold",
        evaluationPeriods: 1,
      }),
      true,
    );
    expect(() => Testing.synth(stack, true)).toThrow(
      /code-server-dev\/monitoring\/late sleeps with the host but was created after the stack collected those alarms/,
    );
  });

  it("the stack knows the sleeping alarms' names, for the schedule and the operator scripts", () => {
    const sleeping = declarations(plain.stack).filter((d) => d.declared);
    expect(plain.stack.sleepingAlarmNames).toEqual(sleeping.map((d) => d.alarm));
    expect(plain.stack.sleepingAlarmNames).toHaveLength(5 + 3 * 8);
  });
});

describe("a roster with a schedule", () => {
  const schedules = new Map(
    Object.entries<ProviderBlock>(scheduled.config.resource.aws_scheduler_schedule).map(([, s]) => [s.name as string, s]),
  );

  it("turns off and on the actions of exactly the alarms that sleep with the host", () => {
    const sleeping = declarations(scheduled.stack)
      .filter((d) => d.declared)
      .map((d) => d.alarm);
    for (const name of ["code-server-dev-alarms-off", "code-server-dev-alarms-on"]) {
      expect([name, (JSON.parse(schedules.get(name)!.target.input as string) as { AlarmNames: string[] }).AlarmNames]).toEqual([
        name,
        sleeping,
      ]);
    }
    expect(sleeping).not.toContain("code-server-dev-host-auto-recovery");
    expect(sleeping).not.toContain("code-server-dev-schedule-failed");
  });

  it("starts and stops the host instance, and may create grants on the fleet key for it", () => {
    const hostId = "${aws_instance.host.id}";
    for (const name of ["code-server-dev-start-host", "code-server-dev-stop-host"]) {
      expect(parseDocument(schedules.get(name)!.target.input as string)).toEqual({ InstanceIds: [hostId] });
    }
    const policy = parseDocument(scheduled.config.resource.aws_iam_role_policy["schedule_role-policy"].policy as string);
    expect((policy.Statement as ProviderBlock[]).find((s) => s.Sid === "StartTheHostWithItsEncryptedVolumes")?.Resource).toBe(
      "${aws_kms_key.secrets_key.arn}",
    );
    // The key policy lets IAM decide for the account (kms:* for the account root), so the role's
    // own policy is all the start needs; the volumes are encrypted with exactly that key.
    const keyPolicy = parseDocument(scheduled.config.resource.aws_kms_key_policy["key-policy_fleet-key"].policy as string);
    expect((keyPolicy.Statement as ProviderBlock[]).find((s) => s.Sid === "AccountAdministersKeyThroughIam")).toMatchObject({
      Action: "kms:*",
      Principal: { AWS: expect.stringMatching(/^arn:aws:iam::\$\{element\(split\(":", aws_kms_key\.secrets_key\.arn\), 4\)\}:root$/) },
    });
    expect(scheduled.config.resource.aws_instance.host.root_block_device.kms_key_id).toBe("${aws_kms_key.secrets_key.arn}");
    expect(scheduled.config.resource.aws_ebs_volume.data_volume.kms_key_id).toBe("${aws_kms_key.secrets_key.arn}");
  });

  it("has readable addresses under schedule_", () => {
    const addresses = SCHEDULE_TYPES.flatMap((type) =>
      Object.keys(scheduled.config.resource[type] as ProviderBlock).map((n) => `${type}.${n}`),
    );
    expect(addresses.sort()).toEqual([
      "aws_scheduler_schedule.schedule_alarms-off",
      "aws_scheduler_schedule.schedule_alarms-on",
      "aws_scheduler_schedule.schedule_start-host",
      "aws_scheduler_schedule.schedule_stop-host",
      "aws_scheduler_schedule_group.schedule_group",
    ]);
  });
});

describe("a roster without a schedule", () => {
  it("has nothing of it: byte for byte, the scheduled roster's JSON without the schedule's own additions", () => {
    for (const type of SCHEDULE_TYPES) expect([type, plain.config.resource[type]]).toEqual([type, undefined]);
    const stripped = JSON.parse(JSON.stringify(scheduled.config)) as ProviderBlock;
    for (const type of SCHEDULE_TYPES) delete stripped.resource[type];
    for (const [type, name] of [
      ["aws_iam_role", "schedule_role"],
      ["aws_iam_role_policy", "schedule_role-policy"],
      ["aws_cloudwatch_metric_alarm", "schedule_failed-call"],
    ]) {
      expect([type, name, stripped.resource[type][name]]).toEqual([type, name, expect.any(Object)]);
      delete stripped.resource[type][name];
    }
    // The one change to an existing resource: recovery reads the sleeping host's missing status checks as passing.
    expect(stripped.resource.aws_cloudwatch_metric_alarm["compute_auto-recovery"].treat_missing_data).toBe("notBreaching");
    delete stripped.resource.aws_cloudwatch_metric_alarm["compute_auto-recovery"].treat_missing_data;
    expect(JSON.stringify(stripped)).toBe(JSON.stringify(plain.config));
  });
});
