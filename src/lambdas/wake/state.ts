/**
 * What the wake function reads before it decides: the developer's rule (from a per-instance cache
 * of every listener's rules, at most a minute old), then only what the decision needs: nothing
 * more for a stranger or outside the working hours; the target's health; then the compute.
 */
import { alarmsWithActionsOff } from "../sleep-wake/alarms";
import type { Clients } from "../sleep-wake/aws";
import type { SleepConfig } from "../sleep-wake/config";
import { agentOnline, describeHost, recentScripts } from "../sleep-wake/host";
import { withinHours } from "../sleep-wake/hours";
import { readRoutes, rereadRoute, type Route } from "../sleep-wake/routes";
import { describeService, targetState } from "../sleep-wake/services";
import { type Compute, FAILED_START_RETRY_MINUTES, type WakeState } from "./decide";
import type { WakeRequest } from "./request";

/** How long the listener rules are believed. */
export const ROUTES_TTL_MS = 60_000;
/** A container start that succeeded this recently is still under way (the load balancer's health checks catch up). */
export const CONTAINER_START_MINUTES = 3;
const FAILED_COMMAND = new Set(["Failed", "TimedOut", "Cancelled", "Cancelling", "DeliveryTimedOut", "ExecutionTimedOut", "Undeliverable"]);

/** Every developer's route, read again once `ROUTES_TTL_MS` has passed. */
export class RouteCache {
  private routes?: Map<string, Route>;
  private readAt = 0;

  async get(clients: Pick<Clients, "elb">, config: SleepConfig, now: number): Promise<Map<string, Route>> {
    if (!this.routes || now - this.readAt >= ROUTES_TTL_MS) {
      this.routes = await readRoutes(clients.elb, config);
      this.readAt = now;
    }
    return this.routes;
  }

  update(route: Route): void {
    this.routes?.set(route.name, route);
  }
}

interface StateDeps {
  readonly config: SleepConfig;
  readonly clients: Clients;
  readonly routes: RouteCache;
  readonly starts: ReadonlyMap<string, number>;
}

async function computeOf(deps: StateDeps, route: Route, now: Date): Promise<Compute> {
  const { clients, config } = deps;
  if (config.platform === "ecs") {
    const service = await describeService(clients.ecs, config.namePrefix, route.name);
    return { platform: "ecs", desiredCount: service?.desiredCount ?? 0, ...(service?.impaired ? { impaired: service.impaired } : {}) };
  }
  const host = config.host!;
  const { state, launchTime } = await describeHost(clients.ec2, host.instanceId);
  const online = state === "running" && (await agentOnline(clients.ssm, host.instanceId));
  const compute = { platform: "host" as const, host: state, agentOnline: online, ...(launchTime ? { runningSince: launchTime } : {}) };
  if (!online) return { ...compute, containerStartSent: false };
  // Far enough back to see a failed start until it may be sent again.
  const since = new Date(now.getTime() - FAILED_START_RETRY_MINUTES * 60_000);
  // The developer's newest script decides (newest first): a recent start not followed by a stop
  // (the sleeper's, for them or for all) is under way, or has failed.
  const latest = (await recentScripts(clients.ssm, host, since)).find((s) => (s.developer ?? route.name) === route.name);
  if (latest?.script !== "start-containers") return { ...compute, containerStartSent: false };
  if (FAILED_COMMAND.has(latest.status)) {
    return { ...compute, containerStartSent: false, failedStart: { status: latest.status, at: latest.requestedAt } };
  }
  // One still running is under way however long it takes (the script waits up to five minutes for
  // health; a second start would wait on its lock, then fail).
  const underWay = latest.status !== "Success" || now.getTime() - latest.requestedAt.getTime() < CONTAINER_START_MINUTES * 60_000;
  return { ...compute, containerStartSent: underWay };
}

/** The state `decide` needs for the developer's request at `now`. */
export async function readState(deps: StateDeps, developer: string, request: WakeRequest, now: Date): Promise<WakeState> {
  const { clients, config } = deps;
  const base = {
    developer,
    visit: request.visit,
    location: request.location,
    ...(config.schedule && !config.wakeOutsideHours ? { closedOutside: config.schedule } : {}),
    ...(deps.starts.has(developer) ? { lastStartAt: deps.starts.get(developer)! } : {}),
  };
  let route = (await deps.routes.get(clients, config, now.getTime())).get(developer);
  if (!route) return base;
  // The request came through the wake group: a rule cached as the developer's has since been flipped.
  if (route.to === "developer") route = (await rereadRoute(clients.elb, route, config.domain)) ?? route;
  const withRoute = { ...base, route };
  if (base.closedOutside) {
    if (!withinHours(base.closedOutside, now)) return withRoute;
  }
  const target = await targetState(clients.elb, route.developerTargetGroupArn);
  if (target === "healthy") {
    const hostAlarmsOff =
      config.platform === "host" &&
      route.to === "wake" &&
      (await alarmsWithActionsOff(clients.cloudwatch, config.host!.alarmNames)).length > 0;
    return { ...withRoute, target, hostAlarmsOff };
  }
  if (!request.visit) return { ...withRoute, target };
  return { ...withRoute, target, compute: await computeOf(deps, route, now) };
}
