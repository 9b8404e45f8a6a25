/**
 * AuditLayer: S3 server access logs into a log bucket of their own, VPC flow logs into a
 * KMS-encrypted log group the host cannot write, and the fleet's Session Manager document that
 * logs and encrypts sessions.
 */
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { FlowLog } from "@cdktf/provider-aws/lib/flow-log";
import { KmsKeyPolicy } from "@cdktf/provider-aws/lib/kms-key-policy";
import { S3BucketLoggingA } from "@cdktf/provider-aws/lib/s3-bucket-logging";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { SsmDocument } from "@cdktf/provider-aws/lib/ssm-document";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { TerraformStack, Testing } from "cdktf";
import { resolve } from "cdktf/lib/_tokens";
import type { Construct } from "constructs";
import { AuditLayer, type AuditLayerProps } from "../src/constructs/audit";
import { logGroupNames, sessionDocumentName } from "../src/naming";
import { defaultFleet } from "./helpers/fleet";
import { parseDocument } from "./helpers/hcl-object";
import { ACCOUNT, refToOnly, standIns, synthLayer } from "./helpers/layer";
import { only, resources } from "./helpers/synth";
import type { ProviderBlock } from "../src/terraform/plan-json";

const fleet = defaultFleet();
let layer!: AuditLayer;
function audit(scope: Construct, overrides: Partial<AuditLayerProps> = {}): AuditLayer {
  standIns.aws(scope);
  const key = standIns.key(scope);
  return new AuditLayer(scope, "audit", {
    fleet,
    key,
    keyPolicy: new KmsKeyPolicy(scope, "key-policy", { keyId: key.keyId, policy: "{}" }),
    vpc: new Vpc(scope, "vpc", { cidrBlock: "10.40.0.0/16" }),
    ...overrides,
  });
}
const { json, config } = synthLayer((scope) => {
  layer = audit(scope);
});
const keyArn = refToOnly(config, "aws_kms_key", "arn");
const group = (name: string) => resources(config, "aws_cloudwatch_log_group").find(([, g]) => g.name === name)![1];

describe("S3 server access logs", () => {
  const bucketArn = refToOnly(config, "aws_s3_bucket", "arn");

  it("go to a log bucket of their own, SSE-S3 (S3 delivers access logs to no KMS bucket), kept 90 days", () => {
    expect(json).toHaveResourceWithProperties(S3BucketServerSideEncryptionConfigurationA, {
      rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } }],
    });
    const [expire, abort] = only(config, "aws_s3_bucket_lifecycle_configuration").rule as ProviderBlock[];
    expect(expire).toMatchObject({
      filter: [{ prefix: "s3/" }],
      expiration: [{ days: 90 }],
      noncurrent_version_expiration: [{ noncurrent_days: 7 }],
    });
    expect(abort.abort_incomplete_multipart_upload).toEqual([{ days_after_initiation: 1 }]);
  });

  it("are written by S3's log delivery of this account's fleet buckets only, under s3/", () => {
    const statements = parseDocument(only(config, "aws_s3_bucket_policy").policy as string).Statement as ProviderBlock[];
    expect(statements.find((s) => s.Sid === "S3WritesFleetAccessLogs")).toEqual({
      Sid: "S3WritesFleetAccessLogs",
      Effect: "Allow",
      Principal: { Service: "logging.s3.amazonaws.com" },
      Action: "s3:PutObject",
      Resource: `${bucketArn}/s3/*`,
      Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT }, ArnLike: { "aws:SourceArn": "arn:aws:s3:::code-server-dev-*" } },
    });
  });

  it("are not logged into the log bucket itself, and each other bucket gets its own prefix", () => {
    expect(json).not.toHaveResource(S3BucketLoggingA);
    const target = layer.serverAccessLogsFor("archive");
    expect(target.prefix).toBe("s3/archive/");
    expect(resolve(TerraformStack.of(layer), target.bucket)).toBe(refToOnly(config, "aws_s3_bucket", "id"));
  });
});

describe("VPC flow logs", () => {
  it("log all traffic of the VPC, 10-minute records, to a log group the fleet key encrypts", () => {
    expect(json).toHaveResourceWithProperties(FlowLog, {
      vpc_id: refToOnly(config, "aws_vpc", "id"),
      traffic_type: "ALL",
      log_destination_type: "cloud-watch-logs",
      log_destination: `\${aws_cloudwatch_log_group.${resources(config, "aws_cloudwatch_log_group").find(([, g]) => g.name === logGroupNames(fleet).flowLogs)![0]}.arn}`,
      max_aggregation_interval: 600,
    });
    expect(group("/aws/vpc/code-server/flow-logs")).toMatchObject({ kms_key_id: keyArn, retention_in_days: 30, skip_destroy: true });
  });

  it("go to a group outside the ones the host may write (/aws/ec2/<project>/*)", () => {
    expect(logGroupNames(fleet).flowLogs.startsWith(logGroupNames(fleet).all.slice(0, -1))).toBe(false);
  });

  it("are delivered by a role only the flow-log service of this account may assume, writing only that group", () => {
    const role = only(config, "aws_iam_role");
    expect(parseDocument(role.assume_role_policy as string).Statement).toEqual([
      {
        Effect: "Allow",
        Principal: { Service: "vpc-flow-logs.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: {
          StringEquals: { "aws:SourceAccount": ACCOUNT },
          ArnLike: { "aws:SourceArn": `arn:aws:ec2:ap-southeast-7:${ACCOUNT}:vpc-flow-log/*` },
        },
      },
    ]);
    const groupArn = only(config, "aws_flow_log").log_destination as string;
    const statements = parseDocument(only(config, "aws_iam_role_policy").policy as string).Statement as ProviderBlock[];
    expect(statements).toEqual([
      {
        Sid: "WriteFlowLogGroup",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
        Resource: [groupArn, `${groupArn}:log-stream:*`],
      },
      { Sid: "FindFlowLogGroup", Effect: "Allow", Action: "logs:DescribeLogGroups", Resource: "*" },
    ]);
  });
});

describe("Session Manager", () => {
  const document = only(config, "aws_ssm_document");
  const preferences = JSON.parse(document.content as string) as ProviderBlock;

  it("has the fleet's own Session document, not the account's SSM-SessionManagerRunShell", () => {
    expect(json).toHaveResourceWithProperties(SsmDocument, {
      name: sessionDocumentName(fleet),
      document_type: "Session",
      document_format: "JSON",
    });
    expect(sessionDocumentName(fleet)).toBe("code-server-dev-session");
    expect(preferences.sessionType).toBe("Standard_Stream");
  });

  it("streams sessions to an encrypted log group and encrypts their data with the fleet key", () => {
    const sessions = resources(config, "aws_cloudwatch_log_group").find(([, g]) => g.name === logGroupNames(fleet).sessions)!;
    expect(preferences.inputs).toMatchObject({
      cloudWatchLogGroupName: `\${aws_cloudwatch_log_group.${sessions[0]}.name}`,
      cloudWatchEncryptionEnabled: true,
      cloudWatchStreamingEnabled: true,
      kmsKeyId: refToOnly(config, "aws_kms_key", "key_id"),
      runAsEnabled: false,
      idleSessionTimeout: "20",
    });
    expect(sessions[1]).toMatchObject({ kms_key_id: keyArn, retention_in_days: 30, skip_destroy: true });
  });

  it("creates both log groups only once the key policy lets CloudWatch Logs use the key", () => {
    for (const [, g] of resources(config, "aws_cloudwatch_log_group"))
      expect(g.depends_on).toEqual([refToOnly(config, "aws_kms_key_policy", "id").slice(2, -4)]);
    expect(json).toHaveResourceWithProperties(CloudwatchLogGroup, { name: logGroupNames(fleet).sessions });
  });
});

describe("props validation", () => {
  test.each<[string, Partial<AuditLayerProps>, RegExp]>([
    [
      "a retention CloudWatch Logs refuses",
      { logRetentionDays: 10 },
      /^AuditLayer stack\/audit: logRetentionDays 10 is not one of 1, 3, 5, 7, 14, 30,/,
    ],
    [
      "an idle timeout beyond Session Manager's hour",
      { sessionIdleTimeoutMinutes: 61 },
      /^AuditLayer stack\/audit: sessionIdleTimeoutMinutes 61 must be a whole number of minutes from 1 to 60$/,
    ],
  ])("refuses %s", (_, overrides, message) => {
    expect(() => Testing.synthScope((scope) => audit(scope, overrides))).toThrow(message);
  });
});
