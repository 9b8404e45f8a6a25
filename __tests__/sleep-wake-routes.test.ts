/**
 * The developers' listener rules as the sleeper and the wake function read them (who exists, and
 * whether each one's visits go to them or to the wake page) and change them (only the weights of
 * the forward that holds the wake group; every other action and setting as it was).
 */
import type { Rule } from "@aws-sdk/client-elastic-load-balancing-v2";
import { actionsTo, routeOf } from "../src/lambdas/sleep-wake/routes";
import { groupOf, LISTENER, routeOf as expectedRoute, ruleOf, WAKE_GROUP, weightsOf } from "./helpers/sleep-wake";

const listener = { listenerArn: LISTENER, wakeTargetGroupArn: WAKE_GROUP };
const read = (rule: Rule) => routeOf(rule, listener, "dev.example.com");

describe("who exists", () => {
  it("a developer's rule, awake or asleep by the weights", () => {
    expect(read(ruleOf("dev1", true))).toEqual(expectedRoute("dev1", true));
    expect(read(ruleOf("dev1", false))).toEqual(expectedRoute("dev1", false));
  });

  it("a developer's group without a weight has ELB's default weight, 1: awake", () => {
    const rule = ruleOf("dev1", true);
    delete rule.Actions![0].ForwardConfig!.TargetGroups![0].Weight;
    expect(read(rule)?.to).toBe("developer");
  });

  it.each<[string, (rule: Rule) => void]>([
    ["the default rule", (r) => (r.IsDefault = true)],
    ["a host of another domain", (r) => (r.Conditions![0].HostHeaderConfig!.Values = ["dev1.example.org"])],
    ["a host below a developer's", (r) => (r.Conditions![0].HostHeaderConfig!.Values = ["a.dev1.dev.example.com"])],
    ["two hosts", (r) => r.Conditions![0].HostHeaderConfig!.Values!.push("dev2.dev.example.com")],
    ["a forward without the wake group", (r) => (r.Actions![0].ForwardConfig!.TargetGroups![1].TargetGroupArn = groupOf("x"))],
    ["a forward to the wake group alone", (r) => r.Actions![0].ForwardConfig!.TargetGroups!.splice(0, 1)],
    ["a fixed response", (r) => (r.Actions = [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "404" } }])],
  ])("not %s", (_, change) => {
    const rule = ruleOf("dev1", true);
    change(rule);
    expect(read(rule)).toBeUndefined();
  });

  it("reads the host case-insensitively", () => {
    const rule = ruleOf("dev1", true);
    rule.Conditions![0].HostHeaderConfig!.Values = ["DEV1.dev.example.com"];
    expect(read(rule)?.name).toBe("dev1");
  });
});

describe("changing the weights", () => {
  it("moves the weights and keeps the forward's other settings", () => {
    const asleep = actionsTo(expectedRoute("dev1", true), "wake");
    expect(weightsOf({ Actions: asleep })).toEqual({ developer: 0, wake: 1 });
    expect(asleep[0].ForwardConfig!.TargetGroupStickinessConfig).toEqual({ Enabled: false });
    expect(weightsOf({ Actions: actionsTo(expectedRoute("dev1", false), "developer") })).toEqual({ developer: 1, wake: 0 });
  });

  it("keeps a sign-in action first, reusing its client secret, which ELB never reads back", () => {
    const route = expectedRoute("dev1", true);
    const oidc = {
      Type: "authenticate-oidc" as const,
      Order: 1,
      AuthenticateOidcConfig: {
        Issuer: "https://idp.example.com",
        AuthorizationEndpoint: "https://idp.example.com/auth",
        TokenEndpoint: "https://idp.example.com/token",
        UserInfoEndpoint: "https://idp.example.com/userinfo",
        ClientId: "code-server",
      },
    };
    const forward = { ...route.actions[0], Order: 2 };
    const actions = actionsTo({ ...route, actions: [oidc, forward] }, "wake");
    expect(actions.map((a) => a.Type)).toEqual(["authenticate-oidc", "forward"]);
    expect(actions[0].AuthenticateOidcConfig).toEqual({ ...oidc.AuthenticateOidcConfig, UseExistingClientSecret: true });
    expect(actions[1].Order).toBe(2);
  });
});
