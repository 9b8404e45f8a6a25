/**
 * The fleet's working hours (the roster's `schedule`): EventBridge Scheduler schedules in the
 * roster's time zone that start and stop what runs the developers (the host; on ECS each
 * developer's service, from none to one task and back), and turn off the actions of the alarms
 * that sleep with it before it stops and on again after it has started and warmed up. Universal
 * targets call the EC2, ECS and CloudWatch APIs directly, with a role that can do exactly that:
 * no Lambda. An alarm reports a scheduled call that EventBridge Scheduler gave up on.
 */
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import type { Instance } from "@cdktf/provider-aws/lib/instance";
import type { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { SchedulerSchedule } from "@cdktf/provider-aws/lib/scheduler-schedule";
import { SchedulerScheduleGroup } from "@cdktf/provider-aws/lib/scheduler-schedule-group";
import { Fn } from "cdktf";
import { Construct } from "constructs";
import { developerConstructIds } from "../naming";
import { type Fleet, minutesOfDay, timeOfDay, WEEKDAYS, type Schedule, type Weekday } from "../roster";
import { timeZoneProblem } from "../roster/schedule";
import { AwsEnvironment } from "./aws-environment";
import { anyFailureAlarm, declareSleepsWithHost } from "./monitoring";
import { check, checkMaxLength, checkMinCount, checkPattern, checkWholeRange, PropsError } from "./validation";

/**
 * Minutes from a scheduled start to turning the alarms' actions back on: about 2 for EC2 to boot
 * the host and Docker to restart the containers from the data volume, about 2 more for code-server
 * to answer /healthz and the ALB to count it healthy (2 checks 30 s apart), then two 5-minute
 * periods of fresh data, so that the 5-minute host alarms have left INSUFFICIENT_DATA for OK
 * (quietly) before they can notify again. A container still unhealthy after that is a real problem.
 */
export const DEFAULT_WARM_UP_MINUTES = 15;
/**
 * Minutes before a scheduled stop that the alarms' actions go off. EventBridge Scheduler runs a
 * target within the minute it is due, in no set order, so "before the stop" needs its own minute.
 */
export const DEFAULT_QUIET_BEFORE_STOP_MINUTES = 1;
/** CloudWatch's DisableAlarmActions and EnableAlarmActions take at most this many alarm names. */
export const MAX_ALARMS_PER_CALL = 100;
/**
 * Alarm ARNs the role's policy lists one by one; beyond this the policy names them by the fleet's
 * prefix instead, since IAM holds at most 10,240 characters of inline policy per role.
 */
export const MAX_LISTED_ALARM_ARNS = 80;
/**
 * How long EventBridge Scheduler keeps retrying a call, in seconds: a host started or stopped half
 * an hour late is still useful; later, the operator is better served by the failure alarm.
 */
export const RETRY_WINDOW_SECONDS = 1800;

/** The EventBridge Scheduler cron expression for `minutes` after midnight on `days`. */
export function cronAt(minutes: number, days: readonly Weekday[]): string {
  return `cron(${minutes % 60} ${Math.floor(minutes / 60)} ? * ${days.map((d) => d.toUpperCase()).join(",")} *)`;
}

/** When each scheduled call runs, in minutes after midnight on the schedule's days, in its time zone. */
export function scheduledTimes(
  schedule: Schedule,
  warmUpMinutes = DEFAULT_WARM_UP_MINUTES,
  quietBeforeStopMinutes = DEFAULT_QUIET_BEFORE_STOP_MINUTES,
) {
  const start = minutesOfDay(schedule.start);
  const stop = minutesOfDay(schedule.stop);
  return { start, alarmsOn: start + warmUpMinutes, alarmsOff: stop - quietBeforeStopMinutes, stop };
}

export interface WorkingHoursProps {
  /** The roster: the fleet's name prefix names the schedules, their group, role and alarm. */
  readonly fleet: Fleet;
  /** When the host runs: days, start and stop in a time zone (`Fleet.schedule`). */
  readonly schedule: Schedule;
  /**
   * The host the schedules start and stop, when the host runs.
   * @default - no host
   */
  readonly instance?: Instance;
  /** ARN of the customer-managed key of the host's EBS volumes: starting it makes EC2 create a grant on it for the caller. */
  readonly volumeKeyArn: string;
  /**
   * The names of the ECS services the schedules start (one task) and stop (none), in the cluster
   * named `<project>-<environment>`, when ECS runs.
   * @default - none
   */
  readonly ecsServices?: readonly string[];
  /**
   * Names of the alarms whose actions are off while the host sleeps (`classifiedAlarms`, those
   * that sleep with the host). Empty: the schedules only start and stop the host.
   */
  readonly sleepingAlarmNames: readonly string[];
  /** SNS topic the alarm on failed scheduled calls notifies. */
  readonly alarmTopicArn: string;
  /**
   * With sleep when idle, the sleeper: at the end of the working hours it puts everyone (and the
   * host) to sleep, and the wake starts what a visit within them needs, so nothing is started,
   * stopped or silenced on the clock. The schedules are then only that call.
   * @default - none: the schedules start and stop the host or services and silence their alarms
   */
  readonly sleeper?: LambdaFunction;
  /**
   * Minutes after the scheduled start before the sleeping alarms' actions are turned back on, 5 to 120.
   * @default 15 (DEFAULT_WARM_UP_MINUTES)
   */
  readonly warmUpMinutes?: number;
  /**
   * Minutes before the scheduled stop that the sleeping alarms' actions are turned off, 1 to 30.
   * @default 1 (DEFAULT_QUIET_BEFORE_STOP_MINUTES)
   */
  readonly quietBeforeStopMinutes?: number;
}

export class WorkingHours extends Construct {
  readonly group: SchedulerScheduleGroup;
  /** The role EventBridge Scheduler assumes for every schedule of the group. */
  readonly role: IamRole;
  /** Start and stop the host, when it runs. */
  readonly startHost?: SchedulerSchedule;
  readonly stopHost?: SchedulerSchedule;
  /** Start and stop each developer's ECS service, by developer name, when ECS runs. */
  readonly services: ReadonlyMap<string, { readonly start: SchedulerSchedule; readonly stop: SchedulerSchedule }>;
  /** Turn the sleeping alarms' actions off before the stop, one schedule per 100 alarms. */
  readonly alarmsOff: readonly SchedulerSchedule[];
  /** Turn them back on after the start and the warm-up. */
  readonly alarmsOn: readonly SchedulerSchedule[];
  /** In ALARM when EventBridge Scheduler gave up a call after its retries. */
  readonly failedCallAlarm: CloudwatchMetricAlarm;
  /** With sleep when idle: the sleeper's sleep of everyone at the end of the hours. */
  readonly sleepAll?: SchedulerSchedule;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: WorkingHoursProps,
  ) {
    super(scope, id);
    const { schedule, instance } = props;
    const prefix = props.fleet.namePrefix;
    check(
      this,
      instance !== undefined || (props.ecsServices ?? []).length > 0,
      () => "working hours with nothing to start and stop: give the instance or the ECS services",
    );
    const warmUpMinutes = props.warmUpMinutes ?? DEFAULT_WARM_UP_MINUTES;
    const quietBeforeStopMinutes = props.quietBeforeStopMinutes ?? DEFAULT_QUIET_BEFORE_STOP_MINUTES;
    this.validate(props, warmUpMinutes, quietBeforeStopMinutes);
    const times = scheduledTimes(schedule, warmUpMinutes, quietBeforeStopMinutes);
    const when = `${schedule.days.join(", ")} (${schedule.timezone})`;

    this.group = new SchedulerScheduleGroup(this, "group", { name: prefix });
    this.role = this.schedulerRole();
    if (props.sleeper) {
      this.sleepAll = this.call(
        "sleep-all",
        times.alarmsOff,
        props.sleeper.arn,
        JSON.stringify({ action: "sleep-all" }),
        `Puts every ${prefix} developer, and the host, to sleep at ${timeOfDay(times.alarmsOff)} on ${when}; a visit wakes them within the hours.`,
      );
      this.services = new Map();
      this.alarmsOff = [];
      this.alarmsOn = [];
      this.failedCallAlarm = this.failedCall();
      return;
    }
    if (instance) {
      const hostIds = Fn.jsonencode({ InstanceIds: [instance.id] });
      this.startHost = this.call(
        "start-host",
        times.start,
        "ec2:startInstances",
        hostIds,
        `Starts the ${prefix} host at ${schedule.start} on ${when}.`,
      );
      this.stopHost = this.call(
        "stop-host",
        times.stop,
        "ec2:stopInstances",
        hostIds,
        `Stops the ${prefix} host at ${schedule.stop} on ${when}.`,
      );
    }
    this.services = new Map((props.ecsServices ?? []).map((name) => [name, this.serviceCalls(name, times, when)]));
    const chunks: string[][] = [];
    const alarmNames = [...props.sleepingAlarmNames];
    for (let i = 0; i < alarmNames.length; i += MAX_ALARMS_PER_CALL) chunks.push(alarmNames.slice(i, i + MAX_ALARMS_PER_CALL));
    const suffix = (i: number) => (i === 0 ? "" : `-${i + 1}`);
    this.alarmsOff = chunks.map((names, i) =>
      this.call(
        `alarms-off${suffix(i)}`,
        times.alarmsOff,
        "cloudwatch:disableAlarmActions",
        JSON.stringify({ AlarmNames: names }),
        `Turns off the actions of ${names.length} alarms that sleep with the host, at ${timeOfDay(times.alarmsOff)} on ${when}, before the host stops.`,
      ),
    );
    this.alarmsOn = chunks.map((names, i) =>
      this.call(
        `alarms-on${suffix(i)}`,
        times.alarmsOn,
        "cloudwatch:enableAlarmActions",
        JSON.stringify({ AlarmNames: names }),
        `Turns the actions of ${names.length} alarms that sleep with the host back on at ${timeOfDay(times.alarmsOn)} on ${when}, ${warmUpMinutes} minutes after the host starts.`,
      ),
    );
    this.failedCallAlarm = this.failedCall();
  }

  /** One developer's ECS service: one task at the start, none at the stop. */
  private serviceCalls(name: string, times: ReturnType<typeof scheduledTimes>, when: string) {
    const { fleet, schedule } = this.props;
    const ids = developerConstructIds({ name }).schedule;
    const count = (desiredCount: number) => JSON.stringify({ Cluster: fleet.namePrefix, Service: name, DesiredCount: desiredCount });
    return {
      start: this.call(ids.start, times.start, "ecs:updateService", count(1), `Starts ${name}'s task at ${schedule.start} on ${when}.`),
      stop: this.call(ids.stop, times.stop, "ecs:updateService", count(0), `Stops ${name}'s task at ${schedule.stop} on ${when}.`),
    };
  }

  /** The role the schedules call AWS with: start and stop the host, and switch the sleeping alarms' actions. */
  private schedulerRole(): IamRole {
    const { props } = this;
    const prefix = props.fleet.namePrefix;
    const aws = AwsEnvironment.of(this);
    const alarmNames = [...props.sleepingAlarmNames];
    const alarmArns =
      alarmNames.length <= MAX_LISTED_ALARM_ARNS
        ? alarmNames.map((name) => aws.arn({ service: "cloudwatch", resource: `alarm:${name}` }))
        : [aws.arn({ service: "cloudwatch", resource: `alarm:${prefix}-*` })];
    const role = new IamRole(this, "role", {
      name: `${prefix}-scheduler`,
      description: `EventBridge Scheduler: starts and stops the ${prefix} host and silences its alarms while it sleeps`,
      assumeRolePolicy: Fn.jsonencode({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: "scheduler.amazonaws.com" },
            Action: "sts:AssumeRole",
            // Only this account's schedules of this group (confused-deputy protection).
            Condition: { StringEquals: { "aws:SourceAccount": aws.account }, ArnEquals: { "aws:SourceArn": this.group.arn } },
          },
        ],
      }),
    });
    const statements: object[] = [];
    if (props.sleeper) {
      statements.push({ Sid: "PutsEveryoneToSleep", Effect: "Allow", Action: "lambda:InvokeFunction", Resource: props.sleeper.arn });
    } else if (props.instance) {
      statements.push(
        {
          Sid: "StartAndStopTheHost",
          Effect: "Allow",
          Action: ["ec2:StartInstances", "ec2:StopInstances"],
          Resource: aws.arn({ service: "ec2", resource: `instance/${props.instance.id}` }),
        },
        {
          // The host's volumes are encrypted with a customer-managed key: EC2 attaches them at start
          // only if the caller may have it create a grant on the key. The key policy lets IAM decide.
          Sid: "StartTheHostWithItsEncryptedVolumes",
          Effect: "Allow",
          Action: "kms:CreateGrant",
          Resource: props.volumeKeyArn,
          Condition: { Bool: { "kms:GrantIsForAWSResource": "true" } },
        },
      );
    }
    if (!props.sleeper && (props.ecsServices ?? []).length > 0) {
      statements.push({
        Sid: "StartAndStopTheDevelopersServices",
        Effect: "Allow",
        Action: "ecs:UpdateService",
        Resource: aws.arn({ service: "ecs", resource: `service/${prefix}/*` }),
      });
    }
    if (!props.sleeper && alarmNames.length > 0) {
      statements.push({
        Sid: "SilenceTheAlarmsThatSleepWithTheHost",
        Effect: "Allow",
        Action: ["cloudwatch:DisableAlarmActions", "cloudwatch:EnableAlarmActions"],
        Resource: alarmArns,
      });
    }
    new IamRolePolicy(this, "role-policy", {
      name: "start-stop-host",
      role: role.id,
      policy: Fn.jsonencode({ Version: "2012-10-17", Statement: statements }),
    });
    return role;
  }

  /**
   * A schedule that calls `api` (service:action) with `input`, the API request as JSON (the SDK's
   * parameter names), or invokes the Lambda function whose ARN `api` is with `input` as its event.
   */
  private call(scheduleId: string, minutes: number, api: string, input: string, description: string): SchedulerSchedule {
    const { fleet, schedule } = this.props;
    const aws = AwsEnvironment.of(this);
    return new SchedulerSchedule(this, scheduleId, {
      name: `${fleet.namePrefix}-${scheduleId}`,
      groupName: this.group.name,
      description,
      scheduleExpression: cronAt(minutes, schedule.days),
      scheduleExpressionTimezone: schedule.timezone,
      flexibleTimeWindow: { mode: "OFF" },
      target: {
        arn: /^[a-z0-9]+:[A-Za-z]+$/.test(api)
          ? aws.arn({ service: "scheduler", region: "", account: "", resource: `aws-sdk:${api}` })
          : api,
        roleArn: this.role.arn,
        input,
        retryPolicy: { maximumEventAgeInSeconds: RETRY_WINDOW_SECONDS, maximumRetryAttempts: 10 },
      },
    });
  }

  /** In ALARM when EventBridge Scheduler gave up a call after its retries; it never sleeps. */
  private failedCall(): CloudwatchMetricAlarm {
    const { props } = this;
    const prefix = props.fleet.namePrefix;
    const alarm = new CloudwatchMetricAlarm(this, "failed-call", {
      alarmName: `${prefix}-schedule-failed`,
      alarmDescription: `EventBridge Scheduler gave up a scheduled call (start, stop or alarm actions of the ${prefix} host) after ${RETRY_WINDOW_SECONDS / 60} minutes of retries: check the host's state and run wake.sh or sleep.sh.`,
      namespace: "AWS/Scheduler",
      metricName: "InvocationDroppedCount",
      dimensions: { ScheduleGroup: this.group.name },
      // The metric exists only when a call is dropped.
      ...anyFailureAlarm(props.alarmTopicArn),
    });
    // A start that never happened is exactly what must reach the operators while the host sleeps.
    declareSleepsWithHost(alarm, false);
    return alarm;
  }

  private validate(props: WorkingHoursProps, warmUpMinutes: number, quietBeforeStopMinutes: number): void {
    const { schedule } = props;
    const prefix = props.fleet.namePrefix;
    checkWholeRange(this, "warmUpMinutes", warmUpMinutes, 5, 120, "minutes");
    checkWholeRange(this, "quietBeforeStopMinutes", quietBeforeStopMinutes, 1, 30, "minutes");
    const zoneProblem = timeZoneProblem(schedule.timezone);
    if (zoneProblem) throw new PropsError(this, `schedule.timezone: ${zoneProblem}`);
    checkMinCount(this, "schedule.days", schedule.days, 1, "a schedule runs on at least one day");
    for (const day of schedule.days) {
      check(this, (WEEKDAYS as readonly string[]).includes(day), () => `schedule.days has "${day}", not one of ${WEEKDAYS.join(", ")}`);
    }
    check(
      this,
      new Set(schedule.days).size === schedule.days.length,
      () => `schedule.days lists a day twice (${schedule.days.join(", ")})`,
    );
    for (const field of ["start", "stop"] as const) {
      checkPattern(this, `schedule.${field}`, schedule[field], /^([01]\d|2[0-3]):[0-5]\d$/, "a time of day HH:MM");
    }
    const times = scheduledTimes(schedule, warmUpMinutes, quietBeforeStopMinutes);
    check(
      this,
      times.alarmsOn < times.alarmsOff,
      () =>
        `schedule ${schedule.start}-${schedule.stop} is too short for a ${warmUpMinutes}-minute warm-up and alarms silenced ${quietBeforeStopMinutes} minute(s) before the stop: the alarms would come back on (${timeOfDay(times.alarmsOn)}) after they go off (${timeOfDay(times.alarmsOff)})`,
    );
    // EventBridge Scheduler's and IAM's limits on the names built from the prefix.
    checkMaxLength(this, "schedule name", `${prefix}-alarms-off-99`, 64, "EventBridge Scheduler's limit on schedule names");
    checkMaxLength(this, "role name", `${prefix}-scheduler`, 64, "IAM's limit on role names");
    for (const name of props.sleepingAlarmNames) {
      checkPattern(this, "sleepingAlarmNames entry", name, /^[^\s,]{1,255}$/, "a CloudWatch alarm name (1-255 characters, no spaces)");
    }
    check(
      this,
      new Set(props.sleepingAlarmNames).size === props.sleepingAlarmNames.length,
      () => "sleepingAlarmNames names an alarm twice",
    );
  }
}
