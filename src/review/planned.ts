/**
 * Terraform's plan of a roster change, resource by resource, as the review shows it: each change
 * with Terraform's own action, the attributes that force a replacement, and what changes, placed
 * by construct path under its layer and developer (diff.ts). Nothing here decides an action:
 * every one is read from the plan.
 */
import type { JsonValue, PlanJson, ResourceChange } from "../terraform/plan-json";
import { isReplacement } from "../terraform/plan-json";
import type { PlannedChange as StreamedChange } from "../terraform/plan-against-state";
import { describeChange, type AttributeChange, type ResourceEntry } from "./diff";

/**
 * What Terraform does to a resource, in its own words: `-/+` destroys first, `+/-` creates first;
 * `forget` drops it from the state and leaves it in AWS (a `removed` block with `destroy = false`).
 */
export type ReviewAction = "create" | "update" | "replace" | "delete" | "forget";

export interface ReviewedChange {
  /** Terraform's address, with its index: `aws_acm_certificate.alb_certificate[0]`. */
  readonly address: string;
  /** The resource's address without an index: the key of its configuration. */
  readonly resource: string;
  readonly type: string;
  /** The construct under the stack, e.g. `alb`; `stack` when the configuration does not say. */
  readonly layer: string;
  /** The developer the resource belongs to, if any. */
  readonly developer?: string;
  readonly action: ReviewAction;
  /** For a replacement: the new object is created before the old is destroyed (`create_before_destroy`). */
  readonly createFirst: boolean;
  /** For a replacement: the attributes whose change forces it. */
  readonly forcedBy: readonly string[];
  /** What changes, for an update or a replacement. */
  readonly attributes: readonly AttributeChange[];
  /** The address a `moved` block moves it from. */
  readonly movedFrom?: string;
  /**
   * Terraform plans the same for the base configuration itself, against its own deployment: the
   * roster change does not cause it (see Deployment.selfPlanned).
   */
  readonly alsoWithoutTheChange: boolean;
}

/** The review's action of Terraform's actions, or undefined for one that changes nothing (no-op, read). */
export function reviewAction(actions: readonly string[]): ReviewAction | undefined {
  if (actions.includes("delete") && actions.includes("create")) return "replace";
  if (actions.includes("delete")) return "delete";
  if (actions.includes("create")) return "create";
  if (actions.includes("update")) return "update";
  if (actions.includes("forget")) return "forget";
  return undefined;
}

/** Terraform's symbol of an action, as its own plan prints it. */
export function symbolOf(change: Pick<ReviewedChange, "action" | "createFirst">): string {
  switch (change.action) {
    case "create":
      return "+";
    case "update":
      return "~";
    case "delete":
      return "-";
    case "replace":
      return change.createFirst ? "+/-" : "-/+";
    case "forget":
      return ".";
  }
}

const isObject = (v: JsonValue | undefined): v is { [key: string]: JsonValue } => !!v && typeof v === "object" && !Array.isArray(v);
const isScalarList = (v: JsonValue | undefined): v is JsonValue[] =>
  Array.isArray(v) && v.every((x) => x === null || typeof x !== "object");

/** null, or an empty string, list or map. */
const isEmpty = (v: JsonValue | undefined) =>
  v === null || v === undefined || v === "" || (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);

/** Whether `marks` (an after_unknown or *_sensitive tree) marks the value it mirrors as a whole. */
const marked = (marks: JsonValue | undefined) => marks === true;

/**
 * The attributes that differ between a plan's `before` and `after`, down to their leaves, with
 * values known only after apply and sensitive values said as such, never shown.
 */
export function plannedAttributeChanges(
  before: JsonValue | undefined,
  after: JsonValue | undefined,
  marks: { unknown?: JsonValue; sensitive?: JsonValue } = {},
  path = "",
): AttributeChange[] {
  if (marked(marks.sensitive)) {
    return JSON.stringify(before) === JSON.stringify(after) && !marked(marks.unknown)
      ? []
      : [{ path, description: "(sensitive value changes)" }];
  }
  if (marked(marks.unknown))
    return [{ path, description: `${describeChange(before ?? undefined, "").split(" → ")[0]} → (known after apply)` }];
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  // The provider's legacy type system reads an unset value as its empty one ("", [], {}): no change.
  if (isEmpty(before) && isEmpty(after)) return [];
  const at = (key: string | number) => (typeof key === "number" ? `${path}[${key}]` : path ? `${path}.${key}` : key);
  const child = (m: JsonValue | undefined, key: string | number): JsonValue | undefined =>
    Array.isArray(m) && typeof key === "number" ? m[key] : isObject(m) && typeof key === "string" ? m[key] : undefined;
  const childMarks = (key: string | number) => ({ unknown: child(marks.unknown, key), sensitive: child(marks.sensitive, key) });
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => plannedAttributeChanges(before[key], after[key], childMarks(key), at(key)));
  }
  if (isScalarList(before) && isScalarList(after) && (before.length > 3 || after.length > 3) && !marks.sensitive && !marks.unknown) {
    const text = (xs: JsonValue[]) => xs.map((x) => JSON.stringify(x));
    const was = new Set(text(before));
    const now = new Set(text(after));
    const parts = [
      ...[...now].filter((x) => !was.has(x)).map((x) => `+ ${x}`),
      ...[...was].filter((x) => !now.has(x)).map((x) => `− ${x}`),
    ];
    return [{ path, description: parts.length > 0 ? parts.join(", ") : "same entries, another order" }];
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((item, i) => plannedAttributeChanges(item, after[i], childMarks(i), at(i)));
  }
  return [{ path, description: describeChange(before ?? undefined, after ?? undefined) }];
}

/** `aws_x.name` of `aws_x.name[0]` or `aws_x.name["key"]`. */
export function resourceOf(address: string): string {
  const bracket = address.indexOf("[");
  return bracket < 0 ? address : address.slice(0, bracket);
}

/** What forces a replacement that no attribute does, by Terraform's `action_reason`. */
const REASONS: Readonly<Record<string, string>> = {
  replace_by_triggers: "replace_triggered_by",
  replace_because_tainted: "the object being tainted",
  replace_by_request: "-replace",
};

/**
 * The attribute paths of a change's replace_paths, dotted: `port`, `root_block_device.0.volume_size`;
 * or, when none forces it, the reason Terraform gives (`replace_triggered_by`, a taint, `-replace`).
 */
function forcedByOf(change: ResourceChange): string[] {
  const paths = (change.change.replace_paths ?? []).map((p) => p.map(String).join("."));
  const reason = change.action_reason ? REASONS[change.action_reason] : undefined;
  return paths.length === 0 && reason ? [reason] : paths;
}

/**
 * Every resource Terraform's plan changes, in address order, placed by `entries` (the current
 * configuration's, then the base's, for resources the change removes).
 */
export function reviewedChanges(
  plan: PlanJson,
  entries: ReadonlyMap<string, ResourceEntry>,
  selfPlanned: ReadonlyMap<string, StreamedChange>,
  configChanged: ReadonlySet<string>,
): ReviewedChange[] {
  const changes: ReviewedChange[] = [];
  for (const change of plan.resource_changes ?? []) {
    if (change.mode !== "managed") continue;
    const action = reviewAction(change.change.actions);
    // A move alone changes nothing in AWS; a move with a change is shown with the change.
    if (!action) continue;
    const resource = resourceOf(change.address);
    const entry = entries.get(resource);
    const { before, after } = change.change;
    const forcedBy = action === "replace" ? forcedByOf(change) : [];
    const attributes = (
      action === "update" || action === "replace"
        ? plannedAttributeChanges(before ?? undefined, after ?? undefined, {
            unknown: change.change.after_unknown,
            sensitive: (change.change as { after_sensitive?: JsonValue }).after_sensitive,
          })
        : []
    ).filter(
      // A new object's id and other computed values are new by definition: only what forces it or changes is worth a line.
      (a) => action !== "replace" || forcedBy.includes(a.path) || !a.description.endsWith("(known after apply)"),
    );
    const self = selfPlanned.get(change.address);
    changes.push({
      address: change.address,
      resource,
      type: change.type,
      layer: entry?.layer ?? "stack",
      developer: entry?.developer,
      action,
      createFirst: isReplacement(change.change.actions) && change.change.actions[0] === "create",
      forcedBy,
      attributes,
      ...(change.previous_address ? { movedFrom: change.previous_address } : {}),
      // The roster change left its configuration as it was, and Terraform plans the same without it.
      alsoWithoutTheChange: self?.action === action && !configChanged.has(resource),
    });
  }
  return changes.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** Terraform's own count of a plan: a replacement is one to add and one to destroy. */
export function planCounts(changes: readonly ReviewedChange[]): { add: number; change: number; destroy: number; replace: number } {
  const count = (action: ReviewAction) => changes.filter((c) => c.action === action).length;
  const replace = count("replace");
  return { add: count("create") + replace, change: count("update"), destroy: count("delete") + replace, replace };
}
