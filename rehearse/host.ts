/**
 * Step 3, the host: the rendered host files reach it as on EC2, through the SSM document's own
 * script (the synthesized runCommand, its parameters filled in as SSM fills them), which syncs
 * them from the AWS stand-in's S3, checks them against their manifest, swaps them in and runs
 * apply.sh. Everything runs through the scripts' seams: ROOT_PREFIX (every path under
 * `.rehearsal/host/root`), COMPOSE_OVERRIDE_FILE (the compose concessions), and stand-ins first on
 * PATH for what cannot exist here (the AWS CLI, systemctl, cloud-init, the CloudWatch agent). The
 * data volume is a blank loop-file that setup.sh finds by its EBS volume id, formats and mounts.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gateContainerName, hostGated } from "../src/identity/host-gate";
import { DATA_MOUNT, HOST_FILES_PREFIX, containerName, hostInstanceName, hostPaths, oidcClientSecretName, secretName } from "../src/naming";
import type { Developer, Fleet } from "../src/roster";
import { dockerCli, dockerHost, engineBin, engineDir } from "./engine";
import { AwsAccount } from "./lib/aws-account";
import { layout } from "./lib/layout";
import { run, runOk, sleep, type RunResult } from "./lib/run";
import { providerCertificateFile } from "./provider";
import type { ApplyDocument, RenderedRoster } from "./rosters";

/** Where a gate finds the rehearsal provider's certificate (NODE_EXTRA_CA_CERTS). */
const PROVIDER_CERTIFICATE_IN_GATE = "/run/rehearsal/provider.crt";

/** The data volume's EBS id: setup.sh looks for /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_<id without dash>. */
export const DATA_VOLUME_ID = "vol-0feedc0de0000001";
export const ARCHIVE_BUCKET = "rehearsal-archive";
export const ARTIFACT_BUCKET = "rehearsal-artifacts";
/** Size of the data volume's loop file (sparse). */
export const DATA_VOLUME_SIZE = "2G";
/** The instance id the SSM agent would run under (it names the agent's orchestration directory). */
export const INSTANCE_ID = "i-0rehearsal0000000";

/**
 * What Terraform would pass for the association's parameters that are references to resources
 * (`${aws_s3_bucket...id}`): the stand-ins' names for those resources.
 */
const STAND_IN_PARAMETERS: Readonly<Record<string, string>> = {
  dataVolumeId: DATA_VOLUME_ID,
  artifactBucket: ARTIFACT_BUCKET,
  archiveBucket: ARCHIVE_BUCKET,
};

/**
 * The document's script as the SSM agent runs it: every `{{ name }}` replaced by the parameter's
 * value, each value first checked against the parameter's allowedPattern (SSM refuses the command
 * otherwise). Values Terraform resolves at deploy time come from STAND_IN_PARAMETERS.
 */
export function scriptAsSsmRunsIt(document: ApplyDocument): string {
  const values = Object.fromEntries(
    Object.entries(document.parameters).map(([name, value]) => {
      const resolved = value.includes("${") ? STAND_IN_PARAMETERS[name] : value;
      if (resolved === undefined)
        throw new Error(`the rehearsal has no stand-in value for SSM parameter ${name} (Terraform passes ${value})`);
      const pattern = document.allowedPatterns[name];
      if (pattern === undefined || !new RegExp(pattern).test(resolved)) {
        throw new Error(`SSM would refuse ${name}=${resolved}: it does not match the document's allowedPattern ${pattern}`);
      }
      return [name, resolved];
    }),
  );
  return document.script.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`the document's script names {{ ${name} }}, which the association does not pass`);
    return values[name];
  });
}
/** The AWS account (the stand-in's, under `state`/aws) as Terraform leaves it: the host's instance, its volumes, the buckets. */
export function rehearsalAccount(state: string, fleet: Fleet): AwsAccount {
  const account = new AwsAccount(join(state, "aws"), fleet.region);
  account.addInstance({ id: INSTANCE_ID, name: hostInstanceName(fleet) });
  account.addVolume({ id: "vol-0rehearsalroot01", size: 8, attachedTo: { instanceId: INSTANCE_ID, device: "/dev/sda1" } });
  account.addVolume({ id: DATA_VOLUME_ID, size: 2, attachedTo: { instanceId: INSTANCE_ID, device: "/dev/sdf" } });
  for (const bucket of [ARTIFACT_BUCKET, ARCHIVE_BUCKET]) account.addBucket(bucket);
  return account;
}

const hostDir = layout.host;
const loopDeviceFile = join(hostDir, "loop-device");
const volumeFile = join(hostDir, "data-volume.img");

export interface ContainerInfo {
  readonly id: string;
  readonly image: string;
  readonly startedAt: string;
  readonly health: string;
  readonly status: string;
}

export class RehearsalHost {
  /** ROOT_PREFIX of the host scripts. */
  readonly root = join(hostDir, "root");
  /** The stand-ins' state: AWS, systemd units, syslog, sysctl, the calls they received. */
  readonly state = join(hostDir, "state");
  readonly overrideFile = join(hostDir, "compose.rehearsal.yml");
  readonly composeEnvFile = join(hostDir, "compose.env");
  private current!: RenderedRoster;

  constructor(private readonly nofileMax: number) {}

  get fleet(): Fleet {
    return this.current.fleet;
  }

  /** Whether create() has run: until then there is no roster on the host. */
  get created(): boolean {
    return this.current !== undefined;
  }

  get roster(): RenderedRoster {
    return this.current;
  }

  get composeFile(): string {
    return join(this.root, hostPaths(this.fleet).root, "docker", "docker-compose.yml");
  }

  /** Arguments of `docker compose` that address the rehearsed project (the report's composeArgs). */
  get composeArgs(): string[] {
    return [
      "--env-file",
      this.composeEnvFile,
      "--project-name",
      this.fleet.project,
      "--file",
      this.composeFile,
      "--file",
      this.overrideFile,
    ];
  }

  /** A blank host: a blank data volume attached, the roster deployed (secrets, S3 objects); nothing applied yet. */
  async create(roster: RenderedRoster): Promise<void> {
    this.current = roster;
    await removeHost();
    mkdirSync(this.root, { recursive: true });
    rehearsalAccount(this.state, roster.fleet);
    mkdirSync(join(hostDir, "tmp"), { recursive: true });
    this.write("/etc/fstab", "LABEL=cloudimg-rootfs\t/\text4\tdiscard,errors=remount-ro\t0 1\n");
    const ctl = join(this.root, "opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl");
    mkdirSync(dirname(ctl), { recursive: true });
    symlinkSync(join(layout.standins, "amazon-cloudwatch-agent-ctl"), ctl);
    await this.attachBlankVolume();
    await this.deploy(roster);
  }

  /** A new EBS volume: a sparse file of zeros on a loop device, linked where Nitro puts it. */
  private async attachBlankVolume(): Promise<void> {
    await runOk("truncate", ["-s", DATA_VOLUME_SIZE, volumeFile]);
    const device = (await runOk("losetup", ["--find", "--show", volumeFile])).stdout.trim();
    writeFileSync(loopDeviceFile, `${device}\n`);
    const link = join(this.root, "dev/disk/by-id", `nvme-Amazon_Elastic_Block_Store_${DATA_VOLUME_ID.replace("-", "")}`);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(device, link);
  }

  /**
   * Terraform's part of a deploy: empty secrets for new developers (and, with OpenID Connect, their
   * gates' cookie keys and the fleet's client secret), and the host files as the S3
   * objects of the synthesized stack, exactly those (Terraform deletes the objects of files no
   * longer rendered). The host takes them at its next apply.
   */
  async deploy(roster: RenderedRoster): Promise<void> {
    this.current = roster;
    const fleet = roster.fleet;
    const oidc = fleet.auth.type === "oidc";
    const kinds = ["password", "anthropic-api-key", ...(oidc ? (["gate-cookie-key"] as const) : [])] as const;
    const ids = [
      ...fleet.developers.flatMap((developer) => kinds.map((kind) => secretName(fleet, developer, kind))),
      ...(oidc ? [oidcClientSecretName(fleet)] : []),
    ];
    for (const id of ids) {
      if ((await this.aws(["secretsmanager", "describe-secret", "--secret-id", id])).code !== 0) {
        await this.awsOk(["secretsmanager", "create-secret", "--name", id]);
      }
    }
    const prefix = join(this.state, "aws", "s3", ARTIFACT_BUCKET, HOST_FILES_PREFIX);
    rmSync(prefix, { recursive: true, force: true });
    for (const file of roster.hostFiles) {
      mkdirSync(dirname(join(prefix, file.path)), { recursive: true });
      writeFileSync(join(prefix, file.path), file.content);
    }
    this.writeComposeConcessions();
  }

  /**
   * What the SSM association does on every change and every hour: runs the apply document of
   * the deployed roster, as the agent runs it (its script written to `_script.sh` in the agent's
   * orchestration directory and run with `sh -c`), which syncs the host files and runs apply.sh.
   */
  async apply(
    extraEnv: NodeJS.ProcessEnv = {},
    timeoutSeconds = 900,
    document: ApplyDocument = this.current.applyDocument,
  ): Promise<RunResult> {
    const commandId = randomBytes(8).toString("hex");
    const dir = this.path(`/var/lib/amazon/ssm/${INSTANCE_ID}/document/orchestration/${commandId}/awsrunShellScript/applyHostFiles`);
    mkdirSync(dir, { recursive: true });
    const script = join(dir, "_script.sh");
    writeFileSync(script, scriptAsSsmRunsIt(document), { mode: 0o700 });
    return run("sh", ["-c", script], { env: this.env(extraEnv), timeoutSeconds });
  }

  /** The compose override (through COMPOSE_OVERRIDE_FILE) and the interpolation env of composeArgs. */
  private writeComposeConcessions(): void {
    const lines = [
      "# The rehearsal's concessions, merged over the rendered docker-compose.yml through apply.sh's",
      "# COMPOSE_OVERRIDE_FILE (written by rehearse/host.ts; report.json lists each with its reason).",
      "services:",
    ];
    const logging = ["    logging:", "      driver: json-file", '      options: { max-size: "10m", max-file: "3" }'];
    for (const developer of this.fleet.developers) {
      lines.push(
        `  ${containerName(developer)}:`,
        "    ulimits:",
        `      nofile: { soft: ${this.nofileMax}, hard: ${this.nofileMax} }`,
        ...logging,
      );
      if (!hostGated(this.fleet)) continue;
      // The gate trusts the rehearsal provider's self-signed certificate, as it trusts a public CA's.
      lines.push(
        `  ${gateContainerName(developer)}:`,
        "    environment:",
        `      NODE_EXTRA_CA_CERTS: ${PROVIDER_CERTIFICATE_IN_GATE}`,
        "    volumes:",
        `      - { type: bind, source: ${JSON.stringify(providerCertificateFile)}, target: ${PROVIDER_CERTIFICATE_IN_GATE}, read_only: true }`,
        ...logging,
      );
    }
    writeFileSync(this.overrideFile, `${lines.join("\n")}\n`);
    writeFileSync(this.composeEnvFile, `ROOT_PREFIX=${this.root}\n`);
  }

  /** The environment the host scripts run in here. */
  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      PATH: `${layout.standins}:${layout.bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      HOME: hostDir,
      LANG: "C.UTF-8",
      TMPDIR: join(hostDir, "tmp"),
      ROOT_PREFIX: this.root,
      COMPOSE_OVERRIDE_FILE: this.overrideFile,
      DOCKER_HOST: dockerHost,
      REHEARSAL_STATE: this.state,
      AWS_STANDIN_STATE: join(this.state, "aws"),
      REHEARSAL_CALLS: join(this.state, "calls.log"),
      REHEARSAL_HOST_ROOT: this.root,
      REHEARSAL_ENGINE_SH: join(layout.scripts, "engine.sh"),
      REHEARSAL_ENGINE_DIR: engineDir,
      REHEARSAL_ENGINE_BIN: engineBin,
      REHEARSAL_NOFILE_MAX: String(this.nofileMax),
      REHEARSAL_DATA_VOLUME_ID: DATA_VOLUME_ID,
      ...extra,
    };
  }

  /** Runs a host script (relative to the host-files root) as the SSM document would. */
  runScript(script: string, args: readonly string[] = [], extraEnv: NodeJS.ProcessEnv = {}, timeoutSeconds = 900): Promise<RunResult> {
    return run("bash", [join(this.root, hostPaths(this.fleet).root, script), ...args], { env: this.env(extraEnv), timeoutSeconds });
  }

  /** The AWS stand-in; its output is kept out of the log (it may be a secret value). */
  aws(args: readonly string[], input?: string): Promise<RunResult> {
    return run(join(layout.standins, "aws"), args, { env: this.env(), input, quiet: true });
  }

  async awsOk(args: readonly string[]): Promise<string> {
    const result = await this.aws(args);
    if (result.code !== 0) throw new Error(`aws ${args.join(" ")} exited ${result.code}: ${result.stderr.trim()}`);
    return result.stdout;
  }

  docker(args: readonly string[], timeoutSeconds = 300): Promise<RunResult> {
    return run(dockerCli, args, { env: this.env(), timeoutSeconds });
  }

  compose(args: readonly string[], timeoutSeconds = 300): Promise<RunResult> {
    return this.docker(["compose", ...this.composeArgs, ...args], timeoutSeconds);
  }

  developer(name: string): Developer {
    const developer = this.fleet.developers.find((d) => d.name === name);
    if (!developer) throw new Error(`no developer ${name} in the current roster (${this.fleet.developers.map((d) => d.name).join(", ")})`);
    return developer;
  }

  /** `docker inspect` of a developer's container, or undefined when it does not exist. */
  async container(name: string): Promise<ContainerInfo | undefined> {
    const result = await this.docker(["inspect", containerName({ name })]);
    if (result.code !== 0) return undefined;
    const [info] = JSON.parse(result.stdout);
    return {
      id: info.Id,
      image: info.Config.Image,
      startedAt: info.State.StartedAt,
      health: info.State.Health?.Status ?? "",
      status: info.State.Status,
    };
  }

  /** Every developer container of the compose project, by name. */
  async containers(): Promise<Map<string, ContainerInfo>> {
    const map = new Map<string, ContainerInfo>();
    for (const developer of this.fleet.developers) {
      const info = await this.container(developer.name);
      if (info) map.set(developer.name, info);
    }
    return map;
  }

  /** Runs a shell command in a developer's container as its user (coder). */
  exec(name: string, command: string, timeoutSeconds = 60): Promise<RunResult> {
    return this.docker(["exec", containerName({ name }), "sh", "-c", command], timeoutSeconds);
  }

  /** Recreates a developer's container with compose (as apply.sh does) and waits until it is healthy. */
  async recreate(name: string): Promise<void> {
    const result = await this.compose(["up", "--detach", "--no-deps", "--force-recreate", containerName({ name })]);
    if (result.code !== 0) throw new Error(`recreating ${name}'s container failed: ${result.stderr.trim()}`);
    await this.waitHealthy(name);
  }

  async waitHealthy(name: string, timeoutSeconds = 180): Promise<void> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
      const info = await this.container(name);
      if (info?.health === "healthy") return;
      if (Date.now() > deadline)
        throw new Error(
          `${containerName({ name })} is not healthy after ${timeoutSeconds}s (${info ? `${info.status}/${info.health}` : "missing"})`,
        );
      await sleep(1000);
    }
  }

  async password(name: string): Promise<string> {
    const id = secretName(this.fleet, { name }, "password");
    return (
      await this.awsOk(["secretsmanager", "get-secret-value", "--secret-id", id, "--query", "SecretString", "--output", "text"])
    ).replace(/\n$/, "");
  }

  /** Stores a new password as rotate-password.sh does (through a file, never argv). */
  async setPassword(name: string, value: string): Promise<void> {
    const file = join(hostDir, "tmp", `password-${name}`);
    writeFileSync(file, value, { mode: 0o600 });
    try {
      await this.awsOk([
        "secretsmanager",
        "put-secret-value",
        "--secret-id",
        secretName(this.fleet, { name }, "password"),
        "--secret-string",
        `file://${file}`,
      ]);
    } finally {
      rmSync(file, { force: true });
    }
  }

  /** Absolute path of a host path inside the rehearsal's root. */
  path(hostPath: string): string {
    return join(this.root, hostPath);
  }

  /** A developer's home on the data volume (mounted at /home/coder). */
  home(name: string): string {
    return this.path(`${DATA_MOUNT}/${name}/home`);
  }

  /** A developer's workspace directory on the data volume. */
  workspace(name: string): string {
    return join(this.home(name), "workspace");
  }

  /** Archived objects in the S3 stand-in under a prefix. */
  s3Objects(bucket: string, prefix: string): string[] {
    const dir = join(this.state, "aws", "s3", bucket, prefix);
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
  }

  write(hostPath: string, content: string, mode = 0o644): void {
    const target = this.path(hostPath);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
    chmodSync(target, mode);
  }

  read(hostPath: string): string {
    return readFileSync(this.path(hostPath), "utf8");
  }

  async dataMounted(): Promise<boolean> {
    return (await run("mountpoint", ["-q", this.path(DATA_MOUNT)])).code === 0;
  }
}

/**
 * Unmounts the data volume, detaches the loop device and removes the host's links: also for a
 * run that died or was interrupted (the device is recorded in `.rehearsal/host/loop-device`).
 */
export async function detachHost(): Promise<void> {
  for (const mount of (await hostMounts()).sort().reverse()) await run("umount", [mount]);
  if (existsSync(loopDeviceFile)) {
    const device = readFileSync(loopDeviceFile, "utf8").trim();
    const backing = await run("losetup", ["--noheadings", "--output", "BACK-FILE", device]);
    if (backing.code === 0 && backing.stdout.trim() === volumeFile) await runOk("losetup", ["--detach", device]);
    rmSync(loopDeviceFile);
  }
  // A loop device left by a run that died before it recorded its device.
  const leftovers = (await run("losetup", ["--noheadings", "--output", "NAME", "--associated", volumeFile])).stdout
    .trim()
    .split("\n")
    .filter(Boolean);
  for (const device of leftovers) await run("losetup", ["--detach", device]);
}

/** Mount points under the host directory. */
async function hostMounts(): Promise<string[]> {
  return (await run("findmnt", ["-rn", "-o", "TARGET"])).stdout.split("\n").filter((m) => m.startsWith(`${hostDir}/`));
}

/** Everything of the host, including the data volume's file; never while something is mounted there. */
export async function removeHost(): Promise<void> {
  await detachHost();
  const left = await hostMounts();
  if (left.length) throw new Error(`still mounted after unmounting: ${left.join(", ")}; not removing ${hostDir}`);
  rmSync(hostDir, { recursive: true, force: true });
}
