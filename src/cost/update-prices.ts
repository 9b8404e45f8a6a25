/**
 * `npm run cost -- --update-prices <region>`: rewrites `prices/<region>.json` from the AWS Price
 * List Query API (`aws pricing get-products`, with the operator's own credentials). Each figure
 * it finds is the on-demand USD price of the one product its query and match select, with this
 * API and the date as its source; a figure it cannot find keeps what the file had (a figure with
 * its own source, or `unpriced` with the reason). The file is validated before it replaces the
 * old one, and is replaced whole or not at all.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { INSTANCE_TYPES } from "../roster";
import { parsePriceFile, PRICE_IDS, PRICES_DIR, PriceError, type PriceEntry, type PriceId } from "./prices";

/** The Price List Query API answers from these regions only; the nearest is used. */
export function pricingEndpointRegion(region: string): string {
  if (region.startsWith("ap-")) return "ap-south-1";
  if (region.startsWith("eu-") || region.startsWith("me-") || region.startsWith("af-") || region.startsWith("il-")) return "eu-central-1";
  return "us-east-1";
}

/** One `get-products` call: a service code and TERM_MATCH filters (`{region}` is the region's code). */
interface Query {
  readonly serviceCode: string;
  readonly filters: Readonly<Record<string, string>>;
}

/** How one price is read from a query's products. */
interface PriceSpec {
  readonly query: Query;
  /** Attributes the product must have (`productFamily` is the product's family). */
  readonly match: Readonly<Record<string, RegExp>>;
  /** Price List units this price may come in, each with the factor to the price file's unit. */
  readonly units: ReadonlyArray<readonly [RegExp, number]>;
  /** The unit written to the price file. */
  readonly unit: string;
}

const regional = (serviceCode: string, filters: Record<string, string> = {}): Query => ({
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

const EC2_INSTANCES = regional("AmazonEC2", {
  productFamily: "Compute Instance",
  operatingSystem: "Linux",
  tenancy: "Shared",
  preInstalledSw: "NA",
  capacitystatus: "Used",
  marketoption: "OnDemand",
});
const CLOUDWATCH = regional("AmazonCloudWatch");

/** Where each price the API has comes from; a price not listed here is not looked up. */
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
    // Dashboards are priced once for every region.
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
    query: { serviceCode: "AmazonRoute53", filters: { usagetype: "HostedZone" } },
    match: {},
    units: [[/^(hostedzone|hosted zones?|zones?|mo|months?)$/i, 1]],
    unit: "hosted zone-month",
  },
  "route53.queries.million": {
    query: { serviceCode: "AmazonRoute53", filters: { usagetype: "DNS-Queries" } },
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
};

/** Prices the Query API has no product for, and why; their entries are left as they are. */
export const NOT_IN_THE_QUERY_API: Partial<Record<PriceId, string>> = {
  "ec2.detailed-monitoring-instance-month": "billed as CloudWatch custom metrics, not as a product of its own",
  "ec2.savings-plan-compute-1y-hour": "Savings Plans rates are in a separate price list, not the Query API's products",
  "scheduler.invocations.million": "no EventBridge Scheduler service code is known to this tool",
  "budgets.budget-month": "no AWS Budgets service code is known to this tool",
};

/** What one `get-products` product says, as far as this tool reads it. */
interface Product {
  readonly family: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly publicationDate?: string;
  /** On-demand price dimensions, lowest tier first. */
  readonly dimensions: readonly { readonly unit: string; readonly usd: number; readonly begin: number; readonly end: number }[];
}

/** Runs the AWS CLI; returns its standard output or throws a PriceError saying what went wrong. */
export type AwsCli = (args: readonly string[]) => string;

export function awsCli(env: NodeJS.ProcessEnv): AwsCli {
  return (args) => {
    const result = spawnSync("aws", [...args], { env, encoding: "utf8", maxBuffer: 512 * 1024 * 1024 });
    if (result.error) {
      const missing = (result.error as NodeJS.ErrnoException).code === "ENOENT";
      throw new PriceError(
        missing
          ? "the AWS CLI (aws) is required to read the Price List Query API: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"
          : `aws ${args.slice(0, 2).join(" ")}: ${result.error.message}`,
      );
    }
    if (result.status !== 0) {
      throw new PriceError(`aws ${args.slice(0, 2).join(" ")} failed (exit ${result.status}): ${result.stderr.trim() || "no message"}`);
    }
    return result.stdout;
  };
}

/** The part of a Price List product (format aws_v1) this tool reads. */
interface PriceListItem {
  readonly product?: { readonly productFamily?: string; readonly attributes?: Record<string, string> };
  readonly publicationDate?: string;
  readonly terms?: {
    readonly OnDemand?: Record<
      string,
      {
        readonly priceDimensions?: Record<
          string,
          {
            readonly unit?: string;
            readonly beginRange?: string;
            readonly endRange?: string;
            readonly pricePerUnit?: { readonly USD?: string };
          }
        >;
      }
    >;
  };
}

function parseProducts(stdout: string, what: string): Product[] {
  let answer: { PriceList?: unknown };
  try {
    answer = JSON.parse(stdout) as { PriceList?: unknown };
  } catch {
    throw new PriceError(`${what}: the answer is not JSON`);
  }
  if (!Array.isArray(answer.PriceList)) throw new PriceError(`${what}: the answer has no PriceList`);
  // Each entry is a product as a JSON string.
  return answer.PriceList.map((entry: unknown) => {
    const item = (typeof entry === "string" ? JSON.parse(entry) : entry) as PriceListItem;
    const dimensions = Object.values(item.terms?.OnDemand ?? {})
      .flatMap((term) => Object.values(term.priceDimensions ?? {}))
      .map((d) => ({
        unit: d.unit ?? "",
        usd: Number(d.pricePerUnit?.USD),
        begin: Number(d.beginRange ?? 0),
        end: d.endRange === undefined || d.endRange === "Inf" ? Infinity : Number(d.endRange),
      }))
      .filter((d) => Number.isFinite(d.usd))
      .sort((a, b) => a.begin - b.begin);
    return {
      family: item.product?.productFamily ?? "",
      attributes: item.product?.attributes ?? {},
      publicationDate: item.publicationDate,
      dimensions,
    };
  });
}

/** The first paid tier: the free tier, when the price list carries one, is not the unit price. */
function firstPaid(product: Product) {
  return product.dimensions.find((d) => d.usd > 0);
}

const tierNote = (d: { begin: number; end: number }, unit: string) =>
  d.begin === 0 && d.end === Infinity ? unit : `${unit} (tiered: the ${d.begin}–${d.end === Infinity ? "∞" : d.end} tier)`;

export interface UpdateResult {
  readonly file: string;
  /** Price ids whose figure now comes from the Query API. */
  readonly found: readonly PriceId[];
  /** Price ids the API gave no figure for, with why; their entries were kept. */
  readonly missing: readonly { readonly id: PriceId; readonly reason: string }[];
  readonly instanceTypes: number;
}

export interface UpdateOptions {
  readonly aws: AwsCli;
  /** @default PRICES_DIR */
  readonly dir?: string;
  /** The date the figures are read, YYYY-MM-DD. @default today (UTC) */
  readonly today?: string;
}

/** Reads every price the Query API has for `region` and rewrites its price file. */
export function updatePrices(region: string, options: UpdateOptions): UpdateResult {
  const dir = options.dir ?? PRICES_DIR;
  const today = options.today ?? new Date().toISOString().slice(0, 10);
  const endpoint = pricingEndpointRegion(region);
  const file = join(dir, `${region}.json`);
  const shown = relative(process.cwd(), file) || file;

  const cache = new Map<string, Product[]>();
  const publicationDates: string[] = [];
  const products = (query: Query): Product[] => {
    const filters = Object.entries(query.filters).map(([Field, Value]) => ({
      Type: "TERM_MATCH",
      Field,
      Value: Value.replace("{region}", region),
    }));
    const key = JSON.stringify([query.serviceCode, filters]);
    let found = cache.get(key);
    if (!found) {
      const what = `aws pricing get-products --service-code ${query.serviceCode}`;
      found = parseProducts(
        options.aws([
          "pricing",
          "get-products",
          "--region",
          endpoint,
          "--service-code",
          query.serviceCode,
          "--format-version",
          "aws_v1",
          "--filters",
          JSON.stringify(filters),
          "--output",
          "json",
        ]),
        what,
      );
      for (const p of found) if (p.publicationDate) publicationDates.push(p.publicationDate.slice(0, 10));
      cache.set(key, found);
    }
    return found;
  };

  const figures = new Map<PriceId, PriceEntry>();
  const missing: { id: PriceId; reason: string }[] = [];

  // EC2 instances: one price per type of the roster's built-in table.
  const byInstanceType: Record<string, number> = {};
  for (const product of products(EC2_INSTANCES)) {
    const type = product.attributes.instanceType;
    const price = firstPaid(product);
    if (type && INSTANCE_TYPES.has(type) && price && /^hrs?$/i.test(price.unit)) byInstanceType[type] = price.usd;
  }
  if (Object.keys(byInstanceType).length > 0) {
    const sorted = Object.fromEntries(Object.entries(byInstanceType).sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true })));
    figures.set("ec2.instance-hour", { unit: "instance-hour", source: SOURCE_ID, byInstanceType: sorted });
  } else {
    missing.push({ id: "ec2.instance-hour", reason: "no Linux on-demand instance of the built-in types" });
  }

  for (const [id, spec] of Object.entries(PRICE_SPECS) as [PriceId, PriceSpec][]) {
    const candidates = products(spec.query).filter((p) =>
      Object.entries(spec.match).every(([attribute, pattern]) =>
        pattern.test(attribute === "productFamily" ? p.family : (p.attributes[attribute] ?? "")),
      ),
    );
    const priced = candidates
      .map((p) => ({ product: p, price: firstPaid(p) }))
      .filter((c): c is { product: Product; price: NonNullable<ReturnType<typeof firstPaid>> } => c.price !== undefined);
    const distinct = new Set(priced.map((c) => `${c.price.usd}/${c.price.unit}`));
    if (priced.length === 0) {
      missing.push({ id, reason: candidates.length === 0 ? "no matching product" : "no paid price dimension" });
      continue;
    }
    if (distinct.size > 1) {
      missing.push({ id, reason: `${priced.length} matching products with different prices (${[...distinct].join(", ")})` });
      continue;
    }
    const { price } = priced[0];
    const factor = spec.units.find(([pattern]) => pattern.test(price.unit))?.[1];
    if (factor === undefined) {
      missing.push({ id, reason: `priced per "${price.unit}", a unit this tool does not convert to ${spec.unit}` });
      continue;
    }
    figures.set(id, { usd: +(price.usd * factor).toPrecision(12), unit: tierNote(price, spec.unit), source: SOURCE_ID });
  }

  // The new file: found figures from the API; everything else as the old file had it.
  const old = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as OldFile) : undefined;
  const prices: Record<string, PriceEntry> = {};
  for (const id of PRICE_IDS) {
    const before = old?.prices?.[id];
    const found = figures.get(id);
    const notLookedUp = NOT_IN_THE_QUERY_API[id];
    const reason = missing.find((m) => m.id === id)?.reason ?? notLookedUp ?? "not looked up";
    if (found) prices[id] = found;
    // A figure with its own source stands until the API gives one; so does the reason for one never looked up.
    else if (before && ("source" in before || (notLookedUp && "unpriced" in before))) prices[id] = before;
    else prices[id] = { unpriced: `the AWS Price List Query API gave no figure on ${today}: ${reason}` };
  }
  const used = new Set(Object.values(prices).flatMap((p) => ("source" in p ? [p.source] : [])));
  const sources: Record<string, unknown> = {};
  for (const [sourceId, source] of Object.entries(old?.sources ?? {})) if (used.has(sourceId)) sources[sourceId] = source;
  if (used.has(SOURCE_ID)) {
    const dates = [...new Set(publicationDates)].sort();
    sources[SOURCE_ID] = {
      description: `AWS Price List Query API (pricing:GetProducts through the AWS CLI, endpoint ${endpoint}), read with the operator's credentials by npm run cost -- --update-prices ${region}: the on-demand USD price of the product each query selects (service codes ${[...new Set([EC2_INSTANCES, ...Object.values(PRICE_SPECS).map((s) => s.query)].map((q) => q.serviceCode))].join(", ")}), the first paid tier where prices are tiered; products published ${dates.length ? `${dates[0]} to ${dates[dates.length - 1]}` : "on undated offers"}`,
      url: "https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html",
      asOf: dates.length ? dates[dates.length - 1] : null,
      read: today,
    };
  }
  const content = {
    region,
    currency: "USD",
    note:
      old?.note ??
      "Unit prices for `npm run cost`, each with its source and the date it was read. A price that no source gave is `unpriced` with the reason: the report lists it as unpriced, never as a guess. Validated by src/cost/prices.ts.",
    sources,
    prices,
  };
  parsePriceFile(content, shown, region);
  const staging = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(staging, `${JSON.stringify(content, null, 2)}\n`);
    renameSync(staging, file);
  } finally {
    rmSync(staging, { force: true });
  }
  return { file, found: [...figures.keys()], missing, instanceTypes: Object.keys(byInstanceType).length };
}

/** The source id the Query API's figures cite in the price file. */
export const SOURCE_ID = "priceListQueryApi";

type OldFile = { note?: string; sources?: Record<string, unknown>; prices?: Record<string, PriceEntry> };
