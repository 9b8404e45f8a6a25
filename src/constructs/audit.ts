/**
 * Audit layer: the records of what happened, kept where the host cannot rewrite them.
 * - S3 server access logs of the fleet's buckets, in a log bucket of their own (SSE-S3: S3
 *   cannot deliver access logs to a KMS-encrypted bucket), expired after 90 days. The log bucket
 *   does not log itself: each delivery would log another.
 * - VPC flow logs of every interface of the VPC, to a CloudWatch log group encrypted with the
 *   fleet key, with the fleet's log retention. Outside the groups the host may write.
 * - Session Manager preferences as a fleet-specific Session document: sessions are streamed to a
 *   KMS-encrypted log group and the session data is encrypted with the fleet key. Operators open
 *   sessions with `aws ssm start-session --document-name <namePrefix>-session` (the account's
 *   own SSM-SessionManagerRunShell may exist already and belongs to every workload of the account).
 */
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { FlowLog } from "@cdktf/provider-aws/lib/flow-log";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { SsmDocument } from "@cdktf/provider-aws/lib/ssm-document";
import type { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { Fn, type ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { logGroupNames, sessionDocumentName } from "../naming";
import type { Fleet } from "../roster";
import { AwsEnvironment } from "./aws-environment";
import { LOG_RETENTION_DAYS, VARIABLES } from "./inputs";
import { PrivateBucket, type ServerAccessLogTarget } from "./private-bucket";
import { checkMaxLength, checkOneOf, checkWholeRange } from "./validation";

/** Key prefix of the S3 server access logs in the log bucket: `s3/<bucket purpose>/`. */
export const S3_ACCESS_LOG_PREFIX = "s3/";
/** Days S3 server access logs are kept. */
export const S3_ACCESS_LOG_RETENTION_DAYS = 90;
/** Seconds over which a flow log aggregates packets into a record: 600 is AWS's default and the cheapest. */
export const FLOW_LOG_AGGREGATION_SECONDS = 600;
/** Minutes an idle Session Manager session stays open. */
export const SESSION_IDLE_TIMEOUT_MINUTES = 20;

export interface AuditLayerProps {
  /** The roster: names of the log bucket, the flow-log role and the session document. */
  readonly fleet: Fleet;
  /** Encrypts the flow-log and session log groups, and the sessions' data. */
  readonly key: KmsKey;
  /** The key's policy: CloudWatch Logs must be allowed to use the key before a group is created with it. */
  readonly keyPolicy: ITerraformDependable;
  /** The VPC whose traffic is logged. */
  readonly vpc: Vpc;
  /**
   * Days the flow-log and session log groups keep events, one of the values CloudWatch Logs accepts.
   * @default 30
   */
  readonly logRetentionDays?: number;
  /**
   * Minutes an idle session stays open, 1 to 60 (Session Manager's range).
   * @default 20
   */
  readonly sessionIdleTimeoutMinutes?: number;
}

export class AuditLayer extends Construct {
  /** Receives the S3 server access logs of the fleet's other buckets. */
  readonly accessLogs: PrivateBucket;
  readonly flowLogGroup: CloudwatchLogGroup;
  readonly flowLog: FlowLog;
  readonly sessionLogGroup: CloudwatchLogGroup;
  /** The Session document operators pass to `aws ssm start-session --document-name`. */
  readonly sessionDocument: SsmDocument;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: AuditLayerProps,
  ) {
    super(scope, id);
    const { fleet } = props;
    const logRetentionDays = props.logRetentionDays ?? VARIABLES.log_retention_days.default;
    const idleMinutes = props.sessionIdleTimeoutMinutes ?? SESSION_IDLE_TIMEOUT_MINUTES;
    checkOneOf(this, "logRetentionDays", logRetentionDays, LOG_RETENTION_DAYS);
    checkWholeRange(this, "sessionIdleTimeoutMinutes", idleMinutes, 1, 60, "minutes");
    const names = logGroupNames(fleet);

    this.accessLogs = this.accessLogBucket();
    this.flowLogGroup = this.logGroup("flow-log-group", names.flowLogs, logRetentionDays);
    this.flowLog = this.flowLogs();
    this.sessionLogGroup = this.logGroup("session-log-group", names.sessions, logRetentionDays);
    this.sessionDocument = this.sessionPreferences(idleMinutes);
  }

  /** The bucket that receives the S3 server access logs of the fleet's other buckets. */
  private accessLogBucket(): PrivateBucket {
    const { fleet } = this.props;
    const aws = AwsEnvironment.of(this);
    return new PrivateBucket(this, "access-logs", {
      namePrefix: `${fleet.namePrefix}-s3-logs-`,
      lifecycleRules: [
        {
          id: "expire-access-logs",
          status: "Enabled",
          filter: [{ prefix: S3_ACCESS_LOG_PREFIX }],
          expiration: [{ days: S3_ACCESS_LOG_RETENTION_DAYS }],
          noncurrentVersionExpiration: [{ noncurrentDays: 7 }],
        },
      ],
      abortIncompleteUploadsAfterDays: 1,
      extraStatements: (bucketArn) => [
        {
          // The fleet's buckets are named <project>-<environment>-...; their names exist only after apply.
          Sid: "S3WritesFleetAccessLogs",
          Effect: "Allow",
          Principal: { Service: "logging.s3.amazonaws.com" },
          Action: "s3:PutObject",
          Resource: `${bucketArn}/${S3_ACCESS_LOG_PREFIX}*`,
          Condition: {
            StringEquals: { "aws:SourceAccount": aws.account },
            ArnLike: { "aws:SourceArn": aws.arn({ service: "s3", region: "", account: "", resource: `${fleet.namePrefix}-*` }) },
          },
        },
      ],
    });
  }

  /** A log group encrypted with the fleet key whose records outlive the environment until their retention ends. */
  private logGroup(groupId: string, name: string, retentionInDays: number): CloudwatchLogGroup {
    return new CloudwatchLogGroup(this, groupId, {
      name,
      retentionInDays,
      kmsKeyId: this.props.key.arn,
      // Records outlive the environment until their retention ends (no data lost on deploy).
      skipDestroy: true,
      dependsOn: [this.props.keyPolicy],
    });
  }

  /** The VPC's flow logs, delivered to their group by a role of their own. */
  private flowLogs(): FlowLog {
    const { fleet } = this.props;
    const aws = AwsEnvironment.of(this);
    const roleName = `${fleet.namePrefix}-flow-logs`;
    checkMaxLength(this, "flow-log role name", roleName, 64, "IAM's limit on role names");
    const flowLogRole = new IamRole(this, "flow-log-role", {
      name: roleName,
      description: `VPC flow logs of ${fleet.namePrefix} deliver to CloudWatch Logs`,
      assumeRolePolicy: Fn.jsonencode({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: "vpc-flow-logs.amazonaws.com" },
            Action: "sts:AssumeRole",
            Condition: {
              StringEquals: { "aws:SourceAccount": aws.account },
              ArnLike: { "aws:SourceArn": aws.arn({ service: "ec2", resource: "vpc-flow-log/*" }) },
            },
          },
        ],
      }),
    });
    new IamRolePolicy(this, "flow-log-delivery", {
      name: "deliver-flow-logs",
      role: flowLogRole.id,
      policy: Fn.jsonencode({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "WriteFlowLogGroup",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            Resource: [this.flowLogGroup.arn, `${this.flowLogGroup.arn}:log-stream:*`],
          },
          // The delivery checks the group exists; DescribeLogGroups has no useful resource scope.
          { Sid: "FindFlowLogGroup", Effect: "Allow", Action: "logs:DescribeLogGroups", Resource: "*" },
        ],
      }),
    });
    return new FlowLog(this, "flow-log", {
      vpcId: this.props.vpc.id,
      trafficType: "ALL",
      logDestinationType: "cloud-watch-logs",
      logDestination: this.flowLogGroup.arn,
      iamRoleArn: flowLogRole.arn,
      maxAggregationInterval: FLOW_LOG_AGGREGATION_SECONDS,
      tags: { Name: `${fleet.namePrefix}-vpc` },
    });
  }

  /** The Session Manager preferences: sessions logged to their group and encrypted with the fleet key. */
  private sessionPreferences(idleMinutes: number): SsmDocument {
    const { fleet, key } = this.props;
    const names = logGroupNames(fleet);
    return new SsmDocument(this, "session-preferences", {
      name: sessionDocumentName(fleet),
      documentType: "Session",
      documentFormat: "JSON",
      content: JSON.stringify({
        schemaVersion: "1.0",
        description: `Session Manager preferences of ${fleet.namePrefix}: sessions logged to ${names.sessions}, encrypted with the fleet key.`,
        sessionType: "Standard_Stream",
        inputs: {
          s3BucketName: "",
          s3KeyPrefix: "",
          s3EncryptionEnabled: true,
          cloudWatchLogGroupName: this.sessionLogGroup.name,
          // The agent refuses to log to the group unless it is encrypted.
          cloudWatchEncryptionEnabled: true,
          cloudWatchStreamingEnabled: true,
          // The session's data is encrypted end to end with a data key of this key.
          kmsKeyId: key.keyId,
          runAsEnabled: false,
          runAsDefaultUser: "",
          idleSessionTimeout: String(idleMinutes),
          maxSessionDuration: "",
          shellProfile: { windows: "", linux: "" },
        },
      }),
    });
  }

  /** Where the bucket for `purpose` (a lower-case word such as `archive`) sends its S3 server access logs. */
  serverAccessLogsFor(purpose: string): ServerAccessLogTarget {
    return { bucket: this.accessLogs.bucket.id, prefix: `${S3_ACCESS_LOG_PREFIX}${purpose}/` };
  }
}
