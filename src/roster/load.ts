/**
 * Reads `roster.yaml` (or the file named by ROSTER_FILE): YAML syntax, then the schema, then
 * the cross-field rules. Every problem is reported at once, each with its line, the field, the
 * bad value and what to change.
 */
import { readFileSync } from "node:fs";
import { isMap, isNode, isPair, isScalar, LineCounter, parseDocument, type Document } from "yaml";
import type { z } from "zod";
import { buildFleet, defaultStateKey, type Fleet, type Problem, type StateBackend } from "./fleet";
import { keysAt, rosterSchema } from "./schema";
import { suggestKeys } from "./suggest";
import { mergeProblems, yamlErrorProblems } from "./yaml-problems";

export const DEFAULT_ROSTER_FILE = "roster.yaml";

/** A problem placed in the file. */
export interface LocatedProblem extends Problem {
  readonly line?: number;
}

export class RosterError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly LocatedProblem[],
  ) {
    super(
      [
        `${file}: ${problems.length} problem${problems.length === 1 ? "" : "s"} in the roster; nothing was synthesized:`,
        ...problems.map((p) => `  ${file}${p.line ? `:${p.line}` : ""}: ${formatPath(p.path)}${p.message}`),
      ].join("\n"),
    );
    this.name = "RosterError";
  }
}

function formatPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return "";
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("") + ": ";
}

/** "Did you mean" for an unknown key, from the keys allowed in the object at `path`. */
function suggestKey(key: string, path: readonly (string | number)[]): string {
  const allowed = keysAt(rosterSchema, path);
  const found = suggestKeys(key, allowed);
  if (found.length > 0) return ` (did you mean ${found.map((k) => `"${k}"`).join(" or ")}?); remove it or fix its spelling`;
  return allowed.length > 0 ? `; remove it, or use one of the keys allowed here: ${allowed.join(", ")}` : "; remove it";
}

function lineOf(doc: Document, counter: LineCounter, path: readonly (string | number)[], key?: string): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth), true);
    if (!isNode(node) || !node.range) continue;
    if (key !== undefined && depth === path.length && isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === key);
      const keyNode = pair && isScalar(pair.key) ? pair.key : undefined;
      if (keyNode?.range) return counter.linePos(keyNode.range[0]).line;
    }
    return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
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

function describeIssue(
  issue: z.core.$ZodIssue,
  data: unknown,
  sourceAt: (path: readonly (string | number)[]) => string | undefined,
): Problem[] {
  const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({
      path: [...path, key],
      message: `unknown key "${key}"${suggestKey(key, path)}`,
    }));
  }
  const value = valueAt(data, path);
  if (value === undefined && issue.code === "invalid_type") {
    const message = /required/.test(issue.message) ? issue.message : `${fieldName(path)} is required`;
    return [{ path, message }];
  }
  if (issue.code === "invalid_type") return [{ path, message: describeWrongType(issue, fieldName(path), value, sourceAt(path)) }];
  const shown = value !== null && typeof value === "object" ? "" : ` (found ${JSON.stringify(value)})`;
  return [{ path, message: `${issue.message}${shown}` }];
}

/** The S3 state backend chosen by STATE_BUCKET (with optional STATE_KEY, STATE_REGION), if any. */
export function stateFromEnvironment(env: NodeJS.ProcessEnv, defaults: { key: string; region: string }): StateBackend | undefined {
  if (!env.STATE_BUCKET) return undefined;
  return {
    backend: "s3",
    bucket: env.STATE_BUCKET,
    key: env.STATE_KEY || defaults.key,
    region: env.STATE_REGION || defaults.region,
  };
}

/** Parses roster text into a Fleet, or throws a RosterError listing every problem. */
export function parseRoster(text: string, file = DEFAULT_ROSTER_FILE, env: NodeJS.ProcessEnv = {}): Fleet {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: true, merge: true });
  if (doc.errors.length > 0) {
    throw new RosterError(file, yamlErrorProblems(doc, counter));
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (err) {
    const problems = mergeProblems(doc, counter);
    throw new RosterError(file, problems.length > 0 ? problems : [{ path: [], message: `YAML error: ${(err as Error).message}` }]);
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new RosterError(file, [
      { path: [], line: 1, message: "the roster must be a YAML mapping with at least domain, host and developers" },
    ]);
  }
  const locate = (problems: readonly Problem[]): LocatedProblem[] =>
    problems.map((p) => {
      const last = p.path[p.path.length - 1];
      const isKey = typeof last === "string" && valueAt(data, p.path) === undefined;
      return { ...p, line: isKey ? lineOf(doc, counter, p.path.slice(0, -1), last) : lineOf(doc, counter, p.path) };
    });

  const sourceAt = (path: readonly (string | number)[]) => {
    const node = doc.getIn(path, true);
    return isScalar(node) && typeof node.source === "string" ? node.source : undefined;
  };
  const parsed = rosterSchema.safeParse(data);
  if (!parsed.success) {
    throw new RosterError(file, locate(parsed.error.issues.flatMap((issue) => describeIssue(issue, data, sourceAt))));
  }
  const override = stateFromEnvironment(env, {
    key: defaultStateKey(parsed.data),
    region: parsed.data.region,
  });
  const { fleet, problems } = buildFleet(parsed.data, override);
  if (!fleet) throw new RosterError(file, locate(problems));
  return fleet;
}

/** Reads and parses a roster file. */
export function loadRoster(file = DEFAULT_ROSTER_FILE, env: NodeJS.ProcessEnv = process.env): Fleet {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (err as Error).message;
    throw new RosterError(file, [{ path: [], message: `cannot read the roster (${reason}); set ROSTER_FILE to its path` }]);
  }
  return parseRoster(text, file, env);
}
