/**
 * Monitoring layer: log groups, alarms on the platform (`PlatformMonitoring`: the host's CPU,
 * memory, disks and containers), the ALB, and each developer's target group, a dashboard, the
 * monthly cost budget and the API-key rotation reminder. Alarms and the reminder go to the one
 * alarm topic; thresholds come from `THRESHOLDS`.
 *
 * Every alarm of the stack, here or in another layer, declares whether it sleeps with the host
 * (`sleepsWithHost`, `declareSleepsWithHost`): the roster's schedule and sleep.sh / wake.sh turn
 * the actions of exactly those alarms off before the host stops and on again once it is back.
 */
import { BudgetsBudget } from "@cdktf/provider-aws/lib/budgets-budget";
import { CloudwatchDashboard } from "@cdktf/provider-aws/lib/cloudwatch-dashboard";
import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchMetricAlarm, type CloudwatchMetricAlarmConfig } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { Lb } from "@cdktf/provider-aws/lib/lb";
import type { LbTargetGroup } from "@cdktf/provider-aws/lib/lb-target-group";
import type { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { type ITerraformDependable, TerraformResource, Token } from "cdktf";
import { Construct, type IConstruct } from "constructs";
import { GUIDE_LINKS, alarmConstructId, developerAlarmNames, developerConstructIds, logGroupNames } from "../naming";
import type { Developer, Fleet } from "../roster";
import { THRESHOLDS } from "../thresholds";
import { jsonWithReferences } from "./expressions";
import { LOG_RETENTION_DAYS, VARIABLES } from "./inputs";
import { check, checkOneOf, entryOf } from "./validation";

export interface MonitoringLayerProps {
  /** The roster: log groups, alarms and dashboard lines per developer. */
  readonly fleet: Fleet;
  /** Encrypts the log groups. */
  readonly key: KmsKey;
  /** The key's policy: CloudWatch Logs must be allowed to use the key before a group is created with it. */
  readonly keyPolicy: ITerraformDependable;
  /** The topic every alarm notifies. */
  readonly topic: SnsTopic;
  /** What the platform the developers run on adds: its log groups, alarms and dashboard widgets (`hostMonitoring`). */
  readonly platform: PlatformMonitoring;
  /**
   * The load balancers whose 5xx responses are watched, by the suffix of their alarm's name
   * (`alb-5xx`, or `alb-5xx-<suffix>` for each but the one keyed "").
   */
  readonly loadBalancers: ReadonlyMap<string, Lb>;
  /**
   * With sleep when idle, each load balancer's wake target group, by the same suffix: its 503s (a
   * sleeping developer's page answering what is no visit) are no failure of the fleet.
   * @default - none
   */
  readonly wakeTargetGroups?: ReadonlyMap<string, LbTargetGroup>;
  /** Each developer's target group and the load balancer it serves on, keyed by developer name: one for every developer. */
  readonly routes: ReadonlyMap<string, DeveloperRoute>;
  /**
   * Days the log groups keep events, one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ...).
   * @default 30
   */
  readonly logRetentionDays?: number;
  /**
   * Monthly cost budget in USD, above 0; notifications at 80, 100 and 120 percent of it.
   * @default 400
   */
  readonly budgetAmountUsd?: number;
  /** E-mail addresses the budget notifies (alarms reach them through the topic). */
  readonly alarmEmails: readonly string[];
}

/** An alarm of the layer: its name after the fleet's prefix, and whether it sleeps with the host. */
export type AlarmSpec = Omit<CloudwatchMetricAlarmConfig, "alarmActions" | "okActions" | "alarmName"> & {
  readonly name: string;
  /** See `declareSleepsWithHost`: required, so no alarm of this layer is left unclassified. */
  readonly sleepsWithHost: boolean;
};

/** A developer's target group and its load balancer, as the alarms and the dashboard name them. */
export interface DeveloperRoute {
  readonly targetGroup: LbTargetGroup;
  readonly loadBalancer: Lb;
}

/** A dashboard widget's metric lines and placement (the layer adds the region, view and defaults). */
export interface WidgetSpec {
  readonly title: string;
  readonly metrics: unknown[][];
  readonly x: number;
  readonly y: number;
  /** Properties over the defaults (`stat`, `period`, `yAxis`, ...). */
  readonly extra?: object;
}

/** What the platform the developers run on watches of itself, beside the ALB and target groups. */
export interface PlatformMonitoring {
  /** Log groups of the platform itself, by key and name, before the developers' (the host's system and docker logs). */
  readonly logGroups: readonly { readonly key: string; readonly name: string }[];
  /** Alarms on the platform itself (the host's CPU, memory and disks). */
  readonly alarms: readonly AlarmSpec[];
  /** Alarms on one developer's environment from metrics the platform publishes (restarts, disk share). */
  developerAlarms(developer: Developer): readonly AlarmSpec[];
  /** The dashboard's first widget: the platform at a glance. */
  readonly overviewWidget: WidgetSpec;
  /** The dashboard's widgets below the per-developer target widgets. */
  readonly developerWidgets: readonly WidgetSpec[];
}

/**
 * An alarm on a count of failures (a dropped call, a logged failure): ALARM on the first one in
 * five minutes, and no data (no failure) is no alarm; the operators hear of it and of its end.
 */
export function anyFailureAlarm(topicArn: string) {
  return {
    statistic: "Sum",
    period: 300,
    evaluationPeriods: 1,
    threshold: 1,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    treatMissingData: "notBreaching",
    alarmActions: [topicArn],
    okActions: [topicArn],
  };
}

/** Terraform types that are CloudWatch alarms: each must declare whether it sleeps with the host. */
export const ALARM_RESOURCE_TYPES: ReadonlySet<string> = new Set(["aws_cloudwatch_metric_alarm", "aws_cloudwatch_composite_alarm"]);

const sleepsWithHostOf = new WeakMap<IConstruct, boolean>();

/**
 * The attribute the schedule and sleep.sh / wake.sh switch on a sleeping alarm
 * (`DisableAlarmActions` / `EnableAlarmActions`), and which Terraform therefore leaves alone.
 */
export const ACTIONS_ENABLED = "actions_enabled";

/**
 * Declares whether `alarm` sleeps with the host. `true`: it watches something that exists only
 * while the host runs (its metrics, its containers, the targets it serves), so while the host is
 * stopped it would go to ALARM or INSUFFICIENT_DATA, or e-mail OK at every start: its actions are
 * disabled before the host stops and enabled after it is back and warmed up. `false`: it watches
 * something that goes on while the host sleeps (spend, backups, the schedule itself), so its
 * actions stay on.
 *
 * A sleeping alarm also ignores changes to `actions_enabled`: the schedule and the operator
 * scripts own that switch, and an apply while the host sleeps would otherwise turn the actions
 * back on (`actions_enabled = false -> true`) and page the operators all night.
 */
export function declareSleepsWithHost(alarm: TerraformResource, sleepsWithHost: boolean): void {
  if (!ALARM_RESOURCE_TYPES.has(alarm.terraformResourceType)) {
    throw new Error(`${alarm.node.path} is a ${alarm.terraformResourceType}, not an alarm: only alarms sleep with the host or not`);
  }
  sleepsWithHostOf.set(alarm, sleepsWithHost);
  const ignored = alarm.lifecycle?.ignoreChanges;
  if (ignored === "all" || (ignored ?? []).includes(ACTIONS_ENABLED) === sleepsWithHost) return;
  const others = (ignored ?? []).filter((attribute) => attribute !== ACTIONS_ENABLED);
  const ignoreChanges = sleepsWithHost ? [...others, ACTIONS_ENABLED] : others;
  alarm.lifecycle = { ...alarm.lifecycle, ignoreChanges: ignoreChanges.length > 0 ? ignoreChanges : undefined };
}

export interface ClassifiedAlarm {
  /** The alarm's name in CloudWatch (a literal: alarm names never come from plan-time values). */
  readonly alarmName: string;
  readonly sleepsWithHost: boolean;
  readonly constructPath: string;
}

/**
 * Every alarm under `scope` with its declaration, in construct order. Fails, naming each one,
 * when an alarm has not declared whether it sleeps with the host: an alarm added without a
 * decision would either wake the operators every night or stay silent on a real problem.
 */
export function classifiedAlarms(scope: IConstruct): ClassifiedAlarm[] {
  const alarms = scope.node
    .findAll()
    .filter((c): c is TerraformResource => c instanceof TerraformResource && ALARM_RESOURCE_TYPES.has(c.terraformResourceType));
  const undeclared = alarms.filter((a) => !sleepsWithHostOf.has(a)).map((a) => a.node.path);
  if (undeclared.length > 0) {
    throw new Error(
      `${undeclared.length === 1 ? "an alarm does" : `${undeclared.length} alarms do`} not say whether ${undeclared.length === 1 ? "it sleeps" : "they sleep"} with the host: ${undeclared.join(", ")}. ` +
        "Give each one sleepsWithHost in MonitoringLayer's alarm(), or call declareSleepsWithHost(alarm, true | false) from src/constructs/monitoring.ts: " +
        "true when the alarm watches the running host (its actions are turned off while the host sleeps), false when it must keep notifying while the host is stopped.",
    );
  }
  return alarms.map((alarm) => {
    // The name as configured (`alarmName` itself is a reference to the attribute).
    const alarmName = (alarm as unknown as { alarmNameInput: unknown }).alarmNameInput;
    if (typeof alarmName !== "string" || Token.isUnresolved(alarmName)) {
      throw new Error(`${alarm.node.path}: its alarm name must be a literal, so the schedule and the operator scripts can name it`);
    }
    return { alarmName, sleepsWithHost: sleepsWithHostOf.get(alarm)!, constructPath: alarm.node.path };
  });
}

/** The key prefix of a developer's container log group in `MonitoringLayer.logGroups`. */
const CONTAINER_LOG_KEY = "container:";

export class MonitoringLayer extends Construct {
  /** Keyed by purpose: `system`, `docker`, `container:<developer>`. */
  readonly logGroups: ReadonlyMap<string, CloudwatchLogGroup>;
  /** Keyed by alarm name. */
  readonly alarms: ReadonlyMap<string, CloudwatchMetricAlarm>;
  private readonly alarmsByName = new Map<string, CloudwatchMetricAlarm>();

  constructor(
    scope: Construct,
    id: string,
    private readonly props: MonitoringLayerProps,
  ) {
    super(scope, id);
    const { fleet } = props;
    const logRetentionDays = props.logRetentionDays ?? VARIABLES.log_retention_days.default;
    const budgetAmountUsd = props.budgetAmountUsd ?? VARIABLES.budget_amount_usd.default;
    checkOneOf(this, "logRetentionDays", logRetentionDays, LOG_RETENTION_DAYS);
    if (!Token.isUnresolved(budgetAmountUsd)) {
      check(this, budgetAmountUsd > 0, () => `budgetAmountUsd ${budgetAmountUsd} must be above 0 (USD per month)`);
    }
    const routes = new Map(fleet.developers.map((d) => [d.name, entryOf(this, "routes", props.routes, d.name)]));

    this.logGroups = this.createLogGroups(logRetentionDays);
    for (const spec of props.platform.alarms) this.alarm(spec);
    for (const [suffix, lb] of props.loadBalancers) {
      this.alarm(alb5xxAlarm(suffix, { LoadBalancer: lb.arnSuffix }, props.wakeTargetGroups?.get(suffix)?.arnSuffix));
    }
    for (const developer of fleet.developers) {
      this.alarm(unhealthyAlarm(developer, entryOf(this, "routes", routes, developer.name)));
      for (const spec of props.platform.developerAlarms(developer)) this.alarm(spec);
    }
    this.alarms = this.alarmsByName;

    new CloudwatchDashboard(this, "dashboard", {
      dashboardName: fleet.namePrefix,
      dashboardBody: jsonWithReferences("the dashboard", dashboardBody(fleet, props.platform, routes, [...props.loadBalancers.values()])),
    });
    this.budget(budgetAmountUsd);
    this.rotationReminder();
  }

  /** The platform's own log groups (`system`, `docker`, ...), no developer's. */
  get platformLogGroups(): readonly CloudwatchLogGroup[] {
    return [...this.logGroups].filter(([key]) => !key.startsWith(CONTAINER_LOG_KEY)).map(([, group]) => group);
  }

  /** The log group of `developer`'s containers. */
  containerLogGroup(developer: string): CloudwatchLogGroup {
    return entryOf(this, "logGroups", this.logGroups, `${CONTAINER_LOG_KEY}${developer}`);
  }

  /** The platform's log groups, then one per developer's container, encrypted and kept after a removal. */
  private createLogGroups(retentionInDays: number): Map<string, CloudwatchLogGroup> {
    const { fleet, key, keyPolicy, platform } = this.props;
    const logGroups = new Map<string, CloudwatchLogGroup>();
    const logGroup = (groupKey: string, name: string, developer?: Developer) => {
      const id = developer ? developerConstructIds(developer).monitoring.logGroup : `log-${groupKey}`;
      const group = new CloudwatchLogGroup(this, id, {
        name,
        retentionInDays,
        kmsKeyId: key.arn,
        // Removing a developer keeps their logs until retention expires them (no data lost on deploy).
        skipDestroy: true,
        tags: developer ? { developer: developer.name } : undefined,
        dependsOn: [keyPolicy],
      });
      logGroups.set(groupKey, group);
    };
    for (const group of platform.logGroups) logGroup(group.key, group.name);
    for (const developer of fleet.developers)
      logGroup(`${CONTAINER_LOG_KEY}${developer.name}`, logGroupNames(fleet).container(developer), developer);
    return logGroups;
  }

  /** One alarm on the topic, with whether it sleeps with the host declared. */
  private alarm({ name, sleepsWithHost, ...spec }: AlarmSpec): void {
    const alarmName = `${this.props.fleet.namePrefix}-${name}`;
    const topicArn = this.props.topic.arn;
    const created = new CloudwatchMetricAlarm(this, alarmConstructId(name), {
      alarmName,
      alarmActions: [topicArn],
      okActions: [topicArn],
      ...spec,
    });
    declareSleepsWithHost(created, sleepsWithHost);
    this.alarmsByName.set(alarmName, created);
  }

  /** The monthly cost budget, e-mailing at each of THRESHOLDS.budgetPercents. */
  private budget(budgetAmountUsd: number): void {
    const { fleet, alarmEmails } = this.props;
    new BudgetsBudget(this, "budget", {
      name: `${fleet.namePrefix}-monthly`,
      budgetType: "COST",
      timeUnit: "MONTHLY",
      // The provider takes the amount as a string.
      limitAmount: Token.isUnresolved(budgetAmountUsd) ? Token.asString(budgetAmountUsd) : String(budgetAmountUsd),
      limitUnit: "USD",
      notification: THRESHOLDS.budgetPercents.map((percent) => ({
        comparisonOperator: "GREATER_THAN",
        threshold: percent,
        thresholdType: "PERCENTAGE",
        notificationType: "ACTUAL",
        subscriberEmailAddresses: [...alarmEmails],
      })),
    });
  }

  /** API keys are rotated every 90 days; keys are the operators' to issue, so remind them. */
  private rotationReminder(): void {
    const { fleet, topic } = this.props;
    const reminder = new CloudwatchEventRule(this, "api-key-rotation-reminder", {
      name: `${fleet.namePrefix}-api-key-rotation`,
      description: `Every ${THRESHOLDS.apiKeyRotationDays} days: rotate the developers' Anthropic API keys and code-server passwords.`,
      scheduleExpression: `rate(${THRESHOLDS.apiKeyRotationDays} days)`,
    });
    new CloudwatchEventTarget(this, "api-key-rotation-reminder-target", {
      rule: reminder.name,
      arn: topic.arn,
      input: JSON.stringify(
        `${fleet.namePrefix}: ${THRESHOLDS.apiKeyRotationDays}-day rotation is due. For each developer: issue a new Anthropic API key and run scripts/set-api-key.sh --developer <name>; run scripts/rotate-password.sh --developer <name>. See ${GUIDE_LINKS.secretsRotation}.`,
      ),
    });
  }
}

/**
 * More 5xx responses from a load balancer and its targets than THRESHOLDS allows in 5 minutes; the
 * wake target group's own answers (`wakeTargetGroup`'s ARN suffix) do not count.
 */
function alb5xxAlarm(suffix: string, lbDimension: { LoadBalancer: string }, wakeTargetGroup?: string): AlarmSpec {
  const count = (id: string, metricName: string, dimensions: Record<string, string> = lbDimension) => ({
    id,
    metric: { namespace: "AWS/ApplicationELB", metricName, dimensions, period: 300, stat: "Sum" },
  });
  const wake = wakeTargetGroup ? [count("wake", "HTTPCode_Target_5XX_Count", { ...lbDimension, TargetGroup: wakeTargetGroup })] : [];
  return {
    name: suffix === "" ? "alb-5xx" : `alb-5xx-${suffix}`,
    // With the host stopped the ALB answers every request 503 (no target to route to).
    sleepsWithHost: true,
    alarmDescription: `More than ${THRESHOLDS.alb5xxPer5Minutes} HTTP 5xx responses (ALB and targets) in 5 minutes.`,
    metricQuery: [
      count("elb", "HTTPCode_ELB_5XX_Count"),
      count("target", "HTTPCode_Target_5XX_Count"),
      ...wake,
      {
        id: "total",
        expression: wakeTargetGroup ? "FILL(elb, 0) + FILL(target, 0) - FILL(wake, 0)" : "FILL(elb, 0) + FILL(target, 0)",
        label: "5xx responses",
        returnData: true,
      },
    ],
    evaluationPeriods: 1,
    threshold: THRESHOLDS.alb5xxPer5Minutes,
    comparisonOperator: "GreaterThanThreshold",
    treatMissingData: "notBreaching",
  };
}

/** A developer's target group with no healthy target. */
function unhealthyAlarm(developer: Developer, { targetGroup, loadBalancer }: DeveloperRoute): AlarmSpec {
  return {
    name: developerAlarmNames(developer).unhealthy,
    // The target is unhealthy while the host boots, until the container passes its health checks.
    sleepsWithHost: true,
    alarmDescription: `${developer.hostname} has no healthy target: its container is down or failing /healthz.`,
    namespace: "AWS/ApplicationELB",
    metricName: "UnHealthyHostCount",
    dimensions: { LoadBalancer: loadBalancer.arnSuffix, TargetGroup: targetGroup.arnSuffix },
    statistic: "Maximum",
    period: 60,
    evaluationPeriods: 2,
    threshold: THRESHOLDS.unhealthyTargets,
    comparisonOperator: "GreaterThanThreshold",
    tags: { developer: developer.name },
  };
}

/** The dashboard: the platform at a glance, the load balancers, each developer's targets, then the platform's per-developer widgets. */
function dashboardBody(
  fleet: Fleet,
  platform: PlatformMonitoring,
  routes: ReadonlyMap<string, DeveloperRoute>,
  loadBalancers: readonly Lb[],
) {
  const region = fleet.region;
  const widget = ({ title, metrics, x, y, extra = {} }: WidgetSpec) => ({
    type: "metric",
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, region, metrics, view: "timeSeries", stat: "Average", period: 300, ...extra },
  });
  // In roster order: the map was built from the roster's developers.
  const perDeveloper = (metricName: string, stat: string) =>
    [...routes].map(([developer, { targetGroup, loadBalancer }]) => [
      "AWS/ApplicationELB",
      metricName,
      "TargetGroup",
      targetGroup.arnSuffix,
      "LoadBalancer",
      loadBalancer.arnSuffix,
      { label: developer, stat },
    ]);
  // One balancer's lines are labelled as they always were; several are told apart by number.
  const lbMetric = (lb: Lb, index: number, metricName: string, label: string) => [
    "AWS/ApplicationELB",
    metricName,
    "LoadBalancer",
    lb.arnSuffix,
    { stat: "Sum", label: loadBalancers.length === 1 ? label : `${label} (${index + 1})` },
  ];
  const lbMetrics = loadBalancers.flatMap((lb, i) => [
    lbMetric(lb, i, "RequestCount", "requests"),
    lbMetric(lb, i, "HTTPCode_ELB_5XX_Count", "ELB 5xx"),
    lbMetric(lb, i, "HTTPCode_Target_5XX_Count", "target 5xx"),
  ]);
  return {
    widgets: [
      widget(platform.overviewWidget),
      widget({ title: "ALB requests and 5xx", metrics: lbMetrics, x: 12, y: 0 }),
      widget({
        title: "Healthy targets per developer",
        metrics: perDeveloper("HealthyHostCount", "Minimum"),
        x: 0,
        y: 6,
        extra: { period: 60 },
      }),
      widget({ title: "Target response time per developer (s)", metrics: perDeveloper("TargetResponseTime", "p90"), x: 12, y: 6 }),
      ...platform.developerWidgets.map(widget),
    ],
  };
}
