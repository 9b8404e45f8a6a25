/**
 * Renders a synthesized stack as HCL split into main.tf, variables.tf and outputs.tf: the
 * users' way off cdktf. cdktf 0.21's own HCL output loses backslashes and trailing
 * newlines and quotes references, so this writer walks cdktf's typed fragments (which know
 * blocks from attributes) and spells every value as Terraform's native syntax would.
 */
import { RemovedBlock } from "../terraform/removed-block";
import { TerraformBackend, TerraformElement, TerraformOutput, type TerraformStack, TerraformVariable } from "cdktf";
import { resolve } from "cdktf/lib/_tokens";
import type { TerraformJson } from "../terraform/plan-json";
import { formatHcl } from "./hcl-format";

export interface HclFiles {
  readonly "main.tf": string;
  readonly "variables.tf": string;
  readonly "outputs.tf": string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const TYPED_KEYS = ["isBlock", "is_block", "storageClassType", "storage_class_type", "type"];

/** cdktf wraps typed attributes as `{ value, isBlock, type, storageClassType }`. */
function isTyped(v: Json): v is JsonObject & { value: Json } {
  return !!v && typeof v === "object" && !Array.isArray(v) && "value" in v && TYPED_KEYS.some((k) => k in v);
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

function key(name: string): string {
  return IDENTIFIER.test(name) ? name : JSON.stringify(name);
}

/** Index just past the `}` closing the `${`/`%{` sequence that starts at `start`. */
function closingBrace(text: string, start: number): number {
  let depth = 0;
  let quoted = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i + 1;
  }
  throw new Error(`unbalanced template expression in ${JSON.stringify(text.slice(start, start + 80))}`);
}

/** Splits a Terraform template string into literal text and `${...}`/`%{...}` sequences (kept verbatim). */
function templateParts(text: string): { literal: boolean; text: string }[] {
  const parts: { literal: boolean; text: string }[] = [];
  let literal = "";
  for (let i = 0; i < text.length;) {
    if (text.startsWith("$${", i) || text.startsWith("%%{", i)) {
      literal += text.slice(i, i + 3);
      i += 3;
    } else if (text.startsWith("${", i) || text.startsWith("%{", i)) {
      if (literal) parts.push({ literal: true, text: literal });
      literal = "";
      const end = closingBrace(text, i + 1);
      parts.push({ literal: false, text: text.slice(i, end) });
      i = end;
    } else {
      literal += text[i++];
    }
  }
  if (literal) parts.push({ literal: true, text: literal });
  return parts;
}

function quoted(text: string): string {
  const escape = (s: string) =>
    s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t");
  return `"${templateParts(text)
    .map((p) => (p.literal ? escape(p.text) : p.text))
    .join("")}"`;
}

/** A string value: a bare expression when it is one interpolation, a heredoc for text files, else quoted. */
function stringExpr(text: string): string {
  const parts = templateParts(text);
  if (parts.length === 1 && !parts[0].literal && parts[0].text.startsWith("${")) return parts[0].text.slice(2, -1);
  // A heredoc's value is its lines each with a newline, so it fits text that ends with one.
  if (text.includes("\n") && text.endsWith("\n") && !text.includes("\r") && !/^EOT$/m.test(text)) return `<<EOT\n${text}EOT`;
  return quoted(text);
}

function expr(value: Json): string {
  if (value === null) return "null";
  if (typeof value === "string") return stringExpr(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) {
    const items = value.map(expr);
    const inline = `[${items.join(", ")}]`;
    return inline.length <= 100 && !inline.includes("\n") ? inline : `[\n${items.map((i) => `${i},`).join("\n")}\n]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return "{}";
  return `{\n${entries.map(([k, v]) => `${key(k)} = ${expr(v)}`).join("\n")}\n}`;
}

/** A reference written as a string in Terraform JSON (`depends_on`, `ignore_changes`): bare in HCL. */
function reference(value: Json): string {
  if (typeof value !== "string") throw new Error(`expected a reference, got ${JSON.stringify(value)}`);
  return value.replace(/^\$\{(.*)\}$/s, "$1");
}

function block(name: string, labels: string[], body: string): string {
  const header = [name, ...labels.map((l) => JSON.stringify(l))].join(" ");
  // An empty block (a WAF action such as `allow {}`) on one line, as terraform fmt keeps it.
  return body === "" ? `${header} {}` : `${header} {\n${body}\n}`;
}

function attribute(name: string, value: Json): string | undefined {
  if (name === "//" || value === undefined) return undefined;
  if (isTyped(value)) {
    const isBlock = value.isBlock === true || value.is_block === true;
    if (isBlock) {
      const items = Array.isArray(value.value) ? value.value : [value.value];
      // An explicitly empty list of blocks (default security group rules) is an "attributes as blocks" field.
      if (items.length === 0) return `${name} = []`;
      return items.map((item) => block(name, [], body(item as JsonObject))).join("\n");
    }
    if (value.type === "type") return `${name} = ${value.value as string}`;
    if (value.value === undefined) return undefined;
    return `${name} = ${expr(value.value)}`;
  }
  switch (name) {
    case "lifecycle":
      return block(
        name,
        [],
        Object.entries(value as JsonObject)
          .map(([k, v]) => {
            if ((k === "ignore_changes" || k === "replace_triggered_by") && Array.isArray(v))
              return `${k} = [${v.map(reference).join(", ")}]`;
            // Conditions are blocks: one per entry.
            if ((k === "precondition" || k === "postcondition") && Array.isArray(v)) {
              return v.map((condition) => block(k, [], body(condition as JsonObject))).join("\n");
            }
            return `${k} = ${expr(v)}`;
          })
          .join("\n"),
      );
    case "depends_on":
      return `${name} = [${(value as Json[]).map(reference).join(", ")}]`;
    case "provider":
      return `${name} = ${reference(value)}`;
    default:
      return `${name} = ${expr(value)}`;
  }
}

function body(attributes: JsonObject): string {
  return Object.entries(attributes)
    .map(([name, value]) => attribute(name, value))
    .filter((line): line is string => line !== undefined)
    .join("\n");
}

interface Sections {
  terraform: JsonObject;
  providers: string[];
  resources: string[];
  variables: string[];
  outputs: string[];
}

function addFragment(fragment: JsonObject, sections: Sections): void {
  for (const [kind, content] of Object.entries(fragment) as [string, JsonObject][]) {
    switch (kind) {
      case "terraform":
        Object.assign(sections.terraform, content);
        break;
      case "provider":
        for (const [name, configs] of Object.entries(content)) {
          for (const config of configs as JsonObject[]) sections.providers.push(block("provider", [name], body(config)));
        }
        break;
      case "resource":
      case "data":
        for (const [type, named] of Object.entries(content)) {
          for (const [name, attributes] of Object.entries(named as JsonObject)) {
            sections.resources.push(block(kind, [type, name], body(attributes as JsonObject)));
          }
        }
        break;
      case "moved":
        // A renamed resource (`moveFromId`/`moveToId`): addresses are a compatibility contract.
        for (const move of content as unknown as { from: Json; to: Json }[]) {
          const [from, to] = [move.from, move.to].map((end) => reference(isTyped(end) ? end.value : end));
          sections.resources.push(block("moved", [], `from = ${from}\nto = ${to}`));
        }
        break;
      case "removed":
        // A resource Terraform forgets and leaves in AWS (RemovedBlock).
        for (const removed of content as unknown as { from: string }[]) {
          sections.resources.push(block("removed", [], `from = ${removed.from}\n${block("lifecycle", [], "destroy = false")}`));
        }
        break;
      case "variable":
      case "output":
        for (const [name, attributes] of Object.entries(content)) {
          (kind === "variable" ? sections.variables : sections.outputs).push(block(kind, [name], jsonBody(attributes as JsonObject)));
        }
        break;
      default:
        throw new Error(`HCL export does not handle top-level "${kind}" yet`);
    }
  }
}

function terraformBlock(settings: JsonObject): string {
  const parts: string[] = [];
  if (settings.required_version) parts.push(`required_version = ${expr(settings.required_version)}`);
  if (settings.required_providers) parts.push(block("required_providers", [], body(settings.required_providers as JsonObject)));
  const backend = settings.backend as JsonObject | undefined;
  for (const [type, config] of Object.entries(backend ?? {})) parts.push(block("backend", [type], body(config as JsonObject)));
  return block("terraform", [], parts.join("\n"));
}

/**
 * Backends (their JSON form carries overrides such as use_lockfile), variables and outputs
 * (cdktf's typed form drops falsy defaults and `nullable`) are unambiguous in Terraform's JSON
 * syntax; resources need the typed form to tell blocks from attributes.
 */
function usesJsonForm(element: TerraformElement): boolean {
  return (
    element instanceof TerraformVariable ||
    element instanceof TerraformOutput ||
    element instanceof TerraformBackend ||
    element instanceof RemovedBlock
  );
}

/** The JSON form of the resources in `typed`, taken from the synthesized configuration; undefined if it lacks one. */
function jsonFormIn(synthesized: JsonObject, typed: JsonObject): JsonObject | undefined {
  const form: JsonObject = {};
  for (const kind of ["resource", "data"]) {
    for (const [type, named] of Object.entries((typed[kind] as JsonObject | undefined) ?? {})) {
      for (const name of Object.keys(named as JsonObject)) {
        const body = ((synthesized[kind] as JsonObject | undefined)?.[type] as JsonObject | undefined)?.[name];
        if (body === undefined) return undefined;
        ((form[kind] ??= {}) as JsonObject)[type] ??= {} as JsonObject;
        ((form[kind] as JsonObject)[type] as JsonObject)[name] = body;
      }
    }
  }
  return form;
}

/** An unresolved typed attribute: `{ value, isBlock, type, storageClassType }` with the value possibly a token. */
function isTypedShape(v: unknown): v is { value: unknown; isBlock?: boolean; type?: string; storageClassType?: string } {
  return !!v && typeof v === "object" && !Array.isArray(v) && "value" in v && TYPED_KEYS.some((k) => k in v);
}

/** A plain object (cdktf's synthesized JSON has null prototypes); a token, an instance of a class, is not. */
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === "object" && !Array.isArray(v) && [Object.prototype, null].includes(Object.getPrototypeOf(v));

/**
 * `json` (one resource's synthesized body, or a nested block's) in the typed form, its attributes
 * marked as blocks where `shape` (the unresolved typed form) marks them; attributes only the JSON
 * form has (cdktf's typed form drops empty lists) follow. Undefined when the shape of a block is
 * not known without resolving it.
 */
function typedBody(shape: unknown, json: JsonObject): JsonObject | undefined {
  if (!isPlainObject(shape)) return undefined;
  const out: JsonObject = {};
  for (const [name, entry] of Object.entries(shape)) {
    if (!(name in json)) continue;
    const value = json[name];
    if (!isTypedShape(entry)) {
      out[name] = value;
      continue;
    }
    if (entry.isBlock !== true) {
      out[name] = { value, isBlock: false, type: entry.type ?? null, storageClassType: entry.storageClassType ?? null };
      continue;
    }
    const items = Array.isArray(value) ? value : [value];
    const shapes = Array.isArray(entry.value) ? entry.value : [entry.value];
    if (shapes.length !== items.length) return undefined;
    const typedItems: Json[] = [];
    for (const [i, item] of items.entries()) {
      if (!isPlainObject(item)) return undefined;
      const typed = typedBody(shapes[i], item);
      if (!typed) return undefined;
      typedItems.push(typed);
    }
    out[name] = {
      value: Array.isArray(value) ? typedItems : typedItems[0],
      isBlock: true,
      type: entry.type ?? null,
      storageClassType: entry.storageClassType ?? null,
    };
  }
  for (const [name, value] of Object.entries(json)) if (!(name in out) && !(name in shape)) out[name] = value;
  return out;
}

/** A resource's or data source's fragment in the typed form, built from the synthesized configuration; undefined if it cannot be. */
function typedFromSynthesized(unresolved: Record<string, unknown>, synthesized: JsonObject): JsonObject | undefined {
  const fragment: JsonObject = {};
  for (const [kind, byType] of Object.entries(unresolved)) {
    // cdktf adds a `moved` entry to every fragment, undefined unless the resource was moved.
    if (byType === undefined) continue;
    if ((kind !== "resource" && kind !== "data") || !isPlainObject(byType)) return undefined;
    for (const [type, named] of Object.entries(byType)) {
      if (!isPlainObject(named)) return undefined;
      for (const [name, shape] of Object.entries(named)) {
        const json = ((synthesized[kind] as JsonObject | undefined)?.[type] as JsonObject | undefined)?.[name];
        if (!isPlainObject(json)) return undefined;
        const typed = typedBody(shape, json);
        if (!typed) return undefined;
        ((fragment[kind] ??= {}) as JsonObject)[type] ??= {} as JsonObject;
        ((fragment[kind] as JsonObject)[type] as JsonObject)[name] = typed;
      }
    }
  }
  return fragment;
}

/** cdktf's typed form omits empty lists (`ingress = []`): take any attribute it lacks from the JSON form. */
function withMissingFrom(typed: JsonObject, json: JsonObject): JsonObject {
  for (const kind of ["resource", "data"]) {
    for (const [type, named] of Object.entries((typed[kind] as JsonObject | undefined) ?? {})) {
      for (const [name, attributes] of Object.entries(named as JsonObject)) {
        const full = ((json[kind] as JsonObject)[type] as JsonObject)[name] as JsonObject;
        for (const [attr, value] of Object.entries(full)) {
          if (!(attr in (attributes as JsonObject))) (attributes as JsonObject)[attr] = value;
        }
      }
    }
  }
  return typed;
}

/** Variable and output bodies in Terraform JSON syntax: `type` is a type expression, `validation` a block. */
function jsonBody(attributes: JsonObject): string {
  return Object.entries(attributes)
    .map(([name, value]) => {
      if (name === "type") return `type = ${value as string}`;
      if (name === "validation") return (value as JsonObject[]).map((v) => block(name, [], jsonBody(v))).join("\n");
      return attribute(name, value);
    })
    .filter((line): line is string => line !== undefined)
    .join("\n");
}

export interface HclOptions {
  /**
   * Replaces a local backend's `path`, which is relative to where Terraform runs.
   * @default - the stack's own path
   */
  readonly localStatePath?: string;
  /**
   * The stack's synthesized configuration (cdk.tf.json), to save resolving it again.
   * @default - resolved from the stack
   */
  readonly synthesized?: TerraformJson;
}

/** `stack` (after or without `app.synth()`) as HCL files, unindented: what formatHcl formats. */
export function hclSources(stack: TerraformStack, options: HclOptions = {}): HclFiles {
  const sections: Sections = { terraform: {}, providers: [], resources: [], variables: [], outputs: [] };
  const elements = stack.node.findAll().filter((c): c is TerraformElement => c instanceof TerraformElement);
  const synthesized = options.synthesized as JsonObject | undefined;
  for (const element of elements) {
    if (usesJsonForm(element)) {
      addFragment(resolve(stack, element.toTerraform()) as JsonObject, sections);
      continue;
    }
    // The synthesized configuration already holds every value resolved: the typed form is needed
    // only for which attributes are blocks, which its unresolved structure says. Resolving it
    // again would be most of the export's time, so that is the fallback (a block given as a token).
    const unresolved = element.toHclTerraform() as Record<string, unknown>;
    const fromShape = synthesized && typedFromSynthesized(unresolved, synthesized);
    if (fromShape) {
      addFragment(fromShape, sections);
      continue;
    }
    const typed = resolve(stack, unresolved) as JsonObject;
    const json = synthesized && jsonFormIn(synthesized, typed);
    addFragment(withMissingFrom(typed, json ?? (resolve(stack, element.toTerraform()) as JsonObject)), sections);
  }
  const local = (sections.terraform.backend as JsonObject | undefined)?.local as JsonObject | undefined;
  if (local && options.localStatePath) local.path = options.localStatePath;

  const file = (blocks: string[]) => `${blocks.join("\n\n")}\n`;
  return {
    "main.tf": file([terraformBlock(sections.terraform), ...sections.providers, ...sections.resources]),
    "variables.tf": file(sections.variables),
    "outputs.tf": file(sections.outputs),
  };
}

/** Renders `stack` (after or without `app.synth()`) as HCL files formatted as `terraform fmt` formats them. */
export function renderHcl(stack: TerraformStack, options: HclOptions = {}): HclFiles {
  const sources = hclSources(stack, options);
  return {
    "main.tf": formatHcl(sources["main.tf"]),
    "variables.tf": formatHcl(sources["variables.tf"]),
    "outputs.tf": formatHcl(sources["outputs.tf"]),
  };
}
