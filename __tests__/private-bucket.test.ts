/**
 * PrivateBucket: every bucket of the stack is owner-enforced, blocks all public access, is
 * versioned, encrypted (KMS when given a key, else SSE-S3), reachable only over TLS, never
 * emptied by a destroy, aborts incomplete multipart uploads, and logs its access where told.
 */
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketLoggingA } from "@cdktf/provider-aws/lib/s3-bucket-logging";
import { S3BucketObjectLockConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-object-lock-configuration";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { Testing } from "cdktf";
import { PrivateBucket, type PrivateBucketProps } from "../src/constructs/private-bucket";
import { parseDocument } from "./helpers/hcl-object";
import { refToOnly, standIns, synthLayer } from "./helpers/layer";
import { only } from "./helpers/synth";

const { json, config } = synthLayer((scope) => new PrivateBucket(scope, "bucket", { namePrefix: "fleet-logs-" }));
const bucketId = refToOnly(config, "aws_s3_bucket", "id");
const bucketArn = refToOnly(config, "aws_s3_bucket", "arn");

describe("defaults", () => {
  it("generates its name from the prefix and is never force-destroyed", () => {
    expect(json).toHaveResourceWithProperties(S3Bucket, { bucket_prefix: "fleet-logs-", force_destroy: false });
    expect(only(config, "aws_s3_bucket").lifecycle).toBeUndefined();
  });

  it("enforces bucket-owner objects and blocks every kind of public access", () => {
    expect(json).toHaveResourceWithProperties(S3BucketOwnershipControls, {
      bucket: bucketId,
      rule: { object_ownership: "BucketOwnerEnforced" },
    });
    expect(json).toHaveResourceWithProperties(S3BucketPublicAccessBlock, {
      bucket: bucketId,
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
  });

  it("is versioned and encrypted with SSE-S3 when given no key", () => {
    expect(json).toHaveResourceWithProperties(S3BucketVersioningA, { versioning_configuration: { status: "Enabled" } });
    expect(json).toHaveResourceWithProperties(S3BucketServerSideEncryptionConfigurationA, {
      rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } }],
    });
  });

  it("refuses plain HTTP, and its policy waits for the public-access block", () => {
    const policy = only(config, "aws_s3_bucket_policy");
    expect(parseDocument(policy.policy as string).Statement).toEqual([
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ]);
    expect(policy.depends_on).toEqual([refToOnly(config, "aws_s3_bucket_public_access_block", "id").slice(2, -4)]);
  });

  it("aborts incomplete multipart uploads after 7 days, and keeps everything else", () => {
    expect(json).toHaveResourceWithProperties(S3BucketLifecycleConfiguration, {
      bucket: bucketId,
      rule: [
        {
          id: "abort-incomplete-multipart-uploads",
          status: "Enabled",
          filter: [{ prefix: "" }],
          abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }],
        },
      ],
    });
  });

  it("has no Object Lock unless asked (it cannot be turned off again)", () => {
    expect(config.resource.aws_s3_bucket_object_lock_configuration).toBeUndefined();
    expect(json).not.toHaveResource(S3BucketObjectLockConfigurationA);
  });

  it("sends no server access logs unless told where (a log bucket must not log itself)", () => {
    expect(json).not.toHaveResource(S3BucketLoggingA);
  });
});

describe("options", () => {
  const { json: custom, config: customConfig } = synthLayer((scope) => {
    const key = standIns.key(scope);
    new PrivateBucket(scope, "bucket", {
      namePrefix: "fleet-archive-",
      kmsKeyArn: key.arn,
      preventDestroy: true,
      lifecycleRules: [{ id: "expire", status: "Enabled", filter: [{ prefix: "" }], expiration: [{ days: 7 }] }],
      abortIncompleteUploadsAfterDays: 1,
      serverAccessLogs: { bucket: "fleet-s3-logs", prefix: "s3/archive/" },
      objectLock: { mode: "COMPLIANCE", days: 30 },
      extraStatements: (arn) => [
        { Sid: "Extra", Effect: "Allow", Principal: { Service: "logging.s3.amazonaws.com" }, Action: "s3:PutObject", Resource: `${arn}/*` },
      ],
    });
  });

  it("encrypts with the given KMS key and an S3 bucket key", () => {
    expect(custom).toHaveResourceWithProperties(S3BucketServerSideEncryptionConfigurationA, {
      rule: [
        {
          apply_server_side_encryption_by_default: {
            sse_algorithm: "aws:kms",
            kms_master_key_id: refToOnly(customConfig, "aws_kms_key", "arn"),
          },
          bucket_key_enabled: true,
        },
      ],
    });
  });

  it("refuses destroy when asked, and applies the given lifecycle rules beside the abort rule", () => {
    expect(custom).toHaveResourceWithProperties(S3Bucket, { lifecycle: { prevent_destroy: true } });
    expect(custom).toHaveResourceWithProperties(S3BucketLifecycleConfiguration, {
      rule: [
        { id: "expire", status: "Enabled", filter: [{ prefix: "" }], expiration: [{ days: 7 }] },
        {
          id: "abort-incomplete-multipart-uploads",
          status: "Enabled",
          filter: [{ prefix: "" }],
          abort_incomplete_multipart_upload: [{ days_after_initiation: 1 }],
        },
      ],
    });
  });

  it("turns on Object Lock with the given default retention once versioning is on", () => {
    expect(custom).toHaveResourceWithProperties(S3BucketObjectLockConfigurationA, {
      bucket: refToOnly(customConfig, "aws_s3_bucket", "id"),
      object_lock_enabled: "Enabled",
      rule: { default_retention: { mode: "COMPLIANCE", days: 30 } },
      depends_on: [`aws_s3_bucket_versioning.${Object.keys(customConfig.resource.aws_s3_bucket_versioning)[0]}`],
    });
  });

  it("sends its server access logs to the given bucket and prefix", () => {
    expect(custom).toHaveResourceWithProperties(S3BucketLoggingA, {
      bucket: refToOnly(customConfig, "aws_s3_bucket", "id"),
      target_bucket: "fleet-s3-logs",
      target_prefix: "s3/archive/",
    });
  });

  it("adds the caller's statements after the TLS-only denial", () => {
    const statements = parseDocument(only(customConfig, "aws_s3_bucket_policy").policy as string).Statement as {
      Sid: string;
      Resource: unknown;
    }[];
    expect(statements.map((s) => s.Sid)).toEqual(["DenyInsecureTransport", "Extra"]);
    expect(statements[1].Resource).toBe(`${refToOnly(customConfig, "aws_s3_bucket", "arn")}/*`);
  });
});

describe("props validation", () => {
  test.each<[string, PrivateBucketProps, RegExp]>([
    [
      "a name prefix longer than 37 characters",
      { namePrefix: `${"a".repeat(37)}-` },
      /^PrivateBucket stack\/bucket: namePrefix "a{37}-" is 38 characters; the limit is 37 \(S3 appends a 26-character suffix to a 63-character name\)$/,
    ],
    [
      "an upper-case name prefix",
      { namePrefix: "Fleet-" },
      /^PrivateBucket stack\/bucket: namePrefix "Fleet-" is not lower-case letters, digits, '\.' and '-' \(S3 bucket naming\)$/,
    ],
    [
      "two lifecycle rules with one id",
      {
        namePrefix: "fleet-",
        lifecycleRules: [
          { id: "expire", status: "Enabled" },
          { id: "expire", status: "Enabled" },
        ],
      },
      /^PrivateBucket stack\/bucket: lifecycleRules has the id "expire" twice; S3 needs unique ids$/,
    ],
    [
      "a lifecycle rule of its own that aborts uploads",
      {
        namePrefix: "fleet-",
        lifecycleRules: [{ id: "abort", status: "Enabled", abortIncompleteMultipartUpload: [{ daysAfterInitiation: 3 }] }],
      },
      /^PrivateBucket stack\/bucket: lifecycleRules "abort" aborts incomplete uploads; every bucket does that already: set abortIncompleteUploadsAfterDays instead$/,
    ],
    [
      "a rule id the abort rule has",
      { namePrefix: "fleet-", lifecycleRules: [{ id: "abort-incomplete-multipart-uploads", status: "Enabled" }] },
      /^PrivateBucket stack\/bucket: lifecycleRules has the id "abort-incomplete-multipart-uploads" reserved for the rule every bucket gets; S3 needs unique ids$/,
    ],
    [
      "no abort at all",
      { namePrefix: "fleet-", abortIncompleteUploadsAfterDays: 0 },
      /^PrivateBucket stack\/bucket: abortIncompleteUploadsAfterDays 0 must be a whole number of days from 1 to 365$/,
    ],
    [
      "an access-log prefix without a trailing slash",
      { namePrefix: "fleet-", serverAccessLogs: { bucket: "logs", prefix: "s3/archive" } },
      /^PrivateBucket stack\/bucket: serverAccessLogs\.prefix "s3\/archive" is not a key prefix ending in \/$/,
    ],
    [
      "an Object Lock of no days",
      { namePrefix: "fleet-", objectLock: { mode: "GOVERNANCE", days: 0 } },
      /^PrivateBucket stack\/bucket: objectLock\.days 0 must be a whole number of days from 1 to 36500$/,
    ],
  ])("refuses %s", (_, props, message) => {
    expect(() => Testing.synthScope((scope) => new PrivateBucket(scope, "bucket", props))).toThrow(message);
  });
});
