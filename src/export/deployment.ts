/**
 * The spec's deployment/ layout (SPEC 8.3): the Terraform configuration as HCL, the rendered
 * host files in their folders, and the operator scripts. Written whole or not at all.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { renderHostFiles, renderOperatorScripts } from "../render";
import { FILE_MODES, type RenderedFile, renderedFile } from "../rendered-file";
import { type DevEnvironmentStack, localStateFile } from "../stacks/dev-environment-stack";
import { renderHcl } from "./hcl";
import { keepTerraformWorkdirs, replaceDirectory } from "./replace-directory";

export interface ExportOptions {
  /** The project root: where terraform.tfvars.example and the local state file live. */
  readonly projectRoot: string;
}

/** Every file of deployment/, by path relative to it. */
export async function deploymentFiles(stack: DevEnvironmentStack, target: string, options: ExportOptions): Promise<RenderedFile[]> {
  const { fleet } = stack;
  // The exported configuration shares the project's local state file, seen from deployment/terraform.
  const statePath = relative(resolve(target, "terraform"), resolve(options.projectRoot, localStateFile(fleet)));
  const hcl = await renderHcl(stack, { localStatePath: statePath });
  const tfvars = readFileSync(join(options.projectRoot, "terraform.tfvars.example"), "utf8");
  return [
    ...Object.entries(hcl).map(([name, content]) => renderedFile(`terraform/${name}`, content, FILE_MODES.regular)),
    renderedFile("terraform/terraform.tfvars.example", tfvars, FILE_MODES.regular),
    ...renderHostFiles(fleet),
    ...renderOperatorScripts(fleet),
  ];
}

/** Writes deployment/ (or `target`) atomically. */
export async function exportDeployment(stack: DevEnvironmentStack, target: string, options: ExportOptions): Promise<RenderedFile[]> {
  const files = await deploymentFiles(stack, target, options);
  const seen = new Set<string>();
  for (const file of files) {
    if (seen.has(file.path)) throw new Error(`two exported files claim ${file.path}`);
    seen.add(file.path);
  }
  await replaceDirectory(
    target,
    (staging) => {
      for (const file of files) {
        const path = join(staging, file.path);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, file.content);
        chmodSync(path, file.mode);
      }
    },
    keepTerraformWorkdirs(() => ["terraform"]),
  );
  return files;
}
