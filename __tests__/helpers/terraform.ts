/**
 * Runs Terraform offline against a synthesized configuration: a copy in a temp directory, an
 * override file that gives the aws provider fake credentials and skips every AWS call the
 * provider makes on its own, and a CLI config that installs hashicorp/aws from this machine's
 * filesystem mirror when there is one (elsewhere, from the registry).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "./synth";

export const AWS_PROVIDER_VERSION = "5.100.0";

/** Path of the terraform binary, or undefined. */
export function findTerraform(): string | undefined {
  const found = spawnSync("sh", ["-c", "command -v terraform"], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** A filesystem mirror holding hashicorp/aws at the pinned version, if this machine has one. */
export function findProviderMirror(): string | undefined {
  const candidates = [
    process.env.TF_PROVIDER_MIRROR,
    "/opt/tf-plugins",
    join(homedir(), ".terraform.d", "plugins"),
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
  ].filter((c): c is string => !!c);
  return candidates.find((dir) => existsSync(join(dir, "registry.terraform.io", "hashicorp", "aws", AWS_PROVIDER_VERSION)));
}

/** Whether the offline Terraform tests can run; with CI=true a missing terraform is a failure. */
export function terraformOrSkip(): string | undefined {
  const terraform = findTerraform();
  if (!terraform) {
    if (process.env.CI === "true") throw new Error("terraform is not on PATH, and CI=true: install Terraform >= 1.11");
    console.warn("\n*** SKIPPED: terraform is not on PATH; the offline init/validate/plan checks did not run ***\n");
  }
  return terraform;
}

const OFFLINE_PROVIDER = {
  provider: {
    aws: {
      access_key: "AKIAOFFLINEOFFLINE00",
      secret_key: "offline-secret-key-not-real",
      skip_credentials_validation: true,
      skip_requesting_account_id: true,
      skip_metadata_api_check: true,
    },
  },
};

export interface Workdir {
  readonly dir: string;
  /** Runs terraform; throws with its output when it fails, unless `allowFailure`. */
  run(args: string[], options?: { allowFailure?: boolean }): { status: number; output: string };
}

/** Copies `source` into a temp dir prepared for offline runs (state kept inside the temp dir). */
export function offlineWorkdir(terraform: string, source: string, files: Record<string, string> = {}): Workdir {
  const dir = mkdtempSync(join(tmpdir(), "tf-offline-"));
  cpSync(source, dir, { recursive: true, filter: (src) => !/\.terraform(\.lock\.hcl)?$/.test(src) });
  writeFileSync(
    join(dir, "offline_override.tf.json"),
    JSON.stringify({ ...OFFLINE_PROVIDER, terraform: { backend: { local: { path: join(dir, "offline.tfstate") } } } }, null, 2),
  );
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  const mirror = findProviderMirror();
  const cliConfig = join(dir, "offline.tfrc");
  writeFileSync(
    cliConfig,
    mirror
      ? `provider_installation {\n  filesystem_mirror {\n    path    = "${mirror}"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n`
      : "",
  );
  const env = { ...process.env, TF_CLI_CONFIG_FILE: cliConfig, TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1", TF_INPUT: "0" };
  return {
    dir,
    run(args, options = {}) {
      const result = spawnSync(terraform, args, { cwd: dir, env, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
      const output = `${result.stdout}${result.stderr}`;
      if (result.status !== 0 && !options.allowFailure) {
        throw new Error(`terraform ${args.join(" ")} failed (exit ${result.status}) in ${dir}:\n${output}`);
      }
      return { status: result.status ?? 1, output };
    },
  };
}

/** The parts of `terraform show -json <plan>` the tests read (Terraform's JSON output format). */
export interface PlanJson {
  readonly resource_changes: readonly {
    readonly address: string;
    readonly mode: "managed" | "data";
    readonly type: string;
    readonly change: { readonly actions: readonly string[]; readonly after: Config; readonly after_unknown: Config };
  }[];
  readonly planned_values: { readonly outputs: Config; readonly root_module: { readonly resources: readonly { readonly mode: string }[] } };
  readonly configuration: { readonly root_module: { readonly variables: Config } };
}

/** `terraform show -json` of a saved plan. */
export function showPlan(terraform: string, workdir: Workdir, planFile: string): PlanJson {
  const env = { ...process.env, TF_CLI_CONFIG_FILE: join(workdir.dir, "offline.tfrc") };
  return JSON.parse(
    execFileSync(terraform, ["show", "-json", planFile], { cwd: workdir.dir, env, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 }),
  );
}
