/**
 * The difference between two synthesized Terraform configurations, resource by resource, each
 * placed by its construct path (cdktf's `//` metadata): its layer (the construct under the stack)
 * and, when the path or its `developer` tag names one, its developer. Addresses are only keys:
 * nothing here reads meaning into how they are spelled.
 */
import type { TerraformJson } from "../terraform/plan-json";

export interface ResourceEntry {
  /** Terraform address, `type.name`. */
  readonly address: string;
  readonly type: string;
  /** Construct path below the stack, e.g. `alb/tg-dev1`. */
  readonly path: string;
  /** First construct under the stack, e.g. `alb`. */
  readonly layer: string;
  /** The developer the resource belongs to, if any. */
  readonly developer?: string;
  /** The resource's configuration without cdktf's metadata. */
  readonly body: Record<string, unknown>;
}

export interface AttributeChange {
  /** Dotted path of the attribute, e.g. `root_block_device.volume_size`. */
  readonly path: string;
  /** Readable one-line description: `"a" → "b"`, or a summary for long text. */
  readonly description: string;
}

export type ChangeKind = "added" | "removed" | "changed";

export interface ResourceDiff {
  readonly kind: ChangeKind;
  /** The resource as the current configuration has it (the base's for a removed one). */
  readonly entry: ResourceEntry;
  /** What changes, for a changed resource. */
  readonly attributes: readonly AttributeChange[];
}

const boundary = (name: string) => new RegExp(`(^|[^a-z0-9])${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^a-z0-9])`);

/** The developer a resource belongs to: its `developer` tag, else the longest developer name its path contains as a word. */
function developerOf(body: Record<string, unknown>, path: string, developers: readonly string[]): string | undefined {
  const tag = (body.tags as Record<string, unknown> | undefined)?.developer;
  if (typeof tag === "string" && developers.includes(tag)) return tag;
  return [...developers].sort((a, b) => b.length - a.length).find((name) => boundary(name).test(path));
}

/** Every managed resource of `config` by address, placed by construct path. */
export function resourceEntries(config: TerraformJson, developers: readonly string[]): Map<string, ResourceEntry> {
  const entries = new Map<string, ResourceEntry>();
  for (const [type, resources] of Object.entries<Record<string, Record<string, unknown>>>(config.resource ?? {})) {
    for (const [name, { "//": meta, ...body }] of Object.entries(resources)) {
      const fullPath = ((meta as { metadata?: { path?: string } } | undefined)?.metadata?.path ?? `${type}/${name}`).split("/");
      const path = fullPath.slice(1).join("/");
      entries.set(`${type}.${name}`, {
        address: `${type}.${name}`,
        type,
        path,
        layer: fullPath[1] ?? "stack",
        developer: developerOf(body, path, developers),
        body,
      });
    }
  }
  return entries;
}

/** Text longer than this, or of several lines, is summarized rather than shown. */
const LONG_TEXT = 80;

const KIB = 1024;
function size(text: string): string {
  return text.length < KIB ? `${text.length} characters` : `${(text.length / KIB).toFixed(1)} KiB`;
}

/** Counts of lines added and removed between two texts (as multisets: moved lines do not count). */
function lineDelta(before: string, after: string): { added: number; removed: number } {
  const counts = new Map<string, number>();
  for (const line of before.split("\n")) counts.set(line, (counts.get(line) ?? 0) + 1);
  let added = 0;
  for (const line of after.split("\n")) {
    const left = counts.get(line) ?? 0;
    if (left > 0) counts.set(line, left - 1);
    else added++;
  }
  const removed = [...counts.values()].reduce((s, n) => s + n, 0);
  return { added, removed };
}

function shown(value: unknown): string {
  if (value === undefined) return "(none)";
  if (typeof value === "string" && (value.includes("\n") || value.length > LONG_TEXT)) return `(${size(value)})`;
  return JSON.stringify(value);
}

/** One line saying how `before` became `after`. */
export function describeChange(before: unknown, after: unknown): string {
  if (typeof before === "string" && typeof after === "string" && (before.includes("\n") || after.includes("\n"))) {
    const lines = (text: string) => text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
    const { added, removed } = lineDelta(before, after);
    return `${lines(before)} → ${lines(after)} lines (+${added} −${removed})`;
  }
  if (typeof before === "string" && typeof after === "string" && (before.length > LONG_TEXT || after.length > LONG_TEXT)) {
    return `changed (${size(before)} → ${size(after)})`;
  }
  return `${shown(before)} → ${shown(after)}`;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);
const isScalarList = (v: unknown): v is unknown[] => Array.isArray(v) && v.every((x) => x === null || typeof x !== "object");

/** The attributes that differ between two resource bodies, down to their leaves. */
export function attributeChanges(before: unknown, after: unknown, path = ""): AttributeChange[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const at = (key: string | number) => (typeof key === "number" ? `${path}[${key}]` : path ? `${path}.${key}` : key);
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => attributeChanges(before[key], after[key], at(key)));
  }
  // A list of names (depends_on, security groups) reads best as what joined and what left.
  if (isScalarList(before) && isScalarList(after) && (before.length > 3 || after.length > 3)) {
    const text = (xs: unknown[]) => xs.map((x) => JSON.stringify(x));
    const was = new Set(text(before));
    const now = new Set(text(after));
    const joined = [...now].filter((x) => !was.has(x));
    const left = [...was].filter((x) => !now.has(x));
    const parts = [...joined.map((x) => `+ ${x}`), ...left.map((x) => `− ${x}`)];
    return [{ path, description: parts.length > 0 ? parts.join(", ") : "same entries, another order" }];
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((item, i) => attributeChanges(item, after[i], at(i)));
  }
  return [{ path, description: describeChange(before, after) }];
}

/** Added, removed and changed resources from `base` to `current`. */
export function diffConfigs(base: ReadonlyMap<string, ResourceEntry>, current: ReadonlyMap<string, ResourceEntry>): ResourceDiff[] {
  const diffs: ResourceDiff[] = [];
  for (const [address, entry] of current) {
    const before = base.get(address);
    if (!before) diffs.push({ kind: "added", entry, attributes: [] });
    else {
      const attributes = attributeChanges(before.body, entry.body);
      if (attributes.length > 0) diffs.push({ kind: "changed", entry, attributes });
    }
  }
  for (const [address, entry] of base) {
    if (!current.has(address)) diffs.push({ kind: "removed", entry, attributes: [] });
  }
  return diffs.sort((a, b) => (a.entry.address < b.entry.address ? -1 : a.entry.address > b.entry.address ? 1 : 0));
}

/**
 * The resources a body refers to (in expressions or depends_on), among `known` addresses. Any
 * mention counts: a reference can sit deep inside a function call, and an address is specific
 * enough not to turn up by chance.
 */
export function referencesOf(body: Record<string, unknown>, known: ReadonlySet<string>): Set<string> {
  const found = new Set<string>();
  for (const match of JSON.stringify(body).matchAll(/\b(?:data\.)?aws_[a-z0-9_]+\.[A-Za-z0-9_-]+/g)) {
    if (known.has(match[0])) found.add(match[0]);
  }
  return found;
}
