/**
 * The fleet key's policy, attached once the key and the host role exist. It names the account,
 * which the stack reads from the key's own ARN (`AwsEnvironment`), so a separate policy resource
 * avoids the cycle a policy inside the key would create.
 */
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { KmsKeyPolicy } from "@cdktf/provider-aws/lib/kms-key-policy";
import { Fn } from "cdktf";
import { Construct } from "constructs";
import { logGroupNames } from "../naming";
import type { Fleet } from "../roster";
import { AwsEnvironment } from "./aws-environment";
import { hostKeyStatements } from "./host-key-use";
import { checkPattern } from "./validation";

export interface KeyPolicyProps {
  /** The roster: its log groups are the ones CloudWatch Logs may encrypt with the key. */
  readonly fleet: Fleet;
  /** The fleet key the policy is attached to. */
  readonly key: KmsKey;
  /**
   * ARN of the host's instance role: it decrypts secrets and encrypts what it writes, through the
   * services that store them.
   * @default - no host runs: the key policy names none
   */
  readonly hostRoleArn?: string;
  /** The host's instance id: the role may decrypt the data keys of Session Manager sessions on it. Given with hostRoleArn. */
  readonly hostInstanceId?: string;
  /**
   * Names of the fleet's Lambda functions' log groups, which CloudWatch Logs encrypts with the key too.
   * @default - none
   */
  readonly lambdaLogGroupNames?: readonly string[];
}

/** The log groups CloudWatch Logs encrypts with the fleet key: the fleet's, the flow logs, and the WAF's when it is on. */
function encryptedLogGroups(fleet: Fleet): string[] {
  const names = logGroupNames(fleet);
  return [names.all, names.flowLogs, ...(fleet.waf.enabled ? [names.waf] : [])];
}

export class KeyPolicy extends Construct {
  /** Resources that services encrypt with the key at creation (log groups) depend on this. */
  readonly policy: KmsKeyPolicy;

  constructor(scope: Construct, id: string, props: KeyPolicyProps) {
    super(scope, id);
    const { fleet, key } = props;
    if (props.hostRoleArn !== undefined) {
      checkPattern(this, "hostRoleArn", props.hostRoleArn, /^arn:aws[a-z-]*:iam::\d{12}:role\/\S+$/, "an IAM role ARN");
    }
    const aws = AwsEnvironment.of(this);
    const use = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"];

    this.policy = new KmsKeyPolicy(this, "fleet-key", {
      keyId: key.keyId,
      policy: Fn.jsonencode({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "AccountAdministersKeyThroughIam",
            Effect: "Allow",
            Principal: { AWS: aws.accountRootArn() },
            Action: "kms:*",
            Resource: "*",
          },
          // The same conditions as the role's own policy: the key policy must not grant more.
          ...(props.hostRoleArn && props.hostInstanceId
            ? hostKeyStatements({ aws, resource: "*", instanceId: props.hostInstanceId, principal: { AWS: props.hostRoleArn } })
            : []),
          {
            Sid: "CloudWatchLogsEncryptsFleetLogGroups",
            Effect: "Allow",
            Principal: { Service: `logs.${aws.region}.amazonaws.com` },
            Action: use,
            Resource: "*",
            Condition: {
              ArnLike: {
                "kms:EncryptionContext:aws:logs:arn": [...encryptedLogGroups(fleet), ...(props.lambdaLogGroupNames ?? [])].map((name) =>
                  aws.arn({ service: "logs", resource: `log-group:${name}` }),
                ),
              },
            },
          },
          {
            // The alarms publish to the encrypted SNS topic. CloudWatch names the alarm and its
            // account on the request, so only this fleet's alarms (all named <namePrefix>-...) of
            // this account may use the key, and no other account's alarm through it.
            Sid: "FleetAlarmsPublishToEncryptedTopic",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
            Resource: "*",
            Condition: {
              StringEquals: { "aws:SourceAccount": aws.account },
              ArnLike: { "aws:SourceArn": aws.arn({ service: "cloudwatch", resource: `alarm:${fleet.namePrefix}-*` }) },
            },
          },
          {
            // The event rules (rotation reminder, failed apply, failed backup) publish to the same
            // topic. No source condition: EventBridge's delivery to an encrypted topic carries none
            // of aws:SourceAccount, aws:SourceArn or aws:SourceOrgID, so a condition on them would drop
            // every notification; the topic policy limits which rules may publish.
            Sid: "EventRulesPublishToEncryptedTopic",
            Effect: "Allow",
            Principal: { Service: "events.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
            Resource: "*",
          },
        ],
      }),
    });
  }
}
