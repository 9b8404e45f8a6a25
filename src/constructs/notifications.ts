/**
 * The fleet's one alarm topic: every alarm and the fleet's EventBridge rules (the rotation
 * reminder, a failed apply on the host, a failed backup job) publish to it, nothing else; the
 * operators' e-mail addresses (a plan-time variable) subscribe to it.
 */
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { Fn, TerraformIterator, Token } from "cdktf";
import { Construct } from "constructs";
import type { Fleet } from "../roster";
import { AwsEnvironment } from "./aws-environment";
import { checkMinCount, checkPattern } from "./validation";

/** What SNS accepts as an e-mail endpoint, roughly; the `alarm_emails` variable checks the same. */
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export interface NotificationsProps {
  /** The roster: the topic is `<project>-<environment>-alarms`. */
  readonly fleet: Fleet;
  /** Encrypts the topic. */
  readonly key: KmsKey;
  /** E-mail addresses subscribed to the topic, at least one (each must confirm its subscription). */
  readonly alarmEmails: string[];
}

export class Notifications extends Construct {
  readonly topic: SnsTopic;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    if (!Token.isUnresolved(props.alarmEmails)) {
      checkMinCount(this, "alarmEmails", props.alarmEmails, 1, "alarms and budget notifications need a recipient");
      for (const email of props.alarmEmails) checkPattern(this, "alarmEmails entry", email, EMAIL, "an e-mail address");
    }
    const aws = AwsEnvironment.of(this);

    this.topic = new SnsTopic(this, "alarms", {
      name: `${props.fleet.namePrefix}-alarms`,
      displayName: `${props.fleet.namePrefix} alarms`,
      kmsMasterKeyId: props.key.arn,
    });

    const email = TerraformIterator.fromList(props.alarmEmails);
    new SnsTopicSubscription(this, "email", {
      forEach: email,
      topicArn: this.topic.arn,
      protocol: "email",
      endpoint: email.value,
    });

    new SnsTopicPolicy(this, "policy", {
      arn: this.topic.arn,
      policy: Fn.jsonencode({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "AccountManagesTopic",
            Effect: "Allow",
            Principal: { AWS: "*" },
            Action: ["sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:ListSubscriptionsByTopic"],
            Resource: this.topic.arn,
            Condition: { StringEquals: { "AWS:SourceOwner": aws.account } },
          },
          {
            Sid: "AlarmsAndReminderPublish",
            Effect: "Allow",
            Principal: { Service: ["cloudwatch.amazonaws.com", "events.amazonaws.com"] },
            Action: "sns:Publish",
            Resource: this.topic.arn,
            Condition: { StringEquals: { "aws:SourceAccount": aws.account } },
          },
        ],
      }),
    });
  }
}
