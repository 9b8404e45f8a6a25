/**
 * Runs Terraform offline against a synthesized configuration: a copy in a temp directory, an
 * override file that gives the aws provider fake credentials and skips every AWS call the
 * provider makes on its own, and a CLI config that installs hashicorp/aws from this machine's
 * filesystem mirror when there is one (elsewhere, from the registry). No AWS credentials are
 * used or needed; the tests and `npm run review` both run Terraform this way.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { ProviderServer } from "./provider-server";

/** The hashicorp/aws release `@cdktf/provider-aws` 20.1.0 was generated from. */
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

/** Terraform's "Error:" paragraphs, each cut to a few lines (a plan error quotes whole JSON lines). */
export function errorsOf(output: string): string {
  const errors = output
    .split(/\n(?=(?:│ |╷\n│ )?Error: )/)
    .filter((part) => /^(?:│ |╷\n│ )?Error: /.test(part))
    .map((part) =>
      part
        .split("\n")
        .slice(0, 8)
        .map((line) => (line.length > 300 ? `${line.slice(0, 300)}…` : line))
        .join("\n"),
    );
  return errors.length > 0 ? errors.join("\n") : output.slice(-4000);
}

export interface Workdir {
  readonly dir: string;
  /** The local state file the override points the backend at. */
  readonly stateFile: string;
  /** Runs terraform; throws with its output when it fails, unless `allowFailure`. */
  run(args: string[], options?: { allowFailure?: boolean }): { status: number; output: string };
  /** Parsed standard output of a terraform command that prints JSON (`show -json`, `providers schema -json`). */
  json<T = unknown>(args: string[]): T;
  /**
   * From now on, every command is served by one aws provider process (provider-server.ts): a plan
   * costs about 1.5 s of CPU less. Call it after `init`.
   */
  shareProvider(): void;
  /** Removes the directory, after stopping a shared provider. */
  dispose(): void;
}

/**
 * A temp dir prepared for offline runs (state kept inside it), holding a copy of `source` (a
 * directory, or nothing) and `files` (name to content).
 */
export function offlineWorkdir(terraform: string, source: string | undefined, files: Record<string, string> = {}): Workdir {
  const dir = mkdtempSync(join(tmpdir(), "tf-offline-"));
  if (source) cpSync(source, dir, { recursive: true, filter: (src) => !/\.terraform(\.lock\.hcl)?$/.test(src) });
  const stateFile = join(dir, "offline.tfstate");
  writeFileSync(
    join(dir, "offline_override.tf.json"),
    JSON.stringify({ ...OFFLINE_PROVIDER, terraform: { backend: { local: { path: stateFile } } } }, null, 2),
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
  const env = {
    ...process.env,
    TF_CLI_CONFIG_FILE: cliConfig,
    TF_IN_AUTOMATION: "1",
    CHECKPOINT_DISABLE: "1",
    TF_INPUT: "0",
    // Terraform and the aws provider (which inherits these) spend over a quarter of each short run
    // in Go's garbage collector, mostly on the provider's schema. Collecting only above 512 MiB cuts
    // a full plan and its show from 7.6 s to 5.4 s of CPU here, for ~0.55 GB peak per process
    // instead of ~0.3 GB (a 1 GiB limit saved no more). A GOGC or GOMEMLIMIT of the caller's is kept.
    ...(process.env.GOGC || process.env.GOMEMLIMIT ? {} : { GOGC: "off", GOMEMLIMIT: "512MiB" }),
  };
  let server: ProviderServer | undefined;
  const spawn = (args: string[]) => {
    const started = Date.now();
    const commandEnv = server ? { ...env, TF_REATTACH_PROVIDERS: server.reattach } : env;
    const result = spawnSync(terraform, args, { cwd: dir, env: commandEnv, encoding: "utf8", maxBuffer: 512 * 1024 * 1024 });
    if (process.env.TF_OFFLINE_TIMING) console.error(`terraform ${args.slice(0, 3).join(" ")}: ${Date.now() - started} ms`);
    return result;
  };
  return {
    dir,
    stateFile,
    run(args, options = {}) {
      const result = spawn(args);
      const output = `${result.stdout}${result.stderr}`;
      if (result.status !== 0 && !options.allowFailure) {
        throw new Error(`terraform ${args.join(" ")} failed (exit ${result.status}) in ${dir}:\n${errorsOf(output)}`);
      }
      return { status: result.status ?? 1, output };
    },
    json<T>(args: string[]): T {
      const result = spawn(args);
      if (result.status !== 0) throw new Error(`terraform ${args.join(" ")} failed (exit ${result.status}) in ${dir}:\n${result.stderr}`);
      return JSON.parse(result.stdout) as T;
    },
    shareProvider() {
      server ??= ProviderServer.start(dir, AWS_PROVIDER_VERSION, env);
    },
    dispose() {
      server?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
