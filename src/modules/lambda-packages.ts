/**
 * The ZIPs of a stack's Lambda functions: one per handler however many functions run it, made
 * once per synth, and written into the stack's directory when the app synthesizes, where the
 * functions' `filename` (a path relative to the Terraform directory) finds them. The HCL export
 * writes the same bytes at the same paths (`lambdaPackagesOf`). Kept apart from NodeLambda so that
 * the export can list them without loading the bundler.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { TerraformStack } from "cdktf";
import { addCustomSynthesis } from "cdktf/lib/synthesize/synthesizer";
import { Construct, type IConstruct } from "constructs";
import type { LambdaPackage } from "../lambdas/package";

export class LambdaPackages extends Construct {
  /** Its id below the stack. */
  static readonly ID = "lambda-packages";

  /** The packages of `scope`'s stack, created with the first. */
  static of(scope: IConstruct): LambdaPackages {
    const stack = TerraformStack.of(scope);
    const found = stack.node.tryFindChild(LambdaPackages.ID);
    return found instanceof LambdaPackages ? found : new LambdaPackages(stack);
  }

  private readonly packages = new Map<string, LambdaPackage>();

  private constructor(stack: TerraformStack) {
    super(stack, LambdaPackages.ID);
    addCustomSynthesis(this, {
      onSynthesize: (session) => {
        // Where cdktf writes the stack's cdk.tf.json, beside which Terraform runs.
        const stackDir = dirname(join(session.manifest.outdir, session.manifest.forStack(stack).synthesizedStackPath));
        for (const code of this.packages.values()) {
          const file = join(stackDir, code.path);
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(file, code.zip);
        }
      },
    });
  }

  /** The package of `handler`, made by `make` the first time it is asked for. */
  packageOf(handler: string, make: () => LambdaPackage): LambdaPackage {
    let code = this.packages.get(handler);
    if (!code) this.packages.set(handler, (code = make()));
    return code;
  }

  /** Every package, in the order they were first asked for. */
  all(): readonly LambdaPackage[] {
    return [...this.packages.values()];
  }
}

/** The ZIPs of every NodeLambda in `stack`, each with its path relative to the Terraform directory. */
export function lambdaPackagesOf(stack: TerraformStack): readonly LambdaPackage[] {
  const found = stack.node.tryFindChild(LambdaPackages.ID);
  return found instanceof LambdaPackages ? found.all() : [];
}
