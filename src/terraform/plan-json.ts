/**
 * The parts of Terraform's machine-readable formats this project reads: `terraform show -json
 * <plan>` (format 1.x) and `terraform providers schema -json`. Values are the provider's, so
 * they stay loosely typed.
 */

/** A JSON value as Terraform prints it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * A Terraform JSON configuration (cdk.tf.json, with cdktf's `//` metadata). The provider decides
 * the shape of each resource body, so readers narrow what they use.
 */
export interface TerraformJson {
  readonly resource?: Record<string, Record<string, Record<string, unknown>>>;
  readonly output?: Record<string, { readonly value?: unknown }>;
  readonly [section: string]: unknown;
}

/** `create`, `delete`, `update`, `no-op`, `read`; a replacement is `["delete","create"]` or `["create","delete"]`. */
export type PlanAction = "no-op" | "create" | "read" | "update" | "delete" | "forget";

export interface ResourceChange {
  readonly address: string;
  readonly mode: "managed" | "data";
  readonly type: string;
  readonly name: string;
  readonly index?: number | string;
  readonly provider_name: string;
  readonly change: {
    readonly actions: readonly PlanAction[];
    readonly before: JsonObject | null;
    readonly after: JsonObject | null;
    /** Mirrors `after`: `true` where the value is only known after apply. */
    readonly after_unknown: JsonValue;
    /** Attribute paths whose change forces the replacement. */
    readonly replace_paths?: readonly (readonly (string | number)[])[];
  };
  readonly action_reason?: string;
  /** The address the object had before a `moved` block moved it. */
  readonly previous_address?: string;
}

export interface PlannedResource {
  readonly address: string;
  readonly mode: "managed" | "data";
  readonly type: string;
  readonly name: string;
  readonly index?: number | string;
  readonly provider_name: string;
  readonly schema_version: number;
  /** Missing when every value is unknown. */
  readonly values?: JsonObject;
}

export interface PlanJson {
  readonly format_version: string;
  readonly terraform_version: string;
  readonly resource_changes?: readonly ResourceChange[];
  readonly planned_values: {
    readonly outputs?: JsonObject;
    readonly root_module: { readonly resources?: readonly PlannedResource[] };
  };
}

/** Whether a change replaces the resource (destroys it and creates a new one, in either order). */
export function isReplacement(actions: readonly PlanAction[]): boolean {
  return actions.includes("delete") && actions.includes("create");
}

/** A cty type as the schema prints it: "string", ["list", "string"], ["object", {...}], ... */
export type CtyType = string | [string, CtyType | Record<string, CtyType> | CtyType[]];

export interface SchemaAttribute {
  readonly type?: CtyType;
  readonly nested_type?: { readonly nesting_mode: "single" | "list" | "set" | "map"; readonly attributes: Record<string, SchemaAttribute> };
  readonly computed?: boolean;
  readonly optional?: boolean;
  readonly required?: boolean;
}

export interface SchemaBlock {
  readonly attributes?: Record<string, SchemaAttribute>;
  readonly block_types?: Record<
    string,
    { readonly nesting_mode: "single" | "group" | "list" | "set" | "map"; readonly block: SchemaBlock }
  >;
}

export interface ResourceSchema {
  readonly version: number;
  readonly block: SchemaBlock;
}
