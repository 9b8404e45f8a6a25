/**
 * WebAcl: the optional WAF web ACL in front of the ALB, AWS's managed common rule set (its body
 * size rule only counting) and a per-IP rate limit from the roster, associated with the ALB.
 */
import { Lb } from "@cdktf/provider-aws/lib/lb";
import { Wafv2WebAcl } from "@cdktf/provider-aws/lib/wafv2-web-acl";
import { Wafv2WebAclAssociation } from "@cdktf/provider-aws/lib/wafv2-web-acl-association";
import { Testing } from "cdktf";
import type { Construct } from "constructs";
import { WebAcl, type WebAclProps } from "../src/modules/waf";
import { defaultFleet } from "./helpers/fleet";
import { refToOnly, synthLayer } from "./helpers/layer";
import { only } from "./helpers/synth";
import type { ProviderBlock } from "../src/terraform/plan-json";

const fleet = defaultFleet();
const webAcl = (scope: Construct, overrides: Partial<WebAclProps> = {}) =>
  new WebAcl(scope, "waf", { fleet, loadBalancer: new Lb(scope, "alb", {}), ...overrides });

const { json, config } = synthLayer((scope) => webAcl(scope));
const rules = JSON.parse(only(config, "aws_wafv2_web_acl").rule_json as string) as ProviderBlock[];

describe("web ACL", () => {
  it("is regional, named after the fleet, allows by default and reports metrics and samples", () => {
    expect(json).toHaveResourceWithProperties(Wafv2WebAcl, {
      name: "code-server-dev",
      scope: "REGIONAL",
      default_action: { allow: {} },
      visibility_config: { cloudwatch_metrics_enabled: true, metric_name: "code-server-dev", sampled_requests_enabled: true },
    });
  });

  it("applies AWS's managed common rule set first, its 8 KB body rule only counting", () => {
    expect(rules[0]).toMatchObject({
      Name: "aws-common-rules",
      Priority: 1,
      OverrideAction: { None: {} },
      Statement: {
        ManagedRuleGroupStatement: {
          VendorName: "AWS",
          Name: "AWSManagedRulesCommonRuleSet",
          RuleActionOverrides: [{ Name: "SizeRestrictions_BODY", ActionToUse: { Count: {} } }],
        },
      },
    });
  });

  it("then blocks a client IP above 3000 requests in 5 minutes by default, or the roster's limit", () => {
    expect(rules[1]).toMatchObject({
      Name: "rate-limit-per-ip",
      Priority: 2,
      Action: { Block: {} },
      Statement: { RateBasedStatement: { Limit: 3000, AggregateKeyType: "IP", EvaluationWindowSec: 300 } },
    });
    const { config: strict } = synthLayer((scope) => webAcl(scope, { rateLimitPer5Minutes: 500 }));
    expect(JSON.parse(only(strict, "aws_wafv2_web_acl").rule_json as string)[1].Statement.RateBasedStatement.Limit).toBe(500);
    for (const rule of rules) expect(rule.VisibilityConfig).toMatchObject({ CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true });
  });

  it("is associated with the ALB", () => {
    expect(json).toHaveResourceWithProperties(Wafv2WebAclAssociation, {
      resource_arn: refToOnly(config, "aws_lb", "arn"),
      web_acl_arn: refToOnly(config, "aws_wafv2_web_acl", "arn"),
    });
  });
});

describe("props validation", () => {
  test.each<[string, Partial<WebAclProps>, RegExp]>([
    [
      "a limit below AWS's bound",
      { rateLimitPer5Minutes: 99 },
      /^WebAcl stack\/waf: rateLimitPer5Minutes 99 must be a whole number of requests from 100 to 2000000000$/,
    ],
    [
      "a fractional limit",
      { rateLimitPer5Minutes: 150.5 },
      /^WebAcl stack\/waf: rateLimitPer5Minutes 150\.5 must be a whole number of requests from 100 to 2000000000$/,
    ],
    [
      "a name WAF refuses",
      { fleet: { ...fleet, namePrefix: "code server" } },
      /^WebAcl stack\/waf: web ACL name \(fleet\.namePrefix\) "code server" is not letters, digits, '_' and '-' \(WAF naming\)$/,
    ],
  ])("refuses %s", (_, overrides, message) => {
    expect(() => Testing.synthScope((scope) => webAcl(scope, overrides))).toThrow(message);
  });
});
