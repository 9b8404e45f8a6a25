/**
 * Notifications: one KMS-encrypted topic, an e-mail subscription per address of the variable,
 * and a topic policy that lets only this account and its alarms publish.
 */
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { TerraformVariable, Testing } from "cdktf";
import type { Construct } from "constructs";
import { Notifications, type NotificationsProps } from "../src/constructs/notifications";
import { defaultFleet } from "./helpers/fleet";
import { parseDocument } from "./helpers/hcl-object";
import { ACCOUNT, refToOnly, standIns, synthLayer } from "./helpers/layer";
import { only } from "./helpers/synth";
import type { ProviderBlock } from "../src/terraform/plan-json";

const fleet = defaultFleet();
const notifications = (scope: Construct, overrides: Partial<NotificationsProps> = {}) =>
  new Notifications(scope, "notifications", { fleet, key: standIns.key(scope), alarmEmails: ["ops@example.com"], ...overrides });

const { json, config } = synthLayer((scope) => {
  standIns.aws(scope);
  notifications(scope, { alarmEmails: new TerraformVariable(scope, "alarm-emails", { type: "list(string)" }).listValue });
});
const topicArn = refToOnly(config, "aws_sns_topic", "arn");

describe("alarm topic", () => {
  it("is encrypted with the fleet key", () => {
    expect(json).toHaveResourceWithProperties(SnsTopic, {
      name: "code-server-dev-alarms",
      kms_master_key_id: refToOnly(config, "aws_kms_key", "arn"),
    });
  });

  it("subscribes every address of the alarm e-mails, one subscription each", () => {
    expect(json).toHaveResourceWithProperties(SnsTopicSubscription, {
      for_each: "${toset(var.alarm-emails)}",
      topic_arn: topicArn,
      protocol: "email",
      endpoint: "${each.value}",
    });
  });

  it("lets only this account manage it, and only its alarms and reminder publish", () => {
    const statements = parseDocument(only(config, "aws_sns_topic_policy").policy as string).Statement as ProviderBlock[];
    expect(statements).toEqual([
      expect.objectContaining({
        Sid: "AccountManagesTopic",
        Resource: topicArn,
        Condition: { StringEquals: { "AWS:SourceOwner": ACCOUNT } },
      }),
      expect.objectContaining({
        Sid: "AlarmsAndReminderPublish",
        Principal: { Service: ["cloudwatch.amazonaws.com", "events.amazonaws.com"] },
        Action: "sns:Publish",
        Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT } },
      }),
    ]);
  });
});

describe("props validation", () => {
  test.each<[string[], RegExp]>([
    [
      [],
      /^Notifications stack\/notifications: alarmEmails has 0 entries; at least 1 are needed \(alarms and budget notifications need a recipient\)$/,
    ],
    [["ops"], /^Notifications stack\/notifications: alarmEmails entry "ops" is not an e-mail address$/],
  ])("refuses alarm e-mails %j", (alarmEmails, message) => {
    expect(() =>
      Testing.synthScope((scope) => {
        standIns.aws(scope);
        notifications(scope, { alarmEmails });
      }),
    ).toThrow(message);
  });
});
