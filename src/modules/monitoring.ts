/**
 * Monitoring layer: log groups, alarms on host, ALB, target groups and containers,
 * a dashboard, the monthly cost budget and the API-key rotation reminder.
 * Alarms and the reminder go to the one alarm topic; thresholds come from `THRESHOLDS`.
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
import type { Instance } from "@cdktf/provider-aws/lib/instance";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { Lb } from "@cdktf/provider-aws/lib/lb";
import type { LbTargetGroup } from "@cdktf/provider-aws/lib/lb-target-group";
import type { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { Fn, type ITerraformDependable, TerraformResource, Token } from "cdktf";
import { Construct, type IConstruct } from "constructs";
import { DATA_MOUNT, alarmConstructId, developerAlarmNames, developerConstructIds, logGroupNames, metricNames } from "../naming";
import type { Developer, Fleet } from "../roster";
import { THRESHOLDS } from "../thresholds";
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
  /** The host whose CPU, memory and data disk are watched. */
  readonly instance: Instance;
  /** The ALB whose 5xx responses are watched. */
  readonly loadBalancer: Lb;
  /** Each developer's target group, keyed by developer name: one for every developer of the roster. */
  readonly targetGroups: ReadonlyMap<string, LbTargetGroup>;
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

type AlarmSpec = Omit<CloudwatchMetricAlarmConfig, "alarmActions" | "okActions" | "alarmName"> & {
  readonly name: string;
  /** See `declareSleepsWithHost`: required, so no alarm of this layer is left unclassified. */
  readonly sleepsWithHost: boolean;
};

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
        "Give each one sleepsWithHost in MonitoringLayer's alarm(), or call declareSleepsWithHost(alarm, true | false) from src/modules/monitoring.ts: " +
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

export class MonitoringLayer extends Construct {
  /** Keyed by purpose: `system`, `docker`, `container:<developer>`. */
  readonly logGroups: ReadonlyMap<string, CloudwatchLogGroup>;
  /** Keyed by alarm name. */
  readonly alarms: ReadonlyMap<string, CloudwatchMetricAlarm>;

  constructor(scope: Construct, id: string, props: MonitoringLayerProps) {
    super(scope, id);
    const { fleet, topic } = props;
    const logRetentionDays = props.logRetentionDays ?? VARIABLES.log_retention_days.default;
    const budgetAmountUsd = props.budgetAmountUsd ?? VARIABLES.budget_amount_usd.default;
    checkOneOf(this, "logRetentionDays", logRetentionDays, LOG_RETENTION_DAYS);
    if (!Token.isUnresolved(budgetAmountUsd)) {
      check(this, budgetAmountUsd > 0, () => `budgetAmountUsd ${budgetAmountUsd} must be above 0 (USD per month)`);
    }
    const targetGroups = new Map(fleet.developers.map((d) => [d.name, entryOf(this, "targetGroups", props.targetGroups, d.name)]));
    const names = logGroupNames(fleet);
    const metrics = metricNames(fleet);

    const logGroups = new Map<string, CloudwatchLogGroup>();
    const logGroup = (key: string, name: string, developer?: Developer) => {
      logGroups.set(
        key,
        new CloudwatchLogGroup(this, developer ? developerConstructIds(developer).monitoring.logGroup : `log-${key}`, {
          name,
          retentionInDays: logRetentionDays,
          kmsKeyId: props.key.arn,
          // Removing a developer keeps their logs until retention expires them (no data lost on deploy).
          skipDestroy: true,
          tags: developer ? { developer: developer.name } : undefined,
          dependsOn: [props.keyPolicy],
        }),
      );
    };
    logGroup("system", names.system);
    logGroup("docker", names.docker);
    for (const developer of fleet.developers) logGroup(`container:${developer.name}`, names.container(developer), developer);
    this.logGroups = logGroups;

    const alarms = new Map<string, CloudwatchMetricAlarm>();
    const alarm = ({ name, sleepsWithHost, ...spec }: AlarmSpec) => {
      const alarmName = `${fleet.namePrefix}-${name}`;
      const created = new CloudwatchMetricAlarm(this, alarmConstructId(name), {
        alarmName,
        alarmActions: [topic.arn],
        okActions: [topic.arn],
        ...spec,
      });
      declareSleepsWithHost(created, sleepsWithHost);
      alarms.set(alarmName, created);
    };
    const instanceId = { InstanceId: props.instance.id };

    alarm({
      name: "host-cpu",
      // EC2 publishes CPUUtilization only for a running instance: INSUFFICIENT_DATA while stopped.
      sleepsWithHost: true,
      alarmDescription: `Host CPU above ${THRESHOLDS.hostCpuPercent}% for 15 minutes: check docker stats, consider a larger instance type.`,
      namespace: "AWS/EC2",
      metricName: "CPUUtilization",
      dimensions: instanceId,
      statistic: "Average",
      period: 300,
      evaluationPeriods: 3,
      threshold: THRESHOLDS.hostCpuPercent,
      comparisonOperator: "GreaterThanThreshold",
    });
    alarm({
      name: "host-memory",
      // Published by the CloudWatch agent on the host.
      sleepsWithHost: true,
      alarmDescription: `Host memory above ${THRESHOLDS.hostMemoryPercent}% for 15 minutes (CloudWatch agent).`,
      namespace: metrics.hostNamespace,
      metricName: metrics.memoryUsedPercent,
      dimensions: instanceId,
      statistic: "Average",
      period: 300,
      evaluationPeriods: 3,
      threshold: THRESHOLDS.hostMemoryPercent,
      comparisonOperator: "GreaterThanThreshold",
      // No data means the agent is down, which the dashboard shows; it is not itself a memory problem.
      treatMissingData: "missing",
    });
    alarm({
      name: "data-disk",
      // Published by the CloudWatch agent on the host; the volume itself is safe while it sleeps.
      sleepsWithHost: true,
      alarmDescription: `Data volume ${DATA_MOUNT} above ${THRESHOLDS.dataDiskPercent}% full: grow data_volume_size_gb.`,
      namespace: metrics.hostNamespace,
      metricName: metrics.diskUsedPercent,
      dimensions: { ...instanceId, path: DATA_MOUNT },
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 1,
      threshold: THRESHOLDS.dataDiskPercent,
      comparisonOperator: "GreaterThanThreshold",
    });
    alarm({
      name: "root-disk",
      // The agent's disk metric stops with the host, like the data disk's.
      sleepsWithHost: true,
      alarmDescription: `Root disk above ${THRESHOLDS.rootDiskPercent}% full: Docker images and container logs live there; prune old images (docker image prune) or grow the root volume.`,
      namespace: metrics.hostNamespace,
      metricName: metrics.diskUsedPercent,
      dimensions: { ...instanceId, path: "/" },
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 1,
      threshold: THRESHOLDS.rootDiskPercent,
      comparisonOperator: "GreaterThanThreshold",
    });
    const lbDimension = { LoadBalancer: props.loadBalancer.arnSuffix };
    const alb5xx = (id: string, metricName: string) => ({
      id,
      metric: { namespace: "AWS/ApplicationELB", metricName, dimensions: lbDimension, period: 300, stat: "Sum" },
    });
    alarm({
      name: "alb-5xx",
      // With the host stopped the ALB answers every request 503 (no target to route to).
      sleepsWithHost: true,
      alarmDescription: `More than ${THRESHOLDS.alb5xxPer5Minutes} HTTP 5xx responses (ALB and targets) in 5 minutes.`,
      metricQuery: [
        alb5xx("elb", "HTTPCode_ELB_5XX_Count"),
        alb5xx("target", "HTTPCode_Target_5XX_Count"),
        { id: "total", expression: "FILL(elb, 0) + FILL(target, 0)", label: "5xx responses", returnData: true },
      ],
      evaluationPeriods: 1,
      threshold: THRESHOLDS.alb5xxPer5Minutes,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    });

    for (const developer of fleet.developers) {
      const targetGroup = entryOf(this, "targetGroups", targetGroups, developer.name);
      const alarmNames = developerAlarmNames(developer);
      alarm({
        name: alarmNames.unhealthy,
        // The target is unhealthy while the host boots, until the container passes its health checks.
        sleepsWithHost: true,
        alarmDescription: `${developer.hostname} has no healthy target: its container is down or failing /healthz.`,
        namespace: "AWS/ApplicationELB",
        metricName: "UnHealthyHostCount",
        dimensions: { ...lbDimension, TargetGroup: targetGroup.arnSuffix },
        statistic: "Maximum",
        period: 60,
        evaluationPeriods: 2,
        threshold: THRESHOLDS.unhealthyTargets,
        comparisonOperator: "GreaterThanThreshold",
        tags: { developer: developer.name },
      });
      alarm({
        name: alarmNames.restarts,
        // Published by the host's metrics timer, from the containers the host runs.
        sleepsWithHost: true,
        alarmDescription: `${developer.name}'s container restarted (crash or out of memory at its limit): docker logs ${developer.name}.`,
        namespace: metrics.containerNamespace,
        metricName: metrics.containerRestarts,
        dimensions: { [metrics.developerDimension]: developer.name },
        statistic: "Sum",
        period: 300,
        evaluationPeriods: 1,
        threshold: THRESHOLDS.containerRestartsPer5Minutes,
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "notBreaching",
        tags: { developer: developer.name },
      });
      alarm({
        name: alarmNames.diskShare,
        // Published by the host's disk-usage timer: no samples while it sleeps.
        sleepsWithHost: true,
        alarmDescription: `${developer.name}'s directory ${DATA_MOUNT}/${developer.name} uses more than ${THRESHOLDS.developerDataVolumeSharePercent}% of the data volume: ask them to clean up, or grow data_volume_size_gb.`,
        namespace: metrics.containerNamespace,
        metricName: metrics.dataVolumeSharePercent,
        dimensions: { [metrics.developerDimension]: developer.name },
        statistic: "Maximum",
        // Published every 15 minutes: two samples per period, so one late sample is no gap.
        period: 1800,
        evaluationPeriods: 1,
        threshold: THRESHOLDS.developerDataVolumeSharePercent,
        comparisonOperator: "GreaterThanThreshold",
        // No sample (host stopped, volume unmounted for a restore) says nothing about disk usage.
        treatMissingData: "notBreaching",
        tags: { developer: developer.name },
      });
    }
    this.alarms = alarms;

    new CloudwatchDashboard(this, "dashboard", {
      dashboardName: fleet.namePrefix,
      dashboardBody: Fn.jsonencode(dashboardBody(fleet, props.instance, targetGroups, lbDimension)),
    });

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
        subscriberEmailAddresses: [...props.alarmEmails],
      })),
    });

    // API keys are rotated every 90 days; keys are the operators' to issue, so remind them.
    const reminder = new CloudwatchEventRule(this, "api-key-rotation-reminder", {
      name: `${fleet.namePrefix}-api-key-rotation`,
      description: `Every ${THRESHOLDS.apiKeyRotationDays} days: rotate the developers' Anthropic API keys and code-server passwords.`,
      scheduleExpression: `rate(${THRESHOLDS.apiKeyRotationDays} days)`,
    });
    new CloudwatchEventTarget(this, "api-key-rotation-reminder-target", {
      rule: reminder.name,
      arn: topic.arn,
      input: JSON.stringify(
        `${fleet.namePrefix}: ${THRESHOLDS.apiKeyRotationDays}-day rotation is due. For each developer: issue a new Anthropic API key and run scripts/set-api-key.sh --developer <name>; run scripts/rotate-password.sh --developer <name>. See README, "Secrets and rotation".`,
      ),
    });
  }
}

function dashboardBody(
  fleet: Fleet,
  instance: Instance,
  targetGroups: ReadonlyMap<string, LbTargetGroup>,
  lbDimension: { LoadBalancer: string },
) {
  const metrics = metricNames(fleet);
  const region = fleet.region;
  const instanceId = instance.id;
  const widget = (title: string, metricLines: unknown[][], x: number, y: number, extra: object = {}) => ({
    type: "metric",
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, region, metrics: metricLines, view: "timeSeries", stat: "Average", period: 300, ...extra },
  });
  // In roster order: the map was built from the roster's developers.
  const perDeveloper = (metricName: string, stat: string) =>
    [...targetGroups].map(([developer, targetGroup]) => [
      "AWS/ApplicationELB",
      metricName,
      "TargetGroup",
      targetGroup.arnSuffix,
      "LoadBalancer",
      lbDimension.LoadBalancer,
      { label: developer, stat },
    ]);
  // The metrics the host publishes per developer (publish-metrics.sh, the disk-usage timer).
  const perContainer = (metricName: string) =>
    fleet.developers.map((d) => [metrics.containerNamespace, metricName, metrics.developerDimension, d.name, { label: d.name }]);
  return {
    widgets: [
      widget(
        "Host CPU / memory / data and root disk (%)",
        [
          ["AWS/EC2", "CPUUtilization", "InstanceId", instanceId, { label: "CPU" }],
          [metrics.hostNamespace, metrics.memoryUsedPercent, "InstanceId", instanceId, { label: "memory" }],
          [metrics.hostNamespace, metrics.diskUsedPercent, "InstanceId", instanceId, "path", DATA_MOUNT, { label: "data disk" }],
          [metrics.hostNamespace, metrics.diskUsedPercent, "InstanceId", instanceId, "path", "/", { label: "root disk" }],
        ],
        0,
        0,
        { yAxis: { left: { min: 0, max: 100 } } },
      ),
      widget(
        "ALB requests and 5xx",
        [
          ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", lbDimension.LoadBalancer, { stat: "Sum", label: "requests" }],
          ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", lbDimension.LoadBalancer, { stat: "Sum", label: "ELB 5xx" }],
          [
            "AWS/ApplicationELB",
            "HTTPCode_Target_5XX_Count",
            "LoadBalancer",
            lbDimension.LoadBalancer,
            { stat: "Sum", label: "target 5xx" },
          ],
        ],
        12,
        0,
      ),
      widget("Healthy targets per developer", perDeveloper("HealthyHostCount", "Minimum"), 0, 6, { period: 60 }),
      widget("Target response time per developer (s)", perDeveloper("TargetResponseTime", "p90"), 12, 6),
      widget("Container memory per developer (%)", perContainer(metrics.containerMemoryPercent), 0, 12),
      widget("Container CPU per developer (%)", perContainer(metrics.containerCpuPercent), 12, 12),
      widget("Data volume used per developer (% of the volume)", perContainer(metrics.dataVolumeSharePercent), 0, 18, {
        stat: "Maximum",
        period: 900,
        yAxis: { left: { min: 0 } },
        annotations: { horizontal: [{ label: "alarm", value: THRESHOLDS.developerDataVolumeSharePercent }] },
      }),
    ],
  };
}
