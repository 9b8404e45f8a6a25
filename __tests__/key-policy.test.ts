/**
 * KeyPolicy: the account administers the key through IAM, the host role uses it only through
 * Secrets Manager and S3 (and directly only for its own sessions' data keys), CloudWatch Logs may
 * encrypt only this fleet's log groups with it, and alarms may publish to the topic it encrypts.
 * The account comes from the stack's AwsEnvironment.
 */
import { KmsKeyPolicy } from "@cdktf/provider-aws/lib/kms-key-policy";
import { Testing } from "cdktf";
import type { Construct } from "constructs";
import { KeyPolicy, type KeyPolicyProps } from "../src/constructs/key-policy";
import { defaultFleet, editedFleet } from "./helpers/fleet";
import { parseDocument } from "./helpers/hcl-object";
import { ACCOUNT, refToOnly, standIns, synthLayer } from "./helpers/layer";
import { only } from "./helpers/synth";
import type { ProviderBlock } from "../src/terraform/plan-json";

const fleet = defaultFleet();
const HOST_ROLE = `arn:aws:iam::${ACCOUNT}:role/code-server-dev-host`;
const HOST = "i-0123456789abcdef0";
const keyPolicy = (scope: Construct, overrides: Partial<KeyPolicyProps> = {}) =>
  new KeyPolicy(scope, "key-policy", { fleet, key: standIns.key(scope), hostRoleArn: HOST_ROLE, hostInstanceId: HOST, ...overrides });

const { json, config } = synthLayer((scope) => {
  standIns.aws(scope);
  keyPolicy(scope);
});
const statements = parseDocument(only(config, "aws_kms_key_policy").policy as string).Statement as ProviderBlock[];
const sid = (name: string) => statements.find((s) => s.Sid === name);

describe("key policy", () => {
  it("is attached to the fleet key", () => {
    expect(json).toHaveResourceWithProperties(KmsKeyPolicy, { key_id: refToOnly(config, "aws_kms_key", "key_id") });
    expect(statements.map((s) => s.Sid)).toEqual([
      "AccountAdministersKeyThroughIam",
      "HostUsesFleetKeyThroughServices",
      "HostDecryptsItsSessionKeys",
      "CloudWatchLogsEncryptsFleetLogGroups",
      "FleetAlarmsPublishToEncryptedTopic",
      "EventRulesPublishToEncryptedTopic",
    ]);
  });

  it("lets the account administer the key through IAM", () => {
    expect(sid("AccountAdministersKeyThroughIam")).toMatchObject({ Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*" });
  });

  it("lets the host role decrypt and generate data keys only through Secrets Manager and S3 of the region", () => {
    expect(sid("HostUsesFleetKeyThroughServices")).toEqual({
      Sid: "HostUsesFleetKeyThroughServices",
      Effect: "Allow",
      Principal: { AWS: HOST_ROLE },
      Action: ["kms:Decrypt", "kms:GenerateDataKey"],
      Resource: "*",
      Condition: {
        StringEquals: { "kms:ViaService": ["secretsmanager.ap-southeast-7.amazonaws.com", "s3.ap-southeast-7.amazonaws.com"] },
      },
    });
  });

  it("lets the host role call KMS itself only to decrypt the data key of a session on the host", () => {
    expect(sid("HostDecryptsItsSessionKeys")).toEqual({
      Sid: "HostDecryptsItsSessionKeys",
      Effect: "Allow",
      Principal: { AWS: HOST_ROLE },
      Action: "kms:Decrypt",
      Resource: "*",
      Condition: { StringEquals: { "kms:EncryptionContext:aws:ssm:TargetId": HOST } },
    });
  });

  it("grants the host role nothing without a condition", () => {
    const host = statements.filter((s) => JSON.stringify(s.Principal ?? {}).includes(HOST_ROLE));
    expect(host).toHaveLength(2);
    for (const statement of host) expect(statement.Condition).toBeDefined();
  });

  it("lets CloudWatch Logs of the region encrypt only the fleet's log groups", () => {
    expect(sid("CloudWatchLogsEncryptsFleetLogGroups")).toMatchObject({
      Principal: { Service: "logs.ap-southeast-7.amazonaws.com" },
      Condition: {
        ArnLike: {
          "kms:EncryptionContext:aws:logs:arn": [
            `arn:aws:logs:ap-southeast-7:${ACCOUNT}:log-group:/aws/ec2/code-server/*`,
            `arn:aws:logs:ap-southeast-7:${ACCOUNT}:log-group:/aws/vpc/code-server/flow-logs`,
          ],
        },
      },
    });
  });

  it("adds the WAF's request log to the groups CloudWatch Logs may encrypt, when the roster turns the WAF on", () => {
    const { config: withWaf } = synthLayer((scope) => {
      standIns.aws(scope);
      keyPolicy(scope, { fleet: editedFleet((r) => (r.waf = { enabled: true })) });
    });
    const policy = parseDocument(only(withWaf, "aws_kms_key_policy").policy as string).Statement as ProviderBlock[];
    expect(
      policy.find((s) => s.Sid === "CloudWatchLogsEncryptsFleetLogGroups")?.Condition.ArnLike["kms:EncryptionContext:aws:logs:arn"],
    ).toEqual([
      `arn:aws:logs:ap-southeast-7:${ACCOUNT}:log-group:/aws/ec2/code-server/*`,
      `arn:aws:logs:ap-southeast-7:${ACCOUNT}:log-group:/aws/vpc/code-server/flow-logs`,
      `arn:aws:logs:ap-southeast-7:${ACCOUNT}:log-group:aws-waf-logs-code-server-dev`,
    ]);
  });

  it("lets CloudWatch publish to the encrypted topic only for this fleet's alarms in this account", () => {
    expect(sid("FleetAlarmsPublishToEncryptedTopic")).toEqual({
      Sid: "FleetAlarmsPublishToEncryptedTopic",
      Effect: "Allow",
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
      Resource: "*",
      Condition: {
        StringEquals: { "aws:SourceAccount": ACCOUNT },
        ArnLike: { "aws:SourceArn": `arn:aws:cloudwatch:ap-southeast-7:${ACCOUNT}:alarm:code-server-dev-*` },
      },
    });
  });

  it("lets EventBridge publish to the encrypted topic, with no source condition (EventBridge's KMS calls carry none)", () => {
    expect(sid("EventRulesPublishToEncryptedTopic")).toEqual({
      Sid: "EventRulesPublishToEncryptedTopic",
      Effect: "Allow",
      Principal: { Service: "events.amazonaws.com" },
      Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
      Resource: "*",
    });
  });

  it("grants no service but EventBridge the key without a condition", () => {
    const unconditional = statements.filter((s) => s.Condition === undefined).map((s) => s.Sid);
    expect(unconditional).toEqual(["AccountAdministersKeyThroughIam", "EventRulesPublishToEncryptedTopic"]);
  });

  it("uses the partition of the stack's region", () => {
    const { config: china } = synthLayer((scope) => {
      standIns.aws(scope, "cn-north-1");
      keyPolicy(scope, { hostRoleArn: `arn:aws-cn:iam::${ACCOUNT}:role/host` });
    });
    const policy = parseDocument(only(china, "aws_kms_key_policy").policy as string);
    expect(policy.Statement[0].Principal.AWS).toBe(`arn:aws-cn:iam::${ACCOUNT}:root`);
    expect(policy.Statement[1].Condition.StringEquals["kms:ViaService"]).toEqual([
      "secretsmanager.cn-north-1.amazonaws.com.cn",
      "s3.cn-north-1.amazonaws.com.cn",
    ]);
  });
});

describe("props validation", () => {
  it("refuses a host role that is not an IAM role ARN", () => {
    expect(() =>
      Testing.synthScope((scope) => {
        standIns.aws(scope);
        keyPolicy(scope, { hostRoleArn: "code-server-dev-host" });
      }),
    ).toThrow(/^KeyPolicy stack\/key-policy: hostRoleArn "code-server-dev-host" is not an IAM role ARN$/);
  });

  it("needs the stack's AwsEnvironment, and says so", () => {
    expect(() => Testing.synthScope((scope) => keyPolicy(scope))).toThrow(
      /^stack\/key-policy needs the stack's account and region, but stack stack has no AwsEnvironment: create one \(new AwsEnvironment\(stack, \{\.\.\.\}\)\) before its layers$/,
    );
  });
});
