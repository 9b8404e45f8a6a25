/**
 * The sleeper: puts an idle developer to sleep when their idle alarm (`<prefix>-idle-<name>`)
 * goes to ALARM (EventBridge sends it the alarm's state change), every awake developer at the
 * working hours' end (`{"action": "sleep-all"}`), and every 5 minutes (`{"action": "reconcile"}`)
 * sets right what a run cut short or a visit that was never finished left behind. On the host
 * platform the host itself stops once nobody is awake.
 *
 * It ignores, with a log line, any event that is not one of these (never throwing on a foreign
 * event), and throws on an AWS failure, so that the function's Errors metric sees it.
 */
import { describeError, makeClients } from "../sleep-wake/aws";
import { loadConfig, type SleepConfig } from "../sleep-wake/config";
import { readRoutes, rereadRoute, type Route } from "../sleep-wake/routes";
import { idleAlarmName } from "../sleep-wake/alarms";
import { targetState } from "../sleep-wake/services";
import { everyoneAsleep, observe, type Observed, putHostToSleep, type SleeperDeps, sleepDeveloper } from "./sleep";

export type SleeperRequest =
  { readonly kind: "idle"; readonly developer: string } | { readonly kind: "sleep-all" } | { readonly kind: "reconcile" };

/** How long the reconcile waits before it believes that nobody is waiting on a woken developer's page. */
export const ABANDONED_RECHECK_MS = 60_000;

const IDLE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** What the event asks for, or why it is none of the sleeper's events. */
export function requestOf(event: unknown, config: Pick<SleepConfig, "namePrefix">): SleeperRequest | { readonly ignored: string } {
  const given = (event ?? {}) as Record<string, unknown>;
  if (given.action === "sleep-all" || given.action === "reconcile") return { kind: given.action };
  if (given.source !== "aws.cloudwatch" || given["detail-type"] !== "CloudWatch Alarm State Change") {
    return { ignored: "not an alarm state change, a sleep-all or a reconcile" };
  }
  const detail = (given.detail ?? {}) as { alarmName?: unknown; state?: { value?: unknown } };
  const alarm = typeof detail.alarmName === "string" ? detail.alarmName : "";
  const prefix = idleAlarmName(config, "");
  const developer = alarm.slice(prefix.length);
  if (!alarm.startsWith(prefix) || !IDLE_NAME.test(developer))
    return { ignored: `alarm ${JSON.stringify(alarm)} is no idle alarm of this fleet` };
  if (detail.state?.value !== "ALARM") return { ignored: `alarm ${alarm} changed to ${String(detail.state?.value)}, not ALARM` };
  return { kind: "idle", developer };
}

export interface SleeperResult {
  readonly request: SleeperRequest["kind"] | "ignored";
  /** Developers put to sleep (or, by the reconcile, whose rule was set right or whose abandoned compute was stopped). */
  readonly slept: readonly string[];
  /** Developers that already slept. */
  readonly alreadyAsleep: number;
  readonly hostStopped: boolean;
}

async function sleepOne(deps: SleeperDeps, developer: string): Promise<SleeperResult> {
  const routes = await readRoutes(deps.clients.elb, deps.config);
  const route = routes.get(developer);
  if (!route) {
    deps.log(JSON.stringify({ event: "ignored", reason: `no listener rule routes ${developer}.${deps.config.domain}` }));
    return { request: "ignored", slept: [], alreadyAsleep: 0, hostStopped: false };
  }
  const observed = await observe(deps, new Map([[developer, route]]));
  const outcome = await sleepDeveloper(deps, route, observed.running.get(developer)!);
  routes.set(developer, { ...route, to: "wake" });
  const hostStopped = observed.host !== undefined && everyoneAsleep(routes) && (await putHostToSleep(deps, observed.host, false));
  return { request: "idle", slept: outcome === "slept" ? [developer] : [], alreadyAsleep: outcome === "slept" ? 0 : 1, hostStopped };
}

async function sleepAll(deps: SleeperDeps): Promise<SleeperResult> {
  const observed = await observe(deps, await readRoutes(deps.clients.elb, deps.config));
  const slept: string[] = [];
  for (const [name, route] of observed.routes) {
    // On the host, the host's stop below stops every container at once.
    const outcome = await sleepDeveloper(deps, route, observed.running.get(name)!, deps.config.platform === "ecs");
    if (outcome === "slept") slept.push(name);
    observed.routes.set(name, { ...route, to: "wake" });
  }
  const hostStopped = observed.host !== undefined && (await putHostToSleep(deps, observed.host, true));
  return { request: "sleep-all", slept, alreadyAsleep: observed.routes.size - slept.length, hostStopped };
}

/**
 * Developers whose rule still sends visits to the wake page although their compute serves:
 * woken by a visit nobody stayed for (the page flips the rule within seconds of the developer
 * being healthy while someone waits on it). Looked at twice, `ABANDONED_RECHECK_MS` apart: a minute
 * leaves room for a browser that slows the reloads of a page in a background tab.
 */
async function abandonedWakes(deps: SleeperDeps, observed: Observed): Promise<Route[]> {
  const { clients, config } = deps;
  const healthyBehindWake = async (route: Route) =>
    route.to === "wake" && (await targetState(clients.elb, route.developerTargetGroupArn)) === "healthy";
  const candidates: Route[] = [];
  for (const route of observed.routes.values()) {
    if (observed.running.get(route.name) && (await healthyBehindWake(route))) candidates.push(route);
  }
  if (candidates.length === 0) return [];
  await deps.sleep(ABANDONED_RECHECK_MS);
  const still: Route[] = [];
  for (const route of candidates) {
    const now = await rereadRoute(clients.elb, route, config.domain);
    if (now && (await healthyBehindWake(now))) still.push(now);
  }
  return still;
}

async function reconcile(deps: SleeperDeps): Promise<SleeperResult> {
  const observed = await observe(deps, await readRoutes(deps.clients.elb, deps.config));
  const slept: string[] = [];
  // Visits to a developer whose compute is down get the wake page instead of the load balancer's error.
  for (const [name, route] of observed.routes) {
    const down = observed.host ? !["running", "pending"].includes(observed.host.state) : !observed.running.get(name);
    if (route.to === "developer" && down) {
      await sleepDeveloper(deps, route, false);
      observed.routes.set(name, { ...route, to: "wake" });
      slept.push(name);
    }
  }
  for (const route of await abandonedWakes(deps, observed)) {
    await sleepDeveloper(deps, route, true);
    slept.push(route.name);
  }
  const hostStopped = observed.host !== undefined && everyoneAsleep(observed.routes) && (await putHostToSleep(deps, observed.host, false));
  deps.log(JSON.stringify({ event: "reconciled", developers: observed.routes.size, setRight: slept, hostStopped }));
  return { request: "reconcile", slept, alreadyAsleep: 0, hostStopped };
}

/** Runs the event's request. */
export async function runSleeper(deps: SleeperDeps, event: unknown): Promise<SleeperResult> {
  const request = requestOf(event, deps.config);
  if ("ignored" in request) {
    deps.log(JSON.stringify({ event: "ignored", reason: request.ignored }));
    return { request: "ignored", slept: [], alreadyAsleep: 0, hostStopped: false };
  }
  try {
    if (request.kind === "idle") return await sleepOne(deps, request.developer);
    return request.kind === "sleep-all" ? await sleepAll(deps) : await reconcile(deps);
  } catch (err) {
    deps.log(
      JSON.stringify({
        event: "sleep-failed",
        request: request.kind,
        error: describeError(err),
      }),
    );
    throw err;
  }
}

let defaults: SleeperDeps | undefined;

/** Read once per Lambda instance: the environment does not change while it lives. */
function defaultDeps(): SleeperDeps {
  defaults ??= {
    config: loadConfig(process.env),
    clients: makeClients(8),
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    log: (line) => console.log(line),
  };
  return defaults;
}

export const handler = (event: unknown): Promise<SleeperResult> => runSleeper(defaultDeps(), event);
