/**
 * The ALB routing of the fleet as data: one entry per developer. The ALB layer builds its
 * target groups and listener rules from it and `config/alb-rules.json` is this table
 * serialized, so the two cannot drift apart.
 */
import { CONTAINER_PORT, HEALTH_PATH, containerName, targetGroupName } from "./naming";
import type { Fleet } from "./roster";

/** Target group health check and behaviour. */
export const TARGET_GROUP_SETTINGS = {
  protocol: "HTTP",
  healthCheck: {
    path: HEALTH_PATH,
    matcher: "200",
    intervalSeconds: 30,
    timeoutSeconds: 5,
    healthyThreshold: 2,
    unhealthyThreshold: 3,
  },
  /** lb_cookie stickiness for one hour. */
  stickinessSeconds: 3600,
  deregistrationDelaySeconds: 30,
} as const;

export interface Route {
  readonly developer: string;
  readonly host: string;
  readonly priority: number;
  readonly port: number;
  readonly containerPort: number;
  readonly container: string;
  readonly targetGroup: string;
}

export function routingTable(fleet: Fleet): readonly Route[] {
  return fleet.developers.map((d) => ({
    developer: d.name,
    host: d.hostname,
    priority: d.priority,
    port: d.port,
    containerPort: CONTAINER_PORT,
    container: containerName(d),
    targetGroup: targetGroupName(fleet, d),
  }));
}

/**
 * Listener-rule priorities per ECS load balancer. A developer's balancer follows from their own
 * priority alone (`shardOf`), so adding or removing others never moves them to another; 50 leaves
 * room under ELB's 100 rules and 100 target groups per load balancer for a second rule each.
 */
export const ALB_SHARD_SIZE = 50;

/** The shard of a priority: priorities 1-50 are shard 0, 51-100 shard 1, ... */
export function shardOf(priority: number): number {
  return Math.floor((priority - 1) / ALB_SHARD_SIZE);
}

/** The routes by shard, in shard order; in each, in the roster's order. */
export function routesByShard(routes: readonly Route[]): Map<number, Route[]> {
  const shards = new Map<number, Route[]>();
  for (const route of routes) {
    const shard = shardOf(route.priority);
    shards.set(shard, [...(shards.get(shard) ?? []), route]);
  }
  return new Map([...shards].sort(([a], [b]) => a - b));
}
