/**
 * Host-side rendering: everything the EC2 host runs, and the operators' scripts, rendered from
 * the typed roster. Pure functions of the Fleet (the templates directory is read once).
 *
 * The host files are uploaded to S3 under `host-files/<path>` and synced into `hostPaths().root`
 * by the SSM association, which then runs `scripts/apply.sh`; they also land in `deployment/`.
 */
import type { Fleet } from "../roster";
import { albRules, cloudwatchAgentConfig, dockerDaemonConfig, secretsExample, toJson } from "./config-files";
import { render, templateNames } from "./templates";
import { fleetView } from "./view-model";

export interface RenderedFile {
  /** Relative posix path, e.g. "docker/docker-compose.yml". */
  readonly path: string;
  readonly content: string;
  /** 0o644, 0o755 for scripts, 0o600 for files that become private on the host. */
  readonly mode: number;
}

const SCRIPT_MODE = 0o755;
const FILE_MODE = 0o644;
const PRIVATE_MODE = 0o600;

const byPath = (a: RenderedFile, b: RenderedFile) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** Everything the host needs, sorted by path (SPEC 8.3 layout under `deployment/`). */
export function renderHostFiles(fleet: Fleet): RenderedFile[] {
  const v = fleetView(fleet);
  const file = (path: string, content: string, mode = FILE_MODE): RenderedFile => ({ path, content, mode });
  const files: RenderedFile[] = [
    file("docker/docker-compose.yml", render("docker/docker-compose.yml", v)),
    file("config/alb-rules.json", toJson(albRules(fleet))),
    file("config/secrets.json.example", toJson(secretsExample(fleet))),
    file("config/cloudwatch-agent.json", toJson(cloudwatchAgentConfig(fleet))),
    file("config/daemon.json", toJson(dockerDaemonConfig())),
    file("config/sysctl.conf", render("config/sysctl.conf", v)),
    file("config/rsyslog-dockerd.conf", render("config/rsyslog-dockerd.conf", v)),
    file("config/logrotate-dockerd", render("config/logrotate-dockerd", v)),
    file(`systemd/${v.systemd.metricsService}`, render("systemd/metrics.service", v)),
    file(`systemd/${v.systemd.metricsTimer}`, render("systemd/metrics.timer", v)),
    file(`systemd/${v.systemd.dockerDropIn}`, render("systemd/docker-data-mount.conf", v)),
    ...v.developers.map((developer) =>
      file(developer.configTemplate, render("config/code-server.yaml.tmpl", { ...v, ...developer }), PRIVATE_MODE),
    ),
    ...templateNames("scripts").map((name) => file(name, render(name, v), SCRIPT_MODE)),
  ];
  return files.sort(byPath);
}

/** Scripts for an operator's workstation (AWS CLI); they go to `deployment/scripts/`, not to the host. */
export function renderOperatorScripts(fleet: Fleet): RenderedFile[] {
  const v = fleetView(fleet);
  return templateNames("operator")
    .map((name) => ({ path: `scripts/${name.slice("operator/".length)}`, content: render(name, v), mode: SCRIPT_MODE }))
    .sort(byPath);
}

/**
 * EC2 user_data. It sees only the project name, never the developers, so a roster change
 * cannot alter it (and so never touches the instance).
 */
export function renderBootstrap(fleet: Fleet): string {
  return render("bootstrap.sh", { project: fleet.project, logTag: `${fleet.project}-bootstrap` });
}
