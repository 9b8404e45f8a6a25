/**
 * Backup layer: AWS Backup snapshots of the data volume at 02:00 UTC keeping 7 daily,
 * 4 weekly and 3 monthly recovery points in a KMS-encrypted vault, and the archive bucket
 * where removed developers' workspaces (and on-demand workspace copies) are kept for good.
 *
 * AWS Backup rather than DLM: one vault with its own key and access policy, restore jobs and
 * a console view of every recovery point, and retention rules that read as daily, weekly and monthly. The
 * plan selects the data volume by its tag, not its ARN, so a volume swapped in by restore.sh is
 * backed up without a deploy; the vault is locked in governance mode within the rules' retention,
 * and its access policy denies deleting a recovery point to everyone. Archived workspaces are
 * kept under S3 Object Lock.
 */
import { BackupPlan } from "@cdktf/provider-aws/lib/backup-plan";
import { BackupSelection } from "@cdktf/provider-aws/lib/backup-selection";
import { BackupVault } from "@cdktf/provider-aws/lib/backup-vault";
import { BackupVaultLockConfiguration } from "@cdktf/provider-aws/lib/backup-vault-lock-configuration";
import { BackupVaultPolicy } from "@cdktf/provider-aws/lib/backup-vault-policy";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { Fn } from "cdktf";
import { Construct } from "constructs";
import { BACKUP_SELECTION_TAG, GUIDE_LINKS, backupPlanName } from "../naming";
import type { Fleet } from "../roster";
import { AwsEnvironment } from "./aws-environment";
import { type EventNotification, notifyOnEvent } from "./event-notification";
import { PrivateBucket, type ServerAccessLogTarget } from "./private-bucket";
import { checkMaxLength, checkPattern } from "./validation";

/** Daily at 02:00 UTC; 7 daily, 4 weekly, 3 monthly recovery points. */
export const BACKUP_RULES = [
  { name: "daily", schedule: "cron(0 2 * * ? *)", deleteAfterDays: 7 },
  { name: "weekly", schedule: "cron(0 2 ? * SUN *)", deleteAfterDays: 28 },
  { name: "monthly", schedule: "cron(0 2 1 * ? *)", deleteAfterDays: 90 },
] as const;
/** Minutes a backup job may wait to start, and to finish, after 02:00. */
const START_WINDOW_MINUTES = 60;
const COMPLETION_WINDOW_MINUTES = 24 * 60;
/** Archived workspaces move to Glacier Flexible Retrieval after this many days; they are never expired. */
export const ARCHIVE_TRANSITION_DAYS = 30;
/**
 * Every archived workspace version is locked (S3 Object Lock) this long after its upload: nobody
 * deletes or overwrites it without s3:BypassGovernanceRetention. Governance, not compliance: a
 * workspace may hold personal data someone has the right to have erased.
 */
export const ARCHIVE_LOCK = { mode: "GOVERNANCE", days: 365 } as const;
/**
 * What the vault's access policy denies to everyone: deleting a recovery point, and shortening its
 * retention so that AWS Backup deletes it early. The plan's lifecycle still expires them.
 */
export const VAULT_DENIED_ACTIONS = ["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"] as const;
/** AWS Backup's rule for vault and plan names. */
const BACKUP_NAME = /^[A-Za-z0-9_.-]{2,50}$/;

export interface BackupLayerProps {
  /** The roster: the vault is named `<project>-<environment>`. */
  readonly fleet: Fleet;
  /** Encrypts the recovery points and the archive bucket. */
  readonly key: KmsKey;
  /**
   * Name of the host's IAM role: it uploads removed developers' workspaces to the archive bucket.
   * @default - no host runs
   */
  readonly hostRoleName?: string;
  /**
   * Whether the homes are on EFS (ECS runs): the plan then backs up the file system that carries its
   * tag, as it backs up the host's data volume.
   * @default false
   */
  readonly homesOnEfs?: boolean;
  /**
   * Where the archive bucket's S3 server access logs go.
   * @default - none
   */
  readonly serverAccessLogs?: ServerAccessLogTarget;
  /**
   * The topic told when a backup job of the vault fails, is aborted or expires (did not start in
   * its window).
   * @default - none: a failed backup shows only in the AWS Backup console
   */
  readonly failureTopic?: SnsTopic;
}

/** The backup job states that leave the day without a recovery point. */
export const FAILED_BACKUP_JOB_STATES = ["FAILED", "ABORTED", "EXPIRED"] as const;

/**
 * The events AWS Backup sends when a backup job of the vault `vaultName` ends without a recovery
 * point. Only backup jobs: the plan makes no copies, and a restore (restore.sh) creates a volume
 * from the snapshot with EC2, not an AWS Backup restore job.
 */
export function backupJobFailedEventPattern(vaultName: string) {
  return {
    source: ["aws.backup"],
    "detail-type": ["Backup Job State Change"],
    detail: { state: [...FAILED_BACKUP_JOB_STATES], backupVaultName: [vaultName] },
  };
}

/** The vault lock's bounds: exactly the shortest and the longest retention of the plan's rules. */
export const VAULT_LOCK_RETENTION_DAYS = {
  min: Math.min(...BACKUP_RULES.map((rule) => rule.deleteAfterDays)),
  max: Math.max(...BACKUP_RULES.map((rule) => rule.deleteAfterDays)),
} as const;

export class BackupLayer extends Construct {
  readonly vault: BackupVault;
  readonly vaultLock: BackupVaultLockConfiguration;
  /** Denies deleting recovery points, or shortening their retention, to everyone. */
  readonly vaultPolicy: BackupVaultPolicy;
  readonly plan: BackupPlan;
  readonly archive: PrivateBucket;
  /** Tells the topic about a failed backup job; present when `failureTopic` is given. */
  readonly jobFailed?: EventNotification;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: BackupLayerProps,
  ) {
    super(scope, id);
    const { fleet } = props;
    const planName = backupPlanName(fleet);
    const roleName = `${fleet.namePrefix}-backup`;
    checkPattern(
      this,
      "vault name (fleet.namePrefix)",
      fleet.namePrefix,
      BACKUP_NAME,
      "2-50 letters, digits, '_', '.' or '-' (AWS Backup naming)",
    );
    checkPattern(this, "plan name", planName, BACKUP_NAME, "2-50 letters, digits, '_', '.' or '-' (AWS Backup naming)");
    checkMaxLength(this, "backup role name", roleName, 64, "IAM's limit on role names");

    this.vault = new BackupVault(this, "vault", {
      name: fleet.namePrefix,
      kmsKeyArn: props.key.arn,
      // Recovery points are data: the vault is never emptied by a destroy.
      forceDestroy: false,
    });
    // Governance mode (no changeable_for_days): recovery points cannot be deleted early or kept
    // beyond the plan's rules, except by whoever may lift the lock (backup:DeleteBackupVaultLockConfiguration).
    // Not compliance mode: after its grace days nobody, AWS included, can lift or change it, so the
    // plan's retention could never change again and the vault never be deleted before the last point expires.
    this.vaultLock = new BackupVaultLockConfiguration(this, "vault-lock", {
      backupVaultName: this.vault.name,
      minRetentionDays: VAULT_LOCK_RETENTION_DAYS.min,
      maxRetentionDays: VAULT_LOCK_RETENTION_DAYS.max,
    });
    // Denied to every principal, the account's administrators included: only a change of this
    // policy (backup:PutBackupVaultAccessPolicy, which Terraform needs and so stays allowed) lifts it.
    this.vaultPolicy = new BackupVaultPolicy(this, "vault-policy", {
      backupVaultName: this.vault.name,
      policy: Fn.jsonencode({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "NobodyDeletesRecoveryPoints",
            Effect: "Deny",
            Principal: { AWS: "*" },
            Action: [...VAULT_DENIED_ACTIONS],
            Resource: "*",
          },
        ],
      }),
    });
    this.plan = new BackupPlan(this, "plan", {
      name: planName,
      rule: BACKUP_RULES.map((rule) => ({
        ruleName: rule.name,
        targetVaultName: this.vault.name,
        schedule: rule.schedule,
        scheduleExpressionTimezone: "Etc/UTC",
        startWindow: START_WINDOW_MINUTES,
        completionWindow: COMPLETION_WINDOW_MINUTES,
        lifecycle: { deleteAfter: rule.deleteAfterDays },
        recoveryPointTags: { "backup-rule": rule.name },
      })),
    });

    if (props.failureTopic) this.jobFailed = this.notifyJobFailures(props.failureTopic);

    this.selectTaggedVolumes(planName, roleName);

    this.archive = new PrivateBucket(this, "archive", {
      namePrefix: `${fleet.namePrefix}-archive-`,
      kmsKeyArn: props.key.arn,
      preventDestroy: true,
      objectLock: ARCHIVE_LOCK,
      lifecycleRules: [
        {
          id: "archive-workspaces",
          status: "Enabled",
          filter: [{ prefix: "" }],
          transition: [{ days: ARCHIVE_TRANSITION_DAYS, storageClass: "GLACIER" }],
        },
      ],
      serverAccessLogs: props.serverAccessLogs,
    });
    // The host writes archives and never deletes them.
    if (props.hostRoleName) this.hostWritesArchives(props.hostRoleName);
  }

  /** Tells the topic about every backup job of the vault that fails, is aborted or expires. */
  private notifyJobFailures(topic: SnsTopic): EventNotification {
    const { fleet } = this.props;
    // Not a metric alarm: it must notify whatever the host is doing (the backup runs at 02:00 UTC,
    // often while a scheduled host sleeps), and the event says which job failed and why.
    return notifyOnEvent(this, "job-failed", {
      name: `${fleet.namePrefix}-backup-failed`,
      description: `A backup job of the ${fleet.namePrefix} vault failed, was aborted or expired: no recovery point for that run.`,
      eventPattern: backupJobFailedEventPattern(this.vault.name),
      topic,
      inputPaths: {
        state: "$.detail.state",
        reason: "$.detail.statusMessage",
        job: "$.detail.backupJobId",
        resource: "$.detail.resourceArn",
        time: "$.time",
      },
      message:
        `${fleet.namePrefix}: the backup of the data volume ended <state> at <time>: <reason> ` +
        `(job <job>, volume <resource>). That run left no recovery point in the vault ${fleet.namePrefix}. ` +
        `Look at the job in the AWS Backup console; for a snapshot now, run scripts/backup.sh on the host. ` +
        `See ${GUIDE_LINKS.backups}.`,
    });
  }

  /** The service role AWS Backup runs as, and what it backs up: whatever carries the plan's tag. */
  private selectTaggedVolumes(planName: string, roleName: string): void {
    const { fleet, homesOnEfs } = this.props;
    const aws = AwsEnvironment.of(this);
    const role = new IamRole(this, "role", {
      name: roleName,
      description: `AWS Backup service role of ${fleet.namePrefix}`,
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "backup.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
    });
    for (const policy of ["AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores"]) {
      new IamRolePolicyAttachment(this, `role-${policy}`, {
        role: role.name,
        policyArn: aws.managedPolicyArn(`service-role/${policy}`),
      });
    }
    // Every EBS volume of the account and region that carries the plan's tag: the data volume, or
    // the one a restore swapped in. Both conditions must hold (Resources AND Conditions).
    new BackupSelection(this, "data-volume", {
      name: `${fleet.namePrefix}-data-volume`,
      planId: this.plan.id,
      iamRoleArn: role.arn,
      resources: [aws.arn({ service: "ec2", resource: "volume/*" })],
      condition: [{ stringEquals: [{ key: `aws:ResourceTag/${BACKUP_SELECTION_TAG}`, value: planName }] }],
    });

    if (homesOnEfs) {
      // The homes' file system, selected by the same tag: whichever file system carries it is backed up.
      new BackupSelection(this, "homes", {
        name: `${fleet.namePrefix}-homes`,
        planId: this.plan.id,
        iamRoleArn: role.arn,
        resources: [aws.arn({ service: "elasticfilesystem", resource: "file-system/*" })],
        condition: [{ stringEquals: [{ key: `aws:ResourceTag/${BACKUP_SELECTION_TAG}`, value: planName }] }],
      });
    }
  }

  private hostWritesArchives(hostRoleName: string): void {
    const { props } = this;
    const aws = AwsEnvironment.of(this);
    new IamRolePolicy(this, "host-archive-access", {
      name: "archive",
      role: hostRoleName,
      policy: Fn.jsonencode({
        Version: "2012-10-17",
        Statement: [
          {
            // GetObject lets the host verify an upload before it moves the workspace aside; no delete.
            Sid: "WriteAndVerifyWorkspaceArchives",
            Effect: "Allow",
            Action: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObject"],
            Resource: `${this.archive.bucket.arn}/*`,
          },
          {
            Sid: "EncryptArchives",
            Effect: "Allow",
            Action: ["kms:GenerateDataKey", "kms:Decrypt"],
            Resource: props.key.arn,
            Condition: { StringEquals: { "kms:ViaService": aws.serviceEndpoint("s3") } },
          },
        ],
      }),
    });
  }
}
