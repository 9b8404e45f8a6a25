/**
 * The deployment/ layout: the Terraform configuration as HCL, the rendered
 * host files in their folders, and the operator scripts. Written whole or not at all.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import type { TerraformStack } from "cdktf";
import { stackFilesOf } from "../constructs/stack-files";
import { renderHostFiles, renderOperatorScripts } from "../render";
import { FILE_MODES, type RenderedFile, renderedFile } from "../rendered-file";
import { type DevEnvironmentStack, localStateFile } from "../stacks/dev-environment-stack";
import type { TerraformJson } from "../terraform/plan-json";
import { renderHcl } from "./hcl";
import { replaceDirectory, type ReplaceResult } from "../replace-directory";

export interface ExportOptions {
  /** The project root: where terraform.tfvars.example and the local state file live. */
  readonly projectRoot: string;
  /**
   * The host files already rendered for the stack, to save rendering them again.
   * @default - rendered from the stack's fleet
   */
  readonly hostFiles?: readonly RenderedFile[];
  /**
   * The stack's synthesized configuration (cdk.tf.json), to save resolving it again.
   * @default - resolved from the stack
   */
  readonly synthesized?: TerraformJson;
}

/**
 * The project's terraform.tfvars.example as it sits in `terraformDir`: the same values under a
 * header whose commands and paths are right from there.
 */
export function exportedTfvarsExample(projectRoot: string, terraformDir: string): string {
  const source = readFileSync(join(projectRoot, "terraform.tfvars.example"), "utf8");
  const values = source.slice(source.indexOf("\n\n") + 2);
  const here = relative(projectRoot, terraformDir) || ".";
  const projectTfvars = relative(terraformDir, join(projectRoot, "terraform.tfvars"));
  return [
    "# Plan-time values of one environment, exported by `npm run synth` from the project's",
    "# terraform.tfvars.example (edit that one: this copy is replaced on every synth).",
    `# In this directory (${here}) either copy this file to terraform.tfvars, which Terraform`,
    "# reads by itself and synth keeps, or pass the project's own file. From here:",
    "#   terraform init",
    `#   terraform plan -var-file=${projectTfvars} -out=reviewed.tfplan`,
    "#   terraform apply reviewed.tfplan",
    "",
    values,
  ].join("\n");
}

/** Every file of deployment/, by path relative to it. */
export function deploymentFiles(stack: DevEnvironmentStack, target: string, options: ExportOptions): RenderedFile[] {
  const { fleet } = stack;
  // The exported configuration shares the project's local state file, seen from deployment/terraform.
  const statePath = relative(resolve(target, "terraform"), resolve(options.projectRoot, localStateFile(fleet)));
  const hcl = renderHcl(stack, { localStatePath: statePath, synthesized: options.synthesized });
  const tfvars = exportedTfvarsExample(resolve(options.projectRoot), resolve(target, "terraform"));
  return [
    ...Object.entries(hcl).map(([name, content]) => renderedFile(`terraform/${name}`, content, FILE_MODES.regular)),
    renderedFile("terraform/terraform.tfvars.example", tfvars, FILE_MODES.regular),
    // The host's files when the host runs; the operators' scripts of every platform that runs.
    ...(fleet.host ? (options.hostFiles ?? renderHostFiles(fleet)) : []),
    ...renderOperatorScripts(fleet, { sleepingAlarmNames: stack.sleepingAlarmNames }),
  ];
}

/** A file of deployment/ that is not text: a Lambda function's ZIP. */
export interface BinaryFile extends Omit<RenderedFile, "content"> {
  readonly content: Uint8Array;
}

/**
 * The files the configuration reads from beside it (Lambda ZIPs, the gate's bundle), each at the
 * path the HCL names relative to terraform/ (as in the synthesized stack directory), byte for byte
 * what synth wrote there.
 */
export function deploymentPackages(stack: TerraformStack): BinaryFile[] {
  return stackFilesOf(stack).map((file) => ({ path: `terraform/${file.path}`, content: file.content, mode: FILE_MODES.regular }));
}

export interface ExportResult extends ReplaceResult {
  readonly files: readonly (RenderedFile | BinaryFile)[];
}

/** Writes deployment/ (or `target`) atomically, keeping the operator's own files in it. */
export async function exportDeployment(stack: DevEnvironmentStack, target: string, options: ExportOptions): Promise<ExportResult> {
  const files = [...deploymentFiles(stack, target, options), ...deploymentPackages(stack)];
  const seen = new Set<string>();
  for (const file of files) {
    if (seen.has(file.path)) throw new Error(`two exported files claim ${file.path}`);
    seen.add(file.path);
  }
  const replaced = await replaceDirectory(target, (staging) => {
    for (const file of files) {
      const path = join(staging, file.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.content);
      chmodSync(path, file.mode);
    }
  });
  return { files, ...replaced };
}
