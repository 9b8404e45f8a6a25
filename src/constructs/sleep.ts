/**
 * Sleep when idle (the roster's `sleep`): per developer an idle alarm on the `Active` metric their
 * platform publishes, whose ALARM reaches the sleeper Lambda through EventBridge; a wake Lambda
 * behind a Lambda target group on each load balancer that serves developers; and each developer's
 * listener rule as a weighted forward between their own target group and that wake group, whose
 * weights the two functions flip at run time. A wake that fails, or a sleeper run that fails,
 * raises an alarm; sleeping itself raises none.
 */
import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { CloudwatchLogMetricFilter } from "@cdktf/provider-aws/lib/cloudwatch-log-metric-filter";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import type { Instance } from "@cdktf/provider-aws/lib/instance";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { LbTargetGroup } from "@cdktf/provider-aws/lib/lb-target-group";
import { LbTargetGroupAttachment } from "@cdktf/provider-aws/lib/lb-target-group-attachment";
import type { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import type { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import type { SsmDocument } from "@cdktf/provider-aws/lib/ssm-document";
import { Fn, type ITerraformDependable, Lazy } from "cdktf";
import { Construct } from "constructs";
import { developerAlarmNames, hostPaths, metricNames } from "../naming";
import type { Developer, Fleet, SleepSpec } from "../roster";
import type { Balancer } from "./balancer";
import { anyFailureAlarm, declareSleepsWithHost } from "./monitoring";
import { HostScriptDocument } from "./host-script-document";
import { NodeLambda } from "./node-lambda";
import { sleepStatements, type SleepTargets } from "./sleep-permissions";
import { check } from "./validation";
import { WakeSignIn } from "./wake-sign-in";

/** The wake answers a visit within seconds; a start it asks for goes on without it. */
export const WAKE_TIMEOUT_SECONDS = 10;
/** Visits the wake answers at once: a whole team opening their URLs at the start of the day, and no more. */
export const WAKE_CONCURRENCY = 20;
/** A sleep of the whole host waits for its containers to stop (up to two minutes) before it stops the host. */
export const SLEEPER_TIMEOUT_SECONDS = 300;
/** One sleeper at a time: two runs deciding at once whether everyone sleeps could both stop, or neither. */
export const SLEEPER_CONCURRENCY = 1;
/** How often the sleeper sets right what a run cut short left behind. */
export const RECONCILE_MINUTES = 5;
/** The metric of failed wakes, counted from the wake's log lines. */
export const WAKE_FAILED_METRIC = "WakeFailed";

/** The names of the sleep functions and of the alarms and rules around them. */
/** Where the host scripts are on the host. */
const scriptsDirOf = (fleet: Fleet) => `${hostPaths(fleet).root}/scripts`;

export function sleepNames(fleet: Pick<Fleet, "namePrefix">) {
  const prefix = fleet.namePrefix;
  return {
    wake: `${prefix}-wake`,
    sleeper: `${prefix}-sleeper`,
    idleAlarm: (developer: Pick<Developer, "name">) => `${prefix}-${developerAlarmNames(developer).idle}`,
    idleRule: `${prefix}-idle`,
    reconcileRule: `${prefix}-sleep-reconcile`,
    wakeFailedAlarm: `${prefix}-wake-failed`,
    sleeperFailedAlarm: `${prefix}-sleeper-failed`,
    hostScriptDocument: `${prefix}-host-script`,
  };
}

export interface SleepWhenIdleProps {
  /** The roster, with its `sleep` section. */
  readonly fleet: Fleet;
  readonly sleep: SleepSpec;
  /** The load balancers that serve the developers (the serving platform's): a wake target group on each. */
  readonly balancers: readonly Balancer[];
  /**
   * The host, when the developers run on it, and the names of its own alarms that sleep with it
   * (read once every alarm of the stack exists).
   * @default - the developers run on ECS
   */
  readonly host?: { readonly instance: Instance; readonly alarmNames: () => readonly string[] };
  /** Encrypts the functions' log groups. */
  readonly key: KmsKey;
  /** The key policy that lets CloudWatch Logs use the key for the functions' log groups. */
  readonly keyPolicy: ITerraformDependable;
  readonly logRetentionDays: number;
  /** Where a failed wake or sleep is reported. */
  readonly topic: SnsTopic;
  /**
   * The fleet's client secret at the identity provider, when it signs in with OpenID Connect: the
   * wake function then wakes a developer for their own identity only.
   * @default - the fleet signs in with passwords
   */
  readonly clientSecret?: SecretsmanagerSecret;
}

export class SleepWhenIdle extends Construct {
  readonly wake: NodeLambda;
  readonly sleeper: NodeLambda;
  /** Each balancer's wake target group, in the order of `balancers`. */
  readonly wakeTargetGroups: readonly LbTargetGroup[];
  /** The idle alarms, by developer name (developers with idleMinutes 0 have none). */
  readonly idleAlarms: ReadonlyMap<string, CloudwatchMetricAlarm>;
  /** The SSM document the functions run the host scripts with, when the developers run on the host. */
  readonly scriptDocument?: SsmDocument;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: SleepWhenIdleProps,
  ) {
    super(scope, id);
    const { fleet } = props;
    check(this, props.balancers.length > 0, () => "sleep when idle needs the load balancers that serve the developers");
    check(this, fleet.platform !== "host" || props.host !== undefined, () => "the developers run on the host, but no host was given");
    this.wakeTargetGroups = props.balancers.map((_, i) => this.wakeTargetGroup(i));
    this.scriptDocument = props.host
      ? new HostScriptDocument(this, "host-script", { name: sleepNames(fleet).hostScriptDocument, scriptsDir: scriptsDirOf(fleet) })
          .document
      : undefined;
    const targets: SleepTargets = {
      fleet,
      loadBalancerNames: props.balancers.map((b) => b.loadBalancer.name),
      ...(props.host && this.scriptDocument ? { host: { instance: props.host.instance, scriptDocument: this.scriptDocument } } : {}),
      key: props.key,
    };
    const environment = this.environment();
    const signIn = this.signIn();
    this.wake = this.lambda("wake", "Answers a visit to a sleeping developer's URL: starts what they need, then sends them on", {
      environment: { ...environment, ...signIn?.environment },
      statements: [...sleepStatements(this, targets, "wake"), ...(signIn?.statements ?? [])],
      timeoutSeconds: WAKE_TIMEOUT_SECONDS,
      reservedConcurrency: WAKE_CONCURRENCY,
    });
    this.sleeper = this.lambda("sleeper", "Puts idle developers, and the host once nobody is awake, to sleep", {
      environment,
      statements: sleepStatements(this, targets, "sleeper"),
      timeoutSeconds: SLEEPER_TIMEOUT_SECONDS,
      reservedConcurrency: SLEEPER_CONCURRENCY,
    });
    props.balancers.forEach((balancer, i) => this.attachWake(balancer, this.wakeTargetGroups[i], i));
    this.idleAlarms = new Map(fleet.developers.filter((d) => d.idleMinutes > 0).map((d) => [d.name, this.idleAlarm(d)]));
    this.sleeperEvents();
    this.failureAlarms();
  }

  private lambda(
    handler: "wake" | "sleeper",
    description: string,
    settings: Pick<ConstructorParameters<typeof NodeLambda>[2], "environment" | "statements" | "timeoutSeconds" | "reservedConcurrency">,
  ): NodeLambda {
    const { props } = this;
    return new NodeLambda(this, handler, {
      handler,
      functionName: sleepNames(props.fleet)[handler],
      description,
      key: props.key,
      logRetentionDays: props.logRetentionDays,
      logGroupDependsOn: [props.keyPolicy],
      ...settings,
    });
  }

  /** With a company sign-in, what the wake function signs a visitor in with. */
  private signIn(): WakeSignIn | undefined {
    const { fleet, clientSecret, key } = this.props;
    if (fleet.auth.type !== "oidc") return undefined;
    check(this, clientSecret !== undefined, () => "the fleet signs in with OpenID Connect, but no client secret was given");
    return new WakeSignIn(this, "sign-in", { fleet, clientSecret: clientSecret!, key });
  }

  /** What both functions read from their environment (src/lambdas/sleep-wake/config.ts): settings, never a secret. */
  private environment(): Record<string, string> {
    const { fleet, sleep, balancers, host } = this.props;
    return {
      PLATFORM: fleet.platform,
      NAME_PREFIX: fleet.namePrefix,
      DOMAIN: fleet.domain,
      LISTENERS: Fn.jsonencode(balancers.map((b) => b.httpsListener.arn)),
      WAKE_TARGET_GROUPS: Fn.jsonencode(this.wakeTargetGroups.map((g) => g.arn)),
      ...(host
        ? {
            HOST_INSTANCE_ID: host.instance.id,
            HOST_SCRIPT_DOCUMENT: sleepNames(fleet).hostScriptDocument,
            // Every alarm of the stack exists only once the stack is built.
            HOST_ALARMS: Lazy.stringValue({ produce: () => JSON.stringify(host.alarmNames()) }),
          }
        : {}),
      ...(fleet.schedule
        ? {
            SCHEDULE: JSON.stringify({
              timezone: fleet.schedule.timezone,
              days: fleet.schedule.days,
              start: fleet.schedule.start,
              stop: fleet.schedule.stop,
            }),
            WAKE_OUTSIDE_HOURS: String(sleep.wakeOutsideHours),
          }
        : {}),
    };
  }

  /** A balancer's wake target group: the wake function, which ELB invokes per request. */
  private wakeTargetGroup(index: number): LbTargetGroup {
    return new LbTargetGroup(this, `wake-target-group-${index}`, {
      targetType: "lambda",
      // The function answers for every sleeping developer: a health check would only wake it up.
      healthCheck: { enabled: false },
      tags: { Name: `${this.props.fleet.namePrefix}-wake-${index}` },
    });
  }

  /**
   * Registers the wake function in the balancer's wake group, and makes each developer's rule a
   * weighted forward: their own group 1 and the wake group 0 while awake, the other way round
   * while asleep.
   */
  private attachWake(balancer: Balancer, wakeGroup: LbTargetGroup, index: number): void {
    const permission = new LambdaPermission(this, `wake-invoked-by-${index}`, {
      statementId: `InvokedByLoadBalancer${index}`,
      action: "lambda:InvokeFunction",
      functionName: this.wake.function.functionName,
      principal: "elasticloadbalancing.amazonaws.com",
      sourceArn: wakeGroup.arn,
    });
    new LbTargetGroupAttachment(this, `wake-target-${index}`, {
      targetGroupArn: wakeGroup.arn,
      targetId: this.wake.function.arn,
      dependsOn: [permission],
    });
    for (const [developer, rule] of balancer.listenerRules) {
      const own = balancer.targetGroups.get(developer)!;
      rule.putAction([
        {
          type: "forward",
          forward: {
            targetGroup: [
              { arn: own.arn, weight: 1 },
              { arn: wakeGroup.arn, weight: 0 },
            ],
          },
        },
      ]);
      // The sleeper and the wake flip these weights as the developer sleeps and wakes: Terraform
      // keeps what they set, so no plan ever shows (or undoes) a sleep.
      rule.lifecycle = { ...rule.lifecycle, ignoreChanges: ["action[0].forward[0].target_group"] };
    }
  }

  /**
   * ALARM after `idleMinutes` one-minute periods in which the developer was never active. Without
   * samples (their container or task is stopped, the host sleeps) it is OK, not ALARM: a sleeping
   * developer is never put to sleep again, and their next idle stretch after a wake is a new ALARM.
   */
  private idleAlarm(developer: Developer): CloudwatchMetricAlarm {
    const { fleet } = this.props;
    const metrics = metricNames(fleet);
    const alarm = new CloudwatchMetricAlarm(this, `idle-${developer.name}`, {
      alarmName: sleepNames(fleet).idleAlarm(developer),
      alarmDescription: `${developer.name} has been idle for ${developer.idleMinutes} minutes: the sleeper puts their environment to sleep (no notification).`,
      namespace: metrics.containerNamespace,
      metricName: metrics.active,
      dimensions: { [metrics.developerDimension]: developer.name },
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: developer.idleMinutes,
      datapointsToAlarm: developer.idleMinutes,
      threshold: 1,
      comparisonOperator: "LessThanThreshold",
      treatMissingData: "notBreaching",
      tags: { developer: developer.name },
    });
    // It notifies nobody: EventBridge hands its ALARM to the sleeper, whatever its actions.
    declareSleepsWithHost(alarm, false);
    return alarm;
  }

  /** Idle alarms' ALARM, and every RECONCILE_MINUTES a reconcile, invoke the sleeper. */
  private sleeperEvents(): void {
    const names = sleepNames(this.props.fleet);
    const idle = new CloudwatchEventRule(this, "idle-rule", {
      name: names.idleRule,
      description: "An idle alarm of the fleet went to ALARM: the sleeper puts that developer to sleep.",
      eventPattern: JSON.stringify({
        source: ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        detail: { alarmName: [{ prefix: names.idleAlarm({ name: "" }) }], state: { value: ["ALARM"] } },
      }),
    });
    const reconcile = new CloudwatchEventRule(this, "reconcile-rule", {
      name: names.reconcileRule,
      description: "The sleeper sets right what a run cut short or a wake nobody stayed for left behind.",
      scheduleExpression: `rate(${RECONCILE_MINUTES} minutes)`,
    });
    for (const [rule, input] of [
      [idle, undefined],
      [reconcile, JSON.stringify({ action: "reconcile" })],
    ] as const) {
      const id = rule === idle ? "idle" : "reconcile";
      new LambdaPermission(this, `sleeper-invoked-by-${id}`, {
        statementId: `InvokedBy${id === "idle" ? "IdleAlarms" : "Reconcile"}`,
        action: "lambda:InvokeFunction",
        functionName: this.sleeper.function.functionName,
        principal: "events.amazonaws.com",
        sourceArn: rule.arn,
      });
      new CloudwatchEventTarget(this, `${id}-target`, { rule: rule.name, arn: this.sleeper.function.arn, input });
    }
  }

  /** A wake that failed (its log line) or a sleeper run that failed (the function's errors) notifies the operators. */
  private failureAlarms(): void {
    const { fleet, topic } = this.props;
    const names = sleepNames(fleet);
    const namespace = metricNames(fleet).containerNamespace;
    new CloudwatchLogMetricFilter(this, "wake-failed-filter", {
      name: names.wakeFailedAlarm,
      logGroupName: this.wake.logGroup.name,
      // The function logs plain text lines holding JSON: match the event's exact spelling.
      pattern: '"\\"event\\":\\"wake-failed\\""',
      metricTransformation: { name: WAKE_FAILED_METRIC, namespace, value: "1", defaultValue: "0", unit: "Count" },
    });
    const common = anyFailureAlarm(topic.arn);
    const wakeFailed = new CloudwatchMetricAlarm(this, "wake-failed", {
      alarmName: names.wakeFailedAlarm,
      alarmDescription: `A visit could not wake a developer (the wake function logged {"event":"wake-failed"}): read ${this.wake.logGroup.name}.`,
      namespace,
      metricName: WAKE_FAILED_METRIC,
      ...common,
    });
    const sleeperFailed = new CloudwatchMetricAlarm(this, "sleeper-failed", {
      alarmName: names.sleeperFailedAlarm,
      alarmDescription: `The sleeper failed (a developer or the host may keep running while idle): read ${this.sleeper.logGroup.name}.`,
      namespace: "AWS/Lambda",
      metricName: "Errors",
      dimensions: { FunctionName: this.sleeper.function.functionName },
      ...common,
    });
    // Both matter most while everything sleeps.
    declareSleepsWithHost(wakeFailed, false);
    declareSleepsWithHost(sleeperFailed, false);
  }
}
