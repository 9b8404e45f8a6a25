/**
 * Synthesis of a Fleet into cdktf.out (atomically) and, on request, the deployment/ export.
 * `main.ts` is the command-line wrapper; tests, the review and the benchmark call these directly.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "cdktf";
import { invokeAspects } from "cdktf/lib/synthesize/synthesizer";
import { replaceDirectory } from "./replace-directory";
import { renderApplyDocumentScript, renderBootstrap, renderHostFiles, type RenderedFile } from "./render";
import type { Fleet } from "./roster";
import { skipCrossStackPreparation } from "./speed";
import type { TerraformJson } from "./terraform/plan-json";
import { DevEnvironmentStack, type DevEnvironmentStackProps, stackId } from "./stacks/dev-environment-stack";

export interface SynthResult {
  readonly stack: DevEnvironmentStack;
  /** Directory of the synthesized stack (cdk.tf.json), for `terraform plan`. */
  readonly stackDir: string;
  /** The host files the stack delivers, as rendered for it (the deployment/ export reuses them). */
  readonly hostFiles: readonly RenderedFile[];
}

/** The host files of `fleet`: none when no host runs. */
export function hostFilesOf(fleet: Fleet): readonly RenderedFile[] {
  return fleet.host ? renderHostFiles(fleet) : [];
}

/** Everything the stack needs for `fleet`: the Fleet and, when the host runs, the files rendered from it. */
export function stackProps(fleet: Fleet, hostFiles: readonly RenderedFile[] = hostFilesOf(fleet)): DevEnvironmentStackProps {
  if (!fleet.host) return { fleet, hostFiles: [] };
  return { fleet, hostFiles, applyScript: renderApplyDocumentScript(fleet), userData: renderBootstrap(fleet) };
}

/**
 * The one way a Fleet becomes a stack: `DevEnvironmentStack` under its id (`stackId`) in `app`,
 * and the host files rendered for it. Every synth path (the app, the review, the cost, the tests)
 * builds its stack here.
 */
export function buildStack(fleet: Fleet, app: App = new App()): { stack: DevEnvironmentStack; hostFiles: readonly RenderedFile[] } {
  const hostFiles = hostFilesOf(fleet);
  const stack = new DevEnvironmentStack(app, stackId(fleet), stackProps(fleet, hostFiles));
  skipCrossStackPreparation(stack);
  return { stack, hostFiles };
}

/** Synthesizes into `outdir` directly, writing over what is there. */
export function synthInto(fleet: Fleet, outdir: string): SynthResult {
  const app = new App({ outdir });
  const { stack, hostFiles } = buildStack(fleet, app);
  app.synth();
  return { stack, stackDir: join(outdir, "stacks", stackId(fleet)), hostFiles };
}

/**
 * Synthesizes into a fresh directory swapped in for `outdir`. What the operator added to the old
 * tree (Terraform's working files, tfvars, overrides, saved plans) is carried over; see
 * replace-directory.ts.
 */
export async function synthAtomically(fleet: Fleet, outdir: string): Promise<SynthResult> {
  let synthesized: SynthResult | undefined;
  await replaceDirectory(outdir, (staging) => {
    synthesized = synthInto(fleet, staging);
  });
  return { ...synthesized!, stackDir: join(outdir, "stacks", stackId(fleet)) };
}

/**
 * The stack of `fleet` and its Terraform JSON, synthesized in memory (aspects and validations
 * included), as `cdk.tf.json` would hold it; nothing is written but cdktf's own empty scratch
 * directory.
 */
export function synthesizeInMemory(fleet: Fleet): { stack: DevEnvironmentStack; config: TerraformJson } {
  const scratch = mkdtempSync(join(tmpdir(), "synth-config-"));
  try {
    const { stack } = buildStack(fleet, new App({ outdir: scratch }));
    invokeAspects(stack);
    stack.runAllValidations();
    return { stack, config: JSON.parse(JSON.stringify(stack.toTerraform())) as TerraformJson };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The Terraform JSON of `fleet` (`synthesizeInMemory`). */
export function synthConfig(fleet: Fleet): TerraformJson {
  return synthesizeInMemory(fleet).config;
}
