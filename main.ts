/**
 * The cdktf app. Every way of running it leaves the same files: `npm run synth` runs it with
 * `--export deployment`; the cdktf CLI (synth, diff, deploy) runs it through cdktf.json with
 * CDKTF_OUTDIR set, and then it exports deployment/ as well. Reads the roster (ROSTER_FILE,
 * default roster.yaml), validates it, and writes nothing unless the whole roster is valid and
 * synthesis succeeds.
 *
 *   node tools/launch.js main.ts [--outdir cdktf.out] [--export <dir>]
 */
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { synthAtomically } from "./src/app";
import { parseCommandLine } from "./src/command-line";
import { DEFAULT_ROSTER_FILE, loadRoster, RosterError } from "./src/roster";
import { describeFargateSizes } from "./src/roster/fargate";
import { speedUpSynthesis } from "./src/speed";
import type { TerraformJson } from "./src/terraform/plan-json";

speedUpSynthesis();

/** Where the cdktf CLI's runs export the deployment layout, as `npm run synth` does. */
const CLI_EXPORT_DIR = "deployment";

const USAGE = `usage: main.ts [--outdir <dir>] [--export <dir>]
  --outdir <dir>   where the Terraform stack is synthesized (default: cdktf.out, or CDKTF_OUTDIR under the cdktf CLI)
  --export <dir>   also write the deployment layout (HCL, docker, scripts, config) there
                   (default under the cdktf CLI: ${CLI_EXPORT_DIR})
  ROSTER_FILE      the roster to read (default: ${DEFAULT_ROSTER_FILE})`;

async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine<{ outdir?: string; export?: string }>(
    argv,
    { outdir: { type: "string" }, export: { type: "string" } },
    USAGE,
  );
  if ("exit" in parsed) return parsed.exit;
  const options = parsed.values;

  const rosterFile = process.env.ROSTER_FILE || DEFAULT_ROSTER_FILE;
  let fleet;
  try {
    fleet = loadRoster(rosterFile);
  } catch (err) {
    if (err instanceof RosterError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }

  const underCli = !!process.env.CDKTF_OUTDIR;
  const outdir = options.outdir ?? process.env.CDKTF_OUTDIR ?? "cdktf.out";
  const exportDir = options.export ?? (underCli ? CLI_EXPORT_DIR : undefined);
  const { stack, stackDir, hostFiles } = await synthAtomically(fleet, outdir);

  const lines = [`Synthesized ${fleet.developers.length} developers from ${rosterFile} into ${relative(".", stackDir) || "."}`];
  const sizes = describeFargateSizes(fleet.developers);
  if (sizes) lines.push(`Fargate sizes: ${sizes}`);
  if (exportDir) {
    // Loaded only here: the HCL writer is not needed to synthesize.
    const { exportDeployment } = await import("./src/export/deployment");
    const synthesized = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8")) as TerraformJson;
    const exported = await exportDeployment(stack, exportDir, { projectRoot: process.cwd(), hostFiles, synthesized });
    lines.push(`Exported ${exported.files.length} files to ${exportDir}/ (terraform/ as HCL, docker/, scripts/, config/)`);
    for (const path of exported.displaced) {
      lines.push(`  note: ${exportDir}/${path} is now generated; your file was kept as ${exportDir}/${path}.local`);
    }
  }
  if (!underCli) {
    const dir = relative(".", stackDir);
    lines.push(
      "Review the roster change (no AWS credentials needed):",
      "  npm run review -- --base HEAD",
      "Plan, then apply exactly the plan you reviewed:",
      `  terraform -chdir=${dir} init`,
      `  terraform -chdir=${dir} plan -var-file=${relative(stackDir, "terraform.tfvars")} -out=reviewed.tfplan`,
      `  terraform -chdir=${dir} apply reviewed.tfplan`,
    );
  }
  console.log(lines.join("\n"));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
