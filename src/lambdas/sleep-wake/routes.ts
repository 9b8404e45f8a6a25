/**
 * The developers' listener rules, which are also the list of who exists: a rule is a developer's
 * when its host-header condition is exactly `<name>.<domain>` and its forward action holds the
 * listener's wake target group beside one other group, the developer's own. Sleeping and waking
 * move the weights between the two (developer 1 and wake 0 while awake; the other way round while
 * asleep); Terraform ignores the rule's actions after creating it, so this is no drift.
 */
import {
  type Action,
  type ElasticLoadBalancingV2Client,
  DescribeRulesCommand,
  ModifyRuleCommand,
  paginateDescribeRules,
  type Rule,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Listener, SleepConfig } from "./config";

/** Where a developer's rule sends their requests. */
export type Destination = "developer" | "wake";

export interface Route {
  /** The developer's name: the first label of the rule's host. */
  readonly name: string;
  readonly listenerArn: string;
  readonly ruleArn: string;
  readonly developerTargetGroupArn: string;
  readonly wakeTargetGroupArn: string;
  /** Where the rule forwards now: to the developer while any weight is theirs. */
  readonly to: Destination;
  /** The rule's actions as read: a change of weights keeps every other action and setting. */
  readonly actions: readonly Action[];
}

/** A developer name: a DNS label, as the roster holds it. */
export const DEVELOPER_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The one host a rule's host-header condition names, in lower case, or undefined. */
function hostOf(rule: Rule): string | undefined {
  const conditions = (rule.Conditions ?? []).filter((c) => c.Field === "host-header");
  if (conditions.length !== 1) return undefined;
  const values = conditions[0].HostHeaderConfig?.Values ?? conditions[0].Values ?? [];
  return values.length === 1 ? values[0].toLowerCase() : undefined;
}

/** The rule's forward action that holds the wake group, with the developer's group beside it. */
function forwardOf(rule: Rule, wakeTargetGroupArn: string) {
  const forwards = (rule.Actions ?? []).filter((a) => a.Type === "forward" && a.ForwardConfig?.TargetGroups);
  const forward = forwards.find((a) => a.ForwardConfig!.TargetGroups!.some((g) => g.TargetGroupArn === wakeTargetGroupArn));
  const groups = forward?.ForwardConfig?.TargetGroups ?? [];
  const own = groups.filter((g) => g.TargetGroupArn !== wakeTargetGroupArn);
  if (forwards.length !== 1 || groups.length !== 2 || own.length !== 1 || !own[0].TargetGroupArn) return undefined;
  // A group without a weight has ELB's default weight, 1.
  return { developerTargetGroupArn: own[0].TargetGroupArn, developerWeight: own[0].Weight ?? 1 };
}

/** The developer route a rule of `listener` is, or undefined when it is no developer's. */
export function routeOf(rule: Rule, listener: Listener, domain: string): Route | undefined {
  const host = hostOf(rule);
  const suffix = `.${domain}`;
  if (rule.IsDefault || !rule.RuleArn || !host?.endsWith(suffix)) return undefined;
  const name = host.slice(0, -suffix.length);
  const forward = forwardOf(rule, listener.wakeTargetGroupArn);
  if (!DEVELOPER_NAME.test(name) || !forward) return undefined;
  return {
    name,
    listenerArn: listener.listenerArn,
    ruleArn: rule.RuleArn,
    developerTargetGroupArn: forward.developerTargetGroupArn,
    wakeTargetGroupArn: listener.wakeTargetGroupArn,
    to: forward.developerWeight > 0 ? "developer" : "wake",
    actions: rule.Actions ?? [],
  };
}

/** Every developer's route, by name, from every listener's rules (all pages). */
export async function readRoutes(elb: ElasticLoadBalancingV2Client, config: SleepConfig): Promise<Map<string, Route>> {
  const routes = new Map<string, Route>();
  for (const listener of config.listeners) {
    for await (const page of paginateDescribeRules({ client: elb }, { ListenerArn: listener.listenerArn })) {
      for (const rule of page.Rules ?? []) {
        const route = routeOf(rule, listener, config.domain);
        // A second rule for one host would never be reached: ALB takes the lower priority first.
        if (route && !routes.has(route.name)) routes.set(route.name, route);
      }
    }
  }
  return routes;
}

/** The route as its rule is now, or undefined when the rule is gone or no longer the developer's. */
export async function rereadRoute(elb: ElasticLoadBalancingV2Client, route: Route, domain: string): Promise<Route | undefined> {
  const { Rules } = await elb.send(new DescribeRulesCommand({ RuleArns: [route.ruleArn] }));
  const rule = Rules?.[0];
  const listener = { listenerArn: route.listenerArn, wakeTargetGroupArn: route.wakeTargetGroupArn };
  return rule ? routeOf(rule, listener, domain) : undefined;
}

/** The rule's actions with the route's forward action sending everything to `to`. */
export function actionsTo(route: Route, to: Destination): Action[] {
  return route.actions.map((action) => {
    const groups = action.ForwardConfig?.TargetGroups ?? [];
    if (action.Type !== "forward" || !groups.some((g) => g.TargetGroupArn === route.wakeTargetGroupArn)) {
      // An OIDC sign-in's client secret is not read back; the rule keeps the one it has.
      return action.Type === "authenticate-oidc"
        ? { ...action, AuthenticateOidcConfig: { ...action.AuthenticateOidcConfig!, UseExistingClientSecret: true } }
        : action;
    }
    const { TargetGroupArn: _single, ...rest } = action;
    return {
      ...rest,
      ForwardConfig: {
        ...action.ForwardConfig,
        TargetGroups: [
          { TargetGroupArn: route.developerTargetGroupArn, Weight: to === "developer" ? 1 : 0 },
          { TargetGroupArn: route.wakeTargetGroupArn, Weight: to === "wake" ? 1 : 0 },
        ],
      },
    };
  });
}

/** Points the developer's rule at `to`; the route as it then is. */
export async function pointRoute(elb: ElasticLoadBalancingV2Client, route: Route, to: Destination): Promise<Route> {
  const actions = actionsTo(route, to);
  await elb.send(new ModifyRuleCommand({ RuleArn: route.ruleArn, Actions: actions }));
  return { ...route, to, actions };
}
