/**
 * Construct-level tests: one layer synthesized on its own with `Testing.synthScope`, beside
 * stand-ins for what the stack would give it. The JSON string is what cdktf's matchers read.
 */
import { Instance } from "@cdktf/provider-aws/lib/instance";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { Testing, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { AwsEnvironment } from "../../src/constructs/aws-environment";
import type { ProviderBlock, TerraformJson } from "../../src/terraform/plan-json";

/** The account id construct tests give their stack's AwsEnvironment. */
export const ACCOUNT = "123456789012";

export interface Synthesized {
  /** Terraform JSON as a string, for `expect(json).toHaveResourceWithProperties(...)`. */
  readonly json: string;
  /** The same, parsed. */
  readonly config: TerraformJson;
}

export function synthLayer(build: (scope: Construct) => void): Synthesized {
  const json = Testing.synthScope(build);
  return { json, config: JSON.parse(json) as TerraformJson };
}

/** Stand-ins for the stack's other layers. */
export const standIns = {
  /** What DevEnvironmentStack reads from the fleet key's ARN, as a literal. */
  aws: (scope: Construct, region = "ap-southeast-7") => new AwsEnvironment(TerraformStack.of(scope), { region, account: ACCOUNT }),
  key: (scope: Construct) => new KmsKey(scope, "key", {}),
  instance: (scope: Construct) => new Instance(scope, "host", { ami: "ami-0123456789abcdef0", instanceType: "t3.micro" }),
};

/** `${type.<name>.attribute}` for the one element of `type` in `config`, whatever its name. */
export function refToOnly(config: TerraformJson, type: string, attribute: string, mode: "resource" | "data" = "resource"): string {
  const names = Object.keys((config[mode] as ProviderBlock | undefined)?.[type] ?? {});
  if (names.length !== 1) throw new Error(`expected one ${type}, found ${names.length}`);
  return `\${${mode === "data" ? "data." : ""}${type}.${names[0]}.${attribute}}`;
}
