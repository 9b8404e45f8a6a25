/**
 * Entry point of `npm run review -- --base <git revision or roster file>`: the reviewer's tool for
 * a roster pull request. Exit 0 when Terraform's plan of the change is safe to approve, 3 when it
 * needs a careful reader (see exitCodeOf), 1 on an error (a bad roster, an unknown revision, a
 * missing file, no terraform, a plan that fails), 2 on bad arguments.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseCommandLine } from "../command-line";
import { VARIABLES } from "../constructs/inputs";
import { DEFAULT_ROSTER_FILE, loadRoster, parseRoster, RosterError } from "../roster";
import { speedUpSynthesis } from "../speed";
import { findTerraform } from "../terraform/offline";
import { PlanFailedError } from "../terraform/plan-against-state";
import { BaseError, readBaseRoster } from "./base";
import { renderReview } from "./report";
import { exitCodeOf, review, ReviewError, synthesizeRoster } from "./review";
import { reviewSections } from "./sections";

const USAGE = `usage: npm run review -- --base <git revision or roster file> [--var <name>=<value>]...
  --base <base>   the roster before the change: a roster file, or else a git revision (HEAD,
                  main, a commit) whose version of the roster file is read
  --var n=v       a plan-time variable the change sets (e.g. --var vpc_cidr=10.50.0.0/16): the
                  change is planned with it, the base with terraform.tfvars.example's values
  ROSTER_FILE     the roster after the change (default: ${DEFAULT_ROSTER_FILE})
Prints Terraform's plan of the change against a deployment of the base fabricated offline,
without AWS credentials (terraform must be on PATH). Exit 0: nothing protected (host, data
volume, its attachment, archive bucket, and on ECS the homes' file system) changes and nothing a
developer depends on is replaced or destroyed; 3: something is, Terraform refuses the change, or
the region, the sign-in or sleep when idle changes; 1: an error (no plan could be made); 2: bad
arguments.`;

/** `name=value` arguments of --var, by name; an unknown name or a missing `=` is a usage error (a message). */
function parseVars(specs: readonly string[]): Record<string, string> | string {
  const vars: Record<string, string> = {};
  for (const spec of specs) {
    const match = /^([a-z_][a-z0-9_]*)=(.*)$/s.exec(spec);
    if (!match) return `--var ${spec}: write it as <name>=<value>, e.g. --var vpc_cidr=10.50.0.0/16`;
    if (!(match[1] in VARIABLES))
      return `--var ${spec}: there is no variable ${match[1]}; the variables are ${Object.keys(VARIABLES).join(", ")}`;
    vars[match[1]] = match[2];
  }
  return vars;
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine<{ base?: string; var?: string[] }>(
    argv,
    { base: { type: "string" }, var: { type: "string", multiple: true } },
    USAGE,
  );
  if ("exit" in parsed) return parsed.exit;
  const options = parsed.values;
  const vars = parseVars(options.var ?? []);
  if (typeof vars === "string") {
    console.error(`${vars}\n${USAGE}`);
    return 2;
  }
  if (!options.base) {
    console.error(`--base is required: the roster to compare with\n${USAGE}`);
    return 2;
  }

  const rosterFile = process.env.ROSTER_FILE || DEFAULT_ROSTER_FILE;
  const terraform = findTerraform();
  try {
    const currentFleet = loadRoster(rosterFile);
    const baseSource = readBaseRoster(options.base, rosterFile);
    const base = synthesizeRoster(baseSource.label, parseRoster(baseSource.text, baseSource.label, process.env));
    const current = synthesizeRoster(rosterFile, currentFleet);
    const result = review(base, current, {
      terraform,
      tfvars: readFileSync("terraform.tfvars.example", "utf8"),
      cacheDir: join(".build", "terraform"),
      vars,
    });
    process.stdout.write(renderReview(result, await reviewSections(result)));
    return exitCodeOf(result);
  } catch (err) {
    if (err instanceof RosterError || err instanceof BaseError || err instanceof PlanFailedError || err instanceof ReviewError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
}

speedUpSynthesis();
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
