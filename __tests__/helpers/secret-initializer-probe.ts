/**
 * A small stack holding password secrets and their SecretInitializer, synthesized to disk and
 * exported as HCL (with the function's ZIP beside each), for the offline Terraform tests.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import { App, type TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { deploymentPackages } from "../../src/export/deployment";
import { renderHcl } from "../../src/export/hcl";
import { packageHandler } from "../../src/lambdas/package";
import { AwsEnvironment } from "../../src/constructs/aws-environment";
import { SecretInitializer } from "../../src/constructs/secret-initializer";
import { ReadableAddressStack } from "../../src/stacks/readable-addresses";
import type { TerraformJson } from "../../src/terraform/plan-json";

export const REGION = "ap-southeast-7";

/** The initializer's package, as synth makes it. */
export const CODE = packageHandler({ handler: "secret-initializer" });

/** Password secrets in `scope` (in this order) and the initializer of all of them. */
export function initializerOf(scope: Construct, names: readonly string[], key: KmsKey): SecretInitializer {
  const secrets = names.map(
    (name) => new SecretsmanagerSecret(scope, `password-${name}`, { name: `code-server/probe/${name}-password`, kmsKeyId: key.arn }),
  );
  return new SecretInitializer(scope, "secret-initializer", {
    fleet: { project: "code-server", environment: "probe", namePrefix: "code-server-probe" },
    secrets,
    key,
    logRetentionDays: 30,
  });
}

class ProbeStack extends ReadableAddressStack {}

export interface Probe {
  readonly stack: TerraformStack;
  /** The synthesized stack's directory (cdk.tf.json and the ZIP). */
  readonly stackDir: string;
  readonly config: TerraformJson;
}

/** A stack of `names`' password secrets and their initializer, synthesized into `outdir`. */
export function probeStack(outdir: string, names: readonly string[]): Probe {
  const app = new App({ outdir });
  const stack = new ProbeStack(app, "initializer-probe");
  new AwsProvider(stack, "aws", { region: REGION });
  const key = new KmsKey(stack, "key", { description: "probe" });
  new AwsEnvironment(stack, { region: REGION, accountOf: key.arn });
  initializerOf(stack, names, key);
  app.synth();
  const stackDir = join(outdir, "stacks", "initializer-probe");
  return { stack, stackDir, config: JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8")) as TerraformJson };
}

/** The stack's HCL export in `<target>/terraform`, with the ZIPs as the deployment export writes them; returns that directory. */
export function exportProbe(stack: TerraformStack, config: TerraformJson, target: string): string {
  const dir = join(target, "terraform");
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(renderHcl(stack, { synthesized: config }))) writeFileSync(join(dir, name), content);
  for (const file of deploymentPackages(stack)) {
    const path = join(target, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content);
  }
  return dir;
}

/** The function's `filename` and `source_code_hash` as `file` in `dir` (JSON or HCL) spells them. */
export function codeReference(dir: string, file: string): { filename: string; hash: string } {
  const text = readFileSync(join(dir, file), "utf8");
  const filename = /"?filename"?\s*[=:]\s*"([^"]+)"/.exec(text)![1];
  const hash = /"?source_code_hash"?\s*[=:]\s*"([^"]+)"/.exec(text)![1];
  return { filename, hash };
}
