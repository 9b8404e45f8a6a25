/**
 * The optional WAF web ACL in front of every load balancer (roster `waf.enabled`): AWS's managed common rule
 * set, and a rate-based rule that blocks a client IP address sending more than
 * `rateLimitPer5Minutes` requests in 5 minutes. Without the switch the stack has no WAF resource.
 *
 * The rules are given as `rule_json` (the WAF API's own form): the provider's nested `statement`
 * blocks have no typed binding in cdktf, and JSON keeps the exported HCL plain.
 *
 * Every request the web ACL sees is logged to a CloudWatch log group of its own, encrypted with the
 * fleet key, without its Cookie and Authorization headers: code-server's session cookie is derived
 * from the developer's password.
 */
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchLogResourcePolicy } from "@cdktf/provider-aws/lib/cloudwatch-log-resource-policy";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { Lb } from "@cdktf/provider-aws/lib/lb";
import { Wafv2WebAcl } from "@cdktf/provider-aws/lib/wafv2-web-acl";
import { Wafv2WebAclAssociation } from "@cdktf/provider-aws/lib/wafv2-web-acl-association";
import { Wafv2WebAclLoggingConfiguration } from "@cdktf/provider-aws/lib/wafv2-web-acl-logging-configuration";
import { Fn, type ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { logGroupNames } from "../naming";
import type { Fleet } from "../roster";
import { WAF_RATE_LIMIT } from "../roster/schema";
import { AwsEnvironment } from "./aws-environment";
import { checkMinCount, checkPattern, checkWholeRange } from "./validation";

/** Request headers the WAF's log never holds: code-server's session cookie is derived from the password. */
export const REDACTED_HEADERS = ["cookie", "authorization"] as const;

/** Seconds over which the rate-based rule counts a client's requests. */
export const RATE_WINDOW_SECONDS = 300;
/**
 * Rules of the common rule set that only count. SizeRestrictions_BODY blocks request bodies above
 * 8 KB, which an editor sends where a web form would not; its count shows in the WAF's metrics.
 */
export const COUNTED_COMMON_RULES = ["SizeRestrictions_BODY"] as const;

export interface WebAclProps {
  /** The roster: the web ACL is named `<project>-<environment>`. */
  readonly fleet: Fleet;
  /**
   * Every load balancer that serves a developer, which the web ACL protects, by name: the host's
   * as "", each ECS shard's by its number (both while a migration keeps the host serving). One
   * left out would be a way around the rate limit and the managed rules.
   */
  readonly loadBalancers: ReadonlyMap<string, Lb>;
  /**
   * Requests from one client IP address in 5 minutes above which its requests are blocked, 100 to 2,000,000,000.
   * @default 3000
   */
  readonly rateLimitPer5Minutes?: number;
  /** Encrypts the request log (the key policy lets CloudWatch Logs use it for the WAF's group). */
  readonly key: KmsKey;
  /** The key policy: the log group is created once CloudWatch Logs may use the key. */
  readonly keyPolicy: ITerraformDependable;
  /** Days CloudWatch keeps the request log (the log_retention_days variable). */
  readonly logRetentionDays: number;
}

export class WebAcl extends Construct {
  readonly webAcl: Wafv2WebAcl;
  /** Every request the web ACL inspected, without its cookies. */
  readonly logGroup: CloudwatchLogGroup;

  constructor(scope: Construct, id: string, props: WebAclProps) {
    super(scope, id);
    const { fleet } = props;
    const limit = props.rateLimitPer5Minutes ?? WAF_RATE_LIMIT.default;
    checkWholeRange(this, "rateLimitPer5Minutes", limit, WAF_RATE_LIMIT.min, WAF_RATE_LIMIT.max, "requests");
    checkMinCount(this, "loadBalancers", [...props.loadBalancers.keys()], 1, "a web ACL in front of nothing protects nothing");
    // WAF names and metric names: letters, digits, '_' and '-', at most 128.
    checkPattern(
      this,
      "web ACL name (fleet.namePrefix)",
      fleet.namePrefix,
      /^[A-Za-z0-9_-]{1,100}$/,
      "letters, digits, '_' and '-' (WAF naming)",
    );
    const visibility = (metric: string) => ({ SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: metric });

    this.webAcl = new Wafv2WebAcl(this, "web-acl", {
      name: fleet.namePrefix,
      description: `${fleet.namePrefix}: AWS common rule set and at most ${limit} requests per client IP in 5 minutes`,
      scope: "REGIONAL",
      defaultAction: { allow: {} },
      ruleJson: JSON.stringify([
        {
          Name: "aws-common-rules",
          Priority: 1,
          OverrideAction: { None: {} },
          Statement: {
            ManagedRuleGroupStatement: {
              VendorName: "AWS",
              Name: "AWSManagedRulesCommonRuleSet",
              RuleActionOverrides: COUNTED_COMMON_RULES.map((name) => ({ Name: name, ActionToUse: { Count: {} } })),
            },
          },
          VisibilityConfig: visibility(`${fleet.namePrefix}-common-rules`),
        },
        {
          Name: "rate-limit-per-ip",
          Priority: 2,
          Action: { Block: {} },
          Statement: { RateBasedStatement: { Limit: limit, AggregateKeyType: "IP", EvaluationWindowSec: RATE_WINDOW_SECONDS } },
          VisibilityConfig: visibility(`${fleet.namePrefix}-rate-limit`),
        },
      ]),
      visibilityConfig: { sampledRequestsEnabled: true, cloudwatchMetricsEnabled: true, metricName: fleet.namePrefix },
    });
    for (const [name, loadBalancer] of props.loadBalancers) {
      new Wafv2WebAclAssociation(this, name === "" ? "alb" : `alb-${name}`, { resourceArn: loadBalancer.arn, webAclArn: this.webAcl.arn });
    }
    this.logGroup = this.requestLog(props);
  }

  /** The request log: its group, the log delivery's write access to it, and the web ACL's logging. */
  private requestLog(props: WebAclProps): CloudwatchLogGroup {
    const aws = AwsEnvironment.of(this);
    const group = new CloudwatchLogGroup(this, "log", {
      name: logGroupNames(props.fleet).waf,
      retentionInDays: props.logRetentionDays,
      kmsKeyId: props.key.arn,
      dependsOn: [props.keyPolicy],
    });
    // WAF's log delivery writes the group; without this policy WAF would add an account-wide one
    // of its own (CloudWatch Logs holds at most 10 resource policies per region).
    const delivery = new CloudwatchLogResourcePolicy(this, "log-delivery", {
      policyName: `${props.fleet.namePrefix}-waf-log-delivery`,
      policyDocument: Fn.jsonencode({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "WafDeliversRequestLog",
            Effect: "Allow",
            Principal: { Service: "delivery.logs.amazonaws.com" },
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: `${group.arn}:log-stream:*`,
            Condition: {
              StringEquals: { "aws:SourceAccount": aws.account },
              ArnLike: { "aws:SourceArn": aws.arn({ service: "logs", resource: "*" }) },
            },
          },
        ],
      }),
    });
    new Wafv2WebAclLoggingConfiguration(this, "logging", {
      resourceArn: this.webAcl.arn,
      logDestinationConfigs: [group.arn],
      redactedFields: REDACTED_HEADERS.map((name) => ({ singleHeader: { name } })),
      dependsOn: [delivery],
    });
    return group;
  }
}
