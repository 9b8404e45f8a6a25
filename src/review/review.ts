/**
 * `npm run review`: what a roster change does to the infrastructure. Both rosters are
 * synthesized in this process with the current code, so the review shows the effect of the
 * roster change alone, never of code changes between the two revisions.
 *
 * Resources are compared configuration by configuration. The four protected resources (host,
 * data volume, its attachment, archive bucket) get a verdict: unchanged when neither they nor
 * anything they reference changed; otherwise Terraform decides, by planning the current
 * configuration against a state fabricated from the base's plan (src/terraform), offline,
 * limited to the protected resources and what they depend on.
 */
import { synthConfig, type TerraformConfig } from "../app";
import type { Fleet } from "../roster";
import { OfflinePlanner, PlanRefusedError, type Refusal } from "../terraform/plan-against-state";
import type { PlanJson } from "../terraform/plan-json";
import { diffConfigs, referencesOf, resourceEntries, type ResourceDiff, type ResourceEntry } from "./diff";
import { protectedResources, verdictFromConfig, verdictFromPlan, type ProtectedRole, type ProtectedVerdict } from "./protected";

export interface ReviewedRoster {
  /** How to name it: `roster.yaml`, `HEAD:roster.yaml`. */
  readonly label: string;
  readonly fleet: Fleet;
  readonly config: TerraformConfig;
}

/** How the protected resources' verdicts were reached. */
export type VerdictSource = "configuration" | "terraform plan" | "configuration (terraform not found)";

export interface Review {
  readonly base: ReviewedRoster;
  readonly current: ReviewedRoster;
  readonly diffs: readonly ResourceDiff[];
  readonly protected: readonly ProtectedVerdict[];
  readonly verdictSource: VerdictSource;
  /** Terraform's plan of the current configuration against the base's deployment, when one was made. */
  readonly plan?: PlanJson;
  /** The checks that made Terraform refuse to plan the change (the host's architecture guard); empty when it planned. */
  readonly refusals: readonly Refusal[];
  /** Plan-time variables the change sets (`--var`), planned against the base's deployment with terraform.tfvars.example's values. */
  readonly vars: Readonly<Record<string, string>>;
}

/** A section appended to the report, such as a cost delta. */
export interface ReviewSection {
  readonly title: string;
  readonly lines: readonly string[];
}

/**
 * Adds a section to the report from a finished review (`undefined`: nothing to say). The hook
 * for later additions such as the monthly cost delta of `npm run cost`: write one, add it to
 * REVIEW_SECTIONS in main.ts.
 */
export type ReviewSectionProvider = (review: Review) => ReviewSection | undefined | Promise<ReviewSection | undefined>;

export interface ReviewOptions {
  /** The terraform binary, to decide how protected resources change; undefined: none found. */
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

/** Whether a protected resource, or anything it references directly or not, differs. */
function touched(address: string, entries: ReadonlyMap<string, ResourceEntry>, changed: ReadonlySet<string>): boolean {
  const known = new Set(entries.keys());
  const seen = new Set<string>();
  const queue = [address];
  while (queue.length > 0) {
    const next = queue.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    if (changed.has(next)) return true;
    const entry = entries.get(next);
    if (entry) queue.push(...referencesOf(entry.body, known));
  }
  return false;
}

export function synthesizeRoster(label: string, fleet: Fleet): ReviewedRoster {
  return { label, fleet, config: synthConfig(fleet) };
}

/** Compares `base` with `current`; see the module comment. */
export function review(base: ReviewedRoster, current: ReviewedRoster, options: ReviewOptions): Review {
  const developers = [...new Set([...base.fleet.developers, ...current.fleet.developers].map((d) => d.name))];
  const before = resourceEntries(base.config, developers);
  const after = resourceEntries(current.config, developers);
  const diffs = diffConfigs(before, after);
  const changed = new Set(diffs.map((d) => d.entry.address));
  const kindOf = new Map(diffs.map((d) => [d.entry.address, d]));

  const vars = options.vars ?? {};
  const roles = new Map<ProtectedRole, string>([...protectedResources(base.config, before), ...protectedResources(current.config, after)]);
  const isTouched = (address: string) => touched(address, after, changed) || touched(address, before, changed);
  // A variable can change anything; only a plan tells what.
  const needsPlan = [...roles.values()].some(isTouched) || Object.keys(vars).length > 0;
  const configVerdicts = () =>
    [...roles].map(([role, address]) => {
      const diff = kindOf.get(address);
      const kind = diff?.kind ?? (isTouched(address) ? "dependency" : undefined);
      return verdictFromConfig(role, address, kind, diff?.attributes ?? []);
    });

  if (!needsPlan || !options.terraform) {
    return {
      base,
      current,
      diffs,
      protected: configVerdicts(),
      verdictSource: needsPlan ? "configuration (terraform not found)" : "configuration",
      refusals: [],
      vars,
    };
  }

  const planner =
    options.planner ??
    new OfflinePlanner({ terraform: options.terraform, tfvars: options.tfvars, region: base.fleet.region, cacheDir: options.cacheDir });
  try {
    // Only the protected resources' actions are read, and their configuration (and that of all
    // they reference) is literals and plain references, which the fabricated state reproduces
    // exactly: the extra plan that settles function-built values is not needed.
    const state = planner.deployedState(base.config, { settle: false });
    let planned;
    try {
      // The protected resources and what they depend on: all the verdicts read, at a fraction of the plan.
      planned = planner.plan(current.config, state, { vars, target: [...roles.values()] });
    } catch (err) {
      if (!(err instanceof PlanRefusedError)) throw err;
      // Nothing would be applied: the verdicts say what the configurations change, the refusal why it stops.
      const refused = (verdict: ProtectedVerdict): ProtectedVerdict =>
        verdict.action === "unchanged"
          ? verdict
          : { ...verdict, notPlanned: true, consequence: "Terraform refuses to plan the change (above)" };
      return {
        base,
        current,
        diffs,
        protected: configVerdicts().map(refused),
        verdictSource: "terraform plan",
        refusals: err.refusals,
        vars,
      };
    }
    const { plan, preventDestroy } = planned;
    const changes = new Map((plan.resource_changes ?? []).map((c) => [`${c.type}.${c.name}`, c]));
    const verdicts = [...roles].map(([role, address]) =>
      verdictFromPlan(role, address, changes.get(address), preventDestroy, kindOf.get(address)?.attributes ?? []),
    );
    return { base, current, diffs, protected: verdicts, verdictSource: "terraform plan", plan, refusals: [], vars };
  } finally {
    if (!options.planner) planner.dispose();
  }
}

/** 3 when a protected resource changes or Terraform refuses the change, else 0. */
export function exitCodeOf(result: Review): 0 | 3 {
  return result.refusals.length > 0 || result.protected.some((v) => v.action !== "unchanged") ? 3 : 0;
}
