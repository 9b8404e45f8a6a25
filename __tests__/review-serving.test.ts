/**
 * Which load-balancing resources serve a URL before a plan: the review's impacts leave out the
 * parts of a load balancer no DNS record points at (the host's, once ECS serves).
 */
import { servedBefore } from "../src/review/serving";
import type { PlanJson, ResourceChange } from "../src/terraform/plan-json";

const change = (address: string, before: Record<string, unknown>): ResourceChange =>
  ({
    address,
    mode: "managed",
    type: address.split(".")[0],
    name: address.split(".")[1],
    provider_name: "registry.terraform.io/hashicorp/aws",
    change: { actions: ["delete"], before, after: null, after_unknown: {} },
  }) as unknown as ResourceChange;

/** Two load balancers, each with a listener, a rule, a target group and an attachment; `served` names the one DNS points at. */
function plan(served: "a" | "b" | "none", forward: "plain" | "weighted" = "plain"): PlanJson {
  const parts = (lb: string) => [
    change(`aws_lb.${lb}`, { arn: `arn:lb/${lb}`, dns_name: `${lb}-123.elb.amazonaws.com` }),
    change(`aws_lb_listener.${lb}`, {
      arn: `arn:listener/${lb}`,
      load_balancer_arn: `arn:lb/${lb}`,
      default_action: [{ type: "fixed-response" }],
    }),
    change(`aws_lb_listener_rule.${lb}`, {
      listener_arn: `arn:listener/${lb}`,
      action:
        forward === "plain"
          ? [{ type: "forward", target_group_arn: `arn:tg/${lb}` }]
          : [{ type: "forward", target_group_arn: "", forward: [{ target_group: [{ arn: `arn:tg/${lb}`, weight: 1 }] }] }],
    }),
    change(`aws_lb_target_group.${lb}`, { arn: `arn:tg/${lb}` }),
    change(`aws_lb_target_group_attachment.${lb}`, { target_group_arn: `arn:tg/${lb}` }),
  ];
  const record = change("aws_route53_record.dev1", {
    alias: served === "none" ? [] : [{ name: `dualstack.${served}-123.elb.amazonaws.com.` }],
  });
  return { resource_changes: [...parts("a"), ...parts("b"), record] } as unknown as PlanJson;
}

const types = ["aws_lb", "aws_lb_listener", "aws_lb_listener_rule", "aws_lb_target_group", "aws_lb_target_group_attachment"];

describe("servedBefore", () => {
  it.each(["plain", "weighted"] as const)(
    "counts every part of the load balancer a record points at as serving, none of the other's (%s forward)",
    (forward) => {
      const serving = servedBefore(plan("a", forward));
      expect(types.map((t) => [t, serving(`${t}.a`), serving(`${t}.b`)])).toEqual(types.map((t) => [t, true, false]));
    },
  );

  it("counts everything as serving when no alias record says which load balancer serves", () => {
    const serving = servedBefore(plan("none"));
    expect(types.every((t) => serving(`${t}.a`) && serving(`${t}.b`))).toBe(true);
    expect(servedBefore(undefined)("aws_lb.a")).toBe(true);
  });

  it("counts a load-balancing resource whose state lacks the value that would tell as serving", () => {
    const unknown = plan("a");
    const lb = unknown.resource_changes!.find((c) => c.address === "aws_lb.b")!;
    (lb.change.before as Record<string, unknown>).dns_name = "";
    const attachment = unknown.resource_changes!.find((c) => c.address === "aws_lb_target_group_attachment.b")!;
    (attachment.change.before as Record<string, unknown>).target_group_arn = "";
    const serving = servedBefore(unknown);
    expect([serving("aws_lb.b"), serving("aws_lb_target_group_attachment.b"), serving("aws_lb_listener.b")]).toEqual([true, true, false]);
  });

  it("counts resources of other types, and addresses the plan does not hold, as serving", () => {
    const serving = servedBefore(plan("a"));
    expect([serving("aws_route53_record.dev1"), serving("aws_acm_certificate.cert"), serving("aws_lb.unknown")]).toEqual([
      true,
      true,
      true,
    ]);
  });
});
