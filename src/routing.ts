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
