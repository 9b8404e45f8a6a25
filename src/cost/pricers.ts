/**
 * One pricer per billable resource type: what the type's resources in the synthesized stack bill,
 * as quantities of the cost model's unit prices. `inventory()` runs the pricer of each type it
 * finds; a type with no pricer is either of no charge of its own (`NO_CHARGE_OF_THEIR_OWN`) or
 * reported as unknown.
 */
import type { ProviderBlock, TerraformJson } from "../terraform/plan-json";
import { ALB_SHARD_SIZE } from "../routing";
import { ECS_PRICERS } from "./ecs-pricers";
import { isHome, line, plural, resolveNumber, type Priced, type Pricer, type PricingContext } from "./lines";
import { HOURS_PER_MONTH, type UnknownResource, type Usage, type UsageAssumptions } from "./usage";

export type { Priced, Pricer, PricingContext } from "./lines";

/** The host: its hours, root volume, detailed monitoring, public address and what it sends out. */
function instancePricer(instances: readonly ProviderBlock[], { config, assumptions }: PricingContext): Priced {
  return {
    usage: instances.flatMap((instance) => {
      const instanceType = String(instance.instance_type);
      const root = instance.root_block_device ?? {};
      const unlimited = instance.credit_specification?.cpu_credits === "unlimited";
      const usage: Usage[] = [
        line({
          id: "ec2.host",
          label: `EC2 host ${instanceType}`,
          price: "ec2.instance-hour",
          instanceType,
          quantity: HOURS_PER_MONTH,
          unit: "h",
          scalesWithHost: true,
          basis: `${HOURS_PER_MONTH} h a month${unlimited ? "; unlimited CPU credits: sustained load above the baseline is billed on top" : ""}`,
        }),
        line({
          id: "ebs.root",
          label: `EBS root volume (${root.volume_type ?? "gp3"})`,
          price: "ebs.gp3.gb-month",
          quantity: resolveNumber(config, root.volume_size ?? 8),
          unit: "GB-month",
          basis: "root_block_device.volume_size; billed while the host is stopped too",
        }),
      ];
      if (instance.monitoring === true) {
        usage.push(
          line({
            id: "ec2.detailed-monitoring",
            label: "EC2 detailed monitoring",
            price: "ec2.detailed-monitoring-instance-month",
            quantity: 1,
            unit: "instance-month",
            scalesWithHost: true,
            basis: "monitoring = true: 1-minute EC2 metrics, billed as custom metrics",
          }),
        );
      }
      if (instance.associate_public_ip_address === true) usage.push(...publicHostLines(assumptions));
      return usage;
    }),
  };
}

/** A host with a public address: the address's hours and what the host sends to the internet. */
function publicHostLines(assumptions: UsageAssumptions): Usage[] {
  return [
    line({
      id: "vpc.host-ipv4",
      label: "Public IPv4 address of the host",
      price: "vpc.public-ipv4-hour",
      quantity: HOURS_PER_MONTH,
      unit: "address-h",
      scalesWithHost: true,
      basis: "associate_public_ip_address = true; the address is released while the host is stopped",
    }),
    line({
      id: "transfer.api",
      label: "Data transfer out: host to the Anthropic API and other internet hosts",
      price: "data-transfer.internet-out.gb",
      quantity: assumptions.apiEgressGb,
      unit: "GB",
      basis: `assumed ${assumptions.apiEgressGb} GB a month (--api-egress-gb)`,
    }),
  ];
}

/** The data volume, at the size the variable (or --data-volume-gb) gives it. */
function volumePricer(volumes: readonly ProviderBlock[], { config, assumptions }: PricingContext): Priced {
  return {
    usage: volumes.map((volume) => {
      const size = resolveNumber(config, volume.size, assumptions.dataVolumeGb);
      const source = assumptions.dataVolumeGb === undefined ? " (the variable's default)" : " (--data-volume-gb)";
      return line({
        id: "ebs.data",
        label: `EBS data volume (${volume.type ?? "gp2"})`,
        price: "ebs.gp3.gb-month",
        quantity: size,
        unit: "GB-month",
        basis: typeof volume.size === "string" ? `${volume.size.replace(/^\$\{var\.(.+)\}$/, "$1")} = ${size}${source}` : "size",
      });
    }),
  };
}

/** Whether `selection`'s tag condition, if it has one, holds for `resource`. */
function selectedBy(selection: ProviderBlock, resource: ProviderBlock): boolean {
  const conditions: ProviderBlock[] = (selection.condition ?? []).flatMap((c: ProviderBlock) => c.string_equals ?? []);
  return conditions.every((c) => {
    const tag = /^aws:ResourceTag\/(.+)$/.exec(String(c.key))?.[1];
    return tag === undefined || resource.tags?.[tag] === c.value;
  });
}

/** The stack's resources of `type` that a selection of resources named `arn` (`:volume/`, `:file-system/`) protects. */
function protectedBy(config: TerraformJson, selections: readonly ProviderBlock[], type: string, arn: string): ProviderBlock[] {
  const covering = selections.filter((s) => (s.resources ?? []).some((r: unknown) => String(r).includes(arn)));
  return Object.values(config.resource[type] ?? {}).filter((resource) => covering.some((s) => selectedBy(s, resource)));
}

/** The longest retention, in days, of the stack's backup plans. */
function longestRetentionDays(config: TerraformJson): number {
  const plans = config.resource.aws_backup_plan ?? {};
  const deleteAfter = Object.values(plans).flatMap((plan) =>
    (plan.rule ?? []).map((r: ProviderBlock) => Number(r.lifecycle?.delete_after ?? 0)),
  );
  return Math.max(0, ...deleteAfter);
}

const CHANGED_BASIS = (assumptions: UsageAssumptions, days: number) =>
  `${assumptions.changedGbPerDay} GB changed a day (--changed-gb-per-day) × ${days} days, the longest retention in the backup plan`;

/** AWS Backup's recovery points, kept for the plan's longest retention: the data volume's snapshots, the homes' EFS backups. */
function backupSelectionPricer(selections: readonly ProviderBlock[], context: PricingContext): Priced {
  const { config, assumptions } = context;
  const longestRetention = longestRetentionDays(config);
  const protectedVolumes = protectedBy(config, selections, "aws_ebs_volume", ":volume/").length;
  const retained = assumptions.usedGb + assumptions.changedGbPerDay * longestRetention;
  const usage = [
    line({
      id: "ebs.snapshots",
      label: "EBS snapshots (AWS Backup recovery points)",
      price: "ebs.snapshot.gb-month",
      quantity: protectedVolumes * retained,
      unit: "GB-month",
      basis: `${plural(protectedVolumes, "volume")} × (${assumptions.usedGb} GB used (--used-gb) + ${CHANGED_BASIS(assumptions, longestRetention)}); an upper bound: changes overwritten between recovery points are not kept`,
    }),
  ];
  const fileSystems = protectedBy(config, selections, "aws_efs_file_system", ":file-system/");
  if (fileSystems.length > 0) usage.push(efsBackupLine(context, fileSystems.length, longestRetention));
  return { usage };
}

/** The homes' EFS backups: a full copy of the homes, then what changes each day, kept for the retention. */
function efsBackupLine({ config, assumptions }: PricingContext, fileSystems: number, longestRetention: number): Usage {
  const homes = Object.values(config.resource.aws_efs_access_point ?? {}).filter((ap) => isHome(ap.root_directory)).length;
  const homesGb = homes * assumptions.homeGbPerDeveloper;
  return line({
    id: "efs.backups",
    label: "EFS backups of the homes (AWS Backup, warm storage)",
    price: "backup.efs.gb-month",
    quantity: fileSystems * homesGb + assumptions.changedGbPerDay * longestRetention,
    unit: "GB-month",
    basis: `${plural(homes, "home")} × ${assumptions.homeGbPerDeveloper} GB (--home-gb-per-developer) + ${CHANGED_BASIS(assumptions, longestRetention)}; an upper bound, as for snapshots`,
  });
}

/** Application load balancers (the ECS platform shards the developers over several): hours, capacity units, addresses, traffic. */
function loadBalancerPricer(balancers: readonly ProviderBlock[], { fleet, assumptions }: PricingContext): Priced {
  const applications = balancers.filter((lb) => (lb.load_balancer_type ?? "application") === "application");
  const unknown: UnknownResource[] = balancers
    .filter((lb) => !applications.includes(lb))
    .map((lb) => ({ type: `aws_lb (${lb.load_balancer_type})`, count: 1 }));
  const n = applications.length;
  if (n === 0) return { usage: [], unknown };
  const one = n === 1;
  const runs = `${one ? "it runs" : "they run"} while ${fleet.host ? "the host sleeps" : "the developers' tasks sleep"}`;
  const usage: Usage[] = [
    line({
      id: "elb.alb-hours",
      label: "Application Load Balancer hours",
      price: "elb.alb-hour",
      quantity: n * HOURS_PER_MONTH,
      unit: "h",
      // The host's one ALB keeps the wording it always had.
      basis:
        one && fleet.host
          ? `${HOURS_PER_MONTH} h a month; the ALB runs while the host sleeps`
          : `${plural(n, "ALB")} (one per block of ${ALB_SHARD_SIZE} listener-rule priorities the developers use) × ${HOURS_PER_MONTH} h; ${runs}`,
    }),
    line({
      id: "elb.lcu",
      label: "ALB capacity units (LCU)",
      price: "elb.lcu-hour",
      quantity: n * assumptions.lcuPerHour * HOURS_PER_MONTH,
      unit: "LCU-h",
      basis: `assumed ${assumptions.lcuPerHour} LCU an hour (--lcu)${one ? "" : ` per ALB × ${plural(n, "ALB")}`} × ${HOURS_PER_MONTH} h`,
    }),
  ];
  const facing = applications.filter((lb) => lb.internal !== true);
  if (facing.length > 0) usage.push(...internetFacingLines(facing, assumptions));
  return { usage, unknown };
}

/** Internet-facing load balancers: one public address per subnet each, and what the team's browsers receive through them. */
function internetFacingLines(balancers: readonly ProviderBlock[], assumptions: UsageAssumptions): Usage[] {
  const subnets = balancers.reduce((s, lb) => s + (lb.subnets ?? []).length, 0);
  const one = balancers.length === 1;
  const where = one
    ? `each of its ${plural(subnets, "subnet")}`
    : `each subnet of each of the ${balancers.length} ALBs (${subnets} in all)`;
  return [
    line({
      id: "vpc.alb-ipv4",
      label: `Public IPv4 addresses of the ALB${one ? "" : "s"}`,
      price: "vpc.public-ipv4-hour",
      quantity: subnets * HOURS_PER_MONTH,
      unit: "address-h",
      basis: `internet-facing: one address in ${where} × ${HOURS_PER_MONTH} h`,
    }),
    line({
      id: "transfer.browsers",
      label: "Data transfer out: ALB to the developers' browsers",
      price: "data-transfer.internet-out.gb",
      quantity: assumptions.egressGb,
      unit: "GB",
      basis: `assumed ${assumptions.egressGb} GB a month (--egress-gb)`,
    }),
  ];
}

/** Log groups: what the developers' and the host's groups ingest, and a month of it kept for the retention. */
function logGroupPricer(groups: readonly ProviderBlock[], { config, fleet, assumptions }: PricingContext): Priced {
  const developerGroups = groups.filter((g) => g.tags?.developer).length;
  const hostGroups = groups.length - developerGroups;
  // Without a host the other groups are ECS Exec's sessions, the secret initializer's few lines and the flow logs' group, whose
  // ingestion is priced as vended logs.
  const others = fleet.host ? `${plural(hostGroups, "host log group")} together ${assumptions.hostLogsGb} GB (--host-logs-gb)` : undefined;
  const ingested = developerGroups * assumptions.logsGbPerDeveloper + (others && hostGroups > 0 ? assumptions.hostLogsGb : 0);
  const retentionDays = Math.max(0, ...groups.map((g) => resolveNumber(config, g.retention_in_days ?? 0)));
  return {
    usage: [
      line({
        id: "logs.ingest",
        label: "CloudWatch Logs ingestion",
        price: "cloudwatch.logs.ingest.gb",
        quantity: ingested,
        unit: "GB",
        scalesWithHost: true,
        basis: `${plural(developerGroups, "developer log group")} × ${assumptions.logsGbPerDeveloper} GB (--logs-gb-per-developer) + ${others ?? `${plural(hostGroups, "other log group")} (ECS Exec sessions, the secret initializer, flow logs) counted as none: they log little, and flow logs are their own line`}`,
      }),
      line({
        id: "logs.storage",
        label: "CloudWatch Logs storage",
        price: "cloudwatch.logs.storage.gb-month",
        quantity: (ingested * retentionDays) / 30.4375,
        unit: "GB-month",
        scalesWithHost: true,
        basis: `a month's ingestion kept ${retentionDays} days (retention_in_days), uncompressed: an upper bound`,
      }),
    ],
  };
}

/** Alarms: a metric-math alarm is billed for each metric it reads. */
function alarmPricer(alarms: readonly ProviderBlock[]): Priced {
  const metrics = alarms.reduce((s, a) => s + (a.metric_query ? a.metric_query.filter((q: ProviderBlock) => q.metric).length : 1), 0);
  return {
    usage: [
      line({
        id: "cloudwatch.alarms",
        label: "CloudWatch alarms",
        price: "cloudwatch.alarm-metric-month",
        quantity: metrics,
        unit: "alarm metric-month",
        basis: `${plural(alarms.length, "aws_cloudwatch_metric_alarm")} reading ${plural(metrics, "metric")}`,
      }),
    ],
  };
}

/** A WAF web ACL: the ACL, its rules and the requests it inspects. */
function webAclPricer(acls: readonly ProviderBlock[], { assumptions }: PricingContext): Priced {
  const n = acls.length;
  // Rules come as rule blocks or, in the WAF API's own form, as rule_json.
  const rules = acls.reduce((s, acl) => s + (acl.rule_json ? JSON.parse(String(acl.rule_json)).length : (acl.rule ?? []).length), 0);
  return {
    usage: [
      line({
        id: "waf.acls",
        label: "WAF web ACLs",
        price: "waf.web-acl-month",
        quantity: n,
        unit: "web ACL-month",
        basis: plural(n, "aws_wafv2_web_acl"),
      }),
      line({
        id: "waf.rules",
        label: "WAF rules",
        price: "waf.rule-month",
        quantity: rules,
        unit: "rule-month",
        basis: `${plural(rules, "rule")} in the web ACLs`,
      }),
      line({
        id: "waf.requests",
        label: "WAF requests",
        price: "waf.requests.million",
        quantity: n * assumptions.wafRequestsMillion,
        unit: "million requests",
        basis: `assumed ${assumptions.wafRequestsMillion} million requests a month per web ACL (--waf-requests-million)`,
      }),
    ],
  };
}

/** A pricer of a type billed per resource a month: `quantity` of `unit` each. */
const perResource =
  (id: string, label: string, price: Usage["price"], unit: string, basis: (n: number, all: readonly ProviderBlock[]) => string): Pricer =>
  (all) => ({ usage: [line({ id, label, price, quantity: all.length, unit, basis: basis(all.length, all) })] });

/** The pricer of each billable resource type of the stack. */
export const PRICERS: Readonly<Record<string, Pricer>> = {
  ...ECS_PRICERS,
  aws_instance: instancePricer,
  aws_ebs_volume: volumePricer,
  aws_backup_selection: backupSelectionPricer,
  aws_lb: loadBalancerPricer,
  aws_cloudwatch_log_group: logGroupPricer,
  aws_cloudwatch_metric_alarm: alarmPricer,
  aws_wafv2_web_acl: webAclPricer,
  aws_secretsmanager_secret: perResource("secrets", "Secrets Manager secrets", "secretsmanager.secret-month", "secret-month", (n) =>
    plural(n, "aws_secretsmanager_secret"),
  ),
  aws_kms_key: perResource(
    "kms",
    "KMS customer-managed keys",
    "kms.key-month",
    "key-month",
    (n, all) =>
      `${plural(n, "aws_kms_key")}${all.some((k) => k.enable_key_rotation === true) ? "; rotation adds $1 a month per rotated key from the first anniversary (not included)" : ""}`,
  ),
  aws_cloudwatch_dashboard: perResource(
    "cloudwatch.dashboards",
    "CloudWatch dashboards",
    "cloudwatch.dashboard-month",
    "dashboard-month",
    (n) => plural(n, "aws_cloudwatch_dashboard"),
  ),
  aws_route53_zone: perResource("route53.zones", "Route 53 hosted zones", "route53.hosted-zone-month", "zone-month", (n) =>
    plural(n, "aws_route53_zone"),
  ),
  aws_budgets_budget: perResource("budgets", "AWS Budgets", "budgets.budget-month", "budget-month", (n) => plural(n, "aws_budgets_budget")),
  aws_route53_record: (records, { assumptions }) => ({
    usage: [
      line({
        id: "route53.queries",
        label: "Route 53 DNS queries",
        price: "route53.queries.million",
        quantity: assumptions.dnsQueriesMillion,
        unit: "million queries",
        basis: `${plural(records.length, "record")} in the existing zone (hosted_zone_id); assumed ${assumptions.dnsQueriesMillion} million queries a month (--dns-queries-million)`,
      }),
    ],
  }),
  aws_s3_bucket: (buckets, { assumptions }) => ({
    usage: [
      line({
        id: "s3.storage",
        label: "S3 storage (host files, access logs, archives)",
        price: "s3.standard.gb-month",
        quantity: buckets.length * assumptions.s3GbPerBucket,
        unit: "GB-month",
        basis: `${plural(buckets.length, "bucket")} × ${assumptions.s3GbPerBucket} GB (--s3-gb-per-bucket), priced as Standard`,
      }),
    ],
  }),
  aws_flow_log: (logs, { assumptions }) => ({
    usage: [
      line({
        id: "vpc.flow-logs",
        label: "VPC flow logs (vended log ingestion)",
        price: "cloudwatch.vended-logs.ingest.gb",
        quantity: logs.length * assumptions.flowLogsGb,
        unit: "GB",
        basis: `${plural(logs.length, "aws_flow_log")} × ${assumptions.flowLogsGb} GB a month (--flow-logs-gb)`,
      }),
    ],
  }),
  aws_scheduler_schedule: (schedules) => ({
    usage: [
      line({
        id: "scheduler",
        label: "EventBridge Scheduler invocations",
        price: "scheduler.invocations.million",
        // A schedule that starts or stops the host fires at most once a day.
        quantity: (schedules.length * 31) / 1e6,
        unit: "million invocations",
        basis: `${plural(schedules.length, "aws_scheduler_schedule")} × at most 31 runs a month; no charge in practice: EventBridge Scheduler gives 14 million invocations a month free (not deducted here)`,
      }),
    ],
  }),
};

/** Host files the stack uploads, by path under the host-files prefix. */
function hostFile(config: TerraformJson, suffix: string): string | undefined {
  const object = Object.values(config.resource.aws_s3_object ?? {}).find((o) => typeof o.key === "string" && o.key.endsWith(suffix));
  // The stack escapes "${" as "$${" so Terraform does not read it as an interpolation.
  return object ? String(object.content).replace(/\$\$\{/g, "${") : undefined;
}

/** Metric series the CloudWatch agent publishes per host, read from its rendered configuration. */
export function agentMetricSeries(agentConfigText: string): number {
  const metrics = JSON.parse(agentConfigText).metrics ?? {};
  const appended = Object.keys(metrics.append_dimensions ?? {});
  const aggregations: string[][] = metrics.aggregation_dimensions ?? [];
  let series = 0;
  for (const [section, spec] of Object.entries<ProviderBlock>(metrics.metrics_collected ?? {})) {
    const perResource = (spec.measurement ?? []).length * Math.max(1, (spec.resources ?? []).length);
    // The disk plugin tags each series with its mount path (and fstype); other plugins only carry the appended dimensions.
    const dimensions = new Set([...appended, ...(section === "disk" ? ["path", "fstype"] : [])]);
    const rollups = aggregations.filter((set) => set.length > 0 && set.every((d) => dimensions.has(d))).length;
    series += perResource * (1 + rollups);
  }
  return series;
}

/** Distinct metric names a rendered per-developer metrics script publishes for each developer. */
export function containerMetricNames(publishScript: string): string[] {
  return [...publishScript.matchAll(/^([A-Z]+)_METRIC=/gm)].map((m) => m[1]);
}

/** The host scripts that publish per-developer metrics: every minute, and the disk usage every 15 minutes. */
export const PER_DEVELOPER_METRIC_SCRIPTS = ["publish-metrics.sh", "publish-disk-usage.sh"] as const;

/** Metrics the host publishes itself, read from the host files: the CloudWatch agent's series and the per-container metrics. */
export function hostMetrics({ config, fleet }: PricingContext): Usage[] {
  const agent = hostFile(config, "cloudwatch-agent.json");
  const scripts = PER_DEVELOPER_METRIC_SCRIPTS.map((name) => hostFile(config, name)).filter((text) => text !== undefined);
  if (!agent && scripts.length === 0) return [];
  const hostSeries = agent ? agentMetricSeries(agent) : 0;
  const perDeveloper = scripts.reduce((sum, text) => sum + containerMetricNames(text).length, 0);
  return [
    line({
      id: "cloudwatch.metrics",
      label: "CloudWatch custom metrics published by the host",
      price: "cloudwatch.metric-month",
      quantity: hostSeries + perDeveloper * fleet.developers.length,
      unit: "metric-month",
      scalesWithHost: true,
      basis: `${hostSeries} CloudWatch agent series + ${perDeveloper} container metrics × ${plural(fleet.developers.length, "developer")}`,
    }),
  ];
}
