/**
 * Synthesis of a Fleet into cdktf.out (atomically) and, on request, the deployment/ export.
 * `main.ts` is the command-line wrapper; tests and the benchmark call these directly.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { App } from "cdktf";
import { keepTerraformWorkdirs, replaceDirectory } from "./export/replace-directory";
import { renderApplyDocumentScript, renderBootstrap, renderHostFiles } from "./render";
import type { Fleet } from "./roster";
import { DevEnvironmentStack, type DevEnvironmentStackProps, stackId } from "./stacks/dev-environment-stack";

export interface SynthResult {
  readonly stack: DevEnvironmentStack;
  /** Directory of the synthesized stack (cdk.tf.json), for `terraform plan`. */
  readonly stackDir: string;
}

/** Everything the stack needs for `fleet`: the Fleet and the files rendered from it. */
export function stackProps(fleet: Fleet): DevEnvironmentStackProps {
  return { fleet, hostFiles: renderHostFiles(fleet), applyScript: renderApplyDocumentScript(fleet), userData: renderBootstrap(fleet) };
}

/** Synthesizes into `outdir` directly: for the cdktf CLI, which owns its output directory. */
export function synthInto(fleet: Fleet, outdir: string): SynthResult {
  const app = new App({ outdir });
  const stack = new DevEnvironmentStack(app, stackId(fleet), stackProps(fleet));
  app.synth();
  return { stack, stackDir: join(outdir, "stacks", stackId(fleet)) };
}

/** Synthesizes into a fresh directory swapped in for `outdir`, keeping each stack's Terraform working files. */
export async function synthAtomically(fleet: Fleet, outdir: string): Promise<SynthResult> {
  let stack: DevEnvironmentStack | undefined;
  await replaceDirectory(
    outdir,
    (staging) => {
      stack = synthInto(fleet, staging).stack;
    },
    keepTerraformWorkdirs((root) => {
      const stacks = join(root, "stacks");
      return existsSync(stacks) ? readdirSync(stacks).map((s) => join("stacks", s)) : [];
    }),
  );
  return { stack: stack!, stackDir: join(outdir, "stacks", stackId(fleet)) };
}
