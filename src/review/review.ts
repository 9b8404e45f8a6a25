/**
 * `npm run review`: what a roster change does to the infrastructure, as Terraform plans it. Both
 * rosters are synthesized in this process with the current code, so the review shows the effect of
 * the roster change alone, never of code changes between the two revisions.
 *
 * Every action, symbol and count comes from `terraform plan -refresh=false` of the current
 * configuration against a deployment of the base fabricated offline (src/terraform): what a diff of
 * the configurations cannot see (a replacement, a resource that changes because something it
 * references is replaced) it shows as Terraform would do it. The configuration diff only places
 * and describes. When no plan can be made, the review fails rather than guess.
 */
import { type SignInChange, signInChangeOf } from "./sign-in";
import { type SleepChange, sleepChangeOf } from "./sleep";
import { synthConfig } from "../app";
import type { Fleet } from "../roster";
import { OfflinePlanner, PlanRefusedError, type ChangeSummary, type PlannedChange, type Refusal } from "../terraform/plan-against-state";
import type { PlanJson, TerraformJson } from "../terraform/plan-json";
import { diffConfigs, resourceEntries, type ResourceDiff } from "./diff";
import { impactsOf, type Impact } from "./impacts";
import { reviewedChanges, type ReviewedChange } from "./planned";
import { protectedResources, verdictFromPlan, type ProtectedRole, type ProtectedVerdict } from "./protected";

export interface ReviewedRoster {
  /** How to name it: `roster.yaml`, `HEAD:roster.yaml`. */
  readonly label: string;
  readonly fleet: Fleet;
  readonly config: TerraformJson;
}

export interface Review {
  readonly base: ReviewedRoster;
  readonly current: ReviewedRoster;
  /** The configurations' differences: where the plan's changes belong, and what the roster changed. */
  readonly diffs: readonly ResourceDiff[];
  /** Terraform's plan, resource by resource (empty when Terraform refuses to plan). */
  readonly changes: readonly ReviewedChange[];
  readonly protected: readonly ProtectedVerdict[];
  /** What developers will notice: replacements and destructions of what they depend on. */
  readonly impacts: readonly Impact[];
  /** Terraform's plan of the current configuration against the base's deployment; absent when it refused. */
  readonly plan?: PlanJson;
  /** Terraform's own count of that plan. */
  readonly summary?: ChangeSummary;
  /** Terraform's streamed account of the same plan, change by change (what its plan output lists). */
  readonly announced?: ReadonlyMap<string, PlannedChange>;
  /** The checks that made Terraform refuse to plan the change (the host's architecture, the region); empty when it planned. */
  readonly refusals: readonly Refusal[];
  /** Plan-time variables the change sets (`--var`), planned against the base's deployment with terraform.tfvars.example's values. */
  readonly vars: Readonly<Record<string, string>>;
  /** The roster moves the environment to another region. */
  readonly regionChange?: { readonly from: string; readonly to: string };
  /** The roster changes how developers sign in. */
  readonly signInChange?: SignInChange;
  /** Sleep when idle turned on or off on ECS, which replaces every task. @default undefined */
  readonly sleepChange?: SleepChange;
}

/** A section appended to the report, such as a cost delta. */
export interface ReviewSection {
  readonly title: string;
  readonly lines: readonly string[];
}

/**
 * Adds a section to the report from a finished review (`undefined`: nothing to say). Write one,
 * add it to REVIEW_SECTIONS in sections.ts.
 */
export type ReviewSectionProvider = (review: Review) => ReviewSection | undefined | Promise<ReviewSection | undefined>;

/** The review cannot be made (no terraform to plan with): the message says what to do. */
export class ReviewError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReviewError";
  }
}

export interface ReviewOptions {
  /** The terraform binary that plans the change; without one there is no review. */
  readonly terraform: string | undefined;
  /** terraform.tfvars text for the offline plans (terraform.tfvars.example). */
  readonly tfvars: string;
  /** Where provider schemas are cached between runs. */
  readonly cacheDir?: string;
  /**
   * Plan-time variables the change sets, e.g. `{ vpc_cidr: "10.50.0.0/16" }`: the current
   * configuration is planned with them, the base's deployment without.
   * @default - none
   */
  readonly vars?: Readonly<Record<string, string>>;
  /**
   * A planner to reuse (and keep: the caller disposes of it), e.g. for several reviews against
   * one base.
   * @default - one made for this review and disposed of after it
   */
  readonly planner?: OfflinePlanner;
}

export function synthesizeRoster(label: string, fleet: Fleet): ReviewedRoster {
  return { label, fleet, config: synthConfig(fleet) };
}

/** Terraform's plan of the change, or the checks that refused it. */
function planChange(planner: OfflinePlanner, base: ReviewedRoster, current: ReviewedRoster, vars: Readonly<Record<string, string>>) {
  const deployment = planner.deployment(base.config);
  try {
    return { deployment, plan: planner.plan(current.config, deployment.state, { vars }) };
  } catch (err) {
    if (err instanceof PlanRefusedError) return { deployment, refusals: err.refusals };
    throw err;
  }
}

/** Compares `base` with `current`; see the module comment. */
export function review(base: ReviewedRoster, current: ReviewedRoster, options: ReviewOptions): Review {
  if (!options.terraform) {
    throw new ReviewError(
      "npm run review needs terraform on PATH: every verdict comes from Terraform's plan of the change, and without one it would be a guess. Install Terraform >= 1.11.",
    );
  }
  const developers = [...new Set([...base.fleet.developers, ...current.fleet.developers].map((d) => d.name))];
  const before = resourceEntries(base.config, developers);
  const after = resourceEntries(current.config, developers);
  const diffs = diffConfigs(before, after);
  const configChanged = new Set(diffs.map((d) => d.entry.address));
  const vars = options.vars ?? {};
  const roles = new Map<ProtectedRole, string>([...protectedResources(base.config, before), ...protectedResources(current.config, after)]);
  const regionChange = base.fleet.region === current.fleet.region ? undefined : { from: base.fleet.region, to: current.fleet.region };
  const signInChange = signInChangeOf(base.fleet, current.fleet);
  const sleepChange = sleepChangeOf(base.fleet, current.fleet);
  const common = {
    base,
    current,
    diffs,
    vars,
    ...(regionChange ? { regionChange } : {}),
    ...(signInChange ? { signInChange } : {}),
    ...(sleepChange ? { sleepChange } : {}),
  };

  const planner =
    options.planner ??
    new OfflinePlanner({ terraform: options.terraform, tfvars: options.tfvars, region: base.fleet.region, cacheDir: options.cacheDir });
  try {
    const planned = planChange(planner, base, current, vars);
    if (planned.refusals) {
      // Nothing would be applied: the refusal says why, and every protected resource stays as it is.
      const protectedVerdicts = [...roles].map(([role, address]) => ({
        ...verdictFromPlan(role, address, undefined, new Set(), []),
        notPlanned: configChanged.has(address),
      }));
      return { ...common, changes: [], protected: protectedVerdicts, impacts: [], refusals: planned.refusals };
    }
    const { plan, summary, announced, preventDestroy } = planned.plan;
    const entries = new Map([...before, ...after]);
    const changes = reviewedChanges(plan, entries, planned.deployment.selfPlanned, configChanged);
    const byAddress = new Map((plan.resource_changes ?? []).map((c) => [c.address, c]));
    const attributesOf = (address: string) => changes.find((c) => c.address === address)?.attributes ?? [];
    const protectedVerdicts = [...roles].map(([role, address]) =>
      verdictFromPlan(role, address, byAddress.get(address), preventDestroy, attributesOf(address)),
    );
    const removed = base.fleet.developers.map((d) => d.name).filter((name) => !current.fleet.developers.some((d) => d.name === name));
    const impacts = impactsOf(changes, plan, removed, current.fleet.platform);
    return { ...common, changes, protected: protectedVerdicts, impacts, plan, summary, announced, refusals: [] };
  } finally {
    if (!options.planner) planner.dispose();
  }
}

/**
 * 3 when the change needs a careful reader: a protected resource changes, Terraform refuses the
 * change, something a developer depends on is replaced or destroyed, the region or the way developers
 * sign in changes; else 0.
 */
export function exitCodeOf(result: Review): 0 | 3 {
  const protectedChanges = result.protected.some((v) => v.action !== "unchanged");
  return result.refusals.length > 0 ||
    protectedChanges ||
    result.impacts.length > 0 ||
    result.regionChange ||
    result.signInChange ||
    result.sleepChange
    ? 3
    : 0;
}
