/**
 * Host-side rendering: everything the EC2 host runs, and the operators' scripts, rendered from
 * the typed roster. Pure functions of the Fleet (the templates directory is read once).
 *
 * The host files are uploaded to S3 under `host-files/<path>` and synced into `hostPaths().root`
 * by the SSM association, which then runs `scripts/apply.sh`; they also land in `deployment/`.
 */
import {
  APPLY_DOCUMENT_PARAMETERS,
  CODER_UID,
  FLEET_ENV_KEYS,
  HOST_FILES_MANIFEST,
  HOST_FILES_MODES,
  HOST_FILES_PREFIX,
  hostPaths,
  maintenanceNames,
} from "../naming";
import { FILE_MODES, type FileMode, type RenderedFile, byPath, renderedFile } from "../rendered-file";
import type { Fleet } from "../roster";
import { DNS_LABEL } from "../roster/schema";
import { gateConfigTemplate, hostGateConfig } from "../identity/host-gate";
import { albRules, cloudwatchAgentConfig, dockerDaemonConfig, secretsExample, toJson } from "./config-files";
import { render, templateNames } from "./templates";
import { fleetView, operatorView, type OperatorView } from "./view-model";

export type { RenderedFile } from "../rendered-file";

/** The idle rule of sleep when idle: only a roster that sleeps has it. */
const ACTIVITY_SCRIPT = "scripts/activity.sh";

/** Everything the host needs, sorted by path (the layout under `deployment/`). */
export function renderHostFiles(fleet: Fleet): RenderedFile[] {
  const view = fleetView(fleet);
  const file = (path: string, content: string, mode: FileMode = FILE_MODES.regular) => renderedFile(path, content, mode);
  const files: RenderedFile[] = [
    file("docker/docker-compose.yml", render("docker/docker-compose.yml", view)),
    file("config/alb-rules.json", toJson(albRules(fleet))),
    file("config/secrets.json.example", toJson(secretsExample(fleet))),
    file("config/cloudwatch-agent.json", toJson(cloudwatchAgentConfig(fleet))),
    file("config/daemon.json", toJson(dockerDaemonConfig())),
    file("config/sysctl.conf", render("config/sysctl.conf", view)),
    file("config/rsyslog-dockerd.conf", render("config/rsyslog-dockerd.conf", view)),
    file("config/logrotate-dockerd", render("config/logrotate-dockerd", view)),
    file(`systemd/${view.systemd.metricsService}`, render("systemd/metrics.service", view)),
    file(`systemd/${view.systemd.metricsTimer}`, render("systemd/metrics.timer", view)),
    file(`systemd/${view.systemd.diskUsageService}`, render("systemd/disk-usage.service", view)),
    file(`systemd/${view.systemd.diskUsageTimer}`, render("systemd/disk-usage.timer", view)),
    file(`systemd/${view.systemd.dockerDropIn}`, render("systemd/docker-data-mount.conf", view)),
    file(`systemd/${view.systemd.dockerIsolationDropIn}`, render("systemd/docker-isolation.conf", view)),
    file(`systemd/${view.systemd.isolationService}`, render("systemd/isolation.service", view)),
    ...view.developers.map((developer) =>
      file(developer.configTemplate, render("config/code-server.yaml.tmpl", { ...view, ...developer })),
    ),
    ...templateNames("scripts")
      .filter((name) => name !== ACTIVITY_SCRIPT || fleet.sleep)
      .map((name) => file(name, render(name, view), FILE_MODES.script)),
    ...(view.gate ? fleet.developers.map((d) => file(gateConfigTemplate(d), hostGateConfig(fleet, d))) : []),
  ];
  return files.sort(byPath);
}

export interface OperatorScriptsOptions {
  /**
   * Names of the alarms that sleep with the host (`DevEnvironmentStack.sleepingAlarmNames`):
   * sleep.sh turns their actions off, wake.sh back on, as the roster's schedule does.
   */
  readonly sleepingAlarmNames: readonly string[];
}

/**
 * Where each operator script applies: on the platform named, on any (it acts on every platform
 * that runs), during a migration that prepares ECS beside the serving host, or where developers
 * sign in through an OpenID Connect provider. A new template in
 * templates/operator needs its entry here.
 */
export const OPERATOR_SCRIPT_PLATFORMS: Readonly<Record<string, "host" | "ecs" | "any" | "migration" | "oidc">> = {
  "readd-developer.sh": "any",
  "restart.sh": "any",
  "rotate-password.sh": "any",
  "set-api-key.sh": "any",
  "show-password.sh": "any",
  "restore.sh": "host",
  "sleep.sh": "host",
  "wake.sh": "host",
  "restore-home.sh": "ecs",
  "archive-home.sh": "ecs",
  "shell.sh": "ecs",
  "migrate-homes.sh": "migration",
  "set-oidc-client-secret.sh": "oidc",
};

function scriptApplies(name: string, view: OperatorView): boolean {
  const where = OPERATOR_SCRIPT_PLATFORMS[name];
  if (where === undefined)
    throw new Error(`templates/operator/${name}.hbs has no entry in OPERATOR_SCRIPT_PLATFORMS: say where it applies`);
  const { platform } = view;
  if (where === "host") return platform.hostRuns;
  if (where === "ecs") return platform.ecsRuns;
  if (where === "migration") return platform.serving === "host" && platform.ecsRuns;
  if (where === "oidc") return view.oidcClientSecret !== false;
  return true;
}

/**
 * Scripts for an operator's workstation (AWS CLI); they go to `deployment/scripts/`, not to the
 * host. Each platform that runs gets its scripts; the shared ones act on every platform that runs.
 */
export function renderOperatorScripts(fleet: Fleet, options: OperatorScriptsOptions): RenderedFile[] {
  const view = operatorView(fleet, options.sleepingAlarmNames);
  return templateNames("operator")
    .map((name) => name.slice("operator/".length))
    .filter((name) => scriptApplies(name, view))
    .map((name) => renderedFile(`scripts/${name}`, render(`operator/${name}`, view), FILE_MODES.script))
    .sort(byPath);
}

/**
 * The program of the ECS maintenance task (it travels in the task definition): restores a home
 * AWS Backup restored into the file system, and fills a home from the host's copy.
 */
export function renderMaintenanceProgram(fleet: Fleet, where: { readonly mount: string; readonly homeMode: string }): string {
  const names = maintenanceNames(fleet);
  return render("ecs/maintenance.sh", {
    namePrefix: fleet.namePrefix,
    mount: where.mount,
    homeMode: where.homeMode,
    coderUid: CODER_UID,
    dnsLabelPattern: DNS_LABEL.source,
    migrationPrefix: names.migrationPrefix,
    removedPrefix: names.removedPrefix,
  });
}

/**
 * EC2 user_data. It sees only the project name, never the developers, so a roster change
 * cannot alter it (and so never touches the instance).
 */
export function renderBootstrap(fleet: Fleet): string {
  return render("bootstrap.sh", { project: fleet.project, logTag: `${fleet.project}-bootstrap` });
}

/**
 * The script of the SSM document that delivers the host files: it checks them against the
 * manifest hash Terraform passes, sets each file's mode from the modes list, swaps them in and
 * runs `scripts/apply.sh`. The document's parameters reach it as SSM's own `{{ name }}`
 * markers, which SSM replaces before the script runs: the view gives one per parameter, so a
 * misspelt name fails rendering (strict) instead of reaching the host.
 */
export function renderApplyDocumentScript(fleet: Fleet): string {
  const paths = hostPaths(fleet);
  const ssm = Object.fromEntries(APPLY_DOCUMENT_PARAMETERS.map((name) => [name, `{{ ${name} }}`]));
  return render("ssm/apply-host-files.sh", {
    project: fleet.project,
    hostRoot: paths.root,
    fleetEnv: paths.fleetEnv,
    applyLock: paths.applyLock,
    fleetEnvLines: APPLY_DOCUMENT_PARAMETERS.map((name) => `${FLEET_ENV_KEYS[name]}=${ssm[name]}`),
    ssm,
    hostFilesPrefix: HOST_FILES_PREFIX,
    manifestFile: HOST_FILES_MANIFEST,
    modesFile: HOST_FILES_MODES,
  });
}
