/**
 * What the synthesized stack creates that AWS bills, as quantities of the cost model's unit
 * prices. The stack is synthesized in-process with the same code `npm run synth` uses; every
 * resource type in it is either priced here, known to carry no charge of its own, or reported as
 * an unknown billable type, so a resource added later is never silently left out of the bill.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { synthInto } from "../app";
import { VARIABLES } from "../modules/inputs";
import type { Fleet } from "../roster";
import type { PriceId } from "./prices";

/** One block of Terraform JSON (a resource's or variable's body): untyped data, read field by field. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type TfBlock = Record<string, any>;

/** Terraform JSON of one synthesized stack. */
export type StackConfig = { readonly resource?: Record<string, Record<string, TfBlock>>; readonly variable?: Record<string, TfBlock> };

/** Synthesizes `fleet` exactly as `npm run synth` does, into a scratch directory, and returns its Terraform JSON. */
export function synthesizeStack(fleet: Fleet): StackConfig {
  const outdir = mkdtempSync(join(tmpdir(), "cost-synth-"));
  try {
    const { stackDir } = synthInto(fleet, outdir);
    return JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8"));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Usage the bill cannot read from the stack, each stated in the report and overridable by a flag. */
export interface UsageAssumptions {
  /** Size of the data volume in GB. @default - the `data_volume_size_gb` variable's default */
  readonly dataVolumeGb?: number;
  /** GB a month sent from the ALB to the developers' browsers. @default 500 */
  readonly egressGb: number;
  /** GB a month the host sends to the Anthropic API and other internet hosts. @default 100 */
  readonly apiEgressGb: number;
  /** GB of container logs each developer's log group ingests a month. @default 2 */
  readonly logsGbPerDeveloper: number;
  /** GB a month of host logs (system and docker log groups together). @default 4 */
  readonly hostLogsGb: number;
  /** GB of data on the data volume: the first full snapshot. @default 250 */
  readonly usedGb: number;
  /** GB of blocks changed on the data volume a day: what each incremental snapshot adds. @default 0.5 */
  readonly changedGbPerDay: number;
  /** Average ALB capacity units consumed per hour. @default 1 */
  readonly lcuPerHour: number;
  /** Million DNS queries a month to the stack's records. @default 1 */
  readonly dnsQueriesMillion: number;
  /** GB stored in each S3 bucket of the stack (host files, ALB access logs, archives). @default 5 */
  readonly s3GbPerBucket: number;
  /** GB of VPC flow logs a month, per flow log. @default 10 */
  readonly flowLogsGb: number;
  /** Million requests a month through a WAF web ACL. @default 5 */
  readonly wafRequestsMillion: number;
}

export const DEFAULT_ASSUMPTIONS: UsageAssumptions = {
  egressGb: 500,
  apiEgressGb: 100,
  logsGbPerDeveloper: 2,
  hostLogsGb: 4,
  usedGb: 250,
  changedGbPerDay: 0.5,
  lcuPerHour: 1,
  dnsQueriesMillion: 1,
  s3GbPerBucket: 5,
  flowLogsGb: 10,
  wafRequestsMillion: 5,
};

/** AWS's monthly hours convention (24 × 365 / 12). */
export const HOURS_PER_MONTH = 730;

/** One billed quantity: `quantity` units of `price` a month, always on. */
export interface Usage {
  readonly id: string;
  readonly label: string;
  readonly price: PriceId;
  /** For per-instance-type prices. */
  readonly instanceType?: string;
  readonly quantity: number;
  readonly unit: string;
  /** Stops while the host sleeps, so it scales with the schedule's hours. */
  readonly scalesWithHost: boolean;
  /** How the quantity was derived from the stack and the assumptions. */
  readonly basis: string;
}

/** A resource type the cost model does not know: billable or not, it must be looked at. */
export interface UnknownResource {
  readonly type: string;
  readonly count: number;
}

export interface Inventory {
  readonly usage: readonly Usage[];
  readonly unknown: readonly UnknownResource[];
  /** Resolved assumptions, the data volume size included. */
  readonly assumptions: Required<UsageAssumptions>;
}

/**
 * Types with no charge of their own: they are configuration of, or billed through, a priced
 * resource (listeners and rules through the ALB hours and LCUs, the backup plan through snapshot
 * storage, bucket settings and objects through bucket storage), or free (IAM, VPC plumbing, public
 * ACM certificates, KMS aliases). SNS and EventBridge rules carry the alarms' and the reminder's
 * few notifications a month, which this model does not price.
 */
export const NO_CHARGE_OF_THEIR_OWN: ReadonlySet<string> = new Set([
  "aws_acm_certificate",
  "aws_acm_certificate_validation",
  "aws_backup_plan",
  "aws_backup_selection",
  "aws_backup_vault",
  "aws_backup_vault_lock_configuration",
  "aws_backup_vault_policy",
  "aws_cloudwatch_event_rule",
  "aws_cloudwatch_event_target",
  "aws_cloudwatch_log_resource_policy",
  "aws_default_security_group",
  "aws_iam_instance_profile",
  "aws_iam_policy",
  "aws_iam_role",
  "aws_iam_role_policy",
  "aws_iam_role_policy_attachment",
  "aws_internet_gateway",
  "aws_kms_alias",
  "aws_kms_key_policy",
  "aws_lb_listener",
  "aws_lb_listener_rule",
  "aws_lb_target_group",
  "aws_lb_target_group_attachment",
  "aws_route",
  "aws_route_table",
  "aws_route_table_association",
  "aws_s3_bucket_lifecycle_configuration",
  "aws_s3_bucket_logging",
  "aws_s3_bucket_object_lock_configuration",
  "aws_s3_bucket_ownership_controls",
  "aws_s3_bucket_policy",
  "aws_s3_bucket_public_access_block",
  "aws_s3_bucket_server_side_encryption_configuration",
  "aws_s3_bucket_versioning",
  "aws_s3_object",
  "aws_scheduler_schedule_group",
  "aws_security_group",
  "aws_sns_topic",
  "aws_sns_topic_policy",
  "aws_sns_topic_subscription",
  "aws_ssm_association",
  "aws_ssm_document",
  "aws_subnet",
  "aws_volume_attachment",
  "aws_vpc",
  "aws_vpc_security_group_egress_rule",
  "aws_vpc_security_group_ingress_rule",
  "aws_wafv2_web_acl_association",
  // The web ACL's request log is billed as the log group's ingestion.
  "aws_wafv2_web_acl_logging_configuration",
  // Terraform's own resource (the host's recorded architecture): no AWS resource at all.
  "terraform_data",
]);

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** A number from the stack, or the variable it references resolved to `override` or its default. */
function resolveNumber(config: StackConfig, value: unknown, override?: number): number {
  if (typeof value === "number") return value;
  const variable = typeof value === "string" ? /^\$\{var\.([a-z0-9_]+)\}$/.exec(value)?.[1] : undefined;
  if (!variable) throw new Error(`cannot read a number from ${JSON.stringify(value)}`);
  if (override !== undefined) return override;
  const fallback = config.variable?.[variable]?.default;
  if (typeof fallback !== "number") throw new Error(`variable ${variable} has no numeric default`);
  return fallback;
}

/** Host files the stack uploads, by path under the host-files prefix. */
function hostFile(config: StackConfig, suffix: string): string | undefined {
  const object = Object.values(config.resource?.aws_s3_object ?? {}).find(
    (o: TfBlock) => typeof o.key === "string" && o.key.endsWith(suffix),
  );
  // The stack escapes "${" as "$${" so Terraform does not read it as an interpolation.
  return object ? String(object.content).replace(/\$\$\{/g, "${") : undefined;
}

/** Metric series the CloudWatch agent publishes per host, read from its rendered configuration. */
export function agentMetricSeries(agentConfigText: string): number {
  const metrics = JSON.parse(agentConfigText).metrics ?? {};
  const appended = Object.keys(metrics.append_dimensions ?? {});
  const aggregations: string[][] = metrics.aggregation_dimensions ?? [];
  let series = 0;
  for (const [section, spec] of Object.entries<TfBlock>(metrics.metrics_collected ?? {})) {
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

/** Counts what the synthesized stack bills, given the usage assumptions. */
export function inventory(config: StackConfig, fleet: Fleet, overrides: Partial<UsageAssumptions> = {}): Inventory {
  const resources = config.resource ?? {};
  const assumptions = { ...DEFAULT_ASSUMPTIONS, ...overrides };
  const usage: Usage[] = [];
  const unknown: UnknownResource[] = [];
  const add = (u: Usage) => {
    if (u.quantity > 0) usage.push(u);
  };
  let dataVolumeGb = assumptions.dataVolumeGb;

  for (const [type, byName] of Object.entries(resources)) {
    const all = Object.values(byName);
    const n = all.length;
    switch (type) {
      case "aws_instance": {
        for (const instance of all) {
          const instanceType = String(instance.instance_type);
          add({
            id: "ec2.host",
            label: `EC2 host ${instanceType}`,
            price: "ec2.instance-hour",
            instanceType,
            quantity: HOURS_PER_MONTH,
            unit: "h",
            scalesWithHost: true,
            basis: `${HOURS_PER_MONTH} h a month${instance.credit_specification?.cpu_credits === "unlimited" ? "; unlimited CPU credits: sustained load above the baseline is billed on top" : ""}`,
          });
          const root = instance.root_block_device ?? {};
          add({
            id: "ebs.root",
            label: `EBS root volume (${root.volume_type ?? "gp3"})`,
            price: "ebs.gp3.gb-month",
            quantity: resolveNumber(config, root.volume_size ?? 8),
            unit: "GB-month",
            scalesWithHost: false,
            basis: "root_block_device.volume_size; billed while the host is stopped too",
          });
          if (instance.monitoring === true) {
            add({
              id: "ec2.detailed-monitoring",
              label: "EC2 detailed monitoring",
              price: "ec2.detailed-monitoring-instance-month",
              quantity: 1,
              unit: "instance-month",
              scalesWithHost: true,
              basis: "monitoring = true: 1-minute EC2 metrics, billed as custom metrics",
            });
          }
          if (instance.associate_public_ip_address === true) {
            add({
              id: "vpc.host-ipv4",
              label: "Public IPv4 address of the host",
              price: "vpc.public-ipv4-hour",
              quantity: HOURS_PER_MONTH,
              unit: "address-h",
              scalesWithHost: true,
              basis: "associate_public_ip_address = true; the address is released while the host is stopped",
            });
            add({
              id: "transfer.api",
              label: "Data transfer out: host to the Anthropic API and other internet hosts",
              price: "data-transfer.internet-out.gb",
              quantity: assumptions.apiEgressGb,
              unit: "GB",
              scalesWithHost: false,
              basis: `assumed ${assumptions.apiEgressGb} GB a month (--api-egress-gb)`,
            });
          }
        }
        break;
      }
      case "aws_ebs_volume": {
        for (const volume of all) {
          const size = resolveNumber(config, volume.size, assumptions.dataVolumeGb);
          dataVolumeGb = size;
          add({
            id: "ebs.data",
            label: `EBS data volume (${volume.type ?? "gp2"})`,
            price: "ebs.gp3.gb-month",
            quantity: size,
            unit: "GB-month",
            scalesWithHost: false,
            basis:
              typeof volume.size === "string"
                ? `${volume.size.replace(/^\$\{var\.(.+)\}$/, "$1")} = ${size}${assumptions.dataVolumeGb === undefined ? " (the variable's default)" : " (--data-volume-gb)"}`
                : "size",
          });
        }
        break;
      }
      case "aws_backup_selection": {
        const plans = resources.aws_backup_plan ?? {};
        const longestRetention = Math.max(
          0,
          ...Object.values(plans).flatMap((plan: TfBlock) => (plan.rule ?? []).map((r: TfBlock) => Number(r.lifecycle?.delete_after ?? 0))),
        );
        const protectedVolumes = all.reduce((s, sel) => s + (sel.resources ?? []).length, 0);
        const retained = assumptions.usedGb + assumptions.changedGbPerDay * longestRetention;
        add({
          id: "ebs.snapshots",
          label: "EBS snapshots (AWS Backup recovery points)",
          price: "ebs.snapshot.gb-month",
          quantity: protectedVolumes * retained,
          unit: "GB-month",
          scalesWithHost: false,
          basis: `${plural(protectedVolumes, "volume")} × (${assumptions.usedGb} GB used (--used-gb) + ${assumptions.changedGbPerDay} GB changed a day (--changed-gb-per-day) × ${longestRetention} days, the longest retention in the backup plan); an upper bound: changes overwritten between recovery points are not kept`,
        });
        break;
      }
      case "aws_lb": {
        for (const lb of all) {
          if ((lb.load_balancer_type ?? "application") !== "application") {
            unknown.push({ type: `aws_lb (${lb.load_balancer_type})`, count: 1 });
            continue;
          }
          add({
            id: "elb.alb-hours",
            label: "Application Load Balancer hours",
            price: "elb.alb-hour",
            quantity: HOURS_PER_MONTH,
            unit: "h",
            scalesWithHost: false,
            basis: `${HOURS_PER_MONTH} h a month; the ALB runs while the host sleeps`,
          });
          add({
            id: "elb.lcu",
            label: "ALB capacity units (LCU)",
            price: "elb.lcu-hour",
            quantity: assumptions.lcuPerHour * HOURS_PER_MONTH,
            unit: "LCU-h",
            scalesWithHost: false,
            basis: `assumed ${assumptions.lcuPerHour} LCU an hour (--lcu) × ${HOURS_PER_MONTH} h`,
          });
          if (lb.internal !== true) {
            const subnets = (lb.subnets ?? []).length;
            add({
              id: "vpc.alb-ipv4",
              label: "Public IPv4 addresses of the ALB",
              price: "vpc.public-ipv4-hour",
              quantity: subnets * HOURS_PER_MONTH,
              unit: "address-h",
              scalesWithHost: false,
              basis: `internet-facing: one address in each of its ${plural(subnets, "subnet")} × ${HOURS_PER_MONTH} h`,
            });
            add({
              id: "transfer.browsers",
              label: "Data transfer out: ALB to the developers' browsers",
              price: "data-transfer.internet-out.gb",
              quantity: assumptions.egressGb,
              unit: "GB",
              scalesWithHost: false,
              basis: `assumed ${assumptions.egressGb} GB a month (--egress-gb)`,
            });
          }
        }
        break;
      }
      case "aws_secretsmanager_secret":
        add({
          id: "secrets",
          label: "Secrets Manager secrets",
          price: "secretsmanager.secret-month",
          quantity: n,
          unit: "secret-month",
          scalesWithHost: false,
          basis: `${plural(n, "aws_secretsmanager_secret")}`,
        });
        break;
      case "aws_kms_key":
        add({
          id: "kms",
          label: "KMS customer-managed keys",
          price: "kms.key-month",
          quantity: n,
          unit: "key-month",
          scalesWithHost: false,
          basis: `${plural(n, "aws_kms_key")}${all.some((k) => k.enable_key_rotation === true) ? "; rotation adds $1 a month per rotated key from the first anniversary (not included)" : ""}`,
        });
        break;
      case "aws_cloudwatch_log_group": {
        const developerGroups = all.filter((g) => g.tags?.developer).length;
        const hostGroups = n - developerGroups;
        const ingested = developerGroups * assumptions.logsGbPerDeveloper + (hostGroups > 0 ? assumptions.hostLogsGb : 0);
        add({
          id: "logs.ingest",
          label: "CloudWatch Logs ingestion",
          price: "cloudwatch.logs.ingest.gb",
          quantity: ingested,
          unit: "GB",
          scalesWithHost: true,
          basis: `${plural(developerGroups, "developer log group")} × ${assumptions.logsGbPerDeveloper} GB (--logs-gb-per-developer) + ${plural(hostGroups, "host log group")} together ${assumptions.hostLogsGb} GB (--host-logs-gb)`,
        });
        const retentionDays = Math.max(0, ...all.map((g) => resolveNumber(config, g.retention_in_days ?? 0)));
        add({
          id: "logs.storage",
          label: "CloudWatch Logs storage",
          price: "cloudwatch.logs.storage.gb-month",
          quantity: (ingested * retentionDays) / 30.4375,
          unit: "GB-month",
          scalesWithHost: true,
          basis: `a month's ingestion kept ${retentionDays} days (retention_in_days), uncompressed: an upper bound`,
        });
        break;
      }
      case "aws_cloudwatch_metric_alarm": {
        // A metric-math alarm is billed for each metric it reads.
        const metrics = all.reduce((s, a) => s + (a.metric_query ? a.metric_query.filter((q: TfBlock) => q.metric).length : 1), 0);
        add({
          id: "cloudwatch.alarms",
          label: "CloudWatch alarms",
          price: "cloudwatch.alarm-metric-month",
          quantity: metrics,
          unit: "alarm metric-month",
          scalesWithHost: false,
          basis: `${plural(n, "aws_cloudwatch_metric_alarm")} reading ${plural(metrics, "metric")}`,
        });
        break;
      }
      case "aws_cloudwatch_dashboard":
        add({
          id: "cloudwatch.dashboards",
          label: "CloudWatch dashboards",
          price: "cloudwatch.dashboard-month",
          quantity: n,
          unit: "dashboard-month",
          scalesWithHost: false,
          basis: plural(n, "aws_cloudwatch_dashboard"),
        });
        break;
      case "aws_route53_record":
        add({
          id: "route53.queries",
          label: "Route 53 DNS queries",
          price: "route53.queries.million",
          quantity: assumptions.dnsQueriesMillion,
          unit: "million queries",
          scalesWithHost: false,
          basis: `${plural(n, "record")} in the existing zone (hosted_zone_id); assumed ${assumptions.dnsQueriesMillion} million queries a month (--dns-queries-million)`,
        });
        break;
      case "aws_route53_zone":
        add({
          id: "route53.zones",
          label: "Route 53 hosted zones",
          price: "route53.hosted-zone-month",
          quantity: n,
          unit: "zone-month",
          scalesWithHost: false,
          basis: plural(n, "aws_route53_zone"),
        });
        break;
      case "aws_s3_bucket":
        add({
          id: "s3.storage",
          label: "S3 storage (host files, access logs, archives)",
          price: "s3.standard.gb-month",
          quantity: n * assumptions.s3GbPerBucket,
          unit: "GB-month",
          scalesWithHost: false,
          basis: `${plural(n, "bucket")} × ${assumptions.s3GbPerBucket} GB (--s3-gb-per-bucket), priced as Standard`,
        });
        break;
      case "aws_budgets_budget":
        add({
          id: "budgets",
          label: "AWS Budgets",
          price: "budgets.budget-month",
          quantity: n,
          unit: "budget-month",
          scalesWithHost: false,
          basis: plural(n, "aws_budgets_budget"),
        });
        break;
      case "aws_flow_log":
        add({
          id: "vpc.flow-logs",
          label: "VPC flow logs (vended log ingestion)",
          price: "cloudwatch.vended-logs.ingest.gb",
          quantity: n * assumptions.flowLogsGb,
          unit: "GB",
          scalesWithHost: false,
          basis: `${plural(n, "aws_flow_log")} × ${assumptions.flowLogsGb} GB a month (--flow-logs-gb)`,
        });
        break;
      case "aws_wafv2_web_acl": {
        // Rules come as rule blocks or, in the WAF API's own form, as rule_json.
        const rules = all.reduce((s, acl) => s + (acl.rule_json ? JSON.parse(String(acl.rule_json)).length : (acl.rule ?? []).length), 0);
        add({
          id: "waf.acls",
          label: "WAF web ACLs",
          price: "waf.web-acl-month",
          quantity: n,
          unit: "web ACL-month",
          scalesWithHost: false,
          basis: plural(n, "aws_wafv2_web_acl"),
        });
        add({
          id: "waf.rules",
          label: "WAF rules",
          price: "waf.rule-month",
          quantity: rules,
          unit: "rule-month",
          scalesWithHost: false,
          basis: `${plural(rules, "rule")} in the web ACLs`,
        });
        add({
          id: "waf.requests",
          label: "WAF requests",
          price: "waf.requests.million",
          quantity: n * assumptions.wafRequestsMillion,
          unit: "million requests",
          scalesWithHost: false,
          basis: `assumed ${assumptions.wafRequestsMillion} million requests a month per web ACL (--waf-requests-million)`,
        });
        break;
      }
      case "aws_scheduler_schedule":
        add({
          id: "scheduler",
          label: "EventBridge Scheduler invocations",
          price: "scheduler.invocations.million",
          // A schedule that starts or stops the host fires at most once a day.
          quantity: (n * 31) / 1e6,
          unit: "million invocations",
          scalesWithHost: false,
          basis: `${plural(n, "aws_scheduler_schedule")} × at most 31 runs a month`,
        });
        break;
      default:
        if (!NO_CHARGE_OF_THEIR_OWN.has(type)) unknown.push({ type, count: n });
    }
  }

  // Metrics the host publishes itself: the CloudWatch agent's series and the per-container metrics.
  const agent = hostFile(config, "cloudwatch-agent.json");
  const scripts = PER_DEVELOPER_METRIC_SCRIPTS.map((name) => hostFile(config, name)).filter((text) => text !== undefined);
  if (agent || scripts.length > 0) {
    const hostSeries = agent ? agentMetricSeries(agent) : 0;
    const perDeveloper = scripts.reduce((sum, text) => sum + containerMetricNames(text).length, 0);
    add({
      id: "cloudwatch.metrics",
      label: "CloudWatch custom metrics published by the host",
      price: "cloudwatch.metric-month",
      quantity: hostSeries + perDeveloper * fleet.developers.length,
      unit: "metric-month",
      scalesWithHost: true,
      basis: `${hostSeries} CloudWatch agent series + ${perDeveloper} container metrics × ${plural(fleet.developers.length, "developer")}`,
    });
  }

  const fallbackDataGb = Number((VARIABLES.data_volume_size_gb as { default: number }).default);
  return {
    usage,
    unknown,
    assumptions: { ...assumptions, dataVolumeGb: dataVolumeGb ?? fallbackDataGb },
  };
}
