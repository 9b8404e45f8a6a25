/**
 * `npm run cost -- --update-prices <region>`: rewrites `prices/<region>.json` from the AWS Price
 * List, read from the public bulk offer files (`bulk-offers.ts`, no credentials) or, with
 * `--query-api`, from the Query API (`query-api.ts`, the operator's credentials). Each figure it
 * finds is the on-demand USD price of the one product its spec selects (`price-list.ts`), with
 * the source and the date; a figure it cannot find keeps what the file had (a figure with its own
 * source, or `unpriced` with the reason). The file is validated before it replaces the old one,
 * and is replaced whole or not at all.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { EC2_INSTANCES, NOT_IN_THE_PRICE_LIST, PRICE_SPECS, readFigures, type Product, type ProductQuery } from "./price-list";
import { parsePriceFile, PRICE_IDS, PRICES_DIR, type PriceEntry, type PriceId, type PriceSource } from "./prices";
import { writeFileAtomically } from "../write-atomically";

/** Where the products come from: the bulk offer files or the Query API. */
export interface PriceListSource {
  /** The id its figures cite in the price file's `sources`. */
  readonly id: string;
  /** What it is, in a sentence: "the AWS Price List bulk offer files". */
  readonly name: string;
  /** Where exactly it was read: a base URL or an endpoint. */
  readonly where: string;
  /** The products of one query. */
  products(query: ProductQuery): readonly Product[];
  /** Why the source has no products at all for a query (no file for the region), if so. @default never */
  absence?(query: ProductQuery): string | undefined;
  /** Its entry in the price file's `sources`, read on `today`. */
  describe(today: string): PriceSource;
}

export interface UpdateResult {
  readonly file: string;
  /** Price ids whose figure now comes from the source. */
  readonly found: readonly PriceId[];
  /** Price ids the source gave no figure for, with why; their entries were kept. */
  readonly missing: readonly { readonly id: PriceId; readonly reason: string }[];
  readonly instanceTypes: number;
}

export interface UpdateOptions {
  /** @default PRICES_DIR */
  readonly dir?: string;
  /** The date the figures are read, YYYY-MM-DD. @default today (UTC) */
  readonly today?: string;
}

type OldFile = { note?: string; sources?: Record<string, PriceSource>; prices?: Record<string, PriceEntry> };

const NOTE =
  "Unit prices for `npm run cost`, each with its source and the date it was read. A price that no source gave is `unpriced` with the reason: the report lists it as unpriced, never as a guess. Validated by src/cost/prices.ts.";

/** The new entries: found figures from the source; everything else as the old file had it. */
function mergedPrices(old: OldFile | undefined, found: ReadonlyMap<PriceId, PriceEntry>, missing: UpdateResult["missing"], why: string) {
  const prices: Record<string, PriceEntry> = {};
  for (const id of PRICE_IDS) {
    const before = old?.prices?.[id];
    const figure = found.get(id);
    const notLookedUp = NOT_IN_THE_PRICE_LIST[id];
    const reason = missing.find((m) => m.id === id)?.reason ?? notLookedUp ?? "not looked up";
    if (figure) prices[id] = figure;
    // A figure with its own source stands until the price list gives one; so does the reason for one never looked up.
    else if (before && ("source" in before || (notLookedUp && "unpriced" in before))) prices[id] = before;
    else prices[id] = { unpriced: `${why}: ${reason}` };
  }
  return prices;
}

const queryOf = (id: PriceId): ProductQuery => (id === "ec2.instance-hour" ? EC2_INSTANCES : PRICE_SPECS[id]!.query);

/** Reads every price `source` has for `region` and rewrites its price file, whole or not at all. */
export function updatePrices(region: string, source: PriceListSource, options: UpdateOptions = {}): UpdateResult {
  const dir = options.dir ?? PRICES_DIR;
  const today = options.today ?? new Date().toISOString().slice(0, 10);
  const file = join(dir, `${region}.json`);
  const read = readFigures((query) => source.products(query));
  const { figures, instanceTypes } = read;
  const missing = read.missing.map((m) => ({ ...m, reason: source.absence?.(queryOf(m.id)) ?? m.reason }));
  const cited = new Map<PriceId, PriceEntry>([...figures].map(([id, figure]) => [id, { ...figure, source: source.id }]));

  const old = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as OldFile) : undefined;
  const prices = mergedPrices(old, cited, missing, `${source.name} gave no figure on ${today}`);
  const used = new Set(Object.values(prices).flatMap((p) => ("source" in p ? [p.source] : [])));
  const sources: Record<string, PriceSource> = {};
  for (const [sourceId, entry] of Object.entries(old?.sources ?? {})) if (used.has(sourceId)) sources[sourceId] = entry;
  if (used.has(source.id)) sources[source.id] = source.describe(today);
  const content = { region, currency: "USD", note: old?.note ?? NOTE, sources, prices };

  parsePriceFile(content, relative(process.cwd(), file) || file, region);
  writeFileAtomically(file, `${JSON.stringify(content, null, 2)}\n`);
  return { file, found: [...figures.keys()], missing, instanceTypes };
}
