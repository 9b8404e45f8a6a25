/**
 * The fleet's one alarm topic: every alarm, the rotation reminder and nothing else publish to
 * it; the operators' e-mail addresses (a plan-time variable) subscribe to it.
 */
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { Fn, TerraformIterator } from "cdktf";
import { Construct } from "constructs";
import type { Fleet } from "../roster";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { accountIdOf } from "./key-policy";

export interface NotificationsProps {
  readonly fleet: Fleet;
  readonly key: KmsKey;
  /** E-mail addresses subscribed to the topic (each must confirm). */
  readonly emails: string[];
}

export class Notifications extends Construct {
  readonly topic: SnsTopic;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    this.topic = new SnsTopic(this, "alarms", {
      name: `${props.fleet.namePrefix}-alarms`,
      displayName: `${props.fleet.namePrefix} alarms`,
      kmsMasterKeyId: props.key.arn,
    });

    const email = TerraformIterator.fromList(props.emails);
    new SnsTopicSubscription(this, "email", {
      forEach: email,
      topicArn: this.topic.arn,
      protocol: "email",
      endpoint: email.value,
    });

    const account = accountIdOf(this.topic.arn);
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
            Condition: { StringEquals: { "AWS:SourceOwner": account } },
          },
          {
            Sid: "AlarmsAndReminderPublish",
            Effect: "Allow",
            Principal: { Service: ["cloudwatch.amazonaws.com", "events.amazonaws.com"] },
            Action: "sns:Publish",
            Resource: this.topic.arn,
            Condition: { StringEquals: { "aws:SourceAccount": account } },
          },
        ],
      }),
    });
  }
}
