/** What every pricer shares: its inputs, its result, and the small helpers that build billed lines. */
import type { Fleet } from "../roster";
import type { ProviderBlock, TerraformJson } from "../terraform/plan-json";
import type { UnknownResource, Usage, UsageAssumptions } from "./usage";

/** What every pricer may read: the whole stack, the roster, the usage assumptions. */
export interface PricingContext {
  readonly config: TerraformJson;
  readonly fleet: Fleet;
  readonly assumptions: UsageAssumptions;
}

/** What a pricer found: billed quantities, and resources it cannot price. */
export interface Priced {
  readonly usage: readonly Usage[];
  readonly unknown?: readonly UnknownResource[];
}

/** The pricer of one resource type, given all its resources in the stack. */
export type Pricer = (resources: readonly ProviderBlock[], context: PricingContext) => Priced;

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** A number from the stack, or the variable it references resolved to `override` or its default. */
export function resolveNumber(config: TerraformJson, value: unknown, override?: number): number {
  if (typeof value === "number") return value;
  const variable = typeof value === "string" ? /^\$\{var\.([a-z0-9_]+)\}$/.exec(value)?.[1] : undefined;
  if (!variable) throw new Error(`cannot read a number from ${JSON.stringify(value)}`);
  if (override !== undefined) return override;
  const fallback = config.variable?.[variable]?.default;
  if (typeof fallback !== "number") throw new Error(`variable ${variable} has no numeric default`);
  return fallback;
}

/** An always-on, fleet-wide line: the shape most pricers return. */
export const line = (fields: Omit<Usage, "scalesWithHost"> & { scalesWithHost?: boolean }): Usage => ({ scalesWithHost: false, ...fields });

/** The logical name of `block` among the stack's resources of `type` (pricers get the blocks without their names). */
export function nameOf(config: TerraformJson, type: string, block: ProviderBlock): string | undefined {
  return Object.entries(config.resource[type] ?? {}).find(([, candidate]) => candidate === block)?.[0];
}

/** Whether `value` is a Terraform reference to an attribute of `type.name`, e.g. `${aws_efs_file_system.homes.id}`. */
export const refersTo = (value: unknown, type: string, name: string | undefined) =>
  name !== undefined && typeof value === "string" && value.includes(`${type}.${name}.`);

/** Whether an access point's root directory (a block, as a list or an object) is a developer's home. */
export function isHome(rootDirectory: unknown): boolean {
  const block = (Array.isArray(rootDirectory) ? rootDirectory[0] : rootDirectory) as { path?: unknown } | undefined;
  return typeof block?.path === "string" && /^\/home\/[^/]+$/.test(block.path);
}
