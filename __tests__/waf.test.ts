/**
 * WebAcl: the optional WAF web ACL in front of the ALB, AWS's managed common rule set (its body
 * size rule only counting) and a per-IP rate limit from the roster, associated with the ALB.
 */
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { KmsKeyPolicy } from "@cdktf/provider-aws/lib/kms-key-policy";
import { Lb } from "@cdktf/provider-aws/lib/lb";
import { Wafv2WebAcl } from "@cdktf/provider-aws/lib/wafv2-web-acl";
import { Wafv2WebAclAssociation } from "@cdktf/provider-aws/lib/wafv2-web-acl-association";
import { Wafv2WebAclLoggingConfiguration } from "@cdktf/provider-aws/lib/wafv2-web-acl-logging-configuration";
import { Testing } from "cdktf";
import type { Construct } from "constructs";
import { WebAcl, type WebAclProps } from "../src/constructs/waf";
import { defaultFleet } from "./helpers/fleet";
import { parseDocument } from "./helpers/hcl-object";
import { ACCOUNT, refToOnly, standIns, synthLayer } from "./helpers/layer";
import { only } from "./helpers/synth";
import type { ProviderBlock } from "../src/terraform/plan-json";

const fleet = defaultFleet();
const webAcl = (scope: Construct, overrides: Partial<WebAclProps> = {}) => {
  standIns.aws(scope);
  const key = standIns.key(scope);
  return new WebAcl(scope, "waf", {
    fleet,
    loadBalancers: new Map([["", new Lb(scope, "alb", {})]]),
    key,
    keyPolicy: new KmsKeyPolicy(scope, "key-policy", { keyId: key.keyId, policy: "{}" }),
    logRetentionDays: 30,
    ...overrides,
  });
};

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

  it("is associated with every load balancer it is given, the host's as `alb`, a shard's after its number", () => {
    const { config: sharded } = synthLayer((scope) =>
      webAcl(scope, {
        loadBalancers: new Map([
          ["", new Lb(scope, "host", {})],
          ["168", new Lb(scope, "shard-168", {})],
          ["218", new Lb(scope, "shard-218", {})],
        ]),
      }),
    );
    const associations = Object.entries(sharded.resource.aws_wafv2_web_acl_association as Record<string, { resource_arn: string }>);
    const byId = associations.map(([id, a]) => [id.replace(/_[0-9A-F]{8}$/, ""), a.resource_arn]).sort(([a], [b]) => (a < b ? -1 : 1));
    expect(byId).toEqual([
      ["waf_alb", "${aws_lb.host.arn}"],
      ["waf_alb-168", "${aws_lb.shard-168.arn}"],
      ["waf_alb-218", "${aws_lb.shard-218.arn}"],
    ]);
  });
});

describe("request log", () => {
  it("goes to a log group WAF accepts (aws-waf-logs-<project>-<environment>), encrypted with the fleet key, once the key policy exists", () => {
    expect(json).toHaveResourceWithProperties(CloudwatchLogGroup, {
      name: "aws-waf-logs-code-server-dev",
      retention_in_days: 30,
      kms_key_id: refToOnly(config, "aws_kms_key", "arn"),
      depends_on: [`aws_kms_key_policy.${Object.keys(config.resource.aws_kms_key_policy)[0]}`],
    });
  });

  it("logs every request the web ACL sees, without its Cookie and Authorization headers", () => {
    expect(json).toHaveResourceWithProperties(Wafv2WebAclLoggingConfiguration, {
      resource_arn: refToOnly(config, "aws_wafv2_web_acl", "arn"),
      log_destination_configs: [refToOnly(config, "aws_cloudwatch_log_group", "arn")],
      redacted_fields: [{ single_header: { name: "cookie" } }, { single_header: { name: "authorization" } }],
    });
    expect(only(config, "aws_wafv2_web_acl_logging_configuration").logging_filter).toBeUndefined();
  });

  it("lets only this account's log delivery write the group, with a resource policy of its own", () => {
    const policy = only(config, "aws_cloudwatch_log_resource_policy");
    expect(policy.policy_name).toBe("code-server-dev-waf-log-delivery");
    expect(parseDocument(policy.policy_document as string).Statement).toEqual([
      {
        Sid: "WafDeliversRequestLog",
        Effect: "Allow",
        Principal: { Service: "delivery.logs.amazonaws.com" },
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: `${refToOnly(config, "aws_cloudwatch_log_group", "arn")}:log-stream:*`,
        Condition: {
          StringEquals: { "aws:SourceAccount": ACCOUNT },
          ArnLike: { "aws:SourceArn": `arn:aws:logs:ap-southeast-7:${ACCOUNT}:*` },
        },
      },
    ]);
    expect(only(config, "aws_wafv2_web_acl_logging_configuration").depends_on).toEqual([
      `aws_cloudwatch_log_resource_policy.${Object.keys(config.resource.aws_cloudwatch_log_resource_policy)[0]}`,
    ]);
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
      "no load balancer",
      { loadBalancers: new Map() },
      /^WebAcl stack\/waf: loadBalancers has 0 entries; at least 1 are needed \(a web ACL in front of nothing protects nothing\)$/,
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
