/**
 * One hashicorp/aws provider process that serves many Terraform commands, through Terraform's
 * `TF_REATTACH_PROVIDERS` and the provider's `-debug` mode (the way provider developers attach
 * Terraform to a running provider).
 *
 * Left to itself, every `terraform plan` starts the provider three times (to read its schemas, to
 * validate, to plan) and every `show -json` once more; the aws provider builds its ~1,600
 * resource schemas at each start. Reattached, a plan of the default roster takes about 2.5 s of
 * CPU instead of 4, and a `show -json` about 1 s instead of 1.8. The plans are the same: the
 * offline tests plan the exported HCL this way and compare it with the JSON planned the usual way.
 *
 *   const server = ProviderServer.start(workdir, AWS_PROVIDER_VERSION, env);
 *   spawnSync("terraform", ["plan"], { env: { ...env, TF_REATTACH_PROVIDERS: server.reattach } });
 *   server.stop();
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** How long the provider may take to print how to attach to it. */
const START_TIMEOUT_MS = 60_000;

/** The aws provider binary `terraform init` installed in `workdir`. */
export function installedProvider(workdir: string, version: string): string {
  const versionDir = join(workdir, ".terraform", "providers", "registry.terraform.io", "hashicorp", "aws", version);
  const platforms = existsSync(versionDir) ? readdirSync(versionDir) : [];
  for (const platform of platforms) {
    const binary = readdirSync(join(versionDir, platform)).find((name) => name.startsWith("terraform-provider-aws"));
    if (binary) return join(versionDir, platform, binary);
  }
  throw new Error(`no hashicorp/aws ${version} under ${versionDir}: run terraform init in ${workdir} first`);
}

/** Blocks this thread for `ms` milliseconds (the callers are synchronous, like spawnSync). */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Whether a process still runs (not gone, not a zombie); true where /proc cannot tell. */
function running(pid: number): boolean {
  const status = `/proc/${pid}/status`;
  if (!existsSync("/proc/self/status")) return true;
  if (!existsSync(status)) return false;
  return !/^State:\s+Z/m.test(readFileSync(status, "utf8"));
}

export class ProviderServer {
  /** The value of TF_REATTACH_PROVIDERS that sends Terraform to this process. */
  readonly reattach: string;
  /** The provider's process id. */
  readonly pid: number;

  private constructor(
    private readonly child: ChildProcess,
    reattach: string,
    private readonly stopOnExit: () => void,
  ) {
    this.reattach = reattach;
    this.pid = child.pid!;
  }

  /**
   * Starts the provider `terraform init` installed in `workdir`, with `env` (GOGC and the like).
   * Its socket and log live in `workdir`. On Linux it dies with this process (setpriv
   * --pdeathsig), so a killed test worker leaves no provider behind.
   */
  static start(workdir: string, version: string, env: NodeJS.ProcessEnv): ProviderServer {
    const binary = installedProvider(workdir, version);
    const log = join(workdir, "provider-server.log");
    const out = openSync(log, "w");
    const setpriv = process.platform === "linux" && spawnSync("setpriv", ["--version"]).status === 0;
    const [command, ...args] = setpriv ? ["setpriv", "--pdeathsig", "KILL", "--", binary, "-debug"] : [binary, "-debug"];
    const child = spawn(command, args, {
      cwd: workdir,
      stdio: ["ignore", out, out],
      env: {
        ...env,
        // Where the provider puts its socket: removed with the workdir.
        TMPDIR: workdir,
        // With a CA bundle the provider refuses a second ConfigureProvider (it adds the bundle to
        // the HTTP client it built the first time). Offline it makes no HTTPS call to need one.
        AWS_CA_BUNDLE: undefined,
      },
    });
    closeSync(out);
    child.unref();
    // Elsewhere than Linux, at least a normal exit of this process stops it.
    const stopOnExit = () => child.kill("SIGKILL");
    process.once("exit", stopOnExit);
    const pid = child.pid;
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const output = readFileSync(log, "utf8");
      const reattach = /TF_REATTACH_PROVIDERS='([^']+)'/.exec(output)?.[1];
      if (reattach) return new ProviderServer(child, reattach, stopOnExit);
      const gone = pid === undefined || !running(pid);
      if (gone || Date.now() > deadline) {
        stopOnExit();
        process.off("exit", stopOnExit);
        throw new Error(
          `the aws provider (${binary} -debug) ${gone ? "exited" : `printed no TF_REATTACH_PROVIDERS in ${START_TIMEOUT_MS / 1000}s`}:\n${output.slice(-2000)}`,
        );
      }
      sleep(20);
    }
  }

  /** Stops the provider. */
  stop(): void {
    this.child.kill("SIGKILL");
    process.off("exit", this.stopOnExit);
  }
}
