/**
 * Offline Terraform for the tests: src/terraform/offline.ts (shared with `npm run review`), and
 * what only tests need.
 */
import type { Config } from "./synth";
import { findTerraform } from "../../src/terraform/offline";

export { AWS_PROVIDER_VERSION, findProviderMirror, findTerraform, offlineWorkdir, type Workdir } from "../../src/terraform/offline";

/** Whether the offline Terraform tests can run; with CI=true a missing terraform is a failure. */
export function terraformOrSkip(): string | undefined {
  const terraform = findTerraform();
  if (!terraform) {
    if (process.env.CI === "true") throw new Error("terraform is not on PATH, and CI=true: install Terraform >= 1.11");
    console.warn("\n*** SKIPPED: terraform is not on PATH; the offline init/validate/plan checks did not run ***\n");
  }
  return terraform;
}

/** The parts of `terraform show -json <plan>` the tests read (Terraform's JSON output format). */
export interface PlanJson {
  readonly resource_changes: readonly {
    readonly address: string;
    readonly mode: "managed" | "data";
    readonly type: string;
    readonly change: { readonly actions: readonly string[]; readonly after: Config; readonly after_unknown: Config };
  }[];
  readonly planned_values: { readonly outputs: Config; readonly root_module: { readonly resources: readonly { readonly mode: string }[] } };
  readonly configuration: { readonly root_module: { readonly variables: Config } };
}
