/**
 * The cdktf app. `npm run synth` runs it with `--export deployment`; the cdktf CLI runs it
 * through cdktf.json. Reads the roster (ROSTER_FILE, default roster.yaml), validates it, and
 * writes nothing unless the whole roster is valid and synthesis succeeds.
 *
 *   node --import tsx main.ts [--outdir cdktf.out] [--export <dir>]
 */
import { relative } from "node:path";
import { parseArgs } from "node:util";
import { synthAtomically, synthInto } from "./src/app";
import { DEFAULT_ROSTER_FILE, loadRoster, RosterError } from "./src/roster";
import { skipTokenStackTraces } from "./src/speed";

skipTokenStackTraces();

const USAGE = `usage: main.ts [--outdir <dir>] [--export <dir>]
  --outdir <dir>   where the Terraform stack is synthesized (default: cdktf.out, or CDKTF_OUTDIR under the cdktf CLI)
  --export <dir>   also write the spec's deployment layout (HCL, docker, scripts, config) there
  ROSTER_FILE      the roster to read (default: ${DEFAULT_ROSTER_FILE})`;

async function main(argv: string[]): Promise<number> {
  let options: { outdir?: string; export?: string; help?: boolean };
  try {
    options = parseArgs({
      args: argv,
      options: { outdir: { type: "string" }, export: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }

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

  // Under the cdktf CLI (deploy, diff), it owns the output directory and reads it right after.
  const cliOutdir = process.env.CDKTF_OUTDIR;
  const { stack, stackDir } =
    cliOutdir && !options.outdir ? synthInto(fleet, cliOutdir) : await synthAtomically(fleet, options.outdir ?? "cdktf.out");

  const lines = [`Synthesized ${fleet.developers.length} developers from ${rosterFile} into ${relative(".", stackDir) || "."}`];
  if (options.export) {
    // Loaded only here: the HCL formatter is not needed to synthesize.
    const { exportDeployment } = await import("./src/export/deployment");
    const files = await exportDeployment(stack, options.export, { projectRoot: process.cwd() });
    lines.push(`Exported ${files.length} files to ${options.export}/ (terraform/ as HCL, docker/, scripts/, config/)`);
  }
  if (!cliOutdir) {
    lines.push(
      "Review the plan:",
      `  cd ${relative(".", stackDir)} && terraform init && terraform plan -var-file=${relative(stackDir, "terraform.tfvars")}`,
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
