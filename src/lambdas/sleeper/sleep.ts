/**
 * Putting developers, and the host when nobody is awake, to sleep. Each step is done only when
 * what it changes is not already so, in this order: the developer's alarms go quiet, their rule
 * sends the next visit to the wake page, their compute stops; so sleeping a sleeping developer
 * changes nothing, and a run cut short is finished by the next one.
 */
import { developerAlarms, setAlarmActions } from "../sleep-wake/alarms";
import { type Clients } from "../sleep-wake/aws";
import type { HostSettings, SleepConfig } from "../sleep-wake/config";
import { agentOnline, describeHost, type HostView, recentScripts, runScript, stopHost, waitForScript } from "../sleep-wake/host";
import { pointRoute, type Route } from "../sleep-wake/routes";
import { desiredCounts, setDesiredCount, targetState } from "../sleep-wake/services";

export interface SleeperDeps {
  readonly config: SleepConfig;
  readonly clients: Clients;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  /** One log line (JSON, so that a metric filter can count events). */
  readonly log: (line: string) => void;
}

/**
 * A host started less than this many minutes ago is not stopped for want of awake developers: a
 * visit is waking one (the host boots, then their container starts) or the working hours began.
 */
export const HOST_START_GRACE_MINUTES = 15;
/** Nor is a host that was sent a container start less than this many minutes ago. */
export const CONTAINER_START_GRACE_MINUTES = 10;
/** How long the host's containers may take to stop before the host does. */
export const STOP_CONTAINERS_TIMEOUT_MS = 120_000;
const POLL_MS = 3000;

/** The developers' routes and whether each one's compute runs, as one run sees them. */
export interface Observed {
  readonly routes: Map<string, Route>;
  /** ECS: the service should run a task; host: the host runs and the developer's rule or target says they serve. */
  readonly running: Map<string, boolean>;
  /** With the platform `host`. */
  readonly host?: HostView;
}

/** Whether the compute of each of `routes` runs. */
export async function observe(deps: SleeperDeps, routes: Map<string, Route>): Promise<Observed> {
  const { config, clients } = deps;
  const names = [...routes.keys()];
  if (config.platform === "ecs") {
    const counts = await desiredCounts(clients.ecs, config.namePrefix, names);
    return { routes, running: new Map(names.map((name) => [name, (counts.get(name) ?? 0) > 0])) };
  }
  const host = await describeHost(clients.ec2, config.host!.instanceId);
  const running = new Map<string, boolean>();
  for (const [name, route] of routes) {
    // A rule still at the developer may hide an unhealthy container that runs: stop it all the same.
    const serves = route.to === "developer" || (await targetState(clients.elb, route.developerTargetGroupArn)) !== "none";
    running.set(name, host.state === "running" && serves);
  }
  return { routes, running, host };
}

export type SleepOutcome = "slept" | "already asleep";

/**
 * Puts one developer to sleep. `stopCompute: false` leaves a host container to the host's stop,
 * which stops every container and waits for it.
 */
export async function sleepDeveloper(deps: SleeperDeps, route: Route, running: boolean, stopCompute = true): Promise<SleepOutcome> {
  const { config, clients } = deps;
  if (route.to === "wake" && !running) return "already asleep";
  await setAlarmActions(clients.cloudwatch, developerAlarms(config, route.name), false);
  if (route.to === "developer") await pointRoute(clients.elb, route, "wake");
  if (running && stopCompute) {
    if (config.platform === "ecs") await setDesiredCount(clients.ecs, config.namePrefix, route.name, 0);
    else await runScript(clients.ssm, config.host!, "stop-containers", route.name);
  }
  deps.log(JSON.stringify({ event: "slept", developer: route.name, stoppedCompute: running && stopCompute }));
  return "slept";
}

/** Why the host should not stop now although nobody is awake, or undefined. */
async function hostStartUnderWay(deps: SleeperDeps, host: HostSettings, view: HostView): Promise<string | undefined> {
  const now = deps.now().getTime();
  if (view.launchTime && now - view.launchTime.getTime() < HOST_START_GRACE_MINUTES * 60_000) {
    return `it started less than ${HOST_START_GRACE_MINUTES} minutes ago`;
  }
  const since = new Date(now - CONTAINER_START_GRACE_MINUTES * 60_000);
  const starts = (await recentScripts(deps.clients.ssm, host, since)).filter((s) => s.script === "start-containers");
  return starts.length > 0 ? `a container was started less than ${CONTAINER_START_GRACE_MINUTES} minutes ago` : undefined;
}

/**
 * Stops the host once every developer sleeps: first every container, waiting for them, so that
 * none comes back at the next boot (compose's `restart: unless-stopped` restarts a container the
 * host's shutdown stopped, not one stopped on purpose); then the host's alarms go quiet and the
 * host stops. `force` stops it even while a start is under way (the working hours' end).
 */
export async function putHostToSleep(deps: SleeperDeps, view: HostView, force: boolean): Promise<boolean> {
  const { clients, config } = deps;
  const host = config.host!;
  if (view.state !== "running") {
    if (view.state === "pending") deps.log(JSON.stringify({ event: "host-kept", reason: "it is starting" }));
    return false;
  }
  const reason = force ? undefined : await hostStartUnderWay(deps, host, view);
  if (reason) {
    deps.log(JSON.stringify({ event: "host-kept", reason }));
    return false;
  }
  if (await agentOnline(clients.ssm, host.instanceId)) {
    const commandId = await runScript(clients.ssm, host, "stop-containers");
    const status = await waitForScript(clients.ssm, host.instanceId, commandId, {
      timeoutMs: STOP_CONTAINERS_TIMEOUT_MS,
      pollMs: POLL_MS,
      sleep: deps.sleep,
    });
    if (status !== "Success")
      throw new Error(`stop-containers.sh on ${host.instanceId} ended ${status} (command ${commandId}): the host keeps running`);
  } else {
    deps.log(JSON.stringify({ event: "host-agent-offline", detail: "stopping the host without stopping its containers first" }));
  }
  await setAlarmActions(clients.cloudwatch, host.alarmNames, false);
  await stopHost(clients.ec2, host.instanceId);
  deps.log(JSON.stringify({ event: "host-stopped", instance: host.instanceId }));
  return true;
}

/** Whether every developer's rule sends their visits to the wake page. */
export function everyoneAsleep(routes: Map<string, Route>): boolean {
  return [...routes.values()].every((route) => route.to === "wake");
}
