/**
 * An EventBridge rule that tells the alarm topic, in a sentence, about an event of an AWS service
 * that no CloudWatch metric reports: a failed apply on the host (State Manager), a failed backup
 * (AWS Backup). The topic's policy lets EventBridge publish, and the fleet key's policy lets it
 * encrypt for the topic (`Notifications`, `KeyPolicy`).
 */
import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import type { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import type { Construct } from "constructs";
import { check, checkMaxLength, checkPattern } from "./validation";

export interface EventNotificationProps {
  /** The rule's name in EventBridge, e.g. `<project>-<environment>-apply-failed`; at most 64 characters. */
  readonly name: string;
  /** What the rule matches, for the console. */
  readonly description: string;
  /** The EventBridge event pattern (`source`, `detail-type`, `detail`, ...). */
  readonly eventPattern: object;
  /** The topic told (the fleet's alarm topic). */
  readonly topic: SnsTopic;
  /**
   * Values the message quotes from the event, by placeholder: `{ time: "$.time" }` for `<time>`.
   * Every placeholder of `message` must be here, and every entry must be used.
   */
  readonly inputPaths: Readonly<Record<string, string>>;
  /** The notification's text, with `<placeholder>`s for `inputPaths`; sent as a JSON string, so it reads as plain text in the e-mail. */
  readonly message: string;
}

/** The rule and its target: `scope/<id>` and `scope/<id>-alarm`. */
export interface EventNotification {
  readonly rule: CloudwatchEventRule;
  readonly target: CloudwatchEventTarget;
}

/** EventBridge's rule names: letters, digits, `.`, `-` and `_`. */
const RULE_NAME = /^[.\-_A-Za-z0-9]+$/;
/** An input transformer's placeholder: `<name>`. */
const PLACEHOLDER = /<([A-Za-z0-9_.-]+)>/g;

/**
 * Creates, in `scope`, a rule `<id>` matching `eventPattern` and a target `<id>-alarm` that sends
 * `message`, with the event's values filled in, to `topic`.
 */
export function notifyOnEvent(scope: Construct, id: string, props: EventNotificationProps): EventNotification {
  checkMaxLength(scope, `${id} name`, props.name, 64, "EventBridge's limit on rule names");
  checkPattern(scope, `${id} name`, props.name, RULE_NAME, "an EventBridge rule name (letters, digits, '.', '-', '_')");
  const placeholders = new Set([...props.message.matchAll(PLACEHOLDER)].map((m) => m[1]));
  for (const placeholder of placeholders) {
    check(scope, placeholder in props.inputPaths, () => `${id} message has <${placeholder}>, which inputPaths does not define`);
  }
  for (const [name, path] of Object.entries(props.inputPaths)) {
    check(scope, placeholders.has(name), () => `${id} inputPaths has ${JSON.stringify(name)}, which the message never uses`);
    checkPattern(scope, `${id} inputPaths.${name}`, path, /^\$(\.[A-Za-z0-9_-]+)*$/, "a JSON path in dot notation ($.detail.name)");
  }

  const rule = new CloudwatchEventRule(scope, id, {
    name: props.name,
    description: props.description,
    eventPattern: JSON.stringify(props.eventPattern),
  });
  const target = new CloudwatchEventTarget(scope, `${id}-alarm`, {
    rule: rule.name,
    arn: props.topic.arn,
    inputTransformer: { inputPaths: { ...props.inputPaths }, inputTemplate: JSON.stringify(props.message) },
  });
  return { rule, target };
}
