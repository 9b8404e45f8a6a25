/**
 * The AWS Price List Query API (`aws pricing get-products`, with the operator's own credentials,
 * which need `pricing:GetProducts`) as a source of `--update-prices`: one call per query, with
 * TERM_MATCH filters on the query's attributes. `npm run cost -- --update-prices <region>
 * --query-api` uses it; the default is the public bulk offer files (`bulk-offers.ts`).
 */
import { spawnSync } from "node:child_process";
import { dimensionsOf, type OnDemandTerms, type Product, type ProductQuery } from "./price-list";
import { PriceError } from "./prices";
import type { PriceListSource } from "./update-prices";

/** The Price List Query API answers from these regions only; the nearest is used. */
export function pricingEndpointRegion(region: string): string {
  if (region.startsWith("ap-")) return "ap-south-1";
  if (region.startsWith("eu-") || region.startsWith("me-") || region.startsWith("af-") || region.startsWith("il-")) return "eu-central-1";
  return "us-east-1";
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
          ? "the AWS CLI (aws) is required to read the Price List Query API: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html (or leave out --query-api to read the public bulk offer files)"
          : `aws ${args.slice(0, 2).join(" ")}: ${result.error.message}`,
      );
    }
    if (result.status !== 0) {
      throw new PriceError(`aws ${args.slice(0, 2).join(" ")} failed (exit ${result.status}): ${result.stderr.trim() || "no message"}`);
    }
    return result.stdout;
  };
}

/** The part of a Query API product (format aws_v1) this tool reads. */
interface PriceListItem {
  readonly product?: { readonly productFamily?: string; readonly attributes?: Record<string, string> };
  readonly publicationDate?: string;
  readonly terms?: { readonly OnDemand?: OnDemandTerms };
}

function parseAnswer(stdout: string, what: string): { products: Product[]; dates: string[] } {
  let answer: { PriceList?: unknown };
  try {
    answer = JSON.parse(stdout) as { PriceList?: unknown };
  } catch {
    throw new PriceError(`${what}: the answer is not JSON`);
  }
  if (!Array.isArray(answer.PriceList)) throw new PriceError(`${what}: the answer has no PriceList`);
  // Each entry is a product as a JSON string.
  const items = answer.PriceList.map((entry: unknown) => (typeof entry === "string" ? JSON.parse(entry) : entry) as PriceListItem);
  return {
    products: items.map((item) => ({
      family: item.product?.productFamily ?? "",
      attributes: item.product?.attributes ?? {},
      dimensions: dimensionsOf(item.terms?.OnDemand),
    })),
    dates: items.flatMap((item) => (item.publicationDate ? [item.publicationDate.slice(0, 10)] : [])),
  };
}

/** The Query API for `region` through `aws`: each query asked once, when first needed. */
export function queryApiSource(region: string, aws: AwsCli): PriceListSource {
  const endpoint = pricingEndpointRegion(region);
  const cache = new Map<string, Product[]>();
  const dates = new Set<string>();
  const serviceCodes = new Set<string>();
  return {
    id: "priceListQueryApi",
    name: "the AWS Price List Query API",
    where: `endpoint ${endpoint}`,
    products(query: ProductQuery): Product[] {
      const filters = Object.entries(query.filters).map(([Field, Value]) => ({
        Type: "TERM_MATCH",
        Field,
        Value: Value.replace("{region}", region),
      }));
      const key = JSON.stringify([query.serviceCode, filters]);
      const cached = cache.get(key);
      if (cached) return cached;
      const args = ["pricing", "get-products", "--region", endpoint, "--service-code", query.serviceCode];
      const stdout = aws([...args, "--format-version", "aws_v1", "--filters", JSON.stringify(filters), "--output", "json"]);
      const answer = parseAnswer(stdout, `aws pricing get-products --service-code ${query.serviceCode}`);
      for (const date of answer.dates) dates.add(date);
      serviceCodes.add(query.serviceCode);
      cache.set(key, answer.products);
      return answer.products;
    },
    describe(today: string) {
      const sorted = [...dates].sort();
      return {
        description: `AWS Price List Query API (pricing:GetProducts through the AWS CLI, endpoint ${endpoint}), read with the operator's credentials by npm run cost -- --update-prices ${region} --query-api: the on-demand USD price of the product each query selects (service codes ${[...serviceCodes].join(", ")}), the first paid tier where prices are tiered; products published ${sorted.length ? `${sorted[0]} to ${sorted[sorted.length - 1]}` : "on undated offers"}`,
        url: "https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html",
        asOf: sorted.length ? sorted[sorted.length - 1] : null,
        read: today,
      };
    },
  };
}
