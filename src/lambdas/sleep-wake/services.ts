/**
 * What the load balancer and ECS say about a developer's compute: whether their target group has
 * a healthy target, and (ECS) how many tasks their service should run.
 */
import { DescribeServicesCommand, type ECSClient, type Service, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import { DescribeTargetHealthCommand, type ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { chunks } from "./aws";

/** A target group's best target: one that serves, one being checked for the first time, or none that serves. */
export type TargetState = "healthy" | "initial" | "none";

export async function targetState(elb: ElasticLoadBalancingV2Client, targetGroupArn: string): Promise<TargetState> {
  const { TargetHealthDescriptions } = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
  const states = (TargetHealthDescriptions ?? []).map((d) => d.TargetHealth?.State);
  return states.includes("healthy") ? "healthy" : states.includes("initial") ? "initial" : "none";
}

/** ECS's DescribeServices takes at most this many services. */
const SERVICES_PER_CALL = 10;

/** The desired task count of each developer's service (named after them) in the cluster; a missing service is absent. */
export async function desiredCounts(ecs: ECSClient, cluster: string, names: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const part of chunks(names, SERVICES_PER_CALL)) {
    const { services } = await ecs.send(new DescribeServicesCommand({ cluster, services: part }));
    for (const service of services ?? []) {
      if (service.serviceName && service.status !== "INACTIVE") counts.set(service.serviceName, service.desiredCount ?? 0);
    }
  }
  return counts;
}

/**
 * ECS's own words (its service event "is unable to consistently start tasks successfully", sent
 * with SERVICE_TASK_START_IMPAIRED) when the tasks it starts keep stopping: it then waits longer
 * and longer between attempts, so a wake would otherwise wait on a task that does not come.
 */
const START_IMPAIRED = "unable to consistently start tasks";
/** ECS's event once the service runs what it should (at its last sleep, too). */
const STEADY = "has reached a steady state";

/** Why the service cannot start its task, from its deployments and its events since it was last steady. */
function impairment(service: Service): string | undefined {
  const failed = (service.deployments ?? []).find((d) => d.rolloutState === "FAILED");
  if (failed) return `the service's deployment failed${failed.rolloutStateReason ? `: ${failed.rolloutStateReason}` : ""}`;
  // Newest first: only what happened since the service was last steady counts.
  for (const event of service.events ?? []) {
    if (event.message?.includes(STEADY)) return undefined;
    if (event.message?.includes(START_IMPAIRED)) return "ECS cannot start the service's task (its tasks keep stopping)";
  }
  return undefined;
}

export interface ServiceView {
  readonly desiredCount: number;
  /** Why ECS cannot start the service's task. @default - nothing is known to stop it */
  readonly impaired?: string;
}

/** A developer's service as ECS describes it; absent when it does not exist. */
export async function describeService(ecs: ECSClient, cluster: string, name: string): Promise<ServiceView | undefined> {
  const { services } = await ecs.send(new DescribeServicesCommand({ cluster, services: [name] }));
  const service = services?.find((s) => s.serviceName === name && s.status !== "INACTIVE");
  if (!service) return undefined;
  const impaired = impairment(service);
  return { desiredCount: service.desiredCount ?? 0, ...(impaired ? { impaired } : {}) };
}

export async function setDesiredCount(ecs: ECSClient, cluster: string, name: string, desiredCount: number): Promise<void> {
  await ecs.send(new UpdateServiceCommand({ cluster, service: name, desiredCount }));
}
