/**
 * The AWS Price List bulk offer files as a source of `--update-prices`: public files, no
 * credentials. The service index (`/offers/v1.0/aws/index.json`) names each service's region
 * index, which names the region's offer file; a global service (Route 53) is read from its file
 * for all regions. An offer file lists `products` by SKU (`productFamily`, `attributes`), then
 * `terms`, whose `OnDemand[sku][offerTermCode].priceDimensions` hold the prices.
 *
 * Memory stays bounded although EC2's regional file is hundreds of MB: each file is parsed as it
 * streams in (@streamparser/json), only `products.*` and `terms.OnDemand.*` are assembled, one
 * at a time, and discarded at once (`keepStack: false`) unless a query wants that SKU. Only the
 * few hundred wanted products and their on-demand terms are kept; the reserved terms, most of
 * the file, are tokenized and dropped.
 */
import { createReadStream } from "node:fs";
import { fileURLToPath } from "node:url";
import { JSONParser } from "@streamparser/json";
import { ALL_QUERIES, dimensionsOf, matchesQuery, type OnDemandTerms, type Product, type ProductQuery } from "./price-list";
import { PriceError, type PriceSource } from "./prices";
import type { PriceListSource } from "./update-prices";

/** Where AWS publishes the bulk offer files. */
export const DEFAULT_OFFERS_URL = "https://pricing.us-east-1.amazonaws.com";
const SERVICE_INDEX = "/offers/v1.0/aws/index.json";

export interface BulkOptions {
  /** Base URL of the offer files: http(s), or file: for a local copy of the same tree. @default DEFAULT_OFFERS_URL */
  readonly baseUrl?: string;
  /** Tries per file before it gives up on a network error or an HTTP 5xx or 429. @default 3 */
  readonly attempts?: number;
  /** Wait before the first retry, doubled before each next one, in ms. @default 2000 */
  readonly retryDelayMs?: number;
  /** How long a download may receive nothing before it is abandoned (and retried), in ms. @default 60000 */
  readonly idleTimeoutMs?: number;
  /** Told each file as it is read. @default nothing */
  readonly progress?: (line: string) => void;
}

/** A failure worth another try: the network, or the server's own trouble. */
class Transient extends Error {}

/** A byte stream of `url`: a file for file: URLs, else an HTTP GET that fails when it stalls. */
async function* bytesOf(url: string, idleTimeoutMs: number): AsyncGenerator<Uint8Array> {
  if (url.startsWith("file:")) {
    yield* createReadStream(fileURLToPath(url), { highWaterMark: 1 << 20 });
    return;
  }
  const abort = new AbortController();
  let timer = setTimeout(() => abort.abort(), idleTimeoutMs);
  const stalled = () => new Transient(`nothing received for ${idleTimeoutMs / 1000} s`);
  try {
    const response = await fetch(url, { signal: abort.signal }).catch((err: Error) => {
      throw abort.signal.aborted ? stalled() : new Transient(`${err.message}${err.cause ? ` (${(err.cause as Error).message})` : ""}`);
    });
    if (!response.ok || !response.body) {
      const problem = `HTTP ${response.status} ${response.statusText}`.trim();
      throw response.status >= 500 || response.status === 429 ? new Transient(problem) : new Error(problem);
    }
    const reader = response.body.getReader();
    try {
      for (let part = await reader.read(); !part.done; part = await reader.read()) {
        clearTimeout(timer);
        timer = setTimeout(() => abort.abort(), idleTimeoutMs);
        yield part.value;
      }
    } catch (err) {
      throw abort.signal.aborted ? stalled() : new Transient((err as Error).message);
    }
  } finally {
    clearTimeout(timer);
    // Also closes the connection when the reader stops early (a parse error).
    abort.abort();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `read(url)`, tried again after a transient failure; a PriceError naming the URL when it gives up. */
async function withRetries<T>(url: string, options: BulkOptions, read: () => Promise<T>): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? 3);
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      const message = err instanceof PriceError ? err.message : `${url}: ${(err as Error).message}`;
      if (!(err instanceof Transient) || attempt >= attempts) {
        throw new PriceError(`${message}${err instanceof Transient ? ` (gave up after ${attempt} tries)` : ""}`);
      }
      options.progress?.(`  ${message}; trying again (${attempt + 1} of ${attempts})`);
      await sleep((options.retryDelayMs ?? 2000) * 2 ** (attempt - 1));
    }
  }
}

/** Feeds `url` through a streaming parser that emits the values at `paths`; its errors name the URL. */
async function parse(url: string, options: BulkOptions, paths: string[], onValue: (path: string[], value: unknown) => void) {
  const parser = new JSONParser({ paths, keepStack: false });
  parser.onValue = ({ value, key, stack }) => onValue([...stack.slice(1).map((s) => String(s.key)), String(key)], value);
  try {
    for await (const chunk of bytesOf(url, options.idleTimeoutMs ?? 60_000)) parser.write(chunk);
    if (!parser.isEnded) parser.end();
  } catch (err) {
    if (err instanceof Transient || err instanceof PriceError) throw err;
    const problem = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message;
    throw new PriceError(`${url}: ${problem}`);
  }
}

/** A small JSON file (an index), whole. */
async function readIndex(url: string, options: BulkOptions): Promise<Record<string, unknown>> {
  return withRetries(url, options, async () => {
    let index: Record<string, unknown> = {};
    await parse(url, options, ["$"], (_, value) => (index = value as Record<string, unknown>));
    return index;
  });
}

interface RawProduct {
  readonly productFamily?: string;
  readonly attributes?: Record<string, string>;
}

/** What one offer file gives: the products `wanted` selects, each with its on-demand dimensions. */
interface Offer {
  readonly products: Product[];
  readonly publicationDate?: string;
}

/** Streams the offer file at `url`, keeping the products `wanted` selects and their on-demand terms. */
async function readOffer(url: string, options: BulkOptions, wanted: (product: Product) => boolean): Promise<Offer> {
  return withRetries(url, options, async () => {
    const kept = new Map<string, RawProduct>();
    const terms = new Map<string, OnDemandTerms>();
    let publicationDate: string | undefined;
    let seen = 0;
    const paths = ["$.publicationDate", "$.products.*", "$.terms.OnDemand.*"];
    await parse(url, options, paths, ([section, second, third], value) => {
      if (section === "publicationDate") publicationDate = String(value);
      else if (section === "products") {
        const raw = value as RawProduct;
        seen++;
        if (wanted({ family: raw.productFamily ?? "", attributes: raw.attributes ?? {}, dimensions: [] })) kept.set(second, raw);
      } else if (seen === 0) {
        // The format lists products before terms, so a SKU's terms are kept only once it is known to be wanted.
        throw new PriceError(`${url}: its terms come before its products, which this tool does not read`);
      } else if (kept.has(third)) terms.set(third, value as OnDemandTerms);
    });
    const products = [...kept].map(([sku, raw]) => ({
      family: raw.productFamily ?? "",
      attributes: raw.attributes ?? {},
      dimensions: dimensionsOf(terms.get(sku)),
    }));
    return { products, publicationDate };
  });
}

/** The address of `path` (an index's `/offers/...` link) under `base`, which may itself have a path. */
const under = (base: string, path: string) => `${base.replace(/\/+$/, "")}${path.startsWith("/") ? path : `/${path}`}`;

/** One offer file: the queries it answers, its URL, or why there is none. */
interface OfferFile {
  readonly queries: ProductQuery[];
  readonly label: string;
  readonly url?: string;
  readonly absent?: string;
}

/** Which offer file answers each query: the region's file of each service, or a global service's file. */
async function offerFiles(region: string, base: string, options: BulkOptions): Promise<OfferFile[]> {
  const index = await readIndex(under(base, SERVICE_INDEX), options);
  const offers = (index.offers ?? {}) as Record<string, { currentVersionUrl?: string; currentRegionIndexUrl?: string }>;
  const groups = new Map<string, ProductQuery[]>();
  for (const query of ALL_QUERIES) {
    const key = `${query.serviceCode}/${query.scope ?? "region"}`;
    groups.set(key, [...(groups.get(key) ?? []), query]);
  }
  const files: OfferFile[] = [];
  for (const [key, queries] of groups) {
    const { serviceCode, scope = "region" } = queries[0];
    const offer = offers[serviceCode];
    const label = scope === "global" ? `${serviceCode} (all regions)` : `${serviceCode} ${region}`;
    if (!offer) files.push({ queries, label, absent: `the service index lists no ${serviceCode}` });
    else if (scope === "global" && offer.currentVersionUrl) files.push({ queries, label, url: under(base, offer.currentVersionUrl) });
    else if (scope === "global" || !offer.currentRegionIndexUrl) files.push({ queries, label, absent: `no offer file for ${key}` });
    else {
      const regions = (await readIndex(under(base, offer.currentRegionIndexUrl), options)).regions as Record<
        string,
        { currentVersionUrl?: string }
      >;
      const path = regions?.[region]?.currentVersionUrl;
      files.push(
        path ? { queries, label, url: under(base, path) } : { queries, label, absent: `${serviceCode} has no price list for ${region}` },
      );
    }
  }
  return files;
}

/**
 * Reads, once each, the offer files the price specs need for `region` and returns the products
 * they select: a PriceListSource for `updatePrices`. Throws a PriceError naming the URL when a
 * file cannot be read after its retries.
 */
export async function bulkOffersSource(region: string, options: BulkOptions = {}): Promise<PriceListSource> {
  const base = options.baseUrl ?? DEFAULT_OFFERS_URL;
  const answers = new Map<ProductQuery, Product[]>();
  const absent = new Map<ProductQuery, string>();
  const read: { label: string; url: string; publicationDate?: string }[] = [];
  for (const file of await offerFiles(region, base, options)) {
    if (!file.url) {
      for (const query of file.queries) absent.set(query, file.absent!);
      options.progress?.(`  ${file.label}: ${file.absent}`);
      continue;
    }
    options.progress?.(`  reading ${file.url}`);
    const offer = await readOffer(file.url, options, (p) => file.queries.some((q) => matchesQuery(p, q, region)));
    for (const query of file.queries)
      answers.set(
        query,
        offer.products.filter((p) => matchesQuery(p, query, region)),
      );
    read.push({ label: file.label, url: file.url, publicationDate: offer.publicationDate });
  }
  return {
    id: "priceListBulkApi",
    name: "the AWS Price List bulk offer files",
    where: base,
    products: (query) => answers.get(query) ?? [],
    absence: (query) => absent.get(query),
    describe: (today) => describeBulk(region, base, read, today),
  };
}

function describeBulk(region: string, base: string, read: { label: string; publicationDate?: string }[], today: string): PriceSource {
  const dates = read.flatMap((r) => (r.publicationDate ? [r.publicationDate.slice(0, 10)] : [])).sort();
  return {
    description: `AWS Price List bulk offer files (public, no credentials) under ${base}, read by npm run cost -- --update-prices ${region}: ${read.map((r) => `${r.label}${r.publicationDate ? ` published ${r.publicationDate.slice(0, 10)}` : ""}`).join(", ")}; the on-demand USD price of the product each spec selects, the first paid tier where prices are tiered`,
    url: under(base, SERVICE_INDEX),
    asOf: dates.length ? dates[dates.length - 1] : null,
    read: today,
  };
}
