/**
 * Files a stack's resources read from beside its Terraform configuration: the ZIPs of its Lambda
 * functions (one per handler however many functions run it) and other built files (the sign-in
 * gate's bundle), each made once per synth and written into the stack's directory when the app
 * synthesizes, where a resource's `filename` or `source` (a path relative to the Terraform
 * directory) finds it. The HCL export writes the same bytes at the same paths (`stackFilesOf`).
 * Kept apart from the constructs that use them so that the export can list them without loading
 * the bundler.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { TerraformStack } from "cdktf";
import { addCustomSynthesis } from "cdktf/lib/synthesize/synthesizer";
import { Construct, type IConstruct } from "constructs";
import type { LambdaPackage } from "../lambdas/package";

/** A file beside the Terraform configuration: its path relative to the Terraform directory, and its bytes. */
export interface StackFile {
  readonly path: string;
  readonly content: Uint8Array;
}

export class StackFiles extends Construct {
  /** Its id below the stack. */
  static readonly ID = "stack-files";

  /** The files of `scope`'s stack, created with the first. */
  static of(scope: IConstruct): StackFiles {
    const stack = TerraformStack.of(scope);
    const found = stack.node.tryFindChild(StackFiles.ID);
    return found instanceof StackFiles ? found : new StackFiles(stack);
  }

  private readonly packages = new Map<string, LambdaPackage>();
  private readonly files = new Map<string, StackFile>();

  private constructor(stack: TerraformStack) {
    super(stack, StackFiles.ID);
    addCustomSynthesis(this, {
      onSynthesize: (session) => {
        // Where cdktf writes the stack's cdk.tf.json, beside which Terraform runs.
        const stackDir = dirname(join(session.manifest.outdir, session.manifest.forStack(stack).synthesizedStackPath));
        for (const file of this.all()) {
          const path = join(stackDir, file.path);
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, file.content);
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

  /** The file known as `key`, made by `make` the first time it is asked for. */
  fileOf<T extends StackFile>(key: string, make: () => T): T {
    let file = this.files.get(key) as T | undefined;
    if (!file) this.files.set(key, (file = make()));
    return file;
  }

  /** Every Lambda package, in the order they were first asked for. */
  lambdaPackages(): readonly LambdaPackage[] {
    return [...this.packages.values()];
  }

  /** Every file: the Lambda packages, then the others, each in the order first asked for. */
  all(): readonly StackFile[] {
    return [...this.lambdaPackages().map((code) => ({ path: code.path, content: code.zip })), ...this.files.values()];
  }
}

/** The ZIPs of every NodeLambda in `stack`, each with its path relative to the Terraform directory. */
export function lambdaPackagesOf(stack: TerraformStack): readonly LambdaPackage[] {
  const found = stack.node.tryFindChild(StackFiles.ID);
  return found instanceof StackFiles ? found.lambdaPackages() : [];
}

/** Every file `stack`'s resources read from beside its configuration. */
export function stackFilesOf(stack: TerraformStack): readonly StackFile[] {
  const found = stack.node.tryFindChild(StackFiles.ID);
  return found instanceof StackFiles ? found.all() : [];
}
