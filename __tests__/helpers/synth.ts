import type { Fleet } from "../../src/roster";
import { buildStack, synthesizeInMemory } from "../../src/app";
import type { DevEnvironmentStack } from "../../src/stacks/dev-environment-stack";
import type { ProviderBlock, TerraformJson } from "../../src/terraform/plan-json";

/**
 * Synthesizes the whole stack for `fleet` (aspects and validations included) and returns the
 * Terraform JSON with cdktf's `//` metadata kept, so resources can be found by construct path.
 */
export function synthStack(fleet: Fleet): TerraformJson {
  return synthesizeInMemory(fleet).config;
}

/** The same, with the stack itself (for the HCL export or its address list). */
export function synthesize(fleet: Fleet): { stack: DevEnvironmentStack; config: TerraformJson } {
  return synthesizeInMemory(fleet);
}

/** `[logicalId, config]` pairs of every resource of `type`. */
export function resources(config: TerraformJson, type: string): [string, ProviderBlock][] {
  return Object.entries(config.resource?.[type] ?? {});
}

/** The single resource of `type` (fails the test when there is not exactly one). */
export function only(config: TerraformJson, type: string): ProviderBlock {
  const found = resources(config, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0][1];
}

export { parseDocument } from "./hcl-object";

/** The names of the alarms that sleep with the host, as the stack of `fleet` lists them (no synth needed). */
export function sleepingAlarmNamesOf(fleet: Fleet): readonly string[] {
  return buildStack(fleet).stack.sleepingAlarmNames;
}
