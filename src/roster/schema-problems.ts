/**
 * The schema's findings in the roster's words: a wrong type said the way YAML caused it, an
 * unknown key with the keys meant at that place, a bad value quoted (shortened when long).
 */
import type { z } from "zod";
import type { Problem } from "./model";
import { keysAt, rosterSchema, variantFieldsAt } from "./schema";
import { suggestKeys } from "./suggest";

/**
 * "Did you mean" for an unknown key, from the keys allowed in the object at `path` of `data`; a
 * key of another variant of a union (`bucket` with `backend: local`) is said to be one.
 */
function suggestKey(key: string, path: readonly (string | number)[], data: unknown): string {
  const allowed = keysAt(rosterSchema, path, data);
  const found = suggestKeys(key, allowed);
  if (found.length > 0) return ` (did you mean ${found.map((k) => `"${k}"`).join(" or ")}?); remove it or fix its spelling`;
  const variant = variantFieldsAt(rosterSchema, path);
  const otherVariant = variant.length > 0 && keysAt(rosterSchema, path).includes(key) ? ` for this ${variant.join(" and ")}` : "";
  return allowed.length > 0 ? `${otherVariant}; remove it, or use one of the keys allowed here: ${allowed.join(", ")}` : "; remove it";
}

/** The roster's value at `path`, or undefined. */
export function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined), data);
}

/** The field a path names, for messages: `port`, or `extensions[2]` for a list item. */
function fieldName(path: readonly (string | number)[]): string {
  const last = path[path.length - 1];
  return typeof last === "number" ? `${String(path[path.length - 2] ?? "item")}[${last}]` : String(last);
}

const TYPE_NAMES: Record<string, string> = {
  number: "a number",
  int: "a whole number",
  string: "text",
  boolean: "true or false",
  array: "a list",
  object: "a mapping (key: value lines)",
};

/**
 * A wrong type, said the way YAML caused it: a quoted number is text, an unquoted version
 * such as 4.110 is a number (4.11). `source` is the value as written in the file.
 */
function describeWrongType(issue: z.core.$ZodIssueInvalidType, field: string, value: unknown, source: string | undefined): string {
  const written = source ?? JSON.stringify(value);
  const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
  if (value === null) return `${field} is empty (YAML reads a key with nothing after it as null): give it a value`;
  if (
    (issue.expected === "number" || issue.expected === "int") &&
    typeof value === "string" &&
    value.trim() !== "" &&
    Number.isFinite(Number(value))
  ) {
    return `${field} must be a number, but ${JSON.stringify(value)} is in quotes, so YAML reads it as text: drop the quotes (${field}: ${value.trim()})`;
  }
  if (issue.expected === "string" && (typeof value === "number" || typeof value === "boolean")) {
    const as = typeof value === "number" ? `the number ${value}` : `the boolean ${value}`;
    return `${field} must be text, but YAML reads ${written} as ${as}: put it in quotes (${field}: "${written}")`;
  }
  const found = Array.isArray(value) ? "a list" : typeof value === "object" ? "a mapping" : written;
  return `${field} must be ${expected} (found ${found})`;
}

/** Longest value a message quotes whole; a longer one is shortened, with its length. */
const MAX_SHOWN = 80;

/** ` (found <value>)` for a message, unless the message quotes the value already or it is a mapping or list. */
export function shownValue(value: unknown, message: string): string {
  if (value !== null && typeof value === "object") return "";
  const json = JSON.stringify(value);
  // A number is quoted only as a whole token: 4 is not in "from 5 to 1440".
  const token = new RegExp(`(?<![\\w.])${json.replace(/[.+]/g, "\\$&")}(?![\\w]|\\.\\d)`);
  const quoted = typeof value === "string" ? message.includes(json) : token.test(message);
  if (quoted) return "";
  if (typeof value === "string" && json.length > MAX_SHOWN) {
    return ` (found ${value.length} characters: ${JSON.stringify(value.slice(0, MAX_SHOWN / 2))}...)`;
  }
  return ` (found ${json})`;
}

/** The problems one issue of the schema stands for (an unknown-keys issue names each key). */
export function describeIssue(
  issue: z.core.$ZodIssue,
  data: unknown,
  sourceAt: (path: readonly (string | number)[]) => string | undefined,
): Problem[] {
  const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({
      path: [...path, key],
      message: `unknown key "${key}"${suggestKey(key, path, data)}`,
    }));
  }
  const value = valueAt(data, path);
  if (value === undefined && issue.code === "invalid_type") {
    const message = /required/.test(issue.message) ? issue.message : `${fieldName(path)} is required`;
    return [{ path, message }];
  }
  if (issue.code === "invalid_type") return [{ path, message: describeWrongType(issue, fieldName(path), value, sourceAt(path)) }];
  return [{ path, message: `${issue.message}${shownValue(value, issue.message)}` }];
}
