/**
 * The AWS clients the sleeper and the wake use, made once per Lambda instance, and the few
 * helpers their calls share.
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ECSClient } from "@aws-sdk/client-ecs";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { SSMClient } from "@aws-sdk/client-ssm";

export interface Clients {
  readonly elb: ElasticLoadBalancingV2Client;
  readonly ecs: ECSClient;
  readonly ec2: EC2Client;
  readonly ssm: SSMClient;
  readonly cloudwatch: CloudWatchClient;
}

/**
 * Clients in the function's region. `maxAttempts` above the SDK's 3 rides out the throttling a
 * sleep of every developer meets (ECS and ELB limit their write APIs to a few calls a second).
 */
export function makeClients(maxAttempts = 3): Clients {
  const options = { maxAttempts, retryMode: "adaptive" };
  return {
    elb: new ElasticLoadBalancingV2Client(options),
    ecs: new ECSClient(options),
    ec2: new EC2Client(options),
    ssm: new SSMClient(options),
    cloudwatch: new CloudWatchClient(options),
  };
}

/** `items` in lists of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

/** An error's name and message, for a log line: AWS's messages name resources, never secrets. */
export function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
