/**
 * Rosters generated from the operator's own: the same project, region, domain and code-server
 * settings, with a team of a given size on a given platform. `npm run cost -- --compare` prices
 * them; the tests use the same generator for large teams.
 */
import { stringify } from "yaml";
import { INSTANCE_TYPES, parseRoster, RosterError, type Fleet } from "../roster";
import type { PriceBook } from "./prices";

/** The ECS platform's two ways out to the internet (the roster's ecs.network). */
export type EcsNetwork = "public" | "private";

/** A roster as its YAML parses: the generator edits it before the roster's own checks read it. */
export type RosterDocument = Record<string, unknown>;

/** The first generated developer's port; each port is also the developer's listener-rule priority. */
export const FIRST_PORT = 8443;

/** `base` with `count` developers, dev1 to devN, on consecutive ports from FIRST_PORT. */
export function withDevelopers(base: RosterDocument, count: number): RosterDocument {
  return { ...structuredClone(base), developers: Array.from({ length: count }, (_, i) => ({ name: `dev${i + 1}`, port: FIRST_PORT + i })) };
}

/** The weekday working hours a generated roster is priced with. */
export const WEEKDAY_SCHEDULE = { days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "20:00" } as const;

/** `doc` with the weekday schedule, in the roster's own time zone when it has a schedule (hours a week do not depend on it). */
export function withWeekdaySchedule(doc: RosterDocument): RosterDocument {
  const timezone = (doc.schedule as { timezone?: string } | undefined)?.timezone ?? "UTC";
  return { ...doc, schedule: { timezone, ...WEEKDAY_SCHEDULE, days: [...WEEKDAY_SCHEDULE.days] } };
}

/**
 * `base`'s team of `count` serving on ECS: no host, the roster's ECS settings (its network replaced
 * by `network` when given), no migration. Its
 * listener-rule priorities are 1 to N, so the team fills the fewest load balancers it can (priorities
 * from the ports would split even a small team over two when they straddle a block of 50).
 */
export function ecsRoster(base: RosterDocument, count: number, network?: EcsNetwork): RosterDocument {
  const { host: _host, migration: _migration, schedule: _schedule, ...rest } = withDevelopers(base, count);
  const developers = (rest.developers as Record<string, unknown>[]).map((d, i) => ({ ...d, priority: i + 1 }));
  const ecs = network ? { ecs: { ...((rest.ecs as object | undefined) ?? {}), network } } : {};
  return { ...rest, ...ecs, developers, platform: "ecs" };
}

/** `base`'s team of `count` on a host of `instanceType`: no ECS settings, no migration. */
export function hostRoster(base: RosterDocument, count: number, instanceType: string): RosterDocument {
  const { ecs: _ecs, migration: _migration, schedule: _schedule, ...rest } = withDevelopers(base, count);
  const host = (base.host ?? {}) as Record<string, unknown>;
  // vcpus and memoryGiB describe the roster's own type only.
  const { vcpus: _vcpus, memoryGiB: _memory, ...settings } = host;
  return { ...rest, platform: "host", host: { ...settings, instanceType } };
}

/** The fleet of `doc`, or the roster's own problems with it. */
export function fleetOf(doc: RosterDocument): Fleet | RosterError {
  try {
    return parseRoster(stringify(doc), "the generated roster");
  } catch (err) {
    if (err instanceof RosterError) return err;
    throw err;
  }
}

/** The CPU architecture of the host `base` names, x86_64 when it names none the roster knows. */
function hostArchitecture(base: RosterDocument) {
  const type = (base.host as { instanceType?: string } | undefined)?.instanceType;
  return (type && INSTANCE_TYPES.get(type)?.architecture) || "x86_64";
}

/**
 * The host roster for `count` developers: on the roster's own instance type when it holds them,
 * else on the cheapest built-in type of the same architecture the roster's checks accept (the
 * smallest first among types without a price). The roster's problems when none does.
 */
export function cheapestHostRoster(
  base: RosterDocument,
  count: number,
  prices: PriceBook,
): { doc: RosterDocument; fleet: Fleet } | RosterError {
  const own = (base.host as { instanceType?: string } | undefined)?.instanceType;
  const architecture = hostArchitecture(base);
  const hourly = (type: string) => {
    const price = prices.get("ec2.instance-hour", type);
    return price.priced ? price.usd : Infinity;
  };
  const candidates = [...INSTANCE_TYPES]
    .filter(([, info]) => info.architecture === architecture)
    .sort(([a, x], [b, y]) => hourly(a) - hourly(b) || x.vcpus - y.vcpus || x.memoryGiB - y.memoryGiB || a.localeCompare(b))
    .map(([type]) => type);
  const refusals: RosterError[] = [];
  for (const type of own ? [own, ...candidates.filter((t) => t !== own)] : candidates) {
    const doc = hostRoster(base, count, type);
    const fleet = fleetOf(doc);
    if (!(fleet instanceof RosterError)) return { doc, fleet };
    refusals.push(fleet);
  }
  return commonRefusal(refusals, architecture);
}

/** What every type's refusal says (a team no host can serve), else what the first one tried says. */
function commonRefusal(refusals: readonly RosterError[], architecture: string): RosterError {
  if (refusals.length === 0)
    return new RosterError("the generated roster", [{ path: ["host"], message: `no built-in ${architecture} instance type` }]);
  const [first, ...rest] = refusals;
  const common = first.problems.filter((p) => rest.every((r) => r.problems.some((q) => q.message === p.message)));
  return common.length > 0 ? new RosterError(first.file, common) : first;
}
