/**
 * What `--update-prices` reads from the AWS Price List, whichever way it is read (the public
 * bulk offer files, `bulk-offers.ts`, or the Query API, `query-api.ts`): which products each
 * price comes from, and how a product's on-demand price dimensions become one unit price. Both
 * ways deliver the same products (a SKU's `productFamily`, `attributes` and its
 * `terms.OnDemand…priceDimensions`), so the same specs select the same figures from either.
 */
import { INSTANCE_TYPES } from "../roster";
import type { PriceId } from "./prices";

/** One on-demand price dimension: `usd` per `unit` for usage from `begin` to `end`. */
export interface Dimension {
  readonly unit: string;
  readonly usd: number;
  readonly begin: number;
  readonly end: number;
}

/** A Price List product, as far as this tool reads it. */
export interface Product {
  readonly family: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** On-demand price dimensions, lowest tier first. */
  readonly dimensions: readonly Dimension[];
}

/** The on-demand terms of one SKU, as both the bulk files and the Query API write them. */
export type OnDemandTerms = Readonly<
  Record<
    string,
    {
      readonly priceDimensions?: Readonly<
        Record<
          string,
          {
            readonly unit?: string;
            readonly beginRange?: string;
            readonly endRange?: string;
            readonly pricePerUnit?: { readonly USD?: string };
          }
        >
      >;
    }
  >
>;

/** The price dimensions of a SKU's on-demand terms, lowest tier first (the files do not order them). */
export function dimensionsOf(terms: OnDemandTerms | undefined): Dimension[] {
  return Object.values(terms ?? {})
    .flatMap((term) => Object.values(term.priceDimensions ?? {}))
    .map((d) => ({
      unit: d.unit ?? "",
      usd: Number(d.pricePerUnit?.USD),
      begin: Number(d.beginRange ?? 0),
      end: d.endRange === undefined || d.endRange === "Inf" ? Infinity : Number(d.endRange),
    }))
    .filter((d) => Number.isFinite(d.usd))
    .sort((a, b) => a.begin - b.begin);
}

/** The products of one service whose attributes equal `filters` (`{region}` is the region's code). */
export interface ProductQuery {
  readonly serviceCode: string;
  readonly filters: Readonly<Record<string, string>>;
  /** A global service: its products are in the service's file for all regions. @default "region" */
  readonly scope?: "region" | "global";
}

/** How one price is read from a query's products. */
export interface PriceSpec {
  readonly query: ProductQuery;
  /** Attributes the product must have (`productFamily` is the product's family). */
  readonly match: Readonly<Record<string, RegExp>>;
  /** Price List units this price may come in, each with the factor to the price file's unit. */
  readonly units: ReadonlyArray<readonly [RegExp, number]>;
  /** The unit written to the price file. */
  readonly unit: string;
}

const regional = (serviceCode: string, filters: Record<string, string> = {}): ProductQuery => ({
  serviceCode,
  filters: { regionCode: "{region}", ...filters },
});
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/**
 * A usage type, after the region's prefix when it has one (`APS3-LCUUsage`, `LCUUsage`): one
 * segment of capitals and digits, so `APS3-TS-LoadBalancerUsage` is not `LoadBalancerUsage`.
 */
const usage = (name: string) => new RegExp(`^([A-Z0-9]+-)?${escaped(name)}$`);
const MONTHLY: ReadonlyArray<readonly [RegExp, number]> = [[/^(mo|months?|.*-mo)$/i, 1]];
const HOURLY: ReadonlyArray<readonly [RegExp, number]> = [[/^(hrs?|hours?)$/i, 1]];
const PER_GB: ReadonlyArray<readonly [RegExp, number]> = [[/^gb$/i, 1]];
const PER_GB_MONTH: ReadonlyArray<readonly [RegExp, number]> = [[/^gb-mo(nth)?$/i, 1]];

/** EC2's Linux on-demand instances on shared hosts: one product per instance type. */
export const EC2_INSTANCES = regional("AmazonEC2", {
  productFamily: "Compute Instance",
  operatingSystem: "Linux",
  tenancy: "Shared",
  preInstalledSw: "NA",
  capacitystatus: "Used",
  marketoption: "OnDemand",
});
const CLOUDWATCH = regional("AmazonCloudWatch");

const FARGATE = regional("AmazonECS", { productFamily: "Compute" });
const FARGATE_HOURS: ReadonlyArray<readonly [RegExp, number]> = [[/^(hrs?|hours?|gb-hours?)$/i, 1]];
const EFS = regional("AmazonEFS");
/**
 * An EFS elastic-throughput usage type for `access` ("Read", "Write"), whatever the words around
 * it: an ambiguous match finds two products with different prices and gives no figure.
 */
const elastic = (access: string) => new RegExp(`^([A-Z0-9]+-)?[A-Za-z-]*ElasticThroughput[A-Za-z-]*${access}`, "i");

/** The ECS platform's prices: Fargate by architecture (Linux), EFS Standard and elastic throughput, its backups, NAT. */
const ECS_SPECS: Partial<Record<PriceId, PriceSpec>> = {
  "fargate.x86_64.vcpu-hour": {
    query: FARGATE,
    match: { usagetype: usage("Fargate-vCPU-Hours:perCPU") },
    units: FARGATE_HOURS,
    unit: "vCPU-hour",
  },
  "fargate.x86_64.gb-hour": { query: FARGATE, match: { usagetype: usage("Fargate-GB-Hours") }, units: FARGATE_HOURS, unit: "GB-hour" },
  "fargate.arm64.vcpu-hour": {
    query: FARGATE,
    match: { usagetype: usage("Fargate-ARM-vCPU-Hours:perCPU") },
    units: FARGATE_HOURS,
    unit: "vCPU-hour",
  },
  "fargate.arm64.gb-hour": { query: FARGATE, match: { usagetype: usage("Fargate-ARM-GB-Hours") }, units: FARGATE_HOURS, unit: "GB-hour" },
  "efs.standard.gb-month": {
    query: EFS,
    match: { productFamily: /^Storage$/, usagetype: usage("TimedStorage-ByteHrs") },
    units: PER_GB_MONTH,
    unit: "GB-month (Standard)",
  },
  "efs.elastic-read.gb": { query: EFS, match: { usagetype: elastic("Read") }, units: PER_GB, unit: "GB read (elastic throughput)" },
  "efs.elastic-write.gb": { query: EFS, match: { usagetype: elastic("Write") }, units: PER_GB, unit: "GB written (elastic throughput)" },
  "backup.efs.gb-month": {
    query: regional("AWSBackup", { productFamily: "AWS Backup Storage" }),
    match: { usagetype: usage("WarmStorage-ByteHrs-EFS") },
    units: PER_GB_MONTH,
    unit: "GB-month (warm backup storage)",
  },
  "vpc.nat-gateway-hour": {
    query: regional("AmazonEC2", { productFamily: "NAT Gateway" }),
    match: { usagetype: usage("NatGateway-Hours") },
    units: HOURLY,
    unit: "NAT gateway-hour",
  },
  "vpc.nat-gateway.gb": {
    query: regional("AmazonEC2", { productFamily: "NAT Gateway" }),
    match: { usagetype: usage("NatGateway-Bytes") },
    units: PER_GB,
    unit: "GB processed",
  },
};

/** Where each price the Price List has comes from; a price not listed here is not looked up. */
export const PRICE_SPECS: Partial<Record<PriceId, PriceSpec>> = {
  "ebs.gp3.gb-month": {
    query: regional("AmazonEC2", { productFamily: "Storage", volumeApiName: "gp3" }),
    match: {},
    units: PER_GB_MONTH,
    unit: "GB-month",
  },
  "ebs.snapshot.gb-month": {
    query: regional("AmazonEC2", { productFamily: "Storage Snapshot" }),
    match: { usagetype: usage("EBS:SnapshotUsage") },
    units: PER_GB_MONTH,
    unit: "GB-month",
  },
  "vpc.public-ipv4-hour": {
    query: regional("AmazonVPC"),
    match: { usagetype: usage("PublicIPv4:InUseAddress") },
    units: HOURLY,
    unit: "address-hour",
  },
  "elb.alb-hour": {
    query: regional("AWSELB", { productFamily: "Load Balancer-Application" }),
    match: { usagetype: usage("LoadBalancerUsage") },
    units: HOURLY,
    unit: "hour",
  },
  "elb.lcu-hour": {
    query: regional("AWSELB", { productFamily: "Load Balancer-Application" }),
    match: { usagetype: usage("LCUUsage") },
    units: [[/^(lcu-hrs|lcu-hours?|hrs)$/i, 1]],
    unit: "LCU-hour",
  },
  "data-transfer.internet-out.gb": {
    query: { serviceCode: "AWSDataTransfer", filters: { fromRegionCode: "{region}", transferType: "AWS Outbound" } },
    match: {},
    units: PER_GB,
    unit: "GB",
  },
  "secretsmanager.secret-month": {
    query: regional("AWSSecretsManager", { productFamily: "Secret" }),
    match: {},
    units: [[/^(secrets?|mo|months?)$/i, 1]],
    unit: "secret-month",
  },
  "kms.key-month": {
    query: regional("awskms", { productFamily: "Encryption Key" }),
    // KMS prefixes the region's code itself: `ap-southeast-7-KMS-Keys`.
    match: { usagetype: new RegExp(`(^|-)${escaped("KMS-Keys")}$`) },
    units: [[/^(keys?|mo|months?)$/i, 1]],
    unit: "key-month",
  },
  "cloudwatch.logs.ingest.gb": {
    query: CLOUDWATCH,
    match: { productFamily: /^Data Payload$/, usagetype: usage("DataProcessing-Bytes") },
    units: PER_GB,
    unit: "GB",
  },
  "cloudwatch.logs.storage.gb-month": {
    query: CLOUDWATCH,
    match: { productFamily: /^Storage Snapshot$/, usagetype: usage("TimedStorage-ByteHrs") },
    units: PER_GB_MONTH,
    unit: "GB-month",
  },
  "cloudwatch.metric-month": {
    query: CLOUDWATCH,
    match: { productFamily: /^Metric$/, usagetype: usage("CW:MetricMonitorUsage") },
    units: [[/^metrics?$/i, 1]],
    unit: "metric-month",
  },
  "cloudwatch.alarm-metric-month": {
    query: CLOUDWATCH,
    match: { productFamily: /^Alarm$/, usagetype: usage("CW:AlarmMonitorUsage") },
    units: [[/^alarms?$/i, 1]],
    unit: "alarm metric-month",
  },
  "cloudwatch.dashboard-month": {
    // Dashboards are priced once for every region, with no regionCode of their own.
    query: { serviceCode: "AmazonCloudWatch", filters: { productFamily: "Dashboard" } },
    match: { usagetype: /^DashboardsUsageHour(-Basic)?$/ },
    units: [[/^dashboards?$/i, 1], ...MONTHLY],
    unit: "dashboard-month",
  },
  "cloudwatch.vended-logs.ingest.gb": {
    query: CLOUDWATCH,
    match: { productFamily: /^Data Payload$/, usagetype: usage("VendedLog-Bytes") },
    units: PER_GB,
    unit: "GB",
  },
  "route53.hosted-zone-month": {
    query: { serviceCode: "AmazonRoute53", filters: { usagetype: "HostedZone" }, scope: "global" },
    match: {},
    units: [[/^(hostedzone|hosted zones?|zones?|mo|months?)$/i, 1]],
    unit: "hosted zone-month",
  },
  "route53.queries.million": {
    query: { serviceCode: "AmazonRoute53", filters: { usagetype: "DNS-Queries" }, scope: "global" },
    match: { routingType: /^Standard$/ },
    units: [[/^(queries|query)$/i, 1e6]],
    unit: "million queries",
  },
  "s3.standard.gb-month": {
    query: regional("AmazonS3", { storageClass: "General Purpose", volumeType: "Standard" }),
    match: { usagetype: usage("TimedStorage-ByteHrs") },
    units: PER_GB_MONTH,
    unit: "GB-month",
  },
  "waf.web-acl-month": {
    query: regional("awswaf"),
    match: { usagetype: usage("WebACLV2") },
    units: [[/^(webacl|web acls?|mo|months?)$/i, 1]],
    unit: "web ACL-month",
  },
  "waf.rule-month": {
    query: regional("awswaf"),
    match: { usagetype: usage("RuleV2") },
    units: [[/^(rules?|mo|months?)$/i, 1]],
    unit: "rule-month",
  },
  "waf.requests.million": {
    query: regional("awswaf"),
    match: { usagetype: usage("RequestV2-Tier1") },
    units: [[/^requests?$/i, 1e6]],
    unit: "million requests",
  },
  ...ECS_SPECS,
};

/** Prices the Price List has no product for, and why; their entries are left as they are. */
export const NOT_IN_THE_PRICE_LIST: Partial<Record<PriceId, string>> = {
  "ec2.detailed-monitoring-instance-month": "billed as CloudWatch custom metrics, not as a product of its own",
  "ec2.savings-plan-compute-1y-hour": "Savings Plans rates are in a separate price list, not the services' products",
  "scheduler.invocations.million": "no EventBridge Scheduler service code is known to this tool",
  "budgets.budget-month": "no AWS Budgets service code is known to this tool",
};

/** Every query the specs make, EC2's instances first. */
export const ALL_QUERIES: readonly ProductQuery[] = [EC2_INSTANCES, ...Object.values(PRICE_SPECS).map((s) => s.query)];

/** Whether `product` has every attribute `query` asks for (`productFamily` is the product's family). */
export function matchesQuery(product: Product, query: ProductQuery, region: string): boolean {
  return Object.entries(query.filters).every(
    ([field, value]) => (field === "productFamily" ? product.family : product.attributes[field]) === value.replace("{region}", region),
  );
}

/** The first paid tier: the free tier, when the price list carries one, is not the unit price. */
function firstPaid(product: Product): Dimension | undefined {
  return product.dimensions.find((d) => d.usd > 0);
}

const tierNote = (d: Dimension, unit: string) =>
  d.begin === 0 && d.end === Infinity ? unit : `${unit} (tiered: the ${d.begin}–${d.end === Infinity ? "∞" : d.end} tier)`;

/** A figure read from the Price List, before it gets its source. */
export type Figure =
  { readonly usd: number; readonly unit: string } | { readonly unit: string; readonly byInstanceType: Record<string, number> };

export interface Figures {
  readonly figures: ReadonlyMap<PriceId, Figure>;
  /** Prices the products gave no figure for, with why. */
  readonly missing: readonly { readonly id: PriceId; readonly reason: string }[];
  readonly instanceTypes: number;
}

/** EC2's hourly on-demand rates of the roster's built-in instance types. */
function instanceRates(products: readonly Product[]): { rates: Record<string, number>; conflicts: string[] } {
  const rates: Record<string, number> = {};
  const conflicts = new Set<string>();
  for (const product of products) {
    const type = product.attributes.instanceType;
    const price = firstPaid(product);
    if (!type || !INSTANCE_TYPES.has(type) || !price || !HOURLY[0][0].test(price.unit)) continue;
    if (type in rates && rates[type] !== price.usd) conflicts.add(type);
    rates[type] = price.usd;
  }
  for (const type of conflicts) delete rates[type];
  const sorted = Object.entries(rates).sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }));
  return { rates: Object.fromEntries(sorted), conflicts: [...conflicts] };
}

/** The figure of one spec, or why there is none. */
function figureOf(spec: PriceSpec, products: readonly Product[]): Figure | string {
  const candidates = products.filter((p) =>
    Object.entries(spec.match).every(([attribute, pattern]) =>
      pattern.test(attribute === "productFamily" ? p.family : (p.attributes[attribute] ?? "")),
    ),
  );
  const priced = candidates.flatMap((p) => {
    const price = firstPaid(p);
    return price ? [price] : [];
  });
  if (priced.length === 0) return candidates.length === 0 ? "no matching product" : "no paid price dimension";
  const distinct = new Set(priced.map((d) => `${d.usd}/${d.unit}`));
  if (distinct.size > 1) return `${priced.length} matching products with different prices (${[...distinct].join(", ")})`;
  const price = priced[0];
  const factor = spec.units.find(([pattern]) => pattern.test(price.unit))?.[1];
  if (factor === undefined) return `priced per "${price.unit}", a unit this tool does not convert to ${spec.unit}`;
  return { usd: +(price.usd * factor).toPrecision(12), unit: tierNote(price, spec.unit) };
}

/** Every figure the specs select from the products `productsOf` gives for each query. */
export function readFigures(productsOf: (query: ProductQuery) => readonly Product[]): Figures {
  const figures = new Map<PriceId, Figure>();
  const missing: { id: PriceId; reason: string }[] = [];
  const { rates, conflicts } = instanceRates(productsOf(EC2_INSTANCES));
  if (Object.keys(rates).length > 0) figures.set("ec2.instance-hour", { unit: "instance-hour", byInstanceType: rates });
  else missing.push({ id: "ec2.instance-hour", reason: "no Linux on-demand instance of the built-in types" });
  if (conflicts.length > 0) {
    missing.push({ id: "ec2.instance-hour", reason: `several products with different rates for ${conflicts.join(", ")} (left out)` });
  }
  for (const [id, spec] of Object.entries(PRICE_SPECS) as [PriceId, PriceSpec][]) {
    const figure = figureOf(spec, productsOf(spec.query));
    if (typeof figure === "string") missing.push({ id, reason: figure });
    else figures.set(id, figure);
  }
  return { figures, missing, instanceTypes: Object.keys(rates).length };
}
