/**
 * "What would Terraform do to a deployment of configuration A if we applied configuration B?",
 * answered by a real `terraform plan -refresh=false` of B against a state fabricated from A's
 * plan (fabricate-state.ts), offline and without AWS credentials. It sees what a diff of the two
 * configurations cannot: which changes replace a resource rather than update it, and which
 * resources change only because something they reference is replaced.
 *
 *   const { plan } = planAgainstState({ terraform, base: configA, target: configB, tfvars, region });
 *   plan.resource_changes?.find((c) => c.type === "aws_instance")?.change.actions  // ["update"]
 *
 * or, to plan several targets against one deployment, `OfflinePlanner`.
 *
 * Resources with `prevent_destroy` are planned without it, so that a replacement shows in the
 * plan (and can be reported as one Terraform would refuse) instead of failing it.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fabricateState, settleState, type TerraformState } from "./fabricate-state";
import { AWS_PROVIDER_VERSION, offlineWorkdir, type Workdir } from "./offline";
import type { PlanJson, ResourceSchema, TerraformJson } from "./plan-json";

const AWS = "registry.terraform.io/hashicorp/aws";
const PLAN = ["plan", "-refresh=false", "-input=false", "-no-color", "-lock=false", "-var-file=offline.tfvars"];

export interface OfflinePlannerOptions {
  /** The terraform binary. */
  readonly terraform: string;
  /** terraform.tfvars text for every plan; it must let a plan run offline (no data source lookups). */
  readonly tfvars: string;
  /** The region the fakes (ARNs, zones) are in. */
  readonly region: string;
  /**
   * A directory where the provider's resource schemas are kept between runs (reading them takes
   * seconds).
   * @default - read them every time
   */
  readonly cacheDir?: string;
}

export interface DeployedStateOptions {
  /**
   * Also settle the values the configuration builds with functions from faked ones (policies
   * naming fake ARNs, a dashboard, the certificate's validation record): one more plan, a few
   * seconds. Without it, resources configured that way show in-place updates (and the validation
   * record a replacement) that a real deployment would not; resources configured by literals and
   * plain references, such as the instance, its volumes and the network, are exact either way.
   * @default true
   */
  readonly settle?: boolean;
}

export interface PlanAgainstStateResult {
  /** `terraform show -json` of the target's plan. */
  readonly plan: PlanJson;
  /** Addresses of the target's resources whose `prevent_destroy` was lifted for the plan. */
  readonly preventDestroy: ReadonlySet<string>;
}

/** `config` without `prevent_destroy`, and the resource addresses that had it. */
export function withoutPreventDestroy(config: TerraformJson): { config: TerraformJson; addresses: Set<string> } {
  const copy = structuredClone(config);
  const addresses = new Set<string>();
  for (const [type, resources] of Object.entries(copy.resource ?? {})) {
    for (const [name, body] of Object.entries(resources)) {
      const lifecycle = body.lifecycle as { prevent_destroy?: boolean } | undefined;
      if (lifecycle?.prevent_destroy) {
        delete lifecycle.prevent_destroy;
        addresses.add(`${type}.${name}`);
      }
    }
  }
  return { config: copy, addresses };
}

/** One Terraform working directory, initialised once, for plans of several configurations. */
export class OfflinePlanner {
  private readonly workdir: Workdir;
  private schemas?: Map<string, ResourceSchema>;
  /** Deployed states already made, by configuration and options. */
  private readonly states = new Map<string, TerraformState>();

  constructor(private readonly options: OfflinePlannerOptions) {
    // Init needs only the provider requirement; every plan then writes its own main.tf.json.
    const requirement = { terraform: { required_providers: { aws: { source: "aws", version: AWS_PROVIDER_VERSION } } } };
    this.workdir = offlineWorkdir(options.terraform, undefined, {
      "offline.tfvars": options.tfvars,
      "main.tf.json": JSON.stringify(requirement),
    });
    try {
      this.workdir.run(["init", "-input=false", "-no-color"]);
    } catch (err) {
      this.workdir.dispose();
      throw err;
    }
  }

  /** The state a deployment of `config` would have (see fabricate-state.ts). */
  deployedState(config: TerraformJson, options: DeployedStateOptions = {}): TerraformState {
    const key = JSON.stringify([options.settle !== false, config]);
    const known = this.states.get(key);
    if (known) return known;
    // A fake that does not round-trip must not become a refused replacement while settling.
    const base = withoutPreventDestroy(config).config;
    this.writeState(undefined);
    const plan = this.planJson(base, "base");
    let state = fabricateState(plan, this.resourceSchemas(plan), this.options.region, base);
    if (options.settle !== false) {
      this.writeState(state);
      state = settleState(state, this.planJson(base, "settle"));
    }
    this.states.set(key, state);
    return state;
  }

  /** The plan of `config` against `state`. */
  plan(config: TerraformJson, state: TerraformState): PlanAgainstStateResult {
    const { config: target, addresses } = withoutPreventDestroy(config);
    this.writeState(state);
    return { plan: this.planJson(target, "target"), preventDestroy: addresses };
  }

  dispose(): void {
    this.workdir.dispose();
  }

  private writeState(state: TerraformState | undefined): void {
    if (state) writeFileSync(this.workdir.stateFile, JSON.stringify(state));
    else rmSync(this.workdir.stateFile, { force: true });
  }

  private planJson(config: TerraformJson, name: string): PlanJson {
    writeFileSync(join(this.workdir.dir, "main.tf.json"), JSON.stringify(config));
    this.workdir.run([...PLAN, `-out=${name}.tfplan`]);
    return this.workdir.json<PlanJson>(["show", "-json", `${name}.tfplan`]);
  }

  /** The provider's schema of each resource type `plan` creates, from the cache when it has them all. */
  private resourceSchemas(plan: PlanJson): Map<string, ResourceSchema> {
    const types = [...new Set((plan.planned_values.root_module.resources ?? []).map((r) => r.type))];
    if (this.schemas && types.every((t) => this.schemas!.has(t))) return this.schemas;
    const { cacheDir } = this.options;
    const cacheFile = cacheDir && join(cacheDir, `aws-${AWS_PROVIDER_VERSION}-resource-schemas.json`);
    if (cacheFile && existsSync(cacheFile)) {
      const cached = new Map(Object.entries(JSON.parse(readFileSync(cacheFile, "utf8")) as Record<string, ResourceSchema>));
      if (types.every((t) => cached.has(t))) return (this.schemas = cached);
    }
    const all = this.workdir.json<{ provider_schemas: Record<string, { resource_schemas: Record<string, ResourceSchema> }> }>([
      "providers",
      "schema",
      "-json",
    ]).provider_schemas[AWS].resource_schemas;
    this.schemas = new Map(types.map((t) => [t, all[t]]));
    if (cacheFile) {
      mkdirSync(cacheDir, { recursive: true });
      writeFileSync(`${cacheFile}.${process.pid}`, JSON.stringify(Object.fromEntries(this.schemas)));
      renameSync(`${cacheFile}.${process.pid}`, cacheFile);
    }
    return this.schemas;
  }
}

export interface PlanAgainstStateOptions extends OfflinePlannerOptions, DeployedStateOptions {
  /** The deployed configuration: its plan becomes the state. */
  readonly base: TerraformJson;
  /** The configuration to plan against that state. */
  readonly target: TerraformJson;
}

/** The plan of `target` against a deployment of `base`; see the module comment. */
export function planAgainstState(options: PlanAgainstStateOptions): PlanAgainstStateResult {
  const planner = new OfflinePlanner(options);
  try {
    return planner.plan(options.target, planner.deployedState(options.base, options));
  } finally {
    planner.dispose();
  }
}
