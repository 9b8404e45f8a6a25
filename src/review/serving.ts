/**
 * Which load-balancing resources serve a URL before a plan: those on a load balancer some DNS
 * record points at. During a move between platforms the environment holds a second load balancer
 * that no record points at any more (the host's, once ECS serves); destroying it, its listeners,
 * rules and target groups is nothing a developer notices, and the review must not say otherwise.
 */
import type { JsonObject, PlanJson } from "../terraform/plan-json";

/** The load-balancing resource types whose part in serving a URL this module works out. */
const LOAD_BALANCING = new Set([
  "aws_lb",
  "aws_lb_listener",
  "aws_lb_listener_rule",
  "aws_lb_target_group",
  "aws_lb_target_group_attachment",
]);

/** A plan value as a string: "" for anything else (unknown, null, another type). */
export const text = (value: unknown) => (typeof value === "string" ? value : "");
const objects = (value: unknown): JsonObject[] =>
  Array.isArray(value) ? value.filter((v): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v)) : [];
/** A DNS name as an alias record and a load balancer spell it alike. */
const dnsName = (name: string) =>
  name
    .toLowerCase()
    .replace(/\.$/, "")
    .replace(/^dualstack\./, "");

/** The target groups an action list forwards to, in either of the provider's spellings. */
function forwardedTo(actions: unknown): string[] {
  return objects(actions).flatMap((action) => [
    text(action.target_group_arn),
    ...objects(action.forward).flatMap((forward) => objects(forward.target_group).map((group) => text(group.arn))),
  ]);
}

/**
 * A test of whether the resource at an address served a URL before `plan`. Resources of other
 * types, and every resource when no alias record says which load balancer serves, count as serving.
 */
export function servedBefore(plan: PlanJson | undefined): (address: string) => boolean {
  const before = new Map((plan?.resource_changes ?? []).map((c) => [c.address, { type: c.type, values: c.change.before ?? {} }]));
  const ofType = (type: string) => [...before.values()].filter((r) => r.type === type).map((r) => r.values);
  const served = new Set(ofType("aws_route53_record").flatMap((r) => objects(r.alias).map((a) => dnsName(text(a.name)))));
  if (served.size === 0) return () => true;
  const lbs = new Set(
    ofType("aws_lb")
      .filter((lb) => served.has(dnsName(text(lb.dns_name))))
      .map((lb) => text(lb.arn)),
  );
  const listeners = ofType("aws_lb_listener").filter((l) => lbs.has(text(l.load_balancer_arn)));
  const listenerArns = new Set(listeners.map((l) => text(l.arn)));
  const rules = ofType("aws_lb_listener_rule").filter((r) => listenerArns.has(text(r.listener_arn)));
  const groups = new Set([...rules.flatMap((r) => forwardedTo(r.action)), ...listeners.flatMap((l) => forwardedTo(l.default_action))]);
  // A value the state does not hold (empty) cannot show that a resource serves nobody: it serves.
  const within = (set: ReadonlySet<string>, value: unknown) => text(value) === "" || set.has(text(value));
  const serves: Readonly<Record<string, (values: JsonObject) => boolean>> = {
    aws_lb: (v) => text(v.dns_name) === "" || within(lbs, v.arn),
    aws_lb_listener: (v) => within(listenerArns, v.arn),
    aws_lb_listener_rule: (v) => within(listenerArns, v.listener_arn),
    aws_lb_target_group: (v) => within(groups, v.arn),
    aws_lb_target_group_attachment: (v) => within(groups, v.target_group_arn),
  };
  return (address) => {
    const resource = before.get(address);
    return !resource || !LOAD_BALANCING.has(resource.type) || serves[resource.type](resource.values);
  };
}
