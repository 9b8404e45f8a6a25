/**
 * The monthly bill of a roster as synthesized: quantities from the stack (`inventory.ts`) times
 * unit prices from the region's price file (`prices.ts`), always on and under a schedule.
 */
import type { Fleet } from "../roster";
import { synthConfig } from "../app";
import type { TerraformJson } from "../terraform/plan-json";
import { inventory, type UnknownResource, type UsageAssumptions } from "./inventory";
import { loadPrices, type PriceBook, type PriceSource } from "./prices";
import { HOURS_PER_WEEK, hoursPerWeek, type CostSchedule } from "./schedule";

export interface CostOptions {
  /** Region whose prices apply. @default - the roster's region */
  readonly region?: string;
  /** When the host runs. @default - always (168 hours a week) */
  readonly schedule?: CostSchedule;
  /** Usage the stack does not say. @default DEFAULT_ASSUMPTIONS */
  readonly assumptions?: Partial<UsageAssumptions>;
  /** The stack's Terraform JSON, when already synthesized. @default - synthesized from `fleet` */
  readonly config?: TerraformJson;
  /** Price files to use. @default - `loadPrices(region)` */
  readonly prices?: PriceBook;
}

export interface CostLine {
  readonly id: string;
  readonly description: string;
  readonly quantity: number;
  readonly unit: string;
  /** Null when the price file has no figure for it. */
  readonly unitPriceUsd: number | null;
  readonly monthlyUsd: number | null;
  /** Monthly cost under the schedule (equal to `monthlyUsd` without one). */
  readonly scheduledUsd: number | null;
  readonly scalesWithHost: boolean;
  readonly basis: string;
  /** The price's source id in the price file, or why it is unpriced. */
  readonly source: string;
  readonly unpricedReason?: string;
}

export interface Bill {
  readonly currency: "USD";
  readonly region: string;
  readonly developers: number;
  /** The host's instance type, when a host runs. */
  readonly instanceType?: string;
  /** Where the developers run, in a few words: "host t3.2xlarge", "ECS Fargate, 8 tasks". */
  readonly runsOn: string;
  /** The serving platform: what the schedule starts and stops, as the reports word it. */
  readonly platform: Fleet["platform"];
  readonly monthly: { readonly total: number; readonly perDeveloper: number; readonly lines: readonly CostLine[] };
  readonly scheduled: { readonly total: number; readonly perDeveloper: number; readonly hoursPerWeek: number };
  /** Lines and resource types the totals leave out because no price is known. */
  readonly unpriced: readonly string[];
  /**
   * Whether every line is priced and every resource type known. When not, the totals are the sum
   * of the priced lines: a floor of the bill, never the bill, and the reports say so.
   */
  readonly complete: boolean;
  readonly unknownResources: readonly UnknownResource[];
  readonly assumptions: Required<UsageAssumptions>;
  readonly sources: Readonly<Record<string, PriceSource>>;
  readonly pricesFile: string;
}

const cents = (usd: number) => Math.round(usd * 100) / 100;

/** Report order: the host first, then storage, network, security, observability. */
const LINE_ORDER = [
  "ec2.host",
  "fargate.vcpu",
  "fargate.memory",
  "ec2.detailed-monitoring",
  "ebs.root",
  "ebs.data",
  "ebs.snapshots",
  "efs.storage",
  "efs.reads",
  "efs.writes",
  "efs.backups",
  "vpc.host-ipv4",
  "vpc.task-ipv4",
  "vpc.nat-hours",
  "vpc.nat-data",
  "vpc.eip-ipv4",
  "elb.alb-hours",
  "elb.lcu",
  "vpc.alb-ipv4",
  "transfer.browsers",
  "transfer.api",
  "transfer.tasks",
  "secrets",
  "kms",
  "logs.ingest",
  "logs.storage",
  "cloudwatch.metrics",
  "cloudwatch.container-insights",
  "cloudwatch.alarms",
  "cloudwatch.dashboards",
  "route53.zones",
  "route53.queries",
  "s3.storage",
  "vpc.flow-logs",
  "waf.acls",
  "waf.rules",
  "waf.requests",
  "scheduler",
  "budgets",
];
// A line of one architecture among several ("fargate.vcpu.arm64") ranks with its kind.
const rank = (id: string) => {
  const at = LINE_ORDER.findIndex((known) => id === known || id.startsWith(`${known}.`));
  return at < 0 ? LINE_ORDER.length : at;
};

/** "host t3.2xlarge", "ECS Fargate, 8 tasks", or both during a migration. */
function runsOn(fleet: Fleet): string {
  const where = [
    ...(fleet.host ? [`host ${fleet.host.instanceType}`] : []),
    ...(fleet.ecs ? [`ECS Fargate, ${fleet.developers.length} task${fleet.developers.length === 1 ? "" : "s"}`] : []),
  ];
  return where.join(" and ");
}

/** The monthly bill of `fleet`, always on and under `options.schedule`. */
export function monthlyCost(fleet: Fleet, options: CostOptions = {}): Bill {
  const region = options.region ?? fleet.region;
  const prices = options.prices ?? loadPrices(region);
  const config = options.config ?? synthConfig(fleet);
  const weekHours = hoursPerWeek(options.schedule);
  const share = weekHours / HOURS_PER_WEEK;
  const { usage, unknown, assumptions } = inventory(config, fleet, options.assumptions);

  const lines: CostLine[] = [...usage]
    .sort((a, b) => rank(a.id) - rank(b.id))
    .map((u) => {
      const price = prices.get(u.price, u.instanceType);
      const base = { id: u.id, description: u.label, quantity: u.quantity, unit: u.unit, scalesWithHost: u.scalesWithHost, basis: u.basis };
      if (!price.priced) {
        return { ...base, unitPriceUsd: null, monthlyUsd: null, scheduledUsd: null, source: "unpriced", unpricedReason: price.reason };
      }
      const monthly = u.quantity * price.usd;
      return {
        ...base,
        unitPriceUsd: price.usd,
        monthlyUsd: cents(monthly),
        scheduledUsd: cents(u.scalesWithHost ? monthly * share : monthly),
        source: price.source.id,
      };
    });

  const total = cents(lines.reduce((s, l) => s + (l.monthlyUsd ?? 0), 0));
  const scheduledTotal = cents(lines.reduce((s, l) => s + (l.scheduledUsd ?? 0), 0));
  const developers = fleet.developers.length;
  return {
    currency: "USD",
    region,
    developers,
    instanceType: fleet.host?.instanceType,
    runsOn: runsOn(fleet),
    platform: fleet.platform,
    monthly: { total, perDeveloper: cents(total / developers), lines },
    scheduled: { total: scheduledTotal, perDeveloper: cents(scheduledTotal / developers), hoursPerWeek: weekHours },
    unpriced: [
      ...lines.filter((l) => l.monthlyUsd === null).map((l) => l.description),
      ...unknown.map((u) => `${u.type} × ${u.count} (resource type unknown to the cost model)`),
    ],
    unknownResources: unknown,
    complete: unknown.length === 0 && lines.every((l) => l.monthlyUsd !== null),
    assumptions,
    sources: prices.sources,
    pricesFile: prices.file,
  };
}

/**
 * The `--json` shape: exactly currency, region, developers, complete, unpriced, monthly and
 * scheduled. The totals are the sums of the priced lines, as in the text report: with `complete`
 * false they are floors of the bill, and `unpriced` names what they leave out (the lines whose
 * `monthlyUsd` is null, and resource types the cost model does not know); empty when complete.
 */
export function billJson(bill: Bill) {
  return {
    currency: bill.currency,
    region: bill.region,
    developers: bill.developers,
    complete: bill.complete,
    unpriced: bill.unpriced,
    monthly: { total: bill.monthly.total, perDeveloper: bill.monthly.perDeveloper, lines: bill.monthly.lines },
    scheduled: { total: bill.scheduled.total, perDeveloper: bill.scheduled.perDeveloper, hoursPerWeek: bill.scheduled.hoursPerWeek },
  };
}
