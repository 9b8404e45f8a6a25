/**
 * A private S3 bucket with the defaults every bucket of this stack shares: owner-enforced
 * objects, all four public-access blocks, versioning, default encryption, TLS-only access,
 * incomplete multipart uploads aborted, server access logs when given a log bucket, and a
 * lifecycle of the caller's choosing.
 */
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import {
  S3BucketLifecycleConfiguration,
  type S3BucketLifecycleConfigurationRule,
} from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketLoggingA } from "@cdktf/provider-aws/lib/s3-bucket-logging";
import { S3BucketObjectLockConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-object-lock-configuration";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { Fn, type ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { PropsError, checkMaxLength, checkPattern, checkWholeRange } from "./validation";

/**
 * Longest `bucket_prefix` S3 accepts: bucket names are at most 63 characters and Terraform
 * appends a 26-character unique suffix.
 */
export const MAX_BUCKET_NAME_PREFIX = 37;
/** Id of the lifecycle rule every bucket gets: incomplete multipart uploads are aborted. */
export const ABORT_UPLOADS_RULE_ID = "abort-incomplete-multipart-uploads";

/** S3 Object Lock's default retention of every new object version (write once, read many). */
export interface ObjectLockRetention {
  /**
   * GOVERNANCE: nobody deletes or overwrites a locked version early without
   * s3:BypassGovernanceRetention; COMPLIANCE: nobody at all, and the retention cannot be shortened.
   */
  readonly mode: "GOVERNANCE" | "COMPLIANCE";
  /** Days each new object version stays locked, 1 to 36500. */
  readonly days: number;
}

/** Where a bucket's server access logs go. */
export interface ServerAccessLogTarget {
  /** Name of the log bucket (SSE-S3; S3 cannot deliver access logs to a KMS-encrypted bucket). */
  readonly bucket: string;
  /** Key prefix of this bucket's logs in it, ending in `/`. */
  readonly prefix: string;
}

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
   * Lifecycle rules (expiry, transitions), each with a unique id. None may abort incomplete
   * uploads: every bucket does that already (`abortIncompleteUploadsAfterDays`).
   * @default - only the rule that aborts incomplete uploads: objects and versions are kept
   */
  readonly lifecycleRules?: readonly S3BucketLifecycleConfigurationRule[];
  /**
   * Days after which an incomplete multipart upload is aborted (its parts are billed until then), 1 to 365.
   * @default 7
   */
  readonly abortIncompleteUploadsAfterDays?: number;
  /**
   * Where S3 delivers this bucket's server access logs.
   * @default - none (the log bucket itself must not log into itself)
   */
  readonly serverAccessLogs?: ServerAccessLogTarget;
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
  /**
   * Turn on S3 Object Lock with this default retention (for buckets holding data nobody may
   * delete). It cannot be turned off again, and a bucket with it cannot receive server access logs.
   * @default - no Object Lock
   */
  readonly objectLock?: ObjectLockRetention;
}

export class PrivateBucket extends Construct {
  readonly bucket: S3Bucket;
  /** The bucket policy; things that need it in place (ALB access logs) depend on it. */
  readonly policy: ITerraformDependable;

  constructor(scope: Construct, id: string, props: PrivateBucketProps) {
    super(scope, id);
    const abortAfterDays = this.checkProps(props);

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
    const versioning = new S3BucketVersioningA(this, "versioning", {
      bucket: this.bucket.id,
      versioningConfiguration: { status: "Enabled" },
    });
    if (props.objectLock) {
      checkWholeRange(this, "objectLock.days", props.objectLock.days, 1, 36500, "days");
      // S3 turns Object Lock on for an existing bucket too, once versioning is on.
      new S3BucketObjectLockConfigurationA(this, "object-lock", {
        bucket: this.bucket.id,
        objectLockEnabled: "Enabled",
        rule: { defaultRetention: { mode: props.objectLock.mode, days: props.objectLock.days } },
        dependsOn: [versioning],
      });
    }
    new S3BucketServerSideEncryptionConfigurationA(this, "encryption", {
      bucket: this.bucket.id,
      rule: [
        props.kmsKeyArn
          ? { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: props.kmsKeyArn }, bucketKeyEnabled: true }
          : { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
      ],
    });
    new S3BucketLifecycleConfiguration(this, "lifecycle", {
      bucket: this.bucket.id,
      rule: [
        ...(props.lifecycleRules ?? []),
        // Parts of an upload that never completes are stored, and billed, until they are aborted.
        {
          id: ABORT_UPLOADS_RULE_ID,
          status: "Enabled",
          filter: [{ prefix: "" }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: abortAfterDays }],
        },
      ],
    });
    if (props.serverAccessLogs) {
      new S3BucketLoggingA(this, "access-logging", {
        bucket: this.bucket.id,
        targetBucket: props.serverAccessLogs.bucket,
        targetPrefix: props.serverAccessLogs.prefix,
      });
    }
    this.policy = this.tlsOnlyPolicy(props, publicAccess);
  }

  /** The props' problems, named (nothing is created for bad props); the days after which uploads are aborted. */
  private checkProps(props: PrivateBucketProps): number {
    checkMaxLength(this, "namePrefix", props.namePrefix, MAX_BUCKET_NAME_PREFIX, "S3 appends a 26-character suffix to a 63-character name");
    checkPattern(
      this,
      "namePrefix",
      props.namePrefix,
      /^[a-z0-9][a-z0-9.-]*$/,
      "lower-case letters, digits, '.' and '-' (S3 bucket naming)",
    );
    const abortAfterDays = props.abortIncompleteUploadsAfterDays ?? 7;
    checkWholeRange(this, "abortIncompleteUploadsAfterDays", abortAfterDays, 1, 365, "days");
    const ruleIds = [ABORT_UPLOADS_RULE_ID, ...(props.lifecycleRules ?? []).map((rule) => rule.id)];
    const repeated = ruleIds.find((ruleId, index) => ruleIds.indexOf(ruleId) !== index);
    if (repeated !== undefined) {
      throw new PropsError(
        this,
        `lifecycleRules has the id ${JSON.stringify(repeated)} ${repeated === ABORT_UPLOADS_RULE_ID ? "reserved for the rule every bucket gets" : "twice"}; S3 needs unique ids`,
      );
    }
    const aborting = (props.lifecycleRules ?? []).find((rule) => rule.abortIncompleteMultipartUpload !== undefined);
    if (aborting) {
      throw new PropsError(
        this,
        `lifecycleRules ${JSON.stringify(aborting.id)} aborts incomplete uploads; every bucket does that already: set abortIncompleteUploadsAfterDays instead`,
      );
    }
    if (props.serverAccessLogs)
      checkPattern(this, "serverAccessLogs.prefix", props.serverAccessLogs.prefix, /^[a-z0-9][a-z0-9/._-]*\/$/, "a key prefix ending in /");
    return abortAfterDays;
  }

  /** The bucket policy: TLS only, then the props' own statements. */
  private tlsOnlyPolicy(props: PrivateBucketProps, publicAccess: S3BucketPublicAccessBlock): S3BucketPolicy {
    return new S3BucketPolicy(this, "policy", {
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
