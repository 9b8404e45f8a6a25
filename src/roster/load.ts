/**
 * Reads `roster.yaml` (or the file named by ROSTER_FILE): YAML syntax, then the schema, then
 * the cross-field rules. Every problem is reported at once, each with its line, the field, the
 * bad value and what to change.
 */
import { readFileSync } from "node:fs";
import { isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type YAMLMap } from "yaml";
import { buildFleet, defaultStateKey } from "./fleet";
import type { Fleet, LocatedProblem, Problem, StateBackend } from "./model";
import { crossFieldProblems, rosterParts } from "./rules";
import { rosterSchema } from "./schema";
import { describeIssue, shownValue, valueAt } from "./schema-problems";
import { AWS_REGION, REGION_MESSAGE, bucketNameProblem, stateKeyProblem } from "./state-backend";
import { mergeProblems, yamlErrorProblems } from "./yaml-problems";

export const DEFAULT_ROSTER_FILE = "roster.yaml";

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

/** The pair of `key` in a mapping: the last one, whose value YAML keeps when a key is written twice. */
function pairOf(map: YAMLMap, key: string | number) {
  return [...map.items].reverse().find((item) => isPair(item) && isScalar(item.key) && item.key.value === key);
}

/** The node at `path` as the roster's data reads it (the later of two equal keys). */
function nodeAt(doc: Document, path: readonly (string | number)[]): unknown {
  let node: unknown = doc.contents;
  for (const step of path) {
    if (isMap(node)) node = pairOf(node, step)?.value;
    else if (isSeq(node) && typeof step === "number") node = node.items[step];
    else return undefined;
  }
  return node;
}

function lineOf(doc: Document, counter: LineCounter, path: readonly (string | number)[], key?: string): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = nodeAt(doc, path.slice(0, depth));
    if (!isNode(node) || !node.range) continue;
    if (key !== undefined && depth === path.length && isMap(node)) {
      const pair = pairOf(node, key);
      const keyNode = pair && isScalar(pair.key) ? pair.key : undefined;
      if (keyNode?.range) return counter.linePos(keyNode.range[0]).line;
    }
    return counter.linePos(node.range[0]).line;
  }
  return undefined;
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

/**
 * STATE_BUCKET, STATE_KEY and STATE_REGION, which choose the S3 backend over the roster's, held
 * to the roster's rules for `state`. The other two count only beside STATE_BUCKET.
 */
function environmentProblems(env: NodeJS.ProcessEnv): LocatedProblem[] {
  if (!env.STATE_BUCKET) return [];
  const rules: [name: string, problem: (value: string) => string | undefined][] = [
    ["STATE_BUCKET", bucketNameProblem],
    ["STATE_KEY", stateKeyProblem],
    ["STATE_REGION", (region) => (AWS_REGION.test(region) ? undefined : REGION_MESSAGE)],
  ];
  return rules.flatMap(([name, problem]) => {
    const value = env[name];
    const found = value ? problem(value) : undefined;
    return found ? [{ path: [], message: `the environment variable ${name} ${found}${shownValue(value, "")}` }] : [];
  });
}

/** Problems by line, those of no line (the environment, the file as a whole) first; the order found within a line. */
function inFileOrder(problems: readonly LocatedProblem[]): LocatedProblem[] {
  return [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

/** Parses roster text into a Fleet, or throws a RosterError listing every problem. */
export function parseRoster(text: string, file = DEFAULT_ROSTER_FILE, env: NodeJS.ProcessEnv = {}): Fleet {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: true, merge: true });
  // A duplicate key leaves a readable document (the later value wins), so the rest is checked too.
  const yamlProblems = yamlErrorProblems(doc, counter);
  if (doc.errors.some((e) => e.code !== "DUPLICATE_KEY")) throw new RosterError(file, yamlProblems);
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (err) {
    const problems = mergeProblems(doc, counter);
    const found = problems.length > 0 ? problems : [{ path: [], message: `YAML error: ${(err as Error).message}` }];
    throw new RosterError(file, inFileOrder([...yamlProblems, ...found]));
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
    const node = nodeAt(doc, path);
    return isScalar(node) && typeof node.source === "string" ? node.source : undefined;
  };
  const parsed = rosterSchema.safeParse(data);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.flatMap((issue) => describeIssue(issue, data, sourceAt))),
    // The rules that look across fields run on every part the schema accepted, failed or not.
    ...crossFieldProblems(rosterParts(data)),
  ];
  const located = [...environmentProblems(env), ...yamlProblems, ...locate(problems)];
  if (!parsed.success || located.length > 0) throw new RosterError(file, inFileOrder(located));
  const override = stateFromEnvironment(env, {
    key: defaultStateKey(parsed.data),
    region: parsed.data.region,
  });
  const { fleet, problems: more } = buildFleet(parsed.data, override);
  if (!fleet) throw new RosterError(file, inFileOrder(locate(more)));
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
