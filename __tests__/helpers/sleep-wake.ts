/**
 * Fixtures for the sleeper's and the wake function's tests: their environment on each platform,
 * and listener rules as ELB describes them (a developer's forward to their own group and the
 * load balancer's wake group, with the weights that say who serves).
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ECSClient } from "@aws-sdk/client-ecs";
import { ElasticLoadBalancingV2Client, type Rule } from "@aws-sdk/client-elastic-load-balancing-v2";
import { SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import type { Route } from "../../src/lambdas/sleep-wake/routes";

export const ACCOUNT = "123456789012";
export const REGION = "ap-southeast-7";
const ELB = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}`;
export const LISTENER = `${ELB}:listener/app/code-server-dev/50dc6c495c0c9188/f2f7dc8efc522ab2`;
export const WAKE_GROUP = `${ELB}:targetgroup/code-server-dev-wake/73e2d6bc24d8a067`;
export const INSTANCE = "i-0123456789abcdef0";
export const SCRIPT_DOCUMENT = "code-server-dev-host-script";
export const HOST_ALARMS = ["code-server-dev-host-cpu", "code-server-dev-host-status"];

export const groupOf = (name: string) => `${ELB}:targetgroup/code-server-dev-${name}/0123456789abcdef`;
export const ruleArnOf = (name: string) => `${ELB}:listener-rule/app/code-server-dev/50dc6c495c0c9188/f2f7dc8efc522ab2/${name}`;

/** The functions' environment; `extra` overrides or removes (undefined) variables. */
export function envOf(platform: "host" | "ecs", extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    PLATFORM: platform,
    NAME_PREFIX: "code-server-dev",
    DOMAIN: "dev.example.com",
    LISTENERS: JSON.stringify([LISTENER]),
    WAKE_TARGET_GROUPS: JSON.stringify([WAKE_GROUP]),
    ...(platform === "host"
      ? { HOST_INSTANCE_ID: INSTANCE, HOST_SCRIPT_DOCUMENT: SCRIPT_DOCUMENT, HOST_ALARMS: JSON.stringify(HOST_ALARMS) }
      : {}),
    ...extra,
  };
}

/** A developer's rule with their weight (1 awake, 0 asleep) and the wake group's opposite. */
export function ruleOf(name: string, awake: boolean, priority = 10): Rule {
  return {
    RuleArn: ruleArnOf(name),
    Priority: String(priority),
    IsDefault: false,
    Conditions: [{ Field: "host-header", HostHeaderConfig: { Values: [`${name}.dev.example.com`] } }],
    Actions: [
      {
        Type: "forward",
        Order: 1,
        ForwardConfig: {
          TargetGroups: [
            { TargetGroupArn: groupOf(name), Weight: awake ? 1 : 0 },
            { TargetGroupArn: WAKE_GROUP, Weight: awake ? 0 : 1 },
          ],
          TargetGroupStickinessConfig: { Enabled: false },
        },
      },
    ],
  };
}

/** The route `routeOf` makes of `ruleOf(name, awake)`. */
export function routeOf(name: string, awake: boolean): Route {
  return {
    name,
    listenerArn: LISTENER,
    ruleArn: ruleArnOf(name),
    developerTargetGroupArn: groupOf(name),
    wakeTargetGroupArn: WAKE_GROUP,
    to: awake ? "developer" : "wake",
    actions: ruleOf(name, awake).Actions!,
  };
}

/** The weights a ModifyRule input gives the developer's group and the wake group. */
export function weightsOf(input: { Actions?: Rule["Actions"] }): { developer?: number; wake?: number } {
  const groups = input.Actions?.find((a) => a.Type === "forward")?.ForwardConfig?.TargetGroups ?? [];
  return {
    developer: groups.find((g) => g.TargetGroupArn !== WAKE_GROUP)?.Weight,
    wake: groups.find((g) => g.TargetGroupArn === WAKE_GROUP)?.Weight,
  };
}

/** The functions' five AWS clients mocked (aws-sdk-client-mock), and the count of every call they got. */
export function mockedClients() {
  const mocked = {
    elb: mockClient(ElasticLoadBalancingV2Client),
    ecs: mockClient(ECSClient),
    ec2: mockClient(EC2Client),
    ssm: mockClient(SSMClient),
    cloudwatch: mockClient(CloudWatchClient),
  };
  const all = Object.values(mocked);
  return {
    ...mocked,
    reset: () => all.forEach((m) => m.reset()),
    restore: () => all.forEach((m) => m.restore()),
    callCount: () => all.reduce((n, m) => n + m.calls().length, 0),
  };
}
