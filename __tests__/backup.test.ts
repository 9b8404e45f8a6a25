/**
 * BackupLayer: AWS Backup snapshots of the data volume (selected by its tag) at 02:00 UTC keeping
 * 7 daily, 4 weekly and 3 monthly recovery points in a KMS-encrypted vault locked in governance
 * mode, and the archive bucket removed developers' workspaces go to, which the host may write and
 * read back but never delete.
 */
import { BackupPlan } from "@cdktf/provider-aws/lib/backup-plan";
import { BackupSelection } from "@cdktf/provider-aws/lib/backup-selection";
import { BackupVault } from "@cdktf/provider-aws/lib/backup-vault";
import { BackupVaultLockConfiguration } from "@cdktf/provider-aws/lib/backup-vault-lock-configuration";
import { BackupVaultPolicy } from "@cdktf/provider-aws/lib/backup-vault-policy";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLoggingA } from "@cdktf/provider-aws/lib/s3-bucket-logging";
import { S3BucketObjectLockConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-object-lock-configuration";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { Testing } from "cdktf";
import type { Construct } from "constructs";
import { BACKUP_RULES, BackupLayer, VAULT_LOCK_RETENTION_DAYS } from "../src/constructs/backup";
import { BACKUP_SELECTION_TAG, backupPlanName } from "../src/naming";
import type { Fleet } from "../src/roster";
import { defaultFleet } from "./helpers/fleet";
import { parseDocument } from "./helpers/hcl-object";
import { refToOnly, standIns, synthLayer } from "./helpers/layer";
import { only } from "./helpers/synth";
import type { ProviderBlock } from "../src/terraform/plan-json";

const fleet = defaultFleet();
function backup(scope: Construct, layerFleet: Fleet = fleet): BackupLayer {
  standIns.aws(scope);
  return new BackupLayer(scope, "backup", {
    fleet: layerFleet,
    key: standIns.key(scope),
    hostRoleName: "host-role",
    serverAccessLogs: { bucket: "fleet-s3-logs", prefix: "s3/archive/" },
  });
}

const { json, config } = synthLayer((scope) => backup(scope));
const keyArn = refToOnly(config, "aws_kms_key", "arn");

describe("snapshots", () => {
  it("run daily at 02:00 UTC, keeping 7 daily, 4 weekly (Sunday) and 3 monthly (the 1st) recovery points", () => {
    const plan = only(config, "aws_backup_plan");
    expect(plan.name).toBe(backupPlanName(fleet));
    expect(
      (plan.rule as ProviderBlock[]).map((r) => [r.rule_name, r.schedule, r.schedule_expression_timezone, r.lifecycle.delete_after]),
    ).toEqual([
      ["daily", "cron(0 2 * * ? *)", "Etc/UTC", 7],
      ["weekly", "cron(0 2 ? * SUN *)", "Etc/UTC", 28],
      ["monthly", "cron(0 2 1 * ? *)", "Etc/UTC", 90],
    ]);
    for (const rule of plan.rule as ProviderBlock[]) expect(rule.target_vault_name).toBe(refToOnly(config, "aws_backup_vault", "name"));
  });

  it("go to a vault encrypted with the fleet key that no destroy empties", () => {
    expect(json).toHaveResourceWithProperties(BackupVault, { name: "code-server-dev", kms_key_arn: keyArn, force_destroy: false });
  });

  it("select EBS volumes by the plan's tag, not by ARN, through a service role with AWS's backup and restore policies", () => {
    expect(json).toHaveResourceWithProperties(BackupSelection, {
      plan_id: refToOnly(config, "aws_backup_plan", "id"),
      iam_role_arn: refToOnly(config, "aws_iam_role", "arn"),
      // Resources AND Conditions: volumes of the account and region that carry the tag.
      resources: ["arn:aws:ec2:ap-southeast-7:123456789012:volume/*"],
      condition: [{ string_equals: [{ key: `aws:ResourceTag/${BACKUP_SELECTION_TAG}`, value: backupPlanName(fleet) }] }],
    });
    expect(only(config, "aws_backup_selection").selection_tag).toBeUndefined();
    for (const policy of ["AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores"]) {
      expect(json).toHaveResourceWithProperties(IamRolePolicyAttachment, { policy_arn: `arn:aws:iam::aws:policy/service-role/${policy}` });
    }
    expect(JSON.parse(only(config, "aws_iam_role").assume_role_policy as string).Statement[0].Principal).toEqual({
      Service: "backup.amazonaws.com",
    });
  });

  it("use the plan name the data volume's backup-plan tag records", () => {
    expect(json).toHaveResourceWithProperties(BackupPlan, { name: "code-server-dev-data-volume" });
  });

  it("are kept in a vault locked in governance mode, within exactly the rules' shortest and longest retention", () => {
    expect(VAULT_LOCK_RETENTION_DAYS).toEqual({ min: 7, max: 90 });
    expect(json).toHaveResourceWithProperties(BackupVaultLockConfiguration, {
      backup_vault_name: refToOnly(config, "aws_backup_vault", "name"),
      min_retention_days: 7,
      max_retention_days: 90,
    });
    // changeable_for_days would start compliance mode, which nobody can lift.
    expect(only(config, "aws_backup_vault_lock_configuration").changeable_for_days).toBeUndefined();
    for (const rule of BACKUP_RULES) {
      expect(rule.deleteAfterDays).toBeGreaterThanOrEqual(VAULT_LOCK_RETENTION_DAYS.min);
      expect(rule.deleteAfterDays).toBeLessThanOrEqual(VAULT_LOCK_RETENTION_DAYS.max);
    }
  });
});

describe("vault access policy", () => {
  const statements = () => parseDocument(only(config, "aws_backup_vault_policy").policy as string).Statement as ProviderBlock[];

  it("is attached to the vault", () => {
    expect(json).toHaveResourceWithProperties(BackupVaultPolicy, { backup_vault_name: refToOnly(config, "aws_backup_vault", "name") });
  });

  it("denies deleting a recovery point, or shortening its retention, to every principal", () => {
    expect(statements()).toEqual([
      {
        Sid: "NobodyDeletesRecoveryPoints",
        Effect: "Deny",
        Principal: { AWS: "*" },
        Action: ["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"],
        Resource: "*",
      },
    ]);
  });

  it("allows nothing and does not deny Terraform the policy itself (a deny of that would lock it forever)", () => {
    expect(statements().every((s) => s.Effect === "Deny")).toBe(true);
    const denied = statements().flatMap((s) => [s.Action].flat());
    expect(denied).not.toContainEqual(expect.stringMatching(/BackupVaultAccessPolicy|\*/));
  });
});

describe("archive bucket", () => {
  it("locks every archived version for a year (S3 Object Lock, governance mode), on a versioned bucket", () => {
    expect(json).toHaveResourceWithProperties(S3BucketObjectLockConfigurationA, {
      bucket: refToOnly(config, "aws_s3_bucket", "id"),
      object_lock_enabled: "Enabled",
      rule: { default_retention: { mode: "GOVERNANCE", days: 365 } },
    });
    const lock = only(config, "aws_s3_bucket_object_lock_configuration");
    expect(lock.depends_on).toEqual([expect.stringMatching(/^aws_s3_bucket_versioning\./)]);
  });

  it("is KMS-encrypted, cannot be destroyed, and moves archives to Glacier after 30 days without ever expiring them", () => {
    expect(json).toHaveResourceWithProperties(S3Bucket, {
      bucket_prefix: "code-server-dev-archive-",
      lifecycle: { prevent_destroy: true },
    });
    expect(json).toHaveResourceWithProperties(S3BucketServerSideEncryptionConfigurationA, {
      rule: [
        { apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: keyArn }, bucket_key_enabled: true },
      ],
    });
    const [rule, abort] = only(config, "aws_s3_bucket_lifecycle_configuration").rule as ProviderBlock[];
    expect(rule.transition).toEqual([{ days: 30, storage_class: "GLACIER" }]);
    expect(rule.expiration).toBeUndefined();
    expect(abort.abort_incomplete_multipart_upload).toEqual([{ days_after_initiation: 7 }]);
  });

  it("sends its S3 server access logs where it is told", () => {
    expect(json).toHaveResourceWithProperties(S3BucketLoggingA, {
      bucket: refToOnly(config, "aws_s3_bucket", "id"),
      target_bucket: "fleet-s3-logs",
      target_prefix: "s3/archive/",
    });
  });

  it("lets the host write archives and read them back, never delete them", () => {
    const policy = parseDocument(only(config, "aws_iam_role_policy").policy as string);
    expect(policy.Statement).toEqual([
      {
        Sid: "WriteAndVerifyWorkspaceArchives",
        Effect: "Allow",
        Action: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObject"],
        Resource: `${refToOnly(config, "aws_s3_bucket", "arn")}/*`,
      },
      {
        Sid: "EncryptArchives",
        Effect: "Allow",
        Action: ["kms:GenerateDataKey", "kms:Decrypt"],
        Resource: keyArn,
        // The key only through S3: never directly.
        Condition: { StringEquals: { "kms:ViaService": "s3.ap-southeast-7.amazonaws.com" } },
      },
    ]);
    expect(only(config, "aws_iam_role_policy").role).toBe("host-role");
  });
});

describe("props validation", () => {
  test.each<[string, string, RegExp]>([
    [
      "a vault name AWS Backup refuses",
      "x",
      /^BackupLayer stack\/backup: vault name \(fleet\.namePrefix\) "x" is not 2-50 letters, digits, '_', '\.' or '-' \(AWS Backup naming\)$/,
    ],
    [
      "a plan name longer than 50 characters",
      "p".repeat(40),
      /^BackupLayer stack\/backup: plan name "p{40}-data-volume" is not 2-50 letters, digits, '_', '\.' or '-' \(AWS Backup naming\)$/,
    ],
  ])("refuses %s", (_, namePrefix, message) => {
    expect(() => Testing.synthScope((scope) => backup(scope, { ...fleet, namePrefix }))).toThrow(message);
  });
});
