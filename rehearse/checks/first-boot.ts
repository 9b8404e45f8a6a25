/**
 * The host's first apply, as on a new EC2 host: the SSM association's first run of the apply
 * document (its script as synthesized) syncs the host files and runs apply.sh, which runs
 * setup.sh (here with a cloud-init that never finishes) and brings every container up.
 */
import { lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { DATA_MOUNT, FLEET_ENV_KEYS, HOST_FILES_MODES, containerName, hostPaths } from "../../src/naming";
import { ARCHIVE_BUCKET, ARTIFACT_BUCKET, DATA_VOLUME_ID } from "../host";
import { Rehearsal } from "../rehearsal";
import { run } from "../lib/run";
import { applyPhases, check, expect, tail } from "./check";

/** How long the bounded cloud-init wait is in the first apply (CLOUD_INIT_WAIT_SECONDS). */
const CLOUD_INIT_WAIT_SECONDS = 3;
/** How long the first apply may take before the check calls it stuck (setup.sh waiting on cloud-init forever). */
const FIRST_APPLY_PATIENCE_SECONDS = 600;

export const FIRST_BOOT = [
  check(
    "first boot: the SSM document's script, as synthesized, syncs the host files from S3, checks them against their manifest, installs each with its rendered mode and runs apply.sh",
    async (r) => {
      const names = r.host.fleet.developers.map((d) => d.name);
      const events = await r.watchEvents();
      const result = await r.host.apply(
        { REHEARSAL_CLOUD_INIT: "never-runs", CLOUD_INIT_WAIT_SECONDS: String(CLOUD_INIT_WAIT_SECONDS) },
        FIRST_APPLY_PATIENCE_SECONDS,
      );
      r.firstApplyOutput = result.stderr;
      r.firstApplyEvents = await events();
      r.report.timings.firstApplySeconds = Number(result.seconds.toFixed(1));
      expect(
        !result.timedOut,
        `the first apply was still running after ${FIRST_APPLY_PATIENCE_SECONDS}s (killed). Its last lines:\n${tail(result.stderr)}`,
      );
      expect(result.code === 0, `the apply document's script exited ${result.code}:\n${tail(result.stderr)}`);
      const paths = hostPaths(r.host.fleet);
      const root = r.host.path(paths.root);
      const modes = r.host.read(`${paths.root}/${HOST_FILES_MODES}`);
      const wrong: string[] = [];
      for (const file of r.host.roster.hostFiles) {
        const installed = join(root, file.path);
        if (readFileSync(installed, "utf8") !== file.content) wrong.push(`${file.path}: content`);
      }
      for (const line of modes.trim().split("\n")) {
        const [mode, path] = line.split(" ");
        const actual = (statSync(join(root, path)).mode & 0o777).toString(8).padStart(4, "0");
        if (actual !== mode) wrong.push(`${path}: mode ${actual}, rendered ${mode}`);
      }
      expect(wrong.length === 0, `installed host files differ from the synthesized ones:\n${wrong.join("\n")}`);
      const fleetEnv = r.host.read(paths.fleetEnv);
      for (const [key, value] of [
        [FLEET_ENV_KEYS.dataVolumeId, DATA_VOLUME_ID],
        [FLEET_ENV_KEYS.artifactBucket, ARTIFACT_BUCKET],
        [FLEET_ENV_KEYS.archiveBucket, ARCHIVE_BUCKET],
      ]) {
        expect(fleetEnv.includes(`${key}=${value}\n`), `${paths.fleetEnv} lacks ${key}=${value}:\n${fleetEnv}`);
      }
      const releases = r.host.path(`${paths.root}.releases`);
      const leftovers = readdirSync(releases).filter((n) => n.startsWith("staging."));
      expect(leftovers.length === 0, `staging directories left in ${paths.root}.releases: ${leftovers.join(", ")}`);
      expect(lstatSync(root).isSymbolicLink(), `${paths.root} is not the link to a release the swap renames`);
      expect(names.length > 0, "no developers");
      return `${r.host.roster.hostFiles.length} files in ${paths.root} (a link to ${readlinkSync(root)}) with their rendered modes; ${paths.fleetEnv} holds the stand-ins' volume id and buckets; apply.sh ran (${result.seconds.toFixed(1)}s)`;
    },
    { essential: true },
  ),

  check(
    "setup.sh finishes and frees the apply lock where cloud-init never finishes; it formats and mounts the blank data volume",
    async (r) => {
      const output = r.firstApplyOutput;
      expect(/cloud-init did not finish within/.test(output), `setup.sh did not say it gave up on cloud-init:\n${tail(output)}`);
      const lock = await run("flock", ["--nonblock", r.host.path(`/var/lib/${r.host.fleet.project}/apply.lock`), "true"]);
      expect(lock.code === 0, "the apply lock is still held after the apply ended");
      expect(await r.host.dataMounted(), `${DATA_MOUNT} is not mounted after setup.sh`);
      expect(
        /is a new, empty volume: creating an ext4 filesystem/.test(output),
        `setup.sh did not format the blank volume:\n${tail(output)}`,
      );
      const fstab = r.host
        .read("/etc/fstab")
        .split("\n")
        .find((l) => l.split(/\s+/)[1] === DATA_MOUNT);
      expect(
        fstab?.startsWith(`/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${DATA_VOLUME_ID.replace("-", "")} `),
        `fstab does not name the data volume by its id: ${fstab}`,
      );
      return `gave up on cloud-init after ${CLOUD_INIT_WAIT_SECONDS}s and went on; ext4 created and mounted; fstab: ${fstab}`;
    },
  ),

  check(
    "first apply: every developer's container is created and becomes healthy",
    async (r) => {
      const names = r.host.fleet.developers.map((d) => d.name);
      const containers = await r.host.containers();
      const unhealthy = names.filter((n) => containers.get(n)?.health !== "healthy");
      expect(unhealthy.length === 0, `not healthy after the first apply: ${unhealthy.map((name) => containerName({ name })).join(", ")}`);
      const perContainer = Rehearsal.createdToHealthy(r.firstApplyEvents, names);
      r.report.timings.firstApplyPerContainerSeconds = perContainer;
      const values = Object.values(perContainer);
      const phases = applyPhases(r.firstApplyOutput);
      if (phases) r.report.timings.firstApplyPhasesSeconds = phases;
      return `${names.length} containers healthy; apply took ${r.report.timings.firstApplySeconds as number}s (roll-out ${phases?.rollOutSeconds}s, failing extension installs ${phases?.extensionSeconds}s); created to healthy per container ${Math.min(...values)}-${Math.max(...values)}s`;
    },
    { essential: true },
  ),

  check("first apply: new containers are logged as created, not as recreated", (r) => {
    const services = r.host.fleet.developers.map(containerName);
    const missing = services.filter((s) => !r.firstApplyOutput.includes(`${s}: creating (new container)`));
    const recreating = r.firstApplyOutput.split("\n").filter((l) => /recreating/.test(l));
    expect(recreating.length === 0, `the first apply logs new containers as recreated:\n${recreating.slice(0, 3).join("\n")}`);
    expect(missing.length === 0, `no "creating" line for ${missing.join(", ")}`);
    return `${services.length} "creating (new container)" lines, no "recreating"`;
  }),

  check(
    "first apply: passwords are generated into Secrets Manager and only their argon2 hashes reach the host, in root-only env files",
    async (r) => {
      const [first] = r.host.fleet.developers;
      const password = await r.host.password(first.name);
      expect(password.length >= 16, `${first.name}'s password secret holds ${password.length} characters`);
      const secretsDir = r.host.path(hostPaths(r.host.fleet).secretsDir);
      const envFile = join(secretsDir, `${first.name}.env`);
      const dir = statSync(secretsDir);
      const file = statSync(envFile);
      expect(dir.uid === 0 && (dir.mode & 0o777) === 0o700, `${secretsDir} is uid ${dir.uid} mode ${(dir.mode & 0o777).toString(8)}`);
      expect(file.uid === 0 && (file.mode & 0o777) === 0o600, `${envFile} is uid ${file.uid} mode ${(file.mode & 0o777).toString(8)}`);
      expect(/^HASHED_PASSWORD='\$argon2id\$/m.test(readFileSync(envFile, "utf8")), `${first.name}'s env file has no argon2id hash`);
      const grep = await run("grep", ["-rlF", "--", password, r.host.root, join(r.host.state, "syslog")], { quiet: true });
      expect(grep.stdout.trim() === "", `the password appears in ${grep.stdout.trim()}`);
      return `${first.name}: ${password.length}-character password in the secret; its argon2id hash in ${hostPaths(r.host.fleet).secretsDir}/${first.name}.env (root, 0600, in a 0700 directory); the value is nowhere under the host root or in its syslog`;
    },
  ),
];
