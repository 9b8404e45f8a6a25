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
  const stack = new DevEnvironmentStack(Testing.app(), "stack", stackProps(fleet));
  Testing.synth(stack, true);
  return JSON.parse(JSON.stringify(stack.toTerraform()));
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

/** The resource of `type` whose construct path ends with `pathSuffix`. */
export function byPath(config: Config, type: string, pathSuffix: string): Config {
  const found = resources(config, type).filter(([, r]) => r["//"]?.metadata?.path?.endsWith(pathSuffix));
  if (found.length !== 1) throw new Error(`expected one ${type} at */${pathSuffix}, found ${found.length}`);
  return found[0][1];
}

/** `${type.logicalId.attr}` reference to the resource of `type` at `pathSuffix`. */
export function refTo(config: Config, type: string, pathSuffix: string, attribute: string): string {
  const [id] = resources(config, type).find(([, r]) => r["//"]?.metadata?.path?.endsWith(pathSuffix)) ?? [];
  if (!id) throw new Error(`no ${type} at */${pathSuffix}`);
  return `\${${type}.${id}.${attribute}}`;
}

/** Resources of `type` tagged for `developer`. */
export function forDeveloper(config: Config, type: string, developer: string): Config[] {
  return resources(config, type)
    .map(([, r]) => r)
    .filter((r) => r.tags?.developer === developer);
}

export { parseJsonencode } from "./hcl-object";
