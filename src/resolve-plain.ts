/**
 * cdktf resolves a stack by walking every value with a fresh context object, path array and two
 * regular expressions per string, three times over (each element, the merged stack, metadata),
 * though all but a few leaves are plain strings and numbers: for 250 developers that walk was
 * most of the synth. `resolvePlainValuesDirectly` walks the plain part itself, returning what
 * cdktf's walk would (a copy, `undefined` members dropped), and hands every value that is or may
 * hold a token, with the path cdktf would have given it, to cdktf's own resolve. speed.test.ts
 * compares whole stacks and every kind of value with cdktf's own resolve (`withCdktfResolve`),
 * and cli.test.ts the app's output with cdktf unmodified (`CDKTF_STACK_TRACES=1`).
 */
// The module object itself (not an import namespace, whose bindings are read-only): cdktf 0.21.0
// (pinned) calls `resolve` through it, so replacing it there reaches every caller.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- an ES import would give a read-only copy
import resolution = require("cdktf/lib/tokens/private/resolve");
import { DefaultTokenResolver, StringConcat, Token, Tokenization } from "cdktf";
import { TokenMap } from "cdktf/lib/tokens/private/token-map";
import { dependable, FOR_EXPRESSION_KEY } from "cdktf/lib/tfExpression";

type ResolveOptions = Parameters<typeof resolution.resolve>[1];
/** Where a value sits: its container's path and its key there; made into cdktf's prefix only on hand-over. */
type Path = { readonly up: Path; readonly key: string } | undefined;

/** cdktf's own resolve, as this module found it. */
const cdktfResolve = resolution.resolve;

/** Runs `run` with cdktf's own resolve in place (speed.test.ts compares the two). */
export function withCdktfResolve<T>(run: () => T): T {
  const current = resolution.resolve;
  resolution.resolve = cdktfResolve;
  try {
    return run();
  } finally {
    resolution.resolve = current;
  }
}

/** Every encoding of a token in a string holds this: `${TfToken[`, `#{TfToken[` (list), `&{TfToken[` (map). */
const TOKEN_MARK = "TfToken[";
/** cdktf's pattern of a number written into a string (encoding.ts, NUMBER_TOKEN_REGEX). */
const NUMBER_IN_TEXT = /[-|\d|.+]+(e[-|\d|.|e|E|+]+)/;
/**
 * Token numbers are doubles with cdktf's marker in their top 16 bits: about -1e289 or -1e299, never within
 * ±1e280, and written into text always with an exponent, "e+".
 */
const PLAIN_NUMBER_LIMIT = 1e280;

/** Whether cdktf could find a number token in `s` (the exponent first: far cheaper than the pattern). */
function mayHoldNumberToken(s: string): boolean {
  return s.includes("e+") && NUMBER_IN_TEXT.test(s);
}

/** A string cdktf would return as it is. The map placeholders it refuses with an error of its own. */
function plainString(s: string): boolean {
  return !s.includes(TOKEN_MARK) && !mayHoldNumberToken(s) && s !== Token.STRING_MAP_TOKEN_VALUE && s !== Token.ANY_MAP_TOKEN_VALUE;
}

function plainNumber(n: number): boolean {
  return Math.abs(n) < PLAIN_NUMBER_LIMIT && n !== Token.NUMBER_MAP_TOKEN_VALUE;
}

/** A value cdktf would return as it is, with nothing inside to walk. */
function plainLeaf(value: unknown): boolean {
  if (typeof value === "string") return plainString(value);
  if (typeof value === "number") return plainNumber(value);
  return value === null || typeof value === "boolean";
}

/** A list cdktf would resolve as a whole: an encoded list token among its elements. */
function holdsListToken(values: readonly unknown[]): boolean {
  return values.some((x) => (typeof x === "string" && x.includes(`#{${TOKEN_MARK}`)) || (typeof x === "number" && !plainNumber(x)));
}

/** One string token, whole, with its key; the opening of an interpolation that is not one; list and map tokens. */
const STRING_TOKEN = /\$\{TfToken\[([a-zA-Z0-9:._-]+)\]\}/g;
const LITERAL_INTERPOLATION = /\$\{(?!TfToken\[)/;
const OTHER_TOKEN = /[#&]\{TfToken\[/;

/**
 * Whether cdktf would resolve a string holding tokens as the concatenation of its literal parts
 * and each token resolved on its own: with the default resolver and plain concatenation, and no
 * `${` of its own (cdktf reads those as escapes, which change how the tokens after them print).
 */
function resolvesPiecewise(s: string, options: ResolveOptions): boolean {
  const { resolver } = options;
  return (
    resolver instanceof DefaultTokenResolver &&
    (resolver as unknown as { concat?: unknown }).concat instanceof StringConcat &&
    !LITERAL_INTERPOLATION.test(s) &&
    !OTHER_TOKEN.test(s)
  );
}

/**
 * cdktf's classes (not exported by name) of a reference to an attribute, and of an element a
 * `depends_on` names: the instances cdktf itself makes.
 */
const REFERENCE = (FOR_EXPRESSION_KEY as object).constructor;
const DEPENDABLE = classOf(Tokenization.reverseString(dependable({ fqn: "" })).firstToken);

function classOf(token: object | undefined): (...args: never[]) => unknown {
  if (!token) throw new Error("cdktf's dependable() gave no token: resolve-plain.ts does not fit this cdktf version");
  return token.constructor as (...args: never[]) => unknown;
}

interface ReferenceFields {
  readonly identifier: unknown;
  readonly crossStackIdentifier: Readonly<Record<string, string>>;
}

/**
 * What cdktf resolves the token `key` to, when it is a reference within the stack or a
 * `depends_on` entry: most of a stack's tokens, each costing cdktf a dozen calls to print
 * `${<identifier>}` or `<type>.<name>` (tfExpression.ts: Reference and Dependable, then resolving
 * the result again and post-processing it, which changes nothing for text without tokens).
 * Undefined for any other token, which cdktf resolves.
 */
function referenceText(key: string, options: ResolveOptions): string | undefined {
  if (options.preparing) return undefined;
  let token: unknown;
  try {
    token = TokenMap.instance().lookupToken(key);
  } catch {
    return undefined; // cdktf says what is wrong with the key
  }
  if (token instanceof DEPENDABLE) {
    const { fqn } = (token as unknown as { dependable: { fqn: unknown } }).dependable;
    return typeof fqn === "string" && plainString(fqn) ? fqn : undefined;
  }
  if (!(token instanceof REFERENCE)) return undefined;
  const { identifier, crossStackIdentifier } = token as unknown as ReferenceFields;
  if (typeof identifier !== "string" || !plainString(identifier) || Object.keys(crossStackIdentifier).length > 0) return undefined;
  return options.previousContext?.suppressBraces ? identifier : `\${${identifier}}`;
}

function prefixOf(options: ResolveOptions, path: Path): string[] {
  const keys: string[] = [];
  for (let p = path; p; p = p.up) keys.unshift(p.key);
  return [...(options.prefix ?? []), ...keys];
}

function handOver(value: unknown, options: ResolveOptions, path: Path): unknown {
  return cdktfResolve(value, { ...options, prefix: prefixOf(options, path) });
}

/**
 * A string holding tokens. cdktf splits one at every "}" it holds, rescanning the rest each time,
 * and joins the pieces pairwise: quadratic in a long JSON document with references in it (a task
 * definition's containers, the dashboard). Here each token is resolved by cdktf alone.
 */
function resolveString(value: string, options: ResolveOptions, path: Path): unknown {
  const tokens = [...value.matchAll(STRING_TOKEN)];
  if (tokens.length === 1 && tokens[0][0] === value) return referenceText(tokens[0][1], options) ?? handOver(value, options, path);
  if (tokens.length === 0 || !resolvesPiecewise(value, options)) return handOver(value, options, path);
  const parts: string[] = [];
  let at = 0;
  for (const token of tokens) {
    const resolved = referenceText(token[1], options) ?? handOver(token[0], options, path);
    if (typeof resolved !== "string") return handOver(value, options, path);
    parts.push(value.slice(at, token.index), resolved);
    at = token.index + token[0].length;
  }
  parts.push(value.slice(at));
  const joined = parts.join("");
  // cdktf's last step on any string: number tokens written into it.
  return mayHoldNumberToken(joined) ? handOver(joined, options, path) : joined;
}

function walk(value: unknown, options: ResolveOptions, path: Path): unknown {
  switch (typeof value) {
    case "string":
      return plainString(value) ? value : resolveString(value, options, path);
    case "number":
      return plainNumber(value) ? value : handOver(value, options, path);
    case "boolean":
    case "undefined":
      return value;
    case "object":
      if (value === null || value instanceof Date) return value;
      return Array.isArray(value) ? walkArray(value, options, path) : walkRecord(value as Record<string, unknown>, options, path);
    case "bigint":
    case "symbol":
    case "function":
      return handOver(value, options, path);
  }
}

function walkArray(values: readonly unknown[], options: ResolveOptions, path: Path): unknown {
  if (holdsListToken(values)) return handOver(values, options, path);
  const out: unknown[] = [];
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    const resolved = plainLeaf(value) ? value : walk(value, options, { up: path, key: String(i) });
    if (resolved !== undefined) out.push(resolved);
  }
  return out;
}

function walkRecord(record: Record<string, unknown>, options: ResolveOptions, path: Path): unknown {
  const keys = Object.keys(record);
  // A resolvable, a construct (which cdktf refuses) or a key that is a token: cdktf's own.
  if (typeof record.resolve === "function" || "_children" in record || !keys.every(plainString)) return handOver(record, options, path);
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const value = record[key];
    const resolved = plainLeaf(value) ? value : walk(value, options, { up: path, key });
    if (resolved !== undefined) out[key] = resolved;
  }
  return out;
}

/** Puts the walk above in front of cdktf's resolve, for the rest of the process; `CDKTF_STACK_TRACES=1` leaves cdktf's alone. */
export function resolvePlainValuesDirectly(env: NodeJS.ProcessEnv = process.env): void {
  if (env.CDKTF_STACK_TRACES === "1" || resolution.resolve !== cdktfResolve) return;
  resolution.resolve = (obj, options) => walk(obj, options, undefined);
}
