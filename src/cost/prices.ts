/**
 * Unit prices per region, one data file each in `prices/<region>.json`, validated on load. Every
 * price the cost model knows must be in every file, either with a figure and the source it came
 * from, or explicitly `unpriced` with the reason: a missing figure is reported, never guessed.
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { z } from "zod";

/** Where the price files live: `prices/` at the project root. */
export const PRICES_DIR = join(__dirname, "..", "..", "prices");

/** Every unit price the cost model uses, by id. */
export const PRICE_IDS = [
  "ec2.instance-hour",
  "ec2.detailed-monitoring-instance-month",
  "ec2.savings-plan-compute-1y-hour",
  "ebs.gp3.gb-month",
  "ebs.snapshot.gb-month",
  "vpc.public-ipv4-hour",
  "elb.alb-hour",
  "elb.lcu-hour",
  "data-transfer.internet-out.gb",
  "secretsmanager.secret-month",
  "kms.key-month",
  "cloudwatch.logs.ingest.gb",
  "cloudwatch.logs.storage.gb-month",
  "cloudwatch.metric-month",
  "cloudwatch.alarm-metric-month",
  "cloudwatch.dashboard-month",
  "cloudwatch.vended-logs.ingest.gb",
  "route53.hosted-zone-month",
  "route53.queries.million",
  "s3.standard.gb-month",
  "waf.web-acl-month",
  "waf.rule-month",
  "waf.requests.million",
  "scheduler.invocations.million",
  "budgets.budget-month",
  "fargate.x86_64.vcpu-hour",
  "fargate.x86_64.gb-hour",
  "fargate.arm64.vcpu-hour",
  "fargate.arm64.gb-hour",
  "efs.standard.gb-month",
  "efs.elastic-read.gb",
  "efs.elastic-write.gb",
  "backup.efs.gb-month",
  "vpc.nat-gateway-hour",
  "vpc.nat-gateway.gb",
] as const;
export type PriceId = (typeof PRICE_IDS)[number];

/** Prices that differ per EC2 instance type. */
const PER_INSTANCE_TYPE: ReadonlySet<PriceId> = new Set(["ec2.instance-hour", "ec2.savings-plan-compute-1y-hour"]);

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { message: "dates are YYYY-MM-DD" });
const usd = z.number().nonnegative().finite();

const sourceSchema = z.strictObject({
  /** What the figures are and where exactly they were read (page, file and commit, quoted wording). */
  description: z.string().min(20),
  url: z.url(),
  /** Date the source gives for its figures; null when the source is undated. */
  asOf: isoDate.nullable(),
  /** Date the figures were read from the source. */
  read: isoDate,
});

const unpricedSchema = z.strictObject({ unpriced: z.string().min(10) });
const flatSchema = z.strictObject({ usd, unit: z.string().min(1), source: z.string() });
const byTypeSchema = z.strictObject({
  unit: z.string().min(1),
  source: z.string(),
  byInstanceType: z.record(z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/), usd),
});

const priceFileSchema = z
  .strictObject({
    region: z.string(),
    currency: z.literal("USD"),
    note: z.string().optional(),
    sources: z.record(z.string(), sourceSchema),
    prices: z.strictObject(
      Object.fromEntries(
        PRICE_IDS.map((id) => [
          id,
          PER_INSTANCE_TYPE.has(id) ? z.union([byTypeSchema, unpricedSchema]) : z.union([flatSchema, unpricedSchema]),
        ]),
      ) as unknown as Record<PriceId, z.ZodType<PriceEntry>>,
    ),
  })
  .superRefine((file, ctx) => {
    for (const [id, entry] of Object.entries(file.prices) as [PriceId, PriceEntry][]) {
      if ("source" in entry && !(entry.source in file.sources)) {
        ctx.addIssue({ code: "custom", path: ["prices", id, "source"], message: `source "${entry.source}" is not listed under "sources"` });
      }
    }
  });

export type PriceSource = z.infer<typeof sourceSchema>;
export type PriceEntry = z.infer<typeof unpricedSchema> | z.infer<typeof flatSchema> | z.infer<typeof byTypeSchema>;

/** A resolved unit price, or the reason there is none. */
export type UnitPrice =
  | { readonly priced: true; readonly usd: number; readonly unit: string; readonly source: PriceSource & { readonly id: string } }
  | { readonly priced: false; readonly reason: string };

export class PriceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PriceError";
  }
}

export class PriceBook {
  constructor(
    readonly region: string,
    readonly file: string,
    private readonly data: z.infer<typeof priceFileSchema>,
  ) {}

  /** The unit price `id` (for a given instance type when the price depends on it). */
  get(id: PriceId, instanceType?: string): UnitPrice {
    const entry = this.data.prices[id];
    if ("unpriced" in entry) return { priced: false, reason: entry.unpriced };
    const source = { id: entry.source, ...this.data.sources[entry.source] };
    if ("byInstanceType" in entry) {
      if (!instanceType) throw new Error(`price ${id} depends on the instance type`);
      const value = entry.byInstanceType[instanceType];
      return value === undefined
        ? { priced: false, reason: `${relative(process.cwd(), this.file)} has no ${id} price for ${instanceType}` }
        : { priced: true, usd: value, unit: entry.unit, source };
    }
    return { priced: true, usd: entry.usd, unit: entry.unit, source };
  }

  /** Every source the file cites, by id. */
  get sources(): Readonly<Record<string, PriceSource>> {
    return this.data.sources;
  }
}

/** Regions that have a price file, sorted. */
export function pricedRegions(dir = PRICES_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => basename(f, ".json"))
    .sort();
}

/** Loads and validates `prices/<region>.json`; a region without a file is an error naming those that have one. */
export function loadPrices(region: string, dir = PRICES_DIR): PriceBook {
  const regions = pricedRegions(dir);
  if (!regions.includes(region)) {
    throw new PriceError(
      `no prices for region ${region}: ${relative(process.cwd(), dir) || dir}/ has ${regions.join(", ")}. ` +
        `Create ${region}.json with npm run cost -- --update-prices ${region} (it reads AWS's public price list), or price the roster in one of those (--region).`,
    );
  }
  const file = join(dir, `${region}.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new PriceError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  return parsePriceFile(raw, file, region);
}

/** Validates the content of a price file (`file` names it in messages) for `region`. */
export function parsePriceFile(raw: unknown, file: string, region: string): PriceBook {
  const listed = (raw as { prices?: Record<string, unknown> })?.prices ?? {};
  const missing = PRICE_IDS.filter((id) => !(id in listed));
  if (missing.length > 0) {
    throw new PriceError(
      `${file}: no entry for ${missing.join(", ")}: give each a price with its source, or {"unpriced": "<why no source gives one>"}`,
    );
  }
  const parsed = priceFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(file)"}: ${i.message}`);
    throw new PriceError(`${file}: ${issues.length} problem(s) in the price file:\n${issues.join("\n")}`);
  }
  if (parsed.data.region !== region) {
    throw new PriceError(`${file}: says region "${parsed.data.region}" but is the file for ${region}`);
  }
  return new PriceBook(region, file, parsed.data);
}
