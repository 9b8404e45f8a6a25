/**
 * A backup that fails reaches the operators (issue 12: "the alarms that still matter (budget,
 * backup failures) keep theirs"): an EventBridge rule on AWS Backup's job events of this fleet's
 * vault, sent to the alarm topic as a sentence, which the topic's and the key's policies let
 * EventBridge publish. Also the helper both event rules (failed apply, failed backup) are built with.
 */
import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { Testing } from "cdktf";
import type { Construct } from "constructs";
import { BackupLayer, backupJobFailedEventPattern } from "../src/constructs/backup";
import { notifyOnEvent, type EventNotificationProps } from "../src/constructs/event-notification";
import { defaultFleet } from "./helpers/fleet";
import { parseDocument } from "./helpers/hcl-object";
import { refToOnly, standIns, synthLayer } from "./helpers/layer";
import { synthStack } from "./helpers/synth";
import type { ProviderBlock } from "../src/terraform/plan-json";

const fleet = defaultFleet();
function backup(scope: Construct, failureTopic?: SnsTopic): BackupLayer {
  standIns.aws(scope);
  return new BackupLayer(scope, "backup", { fleet, key: standIns.key(scope), hostRoleName: "host-role", failureTopic });
}

/** Whether `event` matches `pattern`, for the exact-value patterns these rules use (EventBridge's matching, reduced to that). */
function matches(pattern: ProviderBlock, event: ProviderBlock): boolean {
  return Object.entries(pattern).every(([key, wanted]) =>
    Array.isArray(wanted)
      ? wanted.includes(event[key])
      : typeof event[key] === "object" && matches(wanted as ProviderBlock, event[key] as ProviderBlock),
  );
}

/** What EventBridge sends the topic: the template with each `<name>` replaced by the value at its path. */
function transform(transformer: ProviderBlock, event: ProviderBlock): string {
  // Every value these rules quote is a string in the event.
  const valueAt = (path: string): string =>
    path
      .replace(/^\$\.?/, "")
      .split(".")
      .filter(Boolean)
      .reduce<ProviderBlock>((v, k) => v?.[k], event) as unknown as string;
  const text = (transformer.input_template as string).replace(/<([^>]+)>/g, (_, name: string) => valueAt(transformer.input_paths[name]));
  return JSON.parse(text) as string;
}

/** A Backup Job State Change event as AWS Backup sends it (the fields the rule and message read). */
function backupJobEvent(state: string, vault: string): ProviderBlock {
  return {
    version: "0",
    "detail-type": "Backup Job State Change",
    source: "aws.backup",
    account: "123456789012",
    time: "2026-12-01T02:41:07Z",
    region: "ap-southeast-7",
    detail: {
      backupJobId: "4a1b2c3d-0000-4000-8000-123456789abc",
      backupVaultName: vault,
      resourceArn: "arn:aws:ec2:ap-southeast-7:123456789012:volume/vol-0123456789abcdef0",
      resourceType: "EBS",
      state,
      statusMessage: "Insufficient privileges to perform this action.",
    },
  };
}

describe("the backup layer, with a failure topic", () => {
  const { json, config } = synthLayer((scope) => backup(scope, new SnsTopic(scope, "alarms")));
  const rule = Object.values<ProviderBlock>(config.resource.aws_cloudwatch_event_rule)[0];
  const target = Object.values<ProviderBlock>(config.resource.aws_cloudwatch_event_target)[0];
  const vaultName = refToOnly(config, "aws_backup_vault", "name");

  it("matches the backup jobs of its own vault that end FAILED, ABORTED or EXPIRED", () => {
    expect(rule.name).toBe("code-server-dev-backup-failed");
    expect(JSON.parse(rule.event_pattern as string)).toEqual({
      source: ["aws.backup"],
      "detail-type": ["Backup Job State Change"],
      detail: { state: ["FAILED", "ABORTED", "EXPIRED"], backupVaultName: [vaultName] },
    });
  });

  it("tells the topic", () => {
    expect(target.rule).toBe(refToOnly(config, "aws_cloudwatch_event_rule", "name"));
    expect(target.arn).toBe(refToOnly(config, "aws_sns_topic", "arn"));
  });

  it("has no rule without a topic", () => {
    expect(synthLayer((scope) => backup(scope)).json).not.toHaveResource(CloudwatchEventRule);
    expect(json).toHaveResource(CloudwatchEventRule);
  });
});

describe("in the stack", () => {
  const config = synthStack(fleet);
  const at = (type: string, name: string) => {
    const found = (config.resource[type] as ProviderBlock | undefined)?.[name] as ProviderBlock | undefined;
    if (!found) throw new Error(`no ${type}.${name}`);
    return found;
  };
  const rule = at("aws_cloudwatch_event_rule", "backup_job-failed");
  const target = at("aws_cloudwatch_event_target", "backup_job-failed-alarm");
  const pattern = JSON.parse(rule.event_pattern as string) as ProviderBlock;
  const vault = at("aws_backup_vault", "backup_vault").name as string;

  it("watches the vault the plan's rules back up to", () => {
    expect(pattern.detail.backupVaultName).toEqual(["${aws_backup_vault.backup_vault.name}"]);
    for (const backupRule of at("aws_backup_plan", "backup_plan").rule as ProviderBlock[]) {
      expect(backupRule.target_vault_name).toBe("${aws_backup_vault.backup_vault.name}");
    }
  });

  it("matches a failed, aborted or expired job of the fleet's vault, and nothing else", () => {
    const resolved = backupJobFailedEventPattern(vault) as ProviderBlock;
    expect({ ...pattern, detail: { ...pattern.detail, backupVaultName: [vault] } }).toEqual(resolved);
    for (const state of ["FAILED", "ABORTED", "EXPIRED"])
      expect([state, matches(resolved, backupJobEvent(state, vault))]).toEqual([state, true]);
    for (const state of ["CREATED", "RUNNING", "COMPLETED"])
      expect([state, matches(resolved, backupJobEvent(state, vault))]).toEqual([state, false]);
    expect(matches(resolved, backupJobEvent("FAILED", "another-fleet"))).toBe(false);
    expect(matches(resolved, { ...backupJobEvent("FAILED", vault), "detail-type": "Copy Job State Change" })).toBe(false);
  });

  it("sends the alarm topic a sentence that says what failed, when, why, and what to do", () => {
    expect(target.arn).toBe("${aws_sns_topic.notifications_alarms.arn}");
    expect(transform(target.input_transformer as ProviderBlock, backupJobEvent("EXPIRED", vault))).toBe(
      "code-server-dev: the backup of the data volume ended EXPIRED at 2026-12-01T02:41:07Z: Insufficient privileges to perform this action. " +
        "(job 4a1b2c3d-0000-4000-8000-123456789abc, volume arn:aws:ec2:ap-southeast-7:123456789012:volume/vol-0123456789abcdef0). " +
        "That run left no recovery point in the vault code-server-dev. Look at the job in the AWS Backup console; " +
        "for a snapshot now, run scripts/backup.sh on the host. See docs/operator-guide.md#backups-and-restore.",
    );
  });

  it("may publish to the encrypted topic: the topic policy and the key policy let EventBridge do it", () => {
    const topicPolicy = parseDocument(at("aws_sns_topic_policy", "notifications_policy").policy as string);
    expect(topicPolicy.Statement as ProviderBlock[]).toContainEqual(
      expect.objectContaining({
        Effect: "Allow",
        Principal: { Service: expect.arrayContaining(["events.amazonaws.com"]) },
        Action: "sns:Publish",
        Resource: "${aws_sns_topic.notifications_alarms.arn}",
      }),
    );
    const keyPolicy = parseDocument(at("aws_kms_key_policy", "key-policy_fleet-key").policy as string);
    // No source condition: EventBridge's delivery to an encrypted topic carries none to match.
    expect(keyPolicy.Statement as ProviderBlock[]).toContainEqual({
      Sid: "EventRulesPublishToEncryptedTopic",
      Effect: "Allow",
      Principal: { Service: "events.amazonaws.com" },
      Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
      Resource: "*",
    });
    expect(at("aws_sns_topic", "notifications_alarms").kms_master_key_id).toBe("${aws_kms_key.secrets_key.arn}");
  });
});

describe("notifyOnEvent, the helper of both event rules", () => {
  const props = (overrides: Partial<EventNotificationProps>) => (scope: Construct) =>
    notifyOnEvent(scope, "thing-failed", {
      name: "fleet-thing-failed",
      description: "A thing failed.",
      eventPattern: { source: ["aws.thing"] },
      topic: new SnsTopic(scope, "alarms"),
      inputPaths: { what: "$.detail.what" },
      message: "fleet: <what> failed.",
      ...overrides,
    });

  it("builds the rule <id> and its target <id>-alarm", () => {
    const { config } = synthLayer(props({}));
    expect(Object.keys(config.resource.aws_cloudwatch_event_rule as ProviderBlock)).toEqual(["thing-failed"]);
    expect(Object.keys(config.resource.aws_cloudwatch_event_target as ProviderBlock)).toEqual(["thing-failed-alarm"]);
    expect((config.resource.aws_cloudwatch_event_target as ProviderBlock)["thing-failed-alarm"].input_transformer).toEqual({
      input_paths: { what: "$.detail.what" },
      input_template: '"fleet: <what> failed."',
    });
  });

  test.each<[string, Partial<EventNotificationProps>, RegExp]>([
    [
      "a placeholder without a path",
      { message: "<what> failed at <time>." },
      /thing-failed message has <time>, which inputPaths does not define$/,
    ],
    [
      "a path the message never uses",
      { inputPaths: { what: "$.detail.what", when: "$.time" } },
      /inputPaths has "when", which the message never uses$/,
    ],
    [
      "a path in bracket notation",
      { inputPaths: { what: "$['detail']" } },
      /inputPaths\.what "\$\['detail'\]" is not a JSON path in dot notation/,
    ],
    ["a name EventBridge refuses", { name: "fleet thing failed" }, /name "fleet thing failed" is not an EventBridge rule name/],
    ["a name too long", { name: "x".repeat(65) }, /is 65 characters; the limit is 64 \(EventBridge's limit on rule names\)$/],
  ])("refuses %s", (_, overrides, message) => {
    expect(() => Testing.synthScope(props(overrides))).toThrow(message);
  });
});
