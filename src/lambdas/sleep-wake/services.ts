/**
 * What the load balancer and ECS say about a developer's compute: whether their target group has
 * a healthy target, and (ECS) how many tasks their service should run.
 */
import { DescribeServicesCommand, type ECSClient, UpdateServiceCommand } from "@aws-sdk/client-ecs";
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

export async function setDesiredCount(ecs: ECSClient, cluster: string, name: string, desiredCount: number): Promise<void> {
  await ecs.send(new UpdateServiceCommand({ cluster, service: name, desiredCount }));
}
