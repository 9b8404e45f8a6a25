/**
 * The roster field by field: each field parsed by its own schema, so the rules that look across
 * fields can run on every part that is valid while the schema reports the parts that are not
 * (a malformed `schedule.start` no longer hides a misspelt `schedule.timezone`).
 */
import type { z } from "zod";

/** A field the schema refused: the rules that read it do not run. */
export const INVALID: unique symbol = Symbol("invalid");
export type Part<T> = T | typeof INVALID;

type Shape = Readonly<Record<string, z.ZodType>>;
/** Each field of an object schema, as the schema parsed it (defaults applied) or INVALID. */
export type Parts<S extends Shape> = { readonly [K in keyof S]: Part<z.output<S[K]>> };

/** Each field of `shape` parsed on its own from `value`; every field is INVALID when `value` is no mapping. */
export function partsOf<S extends Shape>(shape: S, value: unknown): Parts<S> {
  const object = value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  const parse = (schema: z.ZodType, key: string) => {
    if (!object) return INVALID;
    const parsed = schema.safeParse(Object.hasOwn(object, key) ? object[key] : undefined);
    return parsed.success ? parsed.data : INVALID;
  };
  return Object.fromEntries(Object.entries(shape).map(([key, schema]) => [key, parse(schema, key)])) as Parts<S>;
}
