/**
 * The sign-in gate's bundle for the developers' tasks: a private, KMS-encrypted bucket of the
 * fleet's ECS files holding it under a name derived from its content, uploaded from the file synth
 * writes beside the configuration (`StackFiles`). A task copies the bundle when it starts, so a new
 * gate (a new object; the old one becomes a noncurrent version, kept 30 days) reaches each developer
 * at their task's next start, which the new task definition brings.
 */
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { S3Object } from "@cdktf/provider-aws/lib/s3-object";
import { Construct } from "constructs";
import { gateFile } from "../../identity/gate-bundle";
import { AwsEnvironment } from "../../constructs/aws-environment";
import { PrivateBucket, type ServerAccessLogTarget } from "../../constructs/private-bucket";
import { StackFiles } from "../../constructs/stack-files";
import type { Fleet } from "../../roster";

/** Where in the bucket the gate's bundles are. */
const GATE_PREFIX = "gate/";

export interface GateFilesProps {
  /** The roster: the bucket is named after its prefix. */
  readonly fleet: Fleet;
  /** Encrypts the bucket. */
  readonly key: KmsKey;
  /** Where S3 delivers the bucket's access logs. */
  readonly serverAccessLogs: ServerAccessLogTarget;
}

export class GateFiles extends Construct {
  readonly bucket: PrivateBucket;
  readonly bundle: S3Object;
  /** `s3://<bucket>/<key>` of the bundle, as the AWS CLI takes it. */
  readonly bundleUrl: string;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: GateFilesProps,
  ) {
    super(scope, id);
    const file = StackFiles.of(this).fileOf("gate", gateFile);
    this.bucket = new PrivateBucket(this, "bucket", {
      namePrefix: `${props.fleet.namePrefix}-ecs-files-`,
      kmsKeyArn: props.key.arn,
      // A replaced bundle stays recoverable for a while, then goes.
      lifecycleRules: [
        { id: "old-gates", status: "Enabled", filter: [{ prefix: GATE_PREFIX }], noncurrentVersionExpiration: [{ noncurrentDays: 30 }] },
      ],
      serverAccessLogs: props.serverAccessLogs,
    });
    const key = `${GATE_PREFIX}${file.path.replace(/^assets\//, "")}`;
    this.bundle = new S3Object(this, "gate-bundle", {
      bucket: this.bucket.bucket.id,
      key,
      source: file.path,
      sourceHash: file.sha256Hex,
      contentType: "text/javascript; charset=utf-8",
    });
    this.bundleUrl = `s3://${this.bucket.bucket.id}/${key}`;
  }

  /** What a task role needs to copy the bundle: the one object, and the key only as S3 uses it for this bucket. */
  readStatements(): object[] {
    const aws = AwsEnvironment.of(this);
    return [
      { Sid: "ReadGateBundle", Effect: "Allow", Action: "s3:GetObject", Resource: `${this.bucket.bucket.arn}/${this.bundle.key}` },
      {
        Sid: "DecryptGateBundleThroughS3",
        Effect: "Allow",
        Action: "kms:Decrypt",
        Resource: this.props.key.arn,
        // With an S3 bucket key, S3 asks KMS in the bucket's name: its ARN is the encryption context.
        Condition: {
          StringEquals: { "kms:ViaService": aws.serviceEndpoint("s3"), "kms:EncryptionContext:aws:s3:arn": this.bucket.bucket.arn },
        },
      },
    ];
  }
}
