/**
 * Problems YAML itself finds in the roster, said in our words: syntax errors, duplicate keys
 * (named, with the lines of both), merge keys that cannot be merged and aliases without anchors.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, visit, type Document, type LineCounter, type Node, type YAMLError } from "yaml";
import type { LocatedProblem } from "./model";

/** The 1-based line a node starts on. */
function lineOf(counter: LineCounter, node: { range?: [number, number, number] | null }): number | undefined {
  return node.range ? counter.linePos(node.range[0]).line : undefined;
}

/** A YAML syntax error in our words; the line is reported beside it, so the message drops yaml's own "at line, column" tail. */
function describeYamlError(error: YAMLError): string {
  if (error.code === "TAB_AS_INDENT")
    return "YAML syntax error: a tab is used for indentation; YAML allows only spaces: indent with spaces";
  const first = error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
  const column = error.linePos?.[0].col;
  return `YAML syntax error${column ? ` (column ${column})` : ""}: ${first}`;
}

/**
 * YAML merge keys (`<<: *defaults`) are supported; when one cannot be merged (its value is not a
 * mapping, or an alias names no anchor) toJS throws. This finds the node and says what to write.
 */
export function mergeProblems(doc: Document, counter: LineCounter): LocatedProblem[] {
  const problems: LocatedProblem[] = [];
  const line = (node: Node) => lineOf(counter, node);
  visit(doc, {
    Pair(_, pair) {
      const key = pair.key;
      if (!isScalar(key) || (typeof key.value !== "symbol" && key.value !== "<<")) return;
      const value = pair.value;
      const sources = isSeq(value) ? value.items : [value];
      // An alias that names no anchor is reported once, below.
      const mergeable = sources.every((v) => isMap(v) || (isAlias(v) && (v.resolve(doc) === undefined || isMap(v.resolve(doc)))));
      if (!mergeable) {
        problems.push({
          path: [],
          line: line(key),
          message:
            "a merge key (<<) takes a mapping, or an alias of a mapping defined earlier with an anchor: e.g. <<: *defaults after &defaults { cpus: 2 }",
        });
      }
    },
    Alias(_, alias) {
      if (alias.resolve(doc) === undefined) {
        problems.push({
          path: [],
          line: line(alias),
          message: `the alias *${alias.source} names no anchor: define &${alias.source} on an earlier value`,
        });
      }
    },
  });
  return problems;
}

/**
 * Every key written twice in one mapping, at the later one's line: YAML would keep only one of
 * the two values, and which one the author meant is theirs to say.
 */
function duplicateKeyProblems(doc: Document, counter: LineCounter): LocatedProblem[] {
  const problems: LocatedProblem[] = [];
  const line = (node: Node) => lineOf(counter, node);
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (isSeq(node)) node.items.forEach((item, i) => walk(item, [...path, i]));
    if (!isMap(node)) return;
    const first = new Map<unknown, Node>();
    for (const pair of node.items) {
      if (!isPair(pair) || !isScalar(pair.key) || typeof pair.key.value === "symbol" || pair.key.value === "<<") continue;
      const key = pair.key.value;
      const earlier = first.get(key);
      if (earlier) {
        problems.push({
          path: [...path, String(key)],
          line: line(pair.key),
          message: `duplicate key "${String(key)}", already set on line ${line(earlier)}: YAML keeps only one of the two values; remove one`,
        });
      } else {
        first.set(key, pair.key);
      }
      walk(pair.value, [...path, String(key)]);
    }
  };
  walk(doc.contents, []);
  return problems;
}

/** The document's errors as problems, each duplicate key named with the lines of both. */
export function yamlErrorProblems(doc: Document, counter: LineCounter): LocatedProblem[] {
  const others = doc.errors.filter((e) => e.code !== "DUPLICATE_KEY");
  const duplicates = others.length === doc.errors.length ? [] : duplicateKeyProblems(doc, counter);
  // Should the walk not find a duplicate yaml reported, yaml's own words still reach the author.
  const unexplained = duplicates.length > 0 ? [] : doc.errors.filter((e) => e.code === "DUPLICATE_KEY");
  return [...others, ...unexplained]
    .map((e): LocatedProblem => ({ path: [], line: e.linePos?.[0].line, message: describeYamlError(e) }))
    .concat(duplicates)
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}
