/**
 * Sleep when idle on ECS: a small `activity` container beside code-server in each developer's task
 * that applies the host's idle rule (templates/scripts/activity.sh) every minute and prints the
 * answer as one CloudWatch embedded-metric-format line: the task's own log driver sends it to the
 * developer's log group, and CloudWatch Logs turns it into the `Active` metric. No credentials,
 * no AWS call from the task, no image of ours: it runs code-server's own Node.js from the same image.
 *
 * It reads what the task shares: code-server's `/healthz` on loopback, the task's TCP connections
 * to code-server's port (`/proc/net/tcp*`: every container of an awsvpc task shares one network
 * namespace), and code-server's CPU time from the task metadata endpoint's stats.
 */
import type { Developer, Fleet } from "../../roster";
import { metricNames } from "../../naming";

export const ACTIVITY_CONTAINER = "activity";
/** code-server's bundled Node.js in its image. */
export const IMAGE_NODE = "/usr/lib/code-server/lib/node";

/**
 * The program (CommonJS, Node.js's own modules only), given code-server's port, the
 * developer's name, the metric namespace and the container to measure as arguments.
 * `ACTIVITY_INTERVAL_MS` (default a minute) exists for tests.
 */
export const ACTIVITY_PROGRAM = String.raw`
const [port, developer, namespace, measured] = process.argv.slice(1);
const HEARTBEAT_WINDOW_MS = 90000, CPU_ACTIVE_TENTHS = 50;
const meta = process.env.ECS_CONTAINER_METADATA_URI_V4;
let lastConnections = new Set(), lastCpu;
// A connection of its own per request (no keep-alive): the probe's own requests are never a held connection.
function json(url) {
  return new Promise((resolve) => {
    const req = require("http").get(url, { agent: false, timeout: 3000 }, (res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => { try { resolve(res.statusCode === 200 ? JSON.parse(body) : undefined); } catch { resolve(undefined); } });
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
  });
}
function connections() {
  const suffix = ":" + Number(port).toString(16).toUpperCase().padStart(4, "0"), found = new Set();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try { text = require("fs").readFileSync(file, "utf8"); } catch {}
    for (const line of text.split("\n").slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c[3] === "01" && c[1] && c[1].endsWith(suffix)) found.add(c[1] + " " + c[2]);
    }
  }
  return found;
}
async function cpuNanoseconds() {
  if (!meta) return undefined;
  const task = await json(meta + "/task");
  const id = ((task && task.Containers) || []).filter((c) => c.Name === measured).map((c) => c.DockerId)[0];
  const stats = id && (await json(meta + "/task/stats"));
  const usage = stats && stats[id] && stats[id].cpu_stats && stats[id].cpu_stats.cpu_usage;
  return usage && typeof usage.total_usage === "number" ? usage.total_usage : undefined;
}
function active(healthz, now, held, cpuTenths) {
  const beat = !!healthz && (healthz.status === "alive" || (typeof healthz.lastHeartbeat === "number" && now - healthz.lastHeartbeat < HEARTBEAT_WINDOW_MS));
  return beat || held > 0 || cpuTenths >= CPU_ACTIVE_TENTHS ? 1 : 0;
}
async function sample() {
  const now = Date.now();
  const healthz = await json("http://127.0.0.1:" + port + "/healthz");
  const current = connections();
  const held = [...current].filter((c) => lastConnections.has(c)).length;
  lastConnections = current;
  const used = await cpuNanoseconds();
  const tenths = lastCpu && used !== undefined && used >= lastCpu.used && now > lastCpu.at ? Math.floor(((used - lastCpu.used) * 1000) / ((now - lastCpu.at) * 1e6)) : 0;
  if (used !== undefined) lastCpu = { used, at: now };
  const metrics = [{ Namespace: namespace, Dimensions: [["Developer"]], Metrics: [{ Name: "Active", Unit: "None" }] }];
  console.log(JSON.stringify({ _aws: { Timestamp: now, CloudWatchMetrics: metrics }, Developer: developer, Active: active(healthz, now, held, Number.isFinite(tenths) ? tenths : 0) }));
}
setInterval(sample, Number(process.env.ACTIVITY_INTERVAL_MS) || 60000);
sample();
`;

/** The settings the task's containers share that the activity container takes too. */
export interface ActivitySettings {
  readonly image: string;
  readonly user: string;
  /** The task's log settings (`logConfiguration`) under the container's stream prefix, as the other containers have them. */
  readonly logs: object;
  /** code-server's port inside the task (behind the gate or its own). */
  readonly codeServerPort: number;
  /** The container whose CPU counts: code-server's, where the developer's terminals run. */
  readonly measured: string;
}

/** The `activity` container of `developer`'s task: not essential (the task serves without it), no capabilities, a read-only root. */
export function activityContainer(fleet: Fleet, developer: Developer, settings: ActivitySettings): object {
  return {
    name: ACTIVITY_CONTAINER,
    image: settings.image,
    user: settings.user,
    essential: false,
    readonlyRootFilesystem: true,
    linuxParameters: { capabilities: { add: [], drop: ["ALL"] }, initProcessEnabled: true },
    entryPoint: [IMAGE_NODE, "-e", ACTIVITY_PROGRAM],
    command: [String(settings.codeServerPort), developer.name, metricNames(fleet).containerNamespace, settings.measured],
    ...settings.logs,
  };
}
