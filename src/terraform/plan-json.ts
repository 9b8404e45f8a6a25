/**
 * The parts of Terraform's machine-readable formats this project reads: `terraform show -json
 * <plan>` (format 1.x) and `terraform providers schema -json`. Values are the provider's, so
 * they stay loosely typed.
 */

/** A JSON value as Terraform prints it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * One block of a Terraform configuration (a resource's, variable's or nested block's body). Its
 * shape is the provider's, not ours: the one loosely typed value of the project, read field by
 * field where it is used.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type ProviderBlock = Record<string, any>;

/**
 * A synthesized Terraform JSON configuration (cdk.tf.json, with cdktf's `//` metadata): the one
 * type of it, for the app, the review, the cost and the tests.
 */
export interface TerraformJson extends ProviderBlock {
  /** Resources by type, then by name. */
  readonly resource: Record<string, Record<string, ProviderBlock>>;
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
  /** The configuration as Terraform read it: its variables with their validations, ... */
  readonly configuration?: { readonly root_module: { readonly variables?: ProviderBlock } };
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
