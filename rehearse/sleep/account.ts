/**
 * The sleep leg's AWS: what the sleeper and the wake functions call, kept in this process. The
 * load balancer's developer rules start as the synthesized stack creates them (its references
 * resolved to the stand-in's ARNs); the alarms are the stack's, actions on; the host is one
 * running instance whose SSM agent runs a command by running the host script on the rehearsal's
 * host. The functions' own SDK clients are used, their `send` answered here through
 * aws-sdk-client-mock (rehearse/sleep/clients.ts): only these pure parts and the state live here.
 */
import type { Action, Rule } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { TerraformJson } from "../../src/terraform/plan-json";
import type { Route } from "../rosters";

/** The stand-in account and region's ARN prefix of the load balancer's resources. */
export const ACCOUNT_ID = "123456789012";
const elbArn = (region: string) => `arn:aws:elasticloadbalancing:${region}:${ACCOUNT_ID}`;
/** A hex instance id, as the functions' environment requires (the host's stand-in SSM id is not one). */
export const SLEEP_INSTANCE_ID = "i-05ee9000000000001";

/** The ARN the stand-in gives a synthesized resource (`<type>.<id>`). */
export function standInArn(region: string, type: string, id: string): string {
  switch (type) {
    case "aws_lb_target_group":
      return `${elbArn(region)}:targetgroup/${id}/0123456789abcdef`;
    case "aws_lb_listener":
      return `${elbArn(region)}:listener/app/rehearsal/50dc6c495c0c9188/${id}`;
    case "aws_lb_listener_rule":
      return `${elbArn(region)}:listener-rule/app/rehearsal/50dc6c495c0c9188/${id}`;
    case "aws_instance":
      return SLEEP_INSTANCE_ID;
    default:
      throw new Error(`the sleep leg's AWS stand-in has no ARN for ${type}.${id}`);
  }
}

/** A Terraform expression `${<type>.<id>.<arn|id>}` or `${jsonencode([<type>.<id>.arn, ...])}` resolved to the stand-in's ids. */
export function resolveReference(region: string, expression: string): string {
  const single = /^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.(arn|id)\}$/.exec(expression);
  if (single) return standInArn(region, single[1], single[2]);
  const list = /^\$\{jsonencode\(\[(.*)\]\)\}$/.exec(expression);
  if (list) {
    const items = list[1].split(",").map((item) => /^\s*([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.arn\s*$/.exec(item));
    if (items.every((m) => m !== null)) return JSON.stringify(items.map((m) => standInArn(region, m[1], m[2])));
  }
  if (expression.includes("${")) throw new Error(`the sleep leg cannot resolve ${expression}`);
  return expression;
}

/** The environment a synthesized function (`aws_lambda_function.<id>`) runs with, its references resolved. */
export function functionEnvironment(config: TerraformJson, id: string, region: string): Record<string, string> {
  const fn = config.resource?.aws_lambda_function?.[id] as { environment?: { variables?: Record<string, string> } } | undefined;
  if (!fn?.environment?.variables) throw new Error(`the synthesized stack has no aws_lambda_function.${id} with an environment`);
  return Object.fromEntries(Object.entries(fn.environment.variables).map(([k, v]) => [k, resolveReference(region, v)]));
}

interface SynthesizedRule {
  action: { type: string; forward?: { target_group: { arn: string; weight: number }[] } }[];
  condition: { host_header?: { values: string[] } }[];
  priority: number;
}

/** The developers' listener rules as ELB describes them once Terraform created them, by the rule's resource id. */
export function rulesOf(config: TerraformJson, region: string): Map<string, Rule> {
  const rules = new Map<string, Rule>();
  for (const [id, raw] of Object.entries(config.resource?.aws_lb_listener_rule ?? {})) {
    const rule = raw as SynthesizedRule;
    const actions: Action[] = rule.action.map((action, i) => ({
      Type: action.type as Action["Type"],
      Order: i + 1,
      ...(action.forward
        ? {
            ForwardConfig: {
              TargetGroups: action.forward.target_group.map((g) => ({ TargetGroupArn: resolveReference(region, g.arn), Weight: g.weight })),
              TargetGroupStickinessConfig: { Enabled: false },
            },
          }
        : {}),
    }));
    rules.set(id, {
      RuleArn: standInArn(region, "aws_lb_listener_rule", id),
      Priority: String(rule.priority),
      IsDefault: false,
      Conditions: rule.condition
        .filter((c) => c.host_header)
        .map((c) => ({ Field: "host-header", HostHeaderConfig: { Values: c.host_header!.values } })),
      Actions: actions,
    });
  }
  return rules;
}

/** The metric alarms' names of the synthesized stack, by resource id (alarms named by a reference are left out). */
export function alarmsOf(config: TerraformJson): Map<string, string> {
  const alarms = new Map<string, string>();
  for (const [id, alarm] of Object.entries(config.resource?.aws_cloudwatch_metric_alarm ?? {})) {
    const name = alarm.alarm_name;
    if (typeof name === "string" && !name.includes("${")) alarms.set(id, name);
  }
  return alarms;
}

/** The host a rule's host-header condition names. */
export const ruleHost = (rule: Rule) => rule.Conditions?.[0]?.HostHeaderConfig?.Values?.[0] ?? "";

/** The weight of each target group of a rule's forward action, by ARN. */
export function weightsOf(rule: Rule): Map<string, number> {
  const groups = rule.Actions?.find((a) => a.Type === "forward")?.ForwardConfig?.TargetGroups ?? [];
  return new Map(groups.map((g) => [g.TargetGroupArn ?? "", g.Weight ?? 1]));
}

/** Whether a rule sends its visits to `wakeGroup`: ELB forwards to the groups with weight, here only one ever has. */
export function forwardsToWake(rule: Rule, wakeGroup: string): boolean {
  const weights = weightsOf(rule);
  return (weights.get(wakeGroup) ?? 0) > 0 && [...weights].every(([arn, w]) => arn === wakeGroup || w === 0);
}

/** What ELB checks of a ModifyRule's actions before it takes them: a forward's weights are 0 to 999, and one is above 0. */
export function modifyRuleProblem(actions: readonly Action[] | undefined): string | undefined {
  if (!actions || actions.length === 0) return "a rule needs at least one action";
  for (const action of actions) {
    const groups = action.ForwardConfig?.TargetGroups;
    if (action.Type !== "forward" || !groups) continue;
    if (groups.some((g) => g.Weight !== undefined && (g.Weight < 0 || g.Weight > 999))) return "a weight is outside 0 to 999";
    if (groups.every((g) => g.Weight === 0)) return "every target group of the forward has weight 0";
  }
  return undefined;
}

/**
 * The ALB stand-in's routing table for the rules as they are: a developer whose rule forwards
 * to the wake group goes to the Lambda target's port, every other one to their own.
 */
export function proxyRoutes(routes: readonly Route[], rules: readonly Rule[], wakeGroup: string, lambdaPort: number): Route[] {
  return routes.map((route) => {
    const rule = rules.find((r) => ruleHost(r) === route.host);
    if (!rule) throw new Error(`no listener rule routes ${route.host}`);
    return forwardsToWake(rule, wakeGroup) ? { ...route, port: lambdaPort, container: "wake Lambda target" } : route;
  });
}
