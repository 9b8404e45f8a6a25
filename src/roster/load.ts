/**
 * Reads `roster.yaml` (or the file named by ROSTER_FILE): YAML syntax, then the schema, then
 * the cross-field rules. Every problem is reported at once, each with its line, the field, the
 * bad value and what to change.
 */
import { readFileSync } from "node:fs";
import { isMap, isNode, isPair, isScalar, LineCounter, parseDocument, type Document } from "yaml";
import type { z } from "zod";
import { buildFleet, defaultStateKey, type Fleet, type Problem, type StateBackend } from "./fleet";
import { rosterSchema, schemaKeys } from "./schema";

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

/** Every key the schema knows, for "did you mean" hints on a misspelt key. */
const KNOWN_KEYS = schemaKeys(rosterSchema);

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

function suggestKey(key: string): string {
  const best = KNOWN_KEYS.map((k) => [k, editDistance(key, k)] as const).sort((a, b) => a[1] - b[1])[0];
  return best && best[1] <= Math.max(2, Math.floor(key.length / 4)) ? ` (did you mean "${best[0]}"?)` : "";
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

function describeIssue(issue: z.core.$ZodIssue, data: unknown): Problem[] {
  const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({
      path: [...path, key],
      message: `unknown key "${key}"${suggestKey(key)}; remove it or fix its spelling`,
    }));
  }
  const value = valueAt(data, path);
  const last = path[path.length - 1];
  if (value === undefined && issue.code === "invalid_type") {
    const message = /required/.test(issue.message) ? issue.message : `${String(last)} is required`;
    return [{ path, message }];
  }
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
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new RosterError(
      file,
      doc.errors.map((e) => ({
        path: [],
        line: e.linePos?.[0].line,
        message: `YAML syntax error: ${e.message.split("\n")[0]}`,
      })),
    );
  }
  const data: unknown = doc.toJS();
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

  const parsed = rosterSchema.safeParse(data);
  if (!parsed.success) {
    throw new RosterError(file, locate(parsed.error.issues.flatMap((issue) => describeIssue(issue, data))));
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
