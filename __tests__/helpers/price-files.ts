/**
 * A price file as the updater may find it before a run, fixed here so that the tests do not
 * depend on what the committed prices/ files hold: every entry unpriced except a hosted zone
 * figure with a source of its own and a KMS figure from an older source.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PRICE_IDS } from "../../src/cost/prices";

export const STARTING_REASON = "no source read yet (the tests' starting file)";

export function startingPriceFile(region: string) {
  const prices: Record<string, unknown> = Object.fromEntries(PRICE_IDS.map((id) => [id, { unpriced: STARTING_REASON }]));
  prices["route53.hosted-zone-month"] = { usd: 0.5, unit: "hosted zone-month (first 25)", source: "zoneBook" };
  prices["kms.key-month"] = { usd: 1, unit: "key-month", source: "oldKms" };
  prices["scheduler.invocations.million"] = { unpriced: "the scheduler's reason, kept as it is" };
  const source = (description: string) => ({ description, url: "https://example.com/prices", asOf: null, read: "2026-11-01" });
  return {
    region,
    currency: "USD",
    note: "The tests' starting file.",
    sources: { zoneBook: source("a book of hosted zone prices, for the tests"), oldKms: source("an older KMS price, for the tests") },
    prices,
  };
}

/** A scratch prices directory under `parent` holding the starting file for `region`. */
export function scratchPrices(parent: string, region: string): string {
  const dir = mkdtempSync(join(parent, "prices-"));
  writeFileSync(join(dir, `${region}.json`), `${JSON.stringify(startingPriceFile(region), null, 2)}\n`);
  return dir;
}

export const readPriceFile = (dir: string, region: string) => JSON.parse(readFileSync(join(dir, `${region}.json`), "utf8"));
