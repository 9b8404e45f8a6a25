/**
 * A private S3 bucket with the defaults every bucket of this stack shares: owner-enforced
 * objects, all four public-access blocks, versioning, default encryption, TLS-only access,
 * and a lifecycle of the caller's choosing.
 */
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import {
  S3BucketLifecycleConfiguration,
  type S3BucketLifecycleConfigurationRule,
} from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { Fn, type ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { PropsError, checkMaxLength, checkPattern } from "./validation";

/**
 * Longest `bucket_prefix` S3 accepts: bucket names are at most 63 characters and Terraform
 * appends a 26-character unique suffix.
 */
export const MAX_BUCKET_NAME_PREFIX = 37;

export interface PrivateBucketProps {
  /**
   * Prefix of the generated bucket name: lower-case letters, digits, `.` and `-`, at most 37
   * characters. S3 bucket names are global; Terraform appends a unique suffix.
   */
  readonly namePrefix: string;
  /**
   * KMS key ARN for SSE-KMS (with an S3 bucket key).
   * @default - SSE-S3 (AES256), which is what ALB access logs require
   */
  readonly kmsKeyArn?: string;
  /**
   * Lifecycle rules (expiry, transitions), each with a unique id.
   * @default - no lifecycle configuration: objects and versions are kept
   */
  readonly lifecycleRules?: readonly S3BucketLifecycleConfigurationRule[];
  /**
   * Statements added to the bucket policy after the TLS-only denial, given the bucket's ARN.
   * @default - none
   */
  readonly extraStatements?: (bucketArn: string) => object[];
  /**
   * Refuse `terraform destroy` of the bucket (for buckets holding data nobody may lose).
   * @default false
   */
  readonly preventDestroy?: boolean;
}

export class PrivateBucket extends Construct {
  readonly bucket: S3Bucket;
  /** The bucket policy; things that need it in place (ALB access logs) depend on it. */
  readonly policy: ITerraformDependable;

  constructor(scope: Construct, id: string, props: PrivateBucketProps) {
    super(scope, id);
    checkMaxLength(this, "namePrefix", props.namePrefix, MAX_BUCKET_NAME_PREFIX, "S3 appends a 26-character suffix to a 63-character name");
    checkPattern(
      this,
      "namePrefix",
      props.namePrefix,
      /^[a-z0-9][a-z0-9.-]*$/,
      "lower-case letters, digits, '.' and '-' (S3 bucket naming)",
    );
    const ruleIds = (props.lifecycleRules ?? []).map((rule) => rule.id);
    const repeated = ruleIds.find((ruleId, index) => ruleIds.indexOf(ruleId) !== index);
    if (repeated !== undefined)
      throw new PropsError(this, `lifecycleRules has the id ${JSON.stringify(repeated)} twice; S3 needs unique ids`);

    this.bucket = new S3Bucket(this, "bucket", {
      bucketPrefix: props.namePrefix,
      // Never empty a bucket to delete it.
      forceDestroy: false,
      lifecycle: props.preventDestroy ? { preventDestroy: true } : undefined,
    });
    new S3BucketOwnershipControls(this, "ownership", {
      bucket: this.bucket.id,
      rule: { objectOwnership: "BucketOwnerEnforced" },
    });
    const publicAccess = new S3BucketPublicAccessBlock(this, "public-access", {
      bucket: this.bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketVersioningA(this, "versioning", {
      bucket: this.bucket.id,
      versioningConfiguration: { status: "Enabled" },
    });
    new S3BucketServerSideEncryptionConfigurationA(this, "encryption", {
      bucket: this.bucket.id,
      rule: [
        props.kmsKeyArn
          ? { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: props.kmsKeyArn }, bucketKeyEnabled: true }
          : { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
      ],
    });
    if (props.lifecycleRules?.length) {
      new S3BucketLifecycleConfiguration(this, "lifecycle", {
        bucket: this.bucket.id,
        rule: [...props.lifecycleRules],
      });
    }
    this.policy = new S3BucketPolicy(this, "policy", {
      bucket: this.bucket.id,
      policy: Fn.jsonencode({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [this.bucket.arn, `${this.bucket.arn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
          ...(props.extraStatements?.(this.bucket.arn) ?? []),
        ],
      }),
      // A policy PUT before the public-access block can race it.
      dependsOn: [publicAccess],
    });
  }
}
