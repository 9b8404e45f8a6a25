/** The host's first apply, as on a new EC2 host: setup, every container created and healthy. */
import { join } from "node:path";
import { DATA_MOUNT, containerName } from "../../src/naming";
import { Rehearsal } from "../rehearsal";
import { run } from "../lib/run";
import { applyPhases, check, expect, tail } from "./check";

/** How long the bounded cloud-init wait is in the check (CLOUD_INIT_WAIT_SECONDS). */
const CLOUD_INIT_WAIT_SECONDS = 3;
/** How long setup.sh may take before the check calls it stuck. */
const SETUP_PATIENCE_SECONDS = 60;

export const FIRST_BOOT = [
  check(
    "setup.sh finishes and frees the apply lock where cloud-init never finishes; it formats and mounts the blank data volume",
    async (r) => {
      const result = await r.host.runScript(
        "scripts/setup.sh",
        [],
        { REHEARSAL_CLOUD_INIT: "never-runs", CLOUD_INIT_WAIT_SECONDS: String(CLOUD_INIT_WAIT_SECONDS) },
        SETUP_PATIENCE_SECONDS,
      );
      expect(
        !result.timedOut,
        `setup.sh was still running after ${SETUP_PATIENCE_SECONDS}s with cloud-init never finishing (killed); it holds the apply lock all that time. Its last lines:\n${tail(result.stderr)}`,
      );
      expect(result.code === 0, `setup.sh exited ${result.code}:\n${tail(result.stderr)}`);
      expect(
        /cloud-init did not finish within/.test(result.stderr),
        `setup.sh did not say it gave up on cloud-init:\n${tail(result.stderr)}`,
      );
      const lock = await run("flock", ["--nonblock", r.host.path(`/var/lib/${r.host.fleet.project}/apply.lock`), "true"]);
      expect(lock.code === 0, "the apply lock is still held after setup.sh ended");
      expect(await r.host.dataMounted(), `${DATA_MOUNT} is not mounted after setup.sh`);
      const formatted = /is a new, empty volume: creating an ext4 filesystem/.test(result.stderr);
      expect(formatted, `setup.sh did not format the blank volume:\n${tail(result.stderr)}`);
      return `done in ${result.seconds.toFixed(1)}s (gave up on cloud-init after ${CLOUD_INIT_WAIT_SECONDS}s); ext4 created and mounted`;
    },
  ),

  check(
    "first apply: every developer's container is created and becomes healthy",
    async (r) => {
      const names = r.host.fleet.developers.map((d) => d.name);
      const events = await r.watchEvents();
      const result = await r.host.apply();
      r.firstApplyOutput = result.stderr;
      r.report.timings.firstApplySeconds = Number(result.seconds.toFixed(1));
      expect(result.code === 0, `apply.sh exited ${result.code}:\n${tail(result.stderr)}`);
      const containers = await r.host.containers();
      const unhealthy = names.filter((n) => containers.get(n)?.health !== "healthy");
      expect(unhealthy.length === 0, `not healthy after the first apply: ${unhealthy.map((name) => containerName({ name })).join(", ")}`);
      const perContainer = Rehearsal.createdToHealthy(await events(), names);
      r.report.timings.firstApplyPerContainerSeconds = perContainer;
      const values = Object.values(perContainer);
      const phases = applyPhases(result.stderr);
      if (phases) r.report.timings.firstApplyPhasesSeconds = phases;
      return `${names.length} containers healthy; apply took ${result.seconds.toFixed(1)}s (roll-out ${phases?.rollOutSeconds}s, failing extension installs ${phases?.extensionSeconds}s); created to healthy per container ${Math.min(...values)}-${Math.max(...values)}s`;
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

  check("first apply: passwords are generated into Secrets Manager and only their argon2 hashes reach the host", async (r) => {
    const [first] = r.host.fleet.developers;
    const password = await r.host.password(first.name);
    expect(password.length >= 16, `${first.name}'s password secret holds ${password.length} characters`);
    const config = r.host.read(`${DATA_MOUNT}/${first.name}/config/config.yaml`);
    expect(/^hashed-password: "\$argon2id\$/m.test(config), `${first.name}'s config.yaml has no argon2id hash`);
    const grep = await run("grep", ["-rlF", "--", password, r.host.root, join(r.host.state, "syslog")], { quiet: true });
    expect(grep.stdout.trim() === "", `the password appears in ${grep.stdout.trim()}`);
    return `${first.name}: ${password.length}-character password in the secret; config.yaml holds its argon2id hash; the value is nowhere under the host root or in its syslog`;
  }),
];
