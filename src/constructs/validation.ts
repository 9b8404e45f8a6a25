/**
 * Constructor-time checks of a construct's props. Each error names the construct (class and
 * path), the prop, the bad value and the limit, so a bad value fails synth where it enters
 * rather than as a distant AWS error at apply time. Unresolved tokens (Terraform variables,
 * attributes of other resources) are skipped: their value exists only at plan time, where the
 * variables' own validation checks them.
 */
import { Token } from "cdktf";
import type { IConstruct } from "constructs";

export class PropsError extends Error {
  constructor(scope: IConstruct, message: string) {
    super(`${scope.constructor.name} ${scope.node.path}: ${message}`);
    this.name = "PropsError";
  }
}

const shown = (value: unknown) => JSON.stringify(value);

/** Fails when `condition` is false. */
export function check(scope: IConstruct, condition: boolean, message: () => string): void {
  if (!condition) throw new PropsError(scope, message());
}

/** A string of at most `max` characters; `why` says whose limit it is. */
export function checkMaxLength(scope: IConstruct, prop: string, value: string, max: number, why: string): void {
  if (Token.isUnresolved(value)) return;
  check(scope, value.length <= max, () => `${prop} ${shown(value)} is ${value.length} characters; the limit is ${max} (${why})`);
}

/** A string matching `pattern`; `what` describes what it must look like. */
export function checkPattern(scope: IConstruct, prop: string, value: string, pattern: RegExp, what: string): void {
  if (Token.isUnresolved(value)) return;
  check(scope, pattern.test(value), () => `${prop} ${shown(value)} is not ${what}`);
}

/** A whole number from `min` to `max` (inclusive), in `unit`. */
export function checkWholeRange(scope: IConstruct, prop: string, value: number, min: number, max: number, unit: string): void {
  if (Token.isUnresolved(value)) return;
  check(
    scope,
    Number.isInteger(value) && value >= min && value <= max,
    () => `${prop} ${shown(value)} must be a whole number of ${unit} from ${min} to ${max}`,
  );
}

/** One of `allowed`. */
export function checkOneOf<T>(scope: IConstruct, prop: string, value: T, allowed: readonly T[]): void {
  if (Token.isUnresolved(value)) return;
  check(scope, allowed.includes(value), () => `${prop} ${shown(value)} is not one of ${allowed.map(shown).join(", ")}`);
}

/** At least `min` entries. */
export function checkMinCount(scope: IConstruct, prop: string, values: readonly unknown[], min: number, why: string): void {
  if (Token.isUnresolved(values)) return;
  check(scope, values.length >= min, () => `${prop} has ${values.length} entries; at least ${min} are needed (${why})`);
}

/** The entry of `map` for `key`, or an error naming the key and the entries there are. */
export function entryOf<V>(scope: IConstruct, prop: string, map: ReadonlyMap<string, V>, key: string): V {
  const value = map.get(key);
  if (value === undefined) {
    throw new PropsError(scope, `${prop} has no entry for ${shown(key)} (it has ${[...map.keys()].map(shown).join(", ") || "none"})`);
  }
  return value;
}
