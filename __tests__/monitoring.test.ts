/**
 * MonitoringLayer: the log groups, alarms on host, ALB, target groups and containers, a
 * dashboard, the monthly budget and the rotation reminder, all notifying the one alarm topic.
 */
import { BudgetsBudget } from "@cdktf/provider-aws/lib/budgets-budget";
import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { KmsKeyPolicy } from "@cdktf/provider-aws/lib/kms-key-policy";
import { Lb } from "@cdktf/provider-aws/lib/lb";
import { LbTargetGroup } from "@cdktf/provider-aws/lib/lb-target-group";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { TerraformVariable, Testing } from "cdktf";
import type { Construct } from "constructs";
import { hostMonitoring } from "../src/constructs/host-monitoring";
import { classifiedAlarms, declareSleepsWithHost, MonitoringLayer, type MonitoringLayerProps } from "../src/constructs/monitoring";
import { ecsMonitoring } from "../src/platforms/ecs/ecs-monitoring";
import { THRESHOLDS } from "../src/thresholds";
import { defaultFleet, editedFleet } from "./helpers/fleet";
import { refToOnly, standIns, synthLayer } from "./helpers/layer";
import { only, resources } from "./helpers/synth";
import type { ProviderBlock } from "../src/terraform/plan-json";

const fleet = defaultFleet();

/** One load balancer, as the host has, and a target group on it for each developer. */
function routesOf(scope: Construct): Pick<MonitoringLayerProps, "loadBalancers" | "routes"> {
  const loadBalancer = new Lb(scope, "lb", {});
  return {
    loadBalancers: new Map([["", loadBalancer]]),
    routes: new Map(fleet.developers.map((d) => [d.name, { targetGroup: new LbTargetGroup(scope, `tg-${d.name}`, {}), loadBalancer }])),
  };
}

function monitoring(scope: Construct, overrides: Partial<MonitoringLayerProps> = {}): MonitoringLayer {
  const key = standIns.key(scope);
  return new MonitoringLayer(scope, "monitoring", {
    fleet,
    key,
    keyPolicy: new KmsKeyPolicy(scope, "key-policy", { keyId: key.keyId, policy: "{}" }),
    topic: new SnsTopic(scope, "topic", {}),
    platform: hostMonitoring(fleet, standIns.instance(scope)),
    ...routesOf(scope),
    alarmEmails: ["ops@example.com"],
    ...overrides,
  });
}

const { json, config } = synthLayer((scope) => monitoring(scope));
const topic = refToOnly(config, "aws_sns_topic", "arn");
const instanceId = refToOnly(config, "aws_instance", "id");
const lbSuffix = refToOnly(config, "aws_lb", "arn_suffix");
const alarms = new Map(resources(config, "aws_cloudwatch_metric_alarm").map(([, a]) => [a.alarm_name as string, a]));
const alarm = (name: string) => {
  const found = alarms.get(`code-server-dev-${name}`);
  if (!found) throw new Error(`no alarm ${name}; have ${[...alarms.keys()].join(", ")}`);
  return found;
};
const targetGroupSuffix = (developer: string) => {
  const [name] = resources(config, "aws_lb_target_group").find(([id]) => id.includes(`tg-${developer}`)) ?? [];
  return `\${aws_lb_target_group.${name}.arn_suffix}`;
};

describe("log groups", () => {
  it("are the documented groups, encrypted with the fleet key, kept 30 days, never destroyed with a departing developer", () => {
    const names = resources(config, "aws_cloudwatch_log_group").map(([, g]) => g.name as string);
    expect(names.sort()).toEqual(
      [
        "/aws/ec2/code-server/system",
        "/aws/ec2/code-server/docker",
        ...fleet.developers.map((d) => `/aws/ec2/code-server/containers/${d.name}`),
      ].sort(),
    );
    for (const [, group] of resources(config, "aws_cloudwatch_log_group")) {
      expect(group).toMatchObject({ retention_in_days: 30, kms_key_id: refToOnly(config, "aws_kms_key", "arn"), skip_destroy: true });
    }
    expect(json).toHaveResourceWithProperties(CloudwatchLogGroup, {
      name: "/aws/ec2/code-server/containers/dev1",
      tags: { developer: "dev1" },
    });
  });

  it("wait for the key policy that lets CloudWatch Logs use the key", () => {
    const keyPolicy = refToOnly(config, "aws_kms_key_policy", "id").slice(2, -4);
    for (const [, group] of resources(config, "aws_cloudwatch_log_group")) expect(group.depends_on).toEqual([keyPolicy]);
  });

  it("take their retention from the log_retention_days variable in the stack", () => {
    const { json: planned } = synthLayer((scope) =>
      monitoring(scope, { logRetentionDays: new TerraformVariable(scope, "retention", { type: "number" }).numberValue }),
    );
    expect(planned).toHaveResourceWithProperties(CloudwatchLogGroup, { retention_in_days: "${var.retention}" });
  });
});

describe("alarms", () => {
  it("watch host CPU above 80 %, memory above 85 % and the data disk above 85 %", () => {
    expect(alarm("host-cpu")).toMatchObject({
      namespace: "AWS/EC2",
      metric_name: "CPUUtilization",
      dimensions: { InstanceId: instanceId },
      threshold: 80,
      evaluation_periods: 3,
      comparison_operator: "GreaterThanThreshold",
    });
    expect(alarm("host-memory")).toMatchObject({ namespace: "code-server/dev", metric_name: "mem_used_percent", threshold: 85 });
    expect(alarm("data-disk")).toMatchObject({
      namespace: "code-server/dev",
      metric_name: "disk_used_percent",
      threshold: 85,
      dimensions: { InstanceId: instanceId, path: "/mnt/ebs-data" },
    });
    expect([THRESHOLDS.hostCpuPercent, THRESHOLDS.hostMemoryPercent, THRESHOLDS.dataDiskPercent]).toEqual([80, 85, 85]);
  });

  it("watch the root disk above 85 %, where Docker keeps images and container logs", () => {
    expect(alarm("root-disk")).toMatchObject({
      namespace: "code-server/dev",
      metric_name: "disk_used_percent",
      dimensions: { InstanceId: instanceId, path: "/" },
      statistic: "Maximum",
      period: 300,
      threshold: 85,
      comparison_operator: "GreaterThanThreshold",
    });
    expect(THRESHOLDS.rootDiskPercent).toBe(85);
  });

  it("watch each developer's share of the data volume above 40 %, over two 15-minute samples, quiet without data", () => {
    expect(THRESHOLDS.developerDataVolumeSharePercent).toBe(40);
    for (const d of fleet.developers) {
      expect(alarm(`${d.name}-disk-share`)).toMatchObject({
        namespace: "code-server/dev/containers",
        metric_name: "DataVolumeSharePercent",
        dimensions: { Developer: d.name },
        statistic: "Maximum",
        period: 1800,
        evaluation_periods: 1,
        threshold: 40,
        comparison_operator: "GreaterThanThreshold",
        treat_missing_data: "notBreaching",
        tags: { developer: d.name },
      });
    }
  });

  it("watch more than 10 ALB 5xx (ELB and targets together) in 5 minutes", () => {
    const alb5xx = alarm("alb-5xx");
    expect(alb5xx.threshold).toBe(10);
    expect((alb5xx.metric_query as ProviderBlock[]).map((q) => q.metric?.metric_name ?? q.expression)).toEqual([
      "HTTPCode_ELB_5XX_Count",
      "HTTPCode_Target_5XX_Count",
      "FILL(elb, 0) + FILL(target, 0)",
    ]);
    expect(alb5xx.metric_query[0].metric).toMatchObject({ period: 300, stat: "Sum", dimensions: { LoadBalancer: lbSuffix } });
  });

  it("watch each developer's target health and container restarts", () => {
    for (const d of fleet.developers) {
      expect(alarm(`${d.name}-unhealthy`)).toMatchObject({
        metric_name: "UnHealthyHostCount",
        dimensions: { LoadBalancer: lbSuffix, TargetGroup: targetGroupSuffix(d.name) },
        threshold: 0,
        tags: { developer: d.name },
      });
      expect(alarm(`${d.name}-restarts`)).toMatchObject({
        namespace: "code-server/dev/containers",
        metric_name: "ContainerRestarts",
        dimensions: { Developer: d.name },
      });
    }
  });

  it("all notify the one topic, on alarm and on recovery", () => {
    expect(alarms.size).toBe(5 + 3 * fleet.developers.length);
    for (const [name, a] of alarms) expect([name, a.alarm_actions, a.ok_actions]).toEqual([name, [topic], [topic]]);
    expect(json).toHaveResourceWithProperties(CloudwatchMetricAlarm, { alarm_name: "code-server-dev-host-cpu", alarm_actions: [topic] });
  });
});

describe("what each alarm does while the host sleeps", () => {
  it("every alarm of the layer declares it: all watch the running host, so all sleep with it", () => {
    let declared: ReturnType<typeof classifiedAlarms> = [];
    Testing.synthScope((scope) => {
      monitoring(scope);
      declared = classifiedAlarms(scope);
    });
    expect(declared.map((a) => a.alarmName).sort()).toEqual([...alarms.keys()].sort());
    expect(declared.filter((a) => !a.sleepsWithHost)).toEqual([]);
  });

  it("an alarm that does not declare it is refused by name, with what to do", () => {
    expect(() =>
      Testing.synthScope((scope) => {
        monitoring(scope);
        new CloudwatchMetricAlarm(scope, "root-disk", {
          alarmName: "code-server-dev-root-disk",
          comparisonOperator: "GreaterThanThreshold",
          evaluationPeriods: 1,
        });
        classifiedAlarms(scope);
      }),
    ).toThrow(
      /^an alarm does not say whether it sleeps with the host: stack\/root-disk\. Give each one sleepsWithHost in MonitoringLayer's alarm\(\), or call declareSleepsWithHost\(alarm, true \| false\)/,
    );
  });

  it("only alarms can declare it", () => {
    Testing.synthScope((scope) => {
      expect(() => declareSleepsWithHost(new SnsTopic(scope, "not-an-alarm", {}), true)).toThrow(
        /^stack\/not-an-alarm is a aws_sns_topic, not an alarm/,
      );
    });
  });
});

describe("dashboard, budget and reminder", () => {
  it("has a dashboard of host, ALB, target health, response times and containers, one line per developer", () => {
    // A JSON string whose references Terraform interpolates (a jsonencode() of the same object
    // costs cdktf about half a second to resolve for 250 developers).
    const body = JSON.parse(only(config, "aws_cloudwatch_dashboard").dashboard_body as string) as ProviderBlock;
    expect((body.widgets as ProviderBlock[]).map((w) => w.properties.title)).toEqual([
      "Host CPU / memory / data and root disk (%)",
      "ALB requests and 5xx",
      "Healthy targets per developer",
      "Target response time per developer (s)",
      "Container memory per developer (%)",
      "Container CPU per developer (%)",
      "Data volume used per developer (% of the volume)",
    ]);
    expect((body.widgets[2].properties.metrics as unknown[][]).map((line) => line[3])).toEqual(
      fleet.developers.map((d) => targetGroupSuffix(d.name)),
    );
    expect((body.widgets[0].properties.metrics as unknown[][]).map((line) => line.slice(1, 6))).toContainEqual([
      "disk_used_percent",
      "InstanceId",
      instanceId,
      "path",
      "/",
    ]);
    const share = body.widgets[6].properties;
    expect(share.metrics).toEqual(
      fleet.developers.map((d) => ["code-server/dev/containers", "DataVolumeSharePercent", "Developer", d.name, { label: d.name }]),
    );
    expect([share.stat, share.period, share.annotations.horizontal[0].value]).toEqual(["Maximum", 900, 40]);
  });

  it("budgets 400 USD a month, telling the alarm e-mails at 80, 100 and 120 %", () => {
    expect(json).toHaveResourceWithProperties(BudgetsBudget, {
      budget_type: "COST",
      time_unit: "MONTHLY",
      limit_amount: "400",
      limit_unit: "USD",
    });
    const notifications = only(config, "aws_budgets_budget").notification as ProviderBlock[];
    expect(notifications.map((n) => [n.threshold, n.subscriber_email_addresses])).toEqual([
      [80, ["ops@example.com"]],
      [100, ["ops@example.com"]],
      [120, ["ops@example.com"]],
    ]);
  });

  it("reminds the operators every 90 days, through the topic, to rotate keys and passwords", () => {
    expect(json).toHaveResourceWithProperties(CloudwatchEventRule, { schedule_expression: "rate(90 days)" });
    const target = only(config, "aws_cloudwatch_event_target");
    expect(target.arn).toBe(topic);
    expect(JSON.parse(target.input as string)).toMatch(/set-api-key\.sh --developer <name>.*rotate-password\.sh --developer <name>/);
  });
});

describe("the homes' storage on ECS", () => {
  const ecsFleetOf = (count: number) =>
    editedFleet((r) => {
      r.platform = "ecs";
      delete r.host;
      r.developers = r.developers.slice(0, count);
    });
  const storageAlarm = (count: number) => {
    const found = ecsMonitoring(ecsFleetOf(count), "fs-0123456789abcdef0").alarms.find((a) => a.name === "homes-storage");
    if (!found) throw new Error("no homes-storage alarm");
    return found;
  };

  it("alarms on growth, not on a level: the hourly stored bytes' rate as GiB a day, in 5 of 6 hours, quiet without data", () => {
    const alarm = storageAlarm(8);
    const [bytes, growth] = alarm.metricQuery as {
      id: string;
      expression?: string;
      returnData?: boolean;
      metric?: Record<string, unknown>;
    }[];
    expect(bytes.metric).toEqual({
      namespace: "AWS/EFS",
      metricName: "StorageBytes",
      dimensions: { FileSystemId: "fs-0123456789abcdef0", StorageClass: "Total" },
      period: 3600,
      stat: "Average",
    });
    expect(growth).toMatchObject({ expression: `RATE(bytes) * 86400 / ${1024 ** 3}`, returnData: true });
    expect(alarm).toMatchObject({
      evaluationPeriods: 6,
      datapointsToAlarm: 5,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    });
    expect(alarm.sleepsWithHost).toBe(false);
  });

  it("scales the pace with the roster and says it, per developer, and what to do", () => {
    const perDeveloper = THRESHOLDS.homesGrowthGiBPerDayPerDeveloper;
    expect(storageAlarm(8).threshold).toBe(8 * perDeveloper);
    expect(storageAlarm(3).threshold).toBe(3 * perDeveloper);
    expect(storageAlarm(3).alarmDescription).toContain(
      `grew faster than ${3 * perDeveloper} GiB a day (${perDeveloper} GiB for each of the 3 developers) in 5 of the last 6 hours`,
    );
    expect(storageAlarm(3).alarmDescription).toMatch(/find the home that grows/);
  });
});

describe("props validation", () => {
  test.each<[string, (scope: Construct) => Partial<MonitoringLayerProps>, RegExp]>([
    [
      "a developer without a target group",
      (scope) => ({
        routes: new Map([["dev1", { targetGroup: new LbTargetGroup(scope, "only-one", {}), loadBalancer: new Lb(scope, "other-lb", {}) }]]),
      }),
      /^MonitoringLayer stack\/monitoring: routes has no entry for "dev2" \(it has "dev1"\)$/,
    ],
    [
      "a retention CloudWatch does not offer",
      () => ({ logRetentionDays: 31 }),
      /^MonitoringLayer stack\/monitoring: logRetentionDays 31 is not one of 1, 3, 5, 7, 14, 30, 60, 90, /,
    ],
    [
      "a budget of nothing",
      () => ({ budgetAmountUsd: 0 }),
      /^MonitoringLayer stack\/monitoring: budgetAmountUsd 0 must be above 0 \(USD per month\)$/,
    ],
  ])("refuses %s", (_, overrides, message) => {
    expect(() => Testing.synthScope((scope) => monitoring(scope, overrides(scope)))).toThrow(message);
  });
});
