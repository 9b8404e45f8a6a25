import { Testing } from "cdktf";
import type { Fleet } from "../../src/roster";
import { stackProps } from "../../src/app";
import { DevEnvironmentStack } from "../../src/stacks/dev-environment-stack";

/**
 * Synthesized Terraform JSON as the tests read it: untyped data indexed by key. The one place
 * tests opt out of static types, because the JSON's shape is the provider's, not ours.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type Config = Record<string, any>;
/** Any value inside a Config. */
export type ConfigValue = Config[string];

/**
 * Synthesizes the whole stack for `fleet` (aspects and validations included) and returns the
 * Terraform JSON with cdktf's `//` metadata kept, so resources can be found by construct path.
 */
export function synthStack(fleet: Fleet): Config {
  return synthesize(fleet).config;
}

/** The same, with the stack itself (for the HCL export or its address list). */
export function synthesize(fleet: Fleet): { stack: DevEnvironmentStack; config: Config } {
  const stack = new DevEnvironmentStack(Testing.app(), "code-server-dev", stackProps(fleet));
  Testing.synth(stack, true);
  return { stack, config: JSON.parse(JSON.stringify(stack.toTerraform())) as Config };
}

/** `[logicalId, config]` pairs of every resource of `type`. */
export function resources(config: Config, type: string): [string, Config][] {
  return Object.entries(config.resource?.[type] ?? {});
}

/** The single resource of `type` (fails the test when there is not exactly one). */
export function only(config: Config, type: string): Config {
  const found = resources(config, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0][1];
}

export { parseJsonencode } from "./hcl-object";

/** The names of the alarms that sleep with the host, as the stack of `fleet` lists them (no synth needed). */
export function sleepingAlarmNamesOf(fleet: Fleet): readonly string[] {
  return new DevEnvironmentStack(Testing.app(), "code-server-dev", stackProps(fleet)).sleepingAlarmNames;
}
