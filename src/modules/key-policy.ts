/**
 * The fleet key's policy, attached once the key and the host role exist. It needs the account
 * id, which is read from the key's own ARN so that planning needs no AWS call (invariant 4);
 * a separate policy resource avoids the cycle that would create.
 */
import { KmsKeyPolicy } from "@cdktf/provider-aws/lib/kms-key-policy";
import { Fn } from "cdktf";
import { Construct } from "constructs";
import { logGroupNames, partitionOf } from "../naming";
import type { Fleet } from "../roster";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";

export interface KeyPolicyProps {
  readonly fleet: Fleet;
  readonly key: KmsKey;
  /** The host's instance role: it decrypts secrets and encrypts what it writes. */
  readonly hostRoleArn: string;
}

/** The account id of any ARN this stack creates (`arn:<partition>:<service>:<region>:<account>:...`). */
export function accountIdOf(arn: string): string {
  return Fn.element(Fn.split(":", arn), 4);
}

export class KeyPolicy extends Construct {
  /** Resources that services encrypt with the key at creation (log groups) depend on this. */
  readonly policy: KmsKeyPolicy;

  constructor(scope: Construct, id: string, props: KeyPolicyProps) {
    super(scope, id);
    const { fleet, key } = props;
    const partition = partitionOf(fleet.region);
    const account = accountIdOf(key.arn);
    const use = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"];

    this.policy = new KmsKeyPolicy(this, "policy", {
      keyId: key.keyId,
      policy: Fn.jsonencode({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "AccountAdministersKeyThroughIam",
            Effect: "Allow",
            Principal: { AWS: `arn:${partition}:iam::${account}:root` },
            Action: "kms:*",
            Resource: "*",
          },
          {
            Sid: "HostRoleUsesKey",
            Effect: "Allow",
            Principal: { AWS: props.hostRoleArn },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"],
            Resource: "*",
          },
          {
            Sid: "CloudWatchLogsEncryptsFleetLogGroups",
            Effect: "Allow",
            Principal: { Service: `logs.${fleet.region}.amazonaws.com` },
            Action: use,
            Resource: "*",
            Condition: {
              ArnLike: {
                "kms:EncryptionContext:aws:logs:arn": `arn:${partition}:logs:${fleet.region}:${account}:log-group:${logGroupNames(fleet).base}/*`,
              },
            },
          },
          {
            // Alarms and the rotation reminder publish to the encrypted SNS topic. No source
            // condition: CloudWatch alarm actions do not reliably carry one, and an alarm that
            // cannot encrypt is an alarm nobody receives; the topic policy limits who publishes.
            Sid: "AlarmsPublishToEncryptedTopic",
            Effect: "Allow",
            Principal: { Service: ["cloudwatch.amazonaws.com", "events.amazonaws.com"] },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
            Resource: "*",
          },
        ],
      }),
    });
  }
}
