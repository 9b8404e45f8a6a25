/**
 * A Terraform state (format 4) made up from a plan that creates everything: the state the
 * planned configuration would have after an apply, with the values only AWS knows (ids, ARNs,
 * DNS names) filled with plausible fakes. Planning another configuration against it shows, offline
 * and without credentials, what Terraform would do to a deployment of the first one.
 *
 * The fakes are shaped as AWS shapes them (an ARN parses as an ARN, a record type is CNAME) so that
 * the provider's validation of values that reference them passes.
 */
import { randomUUID } from "node:crypto";
import type {
  CtyType,
  JsonObject,
  JsonValue,
  PlanJson,
  PlannedResource,
  ResourceSchema,
  SchemaAttribute,
  SchemaBlock,
  TerraformJson,
} from "./plan-json";

export const FAKE_ACCOUNT_ID = "123456789012";

export interface TerraformState {
  readonly version: 4;
  readonly terraform_version: string;
  readonly serial: number;
  readonly lineage: string;
  readonly outputs: JsonObject;
  readonly resources: {
    readonly mode: "managed";
    readonly type: string;
    readonly name: string;
    readonly provider: string;
    readonly instances: { readonly index_key?: number | string; readonly schema_version: number; readonly attributes: JsonObject }[];
  }[];
}

interface FakeContext {
  readonly region: string;
  readonly type: string;
  readonly name: string;
  /** Distinguishes the instances of one resource. */
  readonly index?: number | string;
}

/** Hex digits derived from `seed`, so a resource keeps its fake ids across runs. */
function hexOf(seed: string, length: number): string {
  let h = 2166136261;
  let out = "";
  while (out.length < length) {
    for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619) >>> 0;
    out += h.toString(16).padStart(8, "0");
    seed += out;
  }
  return out.slice(0, length);
}

/** Prefixes AWS gives the ids of these resource types. */
const ID_PREFIXES: Record<string, string> = {
  aws_instance: "i-",
  aws_ebs_volume: "vol-",
  aws_vpc: "vpc-",
  aws_subnet: "subnet-",
  aws_security_group: "sg-",
  aws_default_security_group: "sg-",
  aws_internet_gateway: "igw-",
  aws_route_table: "rtb-",
  aws_route_table_association: "rtbassoc-",
  aws_vpc_security_group_ingress_rule: "sgr-",
  aws_vpc_security_group_egress_rule: "sgr-",
};

/** Prefixes of ids that other resources' computed attributes hold. */
const ID_ATTRIBUTE_PREFIXES: Record<string, string> = {
  instance_id: "i-",
  volume_id: "vol-",
  subnet_id: "subnet-",
  vpc_id: "vpc-",
  security_group_id: "sg-",
  network_interface_id: "eni-",
  primary_network_interface_id: "eni-",
};

/** A fake string for attribute `attribute` of the resource in `ctx`. */
function fakeString(attribute: string, ctx: FakeContext): string {
  const seed = `${ctx.type}.${ctx.name}[${ctx.index ?? ""}].${attribute}`;
  const service = ctx.type.replace(/^aws_/, "").split("_")[0];
  const resourceName = ctx.type.replace(/^aws_/, "").replace(/_/g, "-");
  switch (attribute) {
    case "id":
      if (ctx.type === "aws_kms_key") return uuidOf(seed);
      return `${ID_PREFIXES[ctx.type] ?? `${resourceName}-`}${hexOf(seed, 17)}`;
    case "key_id":
      return uuidOf(seed);
    case "owner_id":
    case "account_id":
      return FAKE_ACCOUNT_ID;
    case "resource_record_type":
      return "CNAME";
    case "resource_record_name":
      return `_${hexOf(seed, 32)}.fake.invalid.`;
    case "resource_record_value":
      return `_${hexOf(seed, 32)}.acm-validations.aws.`;
    case "dns_name":
      return `${resourceName}-${hexOf(seed, 10)}.${ctx.region}.elb.amazonaws.com`;
    case "zone_id":
      return `Z${hexOf(seed, 13).toUpperCase()}`;
    case "arn_suffix":
      return `app/${ctx.name.slice(0, 20)}/${hexOf(seed, 16)}`;
    case "availability_zone":
      return `${ctx.region}a`;
  }
  if (attribute in ID_ATTRIBUTE_PREFIXES) return `${ID_ATTRIBUTE_PREFIXES[attribute]}${hexOf(seed, 17)}`;
  if (attribute === "arn" || attribute.endsWith("_arn"))
    return `arn:aws:${service}:${ctx.region}:${FAKE_ACCOUNT_ID}:${resourceName}/${hexOf(seed, 17)}`;
  if (/(^|_)ip$/.test(attribute)) return "192.0.2.10";
  // Anything else the provider computes: empty reads as "not set", which no validation rejects.
  return "";
}

function uuidOf(seed: string): string {
  const h = hexOf(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A value of cty type `type` for an attribute whose value is unknown. */
function fakeOfType(type: CtyType, attribute: string, ctx: FakeContext): JsonValue {
  if (type === "string") return fakeString(attribute, ctx);
  if (type === "number") return 0;
  if (type === "bool") return false;
  if (type === "dynamic") return null;
  const [kind, inner] = type as [string, unknown];
  if (kind === "list" || kind === "set") return [];
  if (kind === "map") return {};
  if (kind === "object") {
    return Object.fromEntries(Object.entries(inner as Record<string, CtyType>).map(([k, t]) => [k, fakeOfType(t, k, ctx)]));
  }
  if (kind === "tuple") return (inner as CtyType[]).map((t, i) => fakeOfType(t, `${attribute}${i}`, ctx));
  return null;
}

/** `value` of cty type `type` with every unknown part (per `unknown`) replaced by a fake. */
function fillType(
  type: CtyType,
  value: JsonValue | undefined,
  unknown: JsonValue | undefined,
  attribute: string,
  ctx: FakeContext,
): JsonValue {
  if (unknown === true) return fakeOfType(type, attribute, ctx);
  if (value === undefined || value === null) return null;
  if (typeof type === "string") return value;
  const [kind, inner] = type;
  if ((kind === "list" || kind === "set") && Array.isArray(value)) {
    const unknowns = Array.isArray(unknown) ? unknown : [];
    return value.map((v, i) => fillType(inner as CtyType, v, unknowns[i], attribute, { ...ctx, index: `${ctx.index ?? ""}${i}` }));
  }
  if (kind === "map" && isObject(value)) {
    const unknowns = isObject(unknown) ? unknown : {};
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillType(inner as CtyType, v, unknowns[k], k, ctx)]));
  }
  if (kind === "object" && isObject(value)) {
    const unknowns = isObject(unknown) ? unknown : {};
    return Object.fromEntries(
      Object.entries(inner as Record<string, CtyType>).map(([k, t]) => [k, fillType(t, value[k], unknowns[k], k, ctx)]),
    );
  }
  return value;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return !!value && typeof value === "object" && !Array.isArray(value);
}

function attributeType(attribute: SchemaAttribute): CtyType {
  if (attribute.type) return attribute.type;
  const nested = attribute.nested_type!;
  const object: CtyType = ["object", Object.fromEntries(Object.entries(nested.attributes).map(([k, a]) => [k, attributeType(a)]))];
  return nested.nesting_mode === "single" ? object : [nested.nesting_mode, object];
}

/** Every attribute and nested block of `block`, from the planned `value` with unknowns faked. */
function fillBlock(block: SchemaBlock, value: JsonObject, unknown: JsonValue | undefined, ctx: FakeContext): JsonObject {
  const unknowns = isObject(unknown) ? unknown : {};
  const out: JsonObject = {};
  for (const [name, attribute] of Object.entries(block.attributes ?? {})) {
    out[name] = fillType(attributeType(attribute), value[name], unknowns[name], name, ctx);
  }
  for (const [name, nested] of Object.entries(block.block_types ?? {})) {
    const planned = value[name];
    const unknownNested = unknowns[name];
    if (nested.nesting_mode === "single" || nested.nesting_mode === "group") {
      out[name] = isObject(planned) ? fillBlock(nested.block, planned, unknownNested, ctx) : null;
    } else if (nested.nesting_mode === "map") {
      const entries = isObject(planned) ? Object.entries(planned) : [];
      const unknownEntries = isObject(unknownNested) ? unknownNested : {};
      out[name] = Object.fromEntries(entries.map(([k, v]) => [k, fillBlock(nested.block, v as JsonObject, unknownEntries[k], ctx)]));
    } else {
      // An unknown list or set of blocks (a computed block the provider fills in) becomes empty.
      const items = Array.isArray(planned) ? planned : [];
      const unknownItems = Array.isArray(unknownNested) ? unknownNested : [];
      out[name] = items.map((item, i) =>
        fillBlock(nested.block, item as JsonObject, unknownItems[i], { ...ctx, index: `${ctx.index ?? ""}${i}` }),
      );
    }
  }
  return out;
}

/** `${aws_x.name.attr}` or `${aws_x.name[0].attr}`: a reference Terraform would copy as it is. */
const PLAIN_REFERENCE = /^\$\{(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)(?:\[(\d+)\])?\.([a-z0-9_]+)\}$/;
const META_ARGUMENTS = new Set(["//", "count", "for_each", "depends_on", "lifecycle", "provider", "provisioner", "connection"]);

/**
 * Copies into `state` every value the configuration takes from another resource by a plain
 * reference (`subnet_id = "${aws_subnet.a.id}"`), so that a faked id and the attributes that
 * hold it agree. A plan cannot do this: there, both are unknown. Repeats until nothing changes,
 * which follows chains of references.
 */
function copyPlainReferences(state: TerraformState, config: TerraformJson): void {
  const instances = new Map<string, JsonObject>();
  for (const resource of state.resources) {
    for (const instance of resource.instances) {
      const address = `${resource.type}.${resource.name}`;
      instances.set(instance.index_key === undefined ? address : `${address}[${instance.index_key}]`, instance.attributes);
      if (!instances.has(address)) instances.set(address, instance.attributes);
    }
  }
  let changed = true;
  const referenced = (configured: string): JsonValue | undefined => {
    const match = PLAIN_REFERENCE.exec(configured);
    if (!match) return undefined;
    const [, type, name, index, attribute] = match;
    return instances.get(index === undefined ? `${type}.${name}` : `${type}.${name}[${index}]`)?.[attribute];
  };
  /** The value of a configured list or map of literals and plain references, if that is all it holds. */
  const evaluate = (configured: unknown): JsonValue | undefined => {
    if (typeof configured === "string") return configured.includes("${") ? referenced(configured) : configured;
    if (typeof configured === "number" || typeof configured === "boolean" || configured === null) return configured;
    if (Array.isArray(configured)) {
      const items = configured.map(evaluate);
      return items.every((v) => v !== undefined && (v === null || typeof v !== "object")) ? items : undefined;
    }
    if (configured && typeof configured === "object") {
      const entries = Object.entries(configured).map(([k, v]) => [k, evaluate(v)] as const);
      return entries.every(([, v]) => v !== undefined && (v === null || typeof v !== "object"))
        ? (Object.fromEntries(entries) as JsonObject)
        : undefined;
    }
    return undefined;
  };
  const set = (value: JsonValue | undefined, stateValue: JsonValue, assign: (value: JsonValue) => void) => {
    if (value !== undefined && JSON.stringify(value) !== JSON.stringify(stateValue)) {
      assign(value);
      changed = true;
    }
  };
  const copy = (configured: unknown, stateValue: JsonValue, assign: (value: JsonValue) => void): void => {
    if (typeof configured === "string") {
      set(referenced(configured), stateValue, assign);
    } else if (Array.isArray(configured) && Array.isArray(stateValue)) {
      // A list that was unknown as a whole was faked empty: rebuild it when it is simple enough.
      if (configured.length === stateValue.length) configured.forEach((item, i) => copy(item, stateValue[i], (v) => (stateValue[i] = v)));
      else if (stateValue.length === 0) set(evaluate(configured), stateValue, assign);
    } else if (configured && typeof configured === "object" && Array.isArray(stateValue) && stateValue.length === 1) {
      copy(configured, stateValue[0], (v) => (stateValue[0] = v));
    } else if (configured && typeof configured === "object" && isObject(stateValue)) {
      // A map that was unknown as a whole was faked empty: rebuild it when it is simple enough.
      if (Object.keys(stateValue).length === 0) set(evaluate(configured), stateValue, assign);
      else
        for (const [key, value] of Object.entries(configured))
          if (key in stateValue) copy(value, stateValue[key], (v) => (stateValue[key] = v));
    }
  };
  for (let pass = 0; changed && pass < 20; pass++) {
    changed = false;
    for (const [type, resources] of Object.entries(config.resource ?? {})) {
      for (const [name, body] of Object.entries(resources)) {
        const attributes = [...instances.entries()].filter(
          ([address]) => address === `${type}.${name}` || address.startsWith(`${type}.${name}[`),
        );
        for (const [, stateAttributes] of attributes) {
          for (const [key, value] of Object.entries(body)) {
            if (!META_ARGUMENTS.has(key) && key in stateAttributes) copy(value, stateAttributes[key], (v) => (stateAttributes[key] = v));
          }
        }
      }
    }
  }
}

/**
 * The state after applying `plan` (a plan that creates every resource), faking what only AWS
 * would know. `schemas` maps resource types to the provider's schema of them; `config` is the
 * planned configuration, whose plain references are copied (copyPlainReferences).
 */
export function fabricateState(
  plan: PlanJson,
  schemas: ReadonlyMap<string, ResourceSchema>,
  region: string,
  config: TerraformJson,
): TerraformState {
  const changes = new Map((plan.resource_changes ?? []).map((c) => [c.address, c]));
  const grouped = new Map<string, { resource: PlannedResource; instances: TerraformState["resources"][number]["instances"] }>();
  for (const resource of plan.planned_values.root_module.resources ?? []) {
    if (resource.mode !== "managed") continue;
    const schema = schemas.get(resource.type);
    if (!schema) throw new Error(`no provider schema for ${resource.type}`);
    const unknown = changes.get(resource.address)?.change.after_unknown;
    const ctx: FakeContext = { region, type: resource.type, name: resource.name, index: resource.index };
    const key = `${resource.type}.${resource.name}`;
    const group = grouped.get(key) ?? { resource, instances: [] };
    group.instances.push({
      ...(resource.index !== undefined ? { index_key: resource.index } : {}),
      schema_version: schema.version,
      attributes: fillBlock(schema.block, resource.values ?? {}, unknown, ctx),
    });
    grouped.set(key, group);
  }
  const state: TerraformState = {
    version: 4,
    terraform_version: plan.terraform_version,
    serial: 1,
    lineage: randomUUID(),
    outputs: {},
    resources: [...grouped.values()].map(({ resource, instances }) => ({
      mode: "managed",
      type: resource.type,
      name: resource.name,
      provider: `provider["${resource.provider_name}"]`,
      instances,
    })),
  };
  copyPlainReferences(state, config);
  for (const resource of state.resources) {
    const schema = schemas.get(resource.type)!;
    for (const instance of resource.instances) {
      // terraform_data copies its input to its output when it is applied.
      if (resource.type === "terraform_data") instance.attributes.output = instance.attributes.input;
      encodeDynamicAttributes(instance.attributes, schema.block);
    }
  }
  return state;
}

/** The cty type of a JSON value, as the state names the type of a dynamic attribute's value. */
function ctyTypeOf(value: JsonValue): CtyType {
  if (typeof value === "string") return "string";
  if (typeof value === "number") return "number";
  if (typeof value === "boolean") return "bool";
  if (Array.isArray(value)) return ["tuple", value.map(ctyTypeOf)];
  return ["object", Object.fromEntries(Object.entries(value ?? {}).map(([k, v]) => [k, ctyTypeOf(v)]))];
}

/**
 * The state keeps a value of a dynamic-typed attribute (terraform_data's input and output) with its
 * type, `{"value": ..., "type": ...}`; a plan shows the bare value.
 */
function encodeDynamicAttributes(attributes: JsonObject, block: SchemaBlock): void {
  for (const [name, attribute] of Object.entries(block.attributes ?? {})) {
    const value = attributes[name];
    if (attribute.type === "dynamic" && value !== null && value !== undefined)
      attributes[name] = { value, type: ctyTypeOf(value) as JsonValue };
  }
}

/**
 * `state` with each resource's attributes replaced by what a plan of its own configuration
 * against it says they are (`after`), keeping the state's value wherever the plan leaves one
 * unknown. This settles values the configuration derives from faked ones (a policy naming a fake
 * ARN, a record pointing at a fake DNS name), which the first plan could not know.
 */
export function settleState(state: TerraformState, plan: PlanJson): TerraformState {
  const afterByAddress = new Map(
    (plan.resource_changes ?? []).filter((c) => c.mode === "managed" && c.change.after).map((c) => [c.address, c.change]),
  );
  const merge = (previous: JsonValue, after: JsonValue | undefined, unknown: JsonValue | undefined): JsonValue => {
    if (unknown === true || after === undefined) return previous;
    if (isObject(after) && isObject(previous)) {
      const unknowns = isObject(unknown) ? unknown : {};
      const keys = [...new Set([...Object.keys(previous), ...Object.keys(after)])];
      return Object.fromEntries(keys.map((k) => [k, k in after ? merge(previous[k] ?? null, after[k], unknowns[k]) : previous[k]]));
    }
    if (Array.isArray(after) && Array.isArray(previous) && after.length === previous.length) {
      const unknowns = Array.isArray(unknown) ? unknown : [];
      return after.map((v, i) => merge(previous[i], v, unknowns[i]));
    }
    return after;
  };
  return {
    ...state,
    serial: state.serial + 1,
    resources: state.resources.map((resource) => ({
      ...resource,
      // Its values are the configuration's literals, and the state keeps them typed (see encodeDynamicAttributes).
      instances: resource.instances.map((instance) => {
        if (resource.type === "terraform_data") return instance;
        const index = instance.index_key === undefined ? "" : `[${JSON.stringify(instance.index_key)}]`;
        const change = afterByAddress.get(`${resource.type}.${resource.name}${index}`);
        return change
          ? { ...instance, attributes: merge(instance.attributes, change.after, change.after_unknown) as JsonObject }
          : instance;
      }),
    })),
  };
}
