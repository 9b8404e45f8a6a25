/**
 * Cheaper choices that fit the roster: the AMD and Graviton siblings of the host type that the
 * roster's own capacity check (`buildFleet`) accepts, and a 1-year Compute Savings Plan.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { GUIDE_LINKS } from "../naming";
import { buildFleet, INSTANCE_TYPES, type Fleet } from "../roster";
import { rosterSchema, type RawRoster } from "../roster/schema";
import type { Bill } from "./engine";
import { HOURS_PER_MONTH } from "./inventory";
import { loadPrices, type PriceBook } from "./prices";
import { HOURS_PER_WEEK } from "./schedule";

export interface CheaperChoice {
  readonly kind: "amd" | "graviton" | "savings-plan" | "arm64-tasks";
  readonly description: string;
  /** Null when a price needed for it is missing. */
  readonly monthlySavingUsd: number | null;
  readonly scheduledSavingUsd: number | null;
  readonly note: string;
}

/** The roster as the schema reads it (defaults applied), for re-running `buildFleet` with another host. */
export function readRawRoster(file: string): RawRoster {
  return rosterSchema.parse(parse(readFileSync(file, "utf8")));
}

/** `t3` → { category: "t", generation: 3, suffix: "" }; `m6g` → { "m", 6, "g" }. */
function familyParts(family: string) {
  const match = /^([a-z]+)(\d+)([a-z]*)$/.exec(family);
  return match ? { category: match[1], generation: Number(match[2]), suffix: match[3] } : undefined;
}

const cents = (usd: number) => Math.round(usd * 100) / 100;

/** Same-size siblings of the host's type, by vendor, that the roster's capacity check accepts, cheapest first. */
export function siblingTypes(raw: RawRoster, current: string): { amd: string[]; graviton: string[] } {
  const [family, size] = current.split(".");
  const parts = familyParts(family);
  const accepted = (type: string) =>
    raw.host !== undefined &&
    buildFleet({ ...raw, host: { ...raw.host, instanceType: type, vcpus: undefined, memoryGiB: undefined } }).fleet !== undefined;
  const candidates = [...INSTANCE_TYPES.keys()].filter((t) => {
    const [f, s] = t.split(".");
    const p = familyParts(f);
    return t !== current && s === size && p !== undefined && parts !== undefined && p.category === parts.category && accepted(t);
  });
  return {
    amd: candidates.filter((t) => familyParts(t.split(".")[0])!.suffix.startsWith("a")),
    graviton: candidates.filter((t) => INSTANCE_TYPES.get(t)!.architecture === "arm64"),
  };
}

/** The developers' Fargate tasks on arm64 instead of x86_64: the same hours at Fargate's ARM rates. */
function arm64TasksChoice(fleet: Fleet, bill: Bill, prices: PriceBook): CheaperChoice[] {
  const vcpu = bill.monthly.lines.find((l) => l.id === "fargate.vcpu");
  const memory = bill.monthly.lines.find((l) => l.id === "fargate.memory");
  if (fleet.ecs?.architecture !== "x86_64" || !vcpu || !memory) return [];
  const arm = { vcpu: prices.get("fargate.arm64.vcpu-hour"), memory: prices.get("fargate.arm64.gb-hour") };
  const note = "Graviton; the code-server image and every extension must run on arm64, and each task restarts on it at the next deploy";
  const description = "arm64 tasks (ecs.architecture: arm64)";
  if (!arm.vcpu.priced || !arm.memory.priced || vcpu.unitPriceUsd === null || memory.unitPriceUsd === null) {
    const missing = [arm.vcpu, arm.memory].find((p) => !p.priced) as { reason: string } | undefined;
    return [
      {
        kind: "arm64-tasks",
        description,
        monthlySavingUsd: null,
        scheduledSavingUsd: null,
        note: `${missing?.reason ?? "the x86_64 rates have no price here"}; ${note}`,
      },
    ];
  }
  const saving = vcpu.quantity * (vcpu.unitPriceUsd - arm.vcpu.usd) + memory.quantity * (memory.unitPriceUsd - arm.memory.usd);
  return [
    {
      kind: "arm64-tasks",
      description: `${description}: $${arm.vcpu.usd} instead of $${vcpu.unitPriceUsd} a vCPU-hour, $${arm.memory.usd} instead of $${memory.unitPriceUsd} a GB-hour`,
      monthlySavingUsd: cents(saving),
      scheduledSavingUsd: cents((saving * bill.scheduled.hoursPerWeek) / HOURS_PER_WEEK),
      note,
    },
  ];
}

export function cheaperChoices(raw: RawRoster, fleet: Fleet, bill: Bill, prices: PriceBook = loadPrices(bill.region)): CheaperChoice[] {
  // Another instance type or a Savings Plan for it: choices of a host, when one runs.
  if (!fleet.host) return arm64TasksChoice(fleet, bill, prices);
  const host = fleet.host;
  const current = host.instanceType;
  const currentPrice = prices.get("ec2.instance-hour", current);
  const share = bill.scheduled.hoursPerWeek / HOURS_PER_WEEK;
  const choices: CheaperChoice[] = [];
  const siblings = siblingTypes(raw, current);
  for (const kind of ["amd", "graviton"] as const) {
    const vendor = kind === "amd" ? "AMD" : "Graviton (arm64)";
    const priced = siblings[kind]
      .map((type) => ({ type, price: prices.get("ec2.instance-hour", type) }))
      .sort((a, b) => (a.price.priced ? a.price.usd : Infinity) - (b.price.priced ? b.price.usd : Infinity));
    const best = priced[0];
    if (!best) continue;
    if (!best.price.priced || !currentPrice.priced) {
      choices.push({
        kind,
        description: `${vendor} sibling ${best.type}`,
        monthlySavingUsd: null,
        scheduledSavingUsd: null,
        note: `fits the roster, but ${!currentPrice.priced ? currentPrice.reason : (best.price as { reason: string }).reason}`,
      });
      continue;
    }
    const saving = (currentPrice.usd - best.price.usd) * HOURS_PER_MONTH;
    if (saving <= 0) continue;
    choices.push({
      kind,
      description: `${vendor} sibling ${best.type} ($${best.price.usd}/h instead of $${currentPrice.usd}/h)`,
      monthlySavingUsd: cents(saving),
      scheduledSavingUsd: cents(saving * share),
      note: `fits the roster's reservations (the same capacity check as synth)${kind === "graviton" && host.architecture !== "arm64" ? `; another architecture: a deployed host is replaced for it (${GUIDE_LINKS.architectureChange})` : ""}`,
    });
  }
  const plan = prices.get("ec2.savings-plan-compute-1y-hour", current);
  if (plan.priced && currentPrice.priced) {
    const saving = (currentPrice.usd - plan.usd) * HOURS_PER_MONTH;
    choices.push({
      kind: "savings-plan",
      description: `1-year Compute Savings Plan for ${current} ($${plan.usd}/h committed)`,
      monthlySavingUsd: cents(saving),
      scheduledSavingUsd: cents(currentPrice.usd * HOURS_PER_MONTH * share - plan.usd * HOURS_PER_MONTH),
      note: "the commitment is billed every hour, also while a schedule stops the host",
    });
  } else {
    choices.push({
      kind: "savings-plan",
      description: `1-year Compute Savings Plan for ${current}`,
      monthlySavingUsd: null,
      scheduledSavingUsd: null,
      note: `${plan.priced ? (currentPrice as { reason: string }).reason : plan.reason}; the commitment is billed every hour, also while a schedule stops the host`,
    });
  }
  return choices;
}
