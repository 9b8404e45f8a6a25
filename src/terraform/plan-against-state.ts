/**
 * "What would Terraform do to a deployment of configuration A if we applied configuration B?",
 * answered by a real `terraform plan -refresh=false` of B against a state fabricated from A's
 * plan (fabricate-state.ts), offline and without AWS credentials. It sees what a diff of the two
 * configurations cannot: which changes replace a resource rather than update it, and which
 * resources change only because something they reference is replaced.
 *
 *   const planner = new OfflinePlanner({ terraform, tfvars, region });
 *   const { plan } = planner.plan(configB, planner.deployment(configA).state);
 *   plan.resource_changes?.find((c) => c.type === "aws_instance")?.change.actions  // ["update"]
 *   planner.dispose();
 *
 * Resources with `prevent_destroy` are planned without it, so that a replacement shows in the
 * plan (and can be reported as one Terraform would refuse) instead of failing it.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fabricateState, settleState, type TerraformState } from "./fabricate-state";
import { AWS_PROVIDER_VERSION, offlineWorkdir, type Workdir } from "./offline";
import type { PlanJson, ResourceSchema, TerraformJson } from "./plan-json";
import { writeFileAtomically } from "../write-atomically";

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

/** One check of the configuration that failed while Terraform planned it (a resource's precondition). */
export interface Refusal {
  /** The resource whose check failed, e.g. `aws_instance.host`, when Terraform names one. */
  readonly address?: string;
  /** Terraform's summary, e.g. "Resource precondition failed". */
  readonly summary: string;
  /** The check's own message. */
  readonly detail: string;
}

/** Terraform refused to plan: a precondition failed. What a real `terraform plan` would stop with. */
export class PlanRefusedError extends Error {
  constructor(readonly refusals: readonly Refusal[]) {
    super(refusals.map((r) => `${r.summary}${r.address ? ` (${r.address})` : ""}: ${r.detail}`).join("\n"));
    this.name = "PlanRefusedError";
  }
}

/** Terraform could not plan (a variable's validation, a broken configuration): its errors, briefly. */
export class PlanFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PlanFailedError";
  }
}

/** Summaries of the diagnostics that are the configuration's own guards, not a broken plan. */
const CHECK_FAILURES = new Set(["Resource precondition failed", "Resource postcondition failed", "Instance cannot be destroyed"]);

interface Diagnostic {
  readonly severity: string;
  readonly summary: string;
  readonly detail?: string;
  readonly snippet?: { readonly context?: string | null };
}

/**
 * The resource a diagnostic is about: from its snippet, `resource.aws_x.name.lifecycle...` (JSON)
 * or `resource "aws_x" "name"` (HCL), or from a detail that starts "Resource aws_x.name has ...".
 */
function diagnosticAddress(diagnostic: Diagnostic): string | undefined {
  const context = diagnostic.snippet?.context ?? "";
  const match = /^resource\.([^.]+)\.([^.]+)/.exec(context) ?? /^resource "([^"]+)" "([^"]+)"/.exec(context);
  if (match) return `${match[1]}.${match[2]}`;
  return /^Resource ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+(?:\[[^\]]*\])?) has /.exec(diagnostic.detail ?? "")?.[1];
}

/** The error diagnostics in the output of `terraform plan -json` (one JSON message a line). */
export function errorDiagnostics(output: string): Diagnostic[] {
  return output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .flatMap((line) => {
      try {
        const message = JSON.parse(line) as { type?: string; diagnostic?: Diagnostic };
        return message.type === "diagnostic" && message.diagnostic?.severity === "error" ? [message.diagnostic] : [];
      } catch {
        return [];
      }
    });
}

export interface PlanOptions {
  /**
   * Plan-time variables of this plan, over the planner's tfvars (`-var name=value`), e.g. a new `vpc_cidr`.
   * @default - none
   */
  readonly vars?: Readonly<Record<string, string>>;
  /**
   * Addresses to replace (`-replace`), as an operator would on purpose.
   * @default - none
   */
  readonly replace?: readonly string[];
  /**
   * Plan the destruction of everything in the state (`-destroy`).
   * @default false
   */
  readonly destroy?: boolean;
  /**
   * Plan only these addresses and what they depend on (`-target`): much faster, for a question about a few resources.
   * @default - everything
   */
  readonly target?: readonly string[];
  /**
   * Files written beside the configuration for this plan only, by name (an operator's `*_override.tf.json`).
   * @default - none
   */
  readonly files?: Readonly<Record<string, string>>;
  /**
   * Plan with `prevent_destroy` as configured, so that Terraform refuses what it would refuse
   * (PlanRefusedError). By default it is lifted, so that a replacement shows in the plan.
   * @default false
   */
  readonly keepPreventDestroy?: boolean;
}

/** One resource's change in a streamed plan: `create`, `update`, `delete`, `replace`, `move`, ... */
export interface PlannedChange {
  readonly action: string;
  /** The address a `moved` block moves it from. */
  readonly previousAddress?: string;
}

/** A deployment of a configuration, fabricated offline, and what Terraform plans for it as it is. */
export interface Deployment {
  /** The state an apply of the configuration would leave (settled: see DeployedStateOptions). */
  readonly state: TerraformState;
  /**
   * What a plan of the same configuration against that state does, by address: changes no edit of
   * the configuration causes (an update the provider plans on every run, or a value the fakes
   * cannot round-trip). Empty when the deployment is exactly what the configuration describes.
   */
  readonly selfPlanned: ReadonlyMap<string, PlannedChange>;
}

/** Terraform's own count of a plan, as it prints "Plan: 1 to add, 2 to change, 0 to destroy." */
export interface ChangeSummary {
  readonly add: number;
  readonly change: number;
  readonly remove: number;
}

/** The `planned_change` messages of a streamed plan (`terraform plan -json`), by address. */
export function plannedChangesOf(output: string): Map<string, PlannedChange> {
  const changes = new Map<string, PlannedChange>();
  for (const line of output.split("\n")) {
    if (!line.includes('"planned_change"')) continue;
    const { change } = JSON.parse(line) as {
      change: { resource: { addr: string }; previous_resource?: { addr: string }; action: string };
    };
    changes.set(change.resource.addr, { action: change.action, previousAddress: change.previous_resource?.addr });
  }
  return changes;
}

/** The `change_summary` message of a streamed plan (`terraform plan -json`). */
export function changeSummaryOf(output: string): ChangeSummary | undefined {
  for (const line of output.split("\n")) {
    if (!line.includes('"change_summary"')) continue;
    const { changes } = JSON.parse(line) as { changes: ChangeSummary };
    return { add: changes.add, change: changes.change, remove: changes.remove };
  }
  return undefined;
}

export interface PlanAgainstStateResult {
  /** `terraform show -json` of the target's plan. */
  readonly plan: PlanJson;
  /** Terraform's own count of the plan, from its streamed output. */
  readonly summary: ChangeSummary;
  /** Each change as Terraform's streamed output announces it, by address: the same plan, told apart from `plan`. */
  readonly announced: ReadonlyMap<string, PlannedChange>;
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
  /** Deployments already made, by configuration. */
  private readonly deployments = new Map<string, Deployment>();

  constructor(private readonly options: OfflinePlannerOptions) {
    // Init needs only the provider requirement; every plan then writes its own main.tf.json.
    const requirement = { terraform: { required_providers: { aws: { source: "aws", version: AWS_PROVIDER_VERSION } } } };
    this.workdir = offlineWorkdir(options.terraform, undefined, {
      "offline.tfvars": options.tfvars,
      "main.tf.json": JSON.stringify(requirement),
    });
    try {
      this.workdir.run(["init", "-input=false", "-no-color"]);
      this.workdir.shareProvider();
    } catch (err) {
      this.workdir.dispose();
      throw err;
    }
  }

  /** The state a deployment of `config` would have (see fabricate-state.ts). */
  deployedState(config: TerraformJson, options: DeployedStateOptions = {}): TerraformState {
    const settle = options.settle !== false;
    const key = JSON.stringify([settle, config]);
    const known = this.states.get(key);
    if (known) return known;
    // A fake that does not round-trip must not become a refused replacement while settling.
    const base = withoutPreventDestroy(config).config;
    let state: TerraformState;
    if (settle) {
      // Settled from the unsettled state, which is kept too: one base plan serves both.
      const unsettled = this.deployedState(config, { settle: false });
      this.writeState(unsettled);
      state = settleState(unsettled, this.planJson(base, "settle"));
    } else {
      this.writeState(undefined);
      const plan = this.planJson(base, "base");
      state = fabricateState(plan, this.resourceSchemas(plan), this.options.region, base);
    }
    this.states.set(key, state);
    return state;
  }

  /**
   * The settled deployment of `config` and what Terraform plans for it unchanged (one plan more
   * than deployedState), kept for later calls with the same configuration.
   */
  deployment(config: TerraformJson): Deployment {
    const key = JSON.stringify(config);
    const known = this.deployments.get(key);
    if (known) return known;
    const state = this.deployedState(config);
    const selfPlanned = this.plannedChanges(config, state);
    const deployment = { state, selfPlanned };
    this.deployments.set(key, deployment);
    return deployment;
  }

  /**
   * The plan of `config` against `state`. Throws PlanRefusedError when a precondition refuses it,
   * as `terraform plan` would.
   */
  plan(config: TerraformJson, state: TerraformState, options: PlanOptions = {}): PlanAgainstStateResult {
    const { target, addresses, args } = this.prepare(config, state, options);
    return this.withFiles(options, () => {
      const { plan, summary, announced } = this.savedPlan(target, "target", args);
      return { plan, summary, announced, preventDestroy: addresses };
    });
  }

  /**
   * What the plan of `config` against `state` does to each resource it changes, by address, read
   * from Terraform's streamed plan: a few seconds cheaper than `plan` (no saved plan to decode),
   * for questions about actions alone. Resources it leaves as they are do not appear.
   */
  plannedChanges(config: TerraformJson, state: TerraformState, options: PlanOptions = {}): Map<string, PlannedChange> {
    const { target, args } = this.prepare(config, state, options);
    return this.withFiles(options, () => plannedChangesOf(this.runPlan(target, args)));
  }

  private prepare(config: TerraformJson, state: TerraformState, options: PlanOptions) {
    const { config: target, addresses } = options.keepPreventDestroy
      ? { config, addresses: new Set<string>() }
      : withoutPreventDestroy(config);
    this.writeState(state);
    const args = [
      ...Object.entries(options.vars ?? {}).map(([name, value]) => `-var=${name}=${value}`),
      ...(options.replace ?? []).map((address) => `-replace=${address}`),
      ...(options.destroy ? ["-destroy"] : []),
      ...(options.target ?? []).map((address) => `-target=${address}`),
    ];
    return { target, addresses, args };
  }

  /** Runs `body` with the option's files beside the configuration, removed afterwards. */
  private withFiles<T>(options: PlanOptions, body: () => T): T {
    for (const name of Object.keys(options.files ?? {})) {
      if (!/^[\w-]+(\.[\w-]+)*$/.test(name)) throw new Error(`plan option files: ${JSON.stringify(name)} is not a plain file name`);
    }
    const files = Object.keys(options.files ?? {}).map((name) => join(this.workdir.dir, name));
    for (const [name, content] of Object.entries(options.files ?? {})) writeFileSync(join(this.workdir.dir, name), content);
    try {
      return body();
    } finally {
      for (const file of files) rmSync(file, { force: true });
    }
  }

  dispose(): void {
    this.workdir.dispose();
  }

  private writeState(state: TerraformState | undefined): void {
    if (state) writeFileSync(this.workdir.stateFile, JSON.stringify(state));
    else rmSync(this.workdir.stateFile, { force: true });
  }

  private planJson(config: TerraformJson, name: string, extra: readonly string[] = []): PlanJson {
    return this.savedPlan(config, name, extra).plan;
  }

  /** A saved plan of `config`, decoded, and Terraform's count of it from the streamed output. */
  private savedPlan(config: TerraformJson, name: string, extra: readonly string[] = []) {
    const output = this.runPlan(config, [...extra, `-out=${name}.tfplan`]);
    const summary = changeSummaryOf(output);
    if (!summary) throw new PlanFailedError(`terraform plan printed no change summary:\n${output.slice(-2000)}`);
    return { plan: this.workdir.json<PlanJson>(["show", "-json", `${name}.tfplan`]), summary, announced: plannedChangesOf(output) };
  }

  /** `terraform plan -json` of `config`; its streamed output, or the refusal or failure it ends in. */
  private runPlan(config: TerraformJson, extra: readonly string[]): string {
    writeFileSync(join(this.workdir.dir, "main.tf.json"), JSON.stringify(config));
    const { status, output } = this.workdir.run([...PLAN, "-json", ...extra], { allowFailure: true });
    if (status !== 0) {
      const errors = errorDiagnostics(output);
      if (errors.length > 0 && errors.every((e) => CHECK_FAILURES.has(e.summary))) {
        throw new PlanRefusedError(errors.map((e) => ({ address: diagnosticAddress(e), summary: e.summary, detail: e.detail ?? "" })));
      }
      const text = errors.length > 0 ? errors.map((e) => `Error: ${e.summary}\n${e.detail ?? ""}`).join("\n") : output.slice(-4000);
      throw new PlanFailedError(`terraform plan failed (exit ${status}):\n${text}`);
    }
    return output;
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
    // The AWS provider's, and Terraform's built-in provider's (terraform_data).
    const all: Record<string, ResourceSchema> = Object.assign(
      {},
      ...Object.values(
        this.workdir.json<{ provider_schemas: Record<string, { resource_schemas?: Record<string, ResourceSchema> }> }>([
          "providers",
          "schema",
          "-json",
        ]).provider_schemas,
      ).map((provider) => provider.resource_schemas ?? {}),
    );
    this.schemas = new Map(types.map((t) => [t, all[t]]));
    if (cacheFile) {
      mkdirSync(cacheDir, { recursive: true });
      writeFileAtomically(cacheFile, JSON.stringify(Object.fromEntries(this.schemas)));
    }
    return this.schemas;
  }
}
