/**
 * WorkingHours: EventBridge Scheduler schedules in the roster's time zone that start and stop the
 * host and turn the sleeping alarms' actions off before the stop and on after the warm-up, through
 * universal targets and a role that can do only that; an alarm on calls the scheduler gave up.
 */
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { SchedulerSchedule } from "@cdktf/provider-aws/lib/scheduler-schedule";
import { SchedulerScheduleGroup } from "@cdktf/provider-aws/lib/scheduler-schedule-group";
import { Testing } from "cdktf";
import type { Construct } from "constructs";
import { classifiedAlarms } from "../src/constructs/monitoring";
import { cronAt, WorkingHours, type WorkingHoursProps, MAX_ALARMS_PER_CALL, MAX_LISTED_ALARM_ARNS } from "../src/constructs/schedule";
import type { Schedule } from "../src/roster";
import { defaultFleet } from "./helpers/fleet";
import { parseDocument } from "./helpers/hcl-object";
import { ACCOUNT, refToOnly, standIns, synthLayer } from "./helpers/layer";
import { only, resources } from "./helpers/synth";
import type { ProviderBlock } from "../src/terraform/plan-json";

const fleet = defaultFleet();
const WEEKDAYS_8_TO_8: Schedule = { timezone: "Asia/Bangkok", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "20:00" };
const SLEEPING = ["code-server-dev-host-cpu", "code-server-dev-dev1-unhealthy"];

function hostSchedule(scope: Construct, overrides: Partial<WorkingHoursProps> = {}): WorkingHours {
  standIns.aws(scope);
  return new WorkingHours(scope, "schedule", {
    fleet,
    schedule: WEEKDAYS_8_TO_8,
    instance: standIns.instance(scope),
    volumeKeyArn: standIns.key(scope).arn,
    sleepingAlarmNames: SLEEPING,
    alarmTopicArn: "arn:aws:sns:ap-southeast-7:123456789012:alarms",
    ...overrides,
  });
}

const { json, config } = synthLayer((scope) => hostSchedule(scope));
const schedules = new Map(resources(config, "aws_scheduler_schedule").map(([, s]) => [s.name as string, s]));
const scheduleNamed = (name: string) => {
  const found = schedules.get(`code-server-dev-${name}`);
  if (!found) throw new Error(`no schedule ${name}; have ${[...schedules.keys()].join(", ")}`);
  return found;
};
const instanceId = refToOnly(config, "aws_instance", "id");
const roleArn = refToOnly(config, "aws_iam_role", "arn");

describe("the schedules", () => {
  it("start the host at the roster's start and stop it at its stop, on its days, in its time zone", () => {
    expect(scheduleNamed("start-host")).toMatchObject({
      schedule_expression: "cron(0 8 ? * MON,TUE,WED,THU,FRI *)",
      schedule_expression_timezone: "Asia/Bangkok",
      flexible_time_window: { mode: "OFF" },
      target: { arn: "arn:aws:scheduler:::aws-sdk:ec2:startInstances", role_arn: roleArn },
    });
    expect(scheduleNamed("stop-host")).toMatchObject({
      schedule_expression: "cron(0 20 ? * MON,TUE,WED,THU,FRI *)",
      schedule_expression_timezone: "Asia/Bangkok",
      target: { arn: "arn:aws:scheduler:::aws-sdk:ec2:stopInstances", role_arn: roleArn },
    });
    for (const name of ["start-host", "stop-host"]) {
      expect(parseDocument(scheduleNamed(name).target.input as string)).toEqual({ InstanceIds: [instanceId] });
    }
  });

  it("turn the sleeping alarms' actions off a minute before the stop and on 15 minutes after the start", () => {
    const off = scheduleNamed("alarms-off");
    const on = scheduleNamed("alarms-on");
    expect(off.schedule_expression).toBe("cron(59 19 ? * MON,TUE,WED,THU,FRI *)");
    expect(on.schedule_expression).toBe("cron(15 8 ? * MON,TUE,WED,THU,FRI *)");
    expect(off.target.arn).toBe("arn:aws:scheduler:::aws-sdk:cloudwatch:disableAlarmActions");
    expect(on.target.arn).toBe("arn:aws:scheduler:::aws-sdk:cloudwatch:enableAlarmActions");
    for (const s of [off, on]) {
      expect(JSON.parse(s.target.input as string)).toEqual({ AlarmNames: SLEEPING });
      expect(s.schedule_expression_timezone).toBe("Asia/Bangkok");
    }
  });

  it("all live in the fleet's schedule group, retry for half an hour, and say in words what they do", () => {
    expect(json).toHaveResourceWithProperties(SchedulerScheduleGroup, { name: "code-server-dev" });
    for (const [, s] of resources(config, "aws_scheduler_schedule")) {
      expect(s.group_name).toBe(refToOnly(config, "aws_scheduler_schedule_group", "name"));
      expect(s.target.retry_policy).toEqual({ maximum_event_age_in_seconds: 1800, maximum_retry_attempts: 10 });
    }
    expect(scheduleNamed("start-host").description).toBe(
      "Starts the code-server-dev host at 08:00 on mon, tue, wed, thu, fri (Asia/Bangkok).",
    );
    expect(json).toHaveResourceWithProperties(SchedulerSchedule, { name: "code-server-dev-stop-host" });
  });

  it("take warm-up and quiet times as props, and a schedule on other days in another zone", () => {
    const { config: other } = synthLayer((scope) =>
      hostSchedule(scope, {
        schedule: { timezone: "Europe/Berlin", days: ["sat", "sun"], start: "09:30", stop: "13:05" },
        warmUpMinutes: 30,
        quietBeforeStopMinutes: 10,
      }),
    );
    const byName = new Map(resources(other, "aws_scheduler_schedule").map(([, s]) => [s.name, s.schedule_expression]));
    expect(Object.fromEntries(byName)).toEqual({
      "code-server-dev-start-host": "cron(30 9 ? * SAT,SUN *)",
      "code-server-dev-stop-host": "cron(5 13 ? * SAT,SUN *)",
      "code-server-dev-alarms-off": "cron(55 12 ? * SAT,SUN *)",
      "code-server-dev-alarms-on": "cron(0 10 ? * SAT,SUN *)",
    });
    expect(cronAt(0, ["sun"])).toBe("cron(0 0 ? * SUN *)");
  });

  it("only start and stop the host when no alarm sleeps with it", () => {
    const { config: bare } = synthLayer((scope) => hostSchedule(scope, { sleepingAlarmNames: [] }));
    expect(resources(bare, "aws_scheduler_schedule").map(([, s]) => s.name)).toEqual([
      "code-server-dev-start-host",
      "code-server-dev-stop-host",
    ]);
    const policy = parseDocument(only(bare, "aws_iam_role_policy").policy as string);
    expect((policy.Statement as ProviderBlock[]).map((s) => s.Sid)).toEqual(["StartAndStopTheHost", "StartTheHostWithItsEncryptedVolumes"]);
  });

  it("split more than 100 alarms into calls of at most 100, each pair off and on with the same names", () => {
    const many = Array.from({ length: 2 * MAX_ALARMS_PER_CALL + 5 }, (_, i) => `code-server-dev-alarm-${i}`);
    const { config: big } = synthLayer((scope) => hostSchedule(scope, { sleepingAlarmNames: many }));
    const inputs = new Map(resources(big, "aws_scheduler_schedule").map(([, s]) => [s.name as string, s.target.input as string]));
    const names = (schedule: string) => (JSON.parse(inputs.get(`code-server-dev-${schedule}`)!) as { AlarmNames: string[] }).AlarmNames;
    expect([...inputs.keys()].filter((n) => n.includes("alarms-")).sort()).toEqual(
      ["alarms-off", "alarms-off-2", "alarms-off-3", "alarms-on", "alarms-on-2", "alarms-on-3"].map((n) => `code-server-dev-${n}`),
    );
    expect(["alarms-off", "alarms-off-2", "alarms-off-3"].map((s) => names(s).length)).toEqual([100, 100, 5]);
    expect(["alarms-off", "alarms-off-2", "alarms-off-3"].flatMap(names)).toEqual(many);
    for (const suffix of ["", "-2", "-3"]) expect(names(`alarms-on${suffix}`)).toEqual(names(`alarms-off${suffix}`));
  });
});

describe("the role", () => {
  it("can be assumed only by EventBridge Scheduler for this account's schedule group", () => {
    const trust = parseDocument(only(config, "aws_iam_role").assume_role_policy as string);
    expect(trust.Statement).toEqual([
      {
        Effect: "Allow",
        Principal: { Service: "scheduler.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: {
          StringEquals: { "aws:SourceAccount": ACCOUNT },
          ArnEquals: { "aws:SourceArn": refToOnly(config, "aws_scheduler_schedule_group", "arn") },
        },
      },
    ]);
    expect(json).toHaveResourceWithProperties(IamRole, { name: "code-server-dev-scheduler" });
  });

  it("may start and stop only the host, grant EC2 the volume key for the start, and toggle only the sleeping alarms' actions", () => {
    const policy = parseDocument(only(config, "aws_iam_role_policy").policy as string);
    expect(only(config, "aws_iam_role_policy").role).toBe(refToOnly(config, "aws_iam_role", "id"));
    expect(policy.Statement).toEqual([
      {
        Sid: "StartAndStopTheHost",
        Effect: "Allow",
        Action: ["ec2:StartInstances", "ec2:StopInstances"],
        Resource: `arn:aws:ec2:ap-southeast-7:${ACCOUNT}:instance/${instanceId}`,
      },
      {
        Sid: "StartTheHostWithItsEncryptedVolumes",
        Effect: "Allow",
        Action: "kms:CreateGrant",
        Resource: refToOnly(config, "aws_kms_key", "arn"),
        Condition: { Bool: { "kms:GrantIsForAWSResource": "true" } },
      },
      {
        Sid: "SilenceTheAlarmsThatSleepWithTheHost",
        Effect: "Allow",
        Action: ["cloudwatch:DisableAlarmActions", "cloudwatch:EnableAlarmActions"],
        Resource: SLEEPING.map((name) => `arn:aws:cloudwatch:ap-southeast-7:${ACCOUNT}:alarm:${name}`),
      },
    ]);
  });

  it(`names alarms by the fleet's prefix beyond ${MAX_LISTED_ALARM_ARNS}, which IAM's policy size limit cannot list`, () => {
    const many = Array.from({ length: MAX_LISTED_ALARM_ARNS + 1 }, (_, i) => `code-server-dev-alarm-${i}`);
    const { config: big } = synthLayer((scope) => hostSchedule(scope, { sleepingAlarmNames: many }));
    const policy = parseDocument(only(big, "aws_iam_role_policy").policy as string);
    expect((policy.Statement as ProviderBlock[]).find((s) => s.Sid === "SilenceTheAlarmsThatSleepWithTheHost")?.Resource).toEqual([
      `arn:aws:cloudwatch:ap-southeast-7:${ACCOUNT}:alarm:code-server-dev-*`,
    ]);
  });

  it("uses the partition of the region in every ARN it builds", () => {
    const { config: china } = synthLayer((scope) => {
      standIns.aws(scope, "cn-north-1");
      new WorkingHours(scope, "schedule", {
        fleet,
        schedule: WEEKDAYS_8_TO_8,
        instance: standIns.instance(scope),
        volumeKeyArn: "arn:aws-cn:kms:cn-north-1:123456789012:key/k",
        sleepingAlarmNames: SLEEPING,
        alarmTopicArn: "arn:aws-cn:sns:cn-north-1:123456789012:alarms",
      });
    });
    expect(
      resources(china, "aws_scheduler_schedule")
        .map(([, s]) => s.target.arn as string)
        .sort(),
    ).toEqual([
      "arn:aws-cn:scheduler:::aws-sdk:cloudwatch:disableAlarmActions",
      "arn:aws-cn:scheduler:::aws-sdk:cloudwatch:enableAlarmActions",
      "arn:aws-cn:scheduler:::aws-sdk:ec2:startInstances",
      "arn:aws-cn:scheduler:::aws-sdk:ec2:stopInstances",
    ]);
  });
});

describe("the alarm on failed calls", () => {
  it("watches calls the scheduler dropped after its retries, notifies the topic, and keeps notifying while the host sleeps", () => {
    expect(json).toHaveResourceWithProperties(CloudwatchMetricAlarm, {
      alarm_name: "code-server-dev-schedule-failed",
      namespace: "AWS/Scheduler",
      metric_name: "InvocationDroppedCount",
      dimensions: { ScheduleGroup: refToOnly(config, "aws_scheduler_schedule_group", "name") },
      statistic: "Sum",
      threshold: 1,
      comparison_operator: "GreaterThanOrEqualToThreshold",
      treat_missing_data: "notBreaching",
      alarm_actions: ["arn:aws:sns:ap-southeast-7:123456789012:alarms"],
      ok_actions: ["arn:aws:sns:ap-southeast-7:123456789012:alarms"],
    });
    let declared: ReturnType<typeof classifiedAlarms> = [];
    Testing.synthScope((scope) => {
      hostSchedule(scope);
      declared = classifiedAlarms(scope);
    });
    expect(declared.map((a) => [a.alarmName, a.sleepsWithHost])).toEqual([["code-server-dev-schedule-failed", false]]);
  });
});

describe("props validation", () => {
  test.each<[string, Partial<WorkingHoursProps>, RegExp]>([
    [
      "an unknown time zone",
      { schedule: { ...WEEKDAYS_8_TO_8, timezone: "Asia/Bankok" } },
      /^WorkingHours stack\/schedule: schedule\.timezone: "Asia\/Bankok" is not an IANA time zone: did you mean "Asia\/Bangkok"\?/,
    ],
    ["no days", { schedule: { ...WEEKDAYS_8_TO_8, days: [] } }, /^WorkingHours stack\/schedule: schedule\.days has 0 entries; at least 1/],
    [
      "a day twice",
      { schedule: { ...WEEKDAYS_8_TO_8, days: ["mon", "mon"] } },
      /^WorkingHours stack\/schedule: schedule\.days lists a day twice \(mon, mon\)$/,
    ],
    ["a time that is not HH:MM", { schedule: { ...WEEKDAYS_8_TO_8, stop: "8pm" } }, /schedule\.stop "8pm" is not a time of day HH:MM$/],
    [
      "a day too short for the warm-up",
      { schedule: { ...WEEKDAYS_8_TO_8, stop: "08:20" }, warmUpMinutes: 15, quietBeforeStopMinutes: 5 },
      /schedule 08:00-08:20 is too short for a 15-minute warm-up .*: the alarms would come back on \(08:15\) after they go off \(08:15\)$/,
    ],
    ["a warm-up of 2 minutes", { warmUpMinutes: 2 }, /warmUpMinutes 2 must be a whole number of minutes from 5 to 120$/],
    [
      "no quiet minute before the stop",
      { quietBeforeStopMinutes: 0 },
      /quietBeforeStopMinutes 0 must be a whole number of minutes from 1 to 30$/,
    ],
    [
      "an alarm name with a space",
      { sleepingAlarmNames: ["host cpu"] },
      /sleepingAlarmNames entry "host cpu" is not a CloudWatch alarm name/,
    ],
    ["an alarm named twice", { sleepingAlarmNames: ["a", "a"] }, /sleepingAlarmNames names an alarm twice$/],
    [
      "a fleet prefix too long for schedule names",
      { fleet: { ...fleet, namePrefix: "p".repeat(60) } },
      /schedule name "p{60}-alarms-off-99" is 74 characters; the limit is 64 \(EventBridge Scheduler's limit on schedule names\)$/,
    ],
  ])("refuses %s", (_, overrides, message) => {
    expect(() => Testing.synthScope((scope) => hostSchedule(scope, overrides))).toThrow(message);
  });
});
