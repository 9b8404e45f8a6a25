"use strict";
// CloudWatch (alarms, metric data), CloudWatch Logs, EFS and AWS Backup, as far as the scripts use them.
const { appendFileSync, cpSync, existsSync, mkdirSync } = require("node:fs");
const { dirname, join } = require("node:path");
const { now } = require("./state.cjs");

/**
 * An alarm seeded with InsufficientDataReads: n stays in INSUFFICIENT_DATA for n more reads, then
 * turns OK (its metric's data arrives while the caller waits).
 */
function describeAlarms(ctx) {
  const names = ctx.many("alarm-names");
  const alarms = ctx.account.list("alarms").filter((a) => names.length === 0 || names.includes(a.AlarmName));
  const shown = alarms.map(({ InsufficientDataReads: _reads, ...alarm }) => ({ ...alarm }));
  for (const alarm of alarms.filter((a) => a.InsufficientDataReads !== undefined)) {
    alarm.InsufficientDataReads -= 1;
    if (alarm.InsufficientDataReads <= 0) {
      delete alarm.InsufficientDataReads;
      alarm.StateValue = "OK";
    }
  }
  if (alarms.some((a) => a.InsufficientDataReads !== undefined || a.StateValue === "OK")) ctx.account.save();
  return { MetricAlarms: shown, CompositeAlarms: [] };
}

const alarmActions = (enabled) => (ctx) => {
  const names = ctx.many("alarm-names", true);
  for (const alarm of ctx.account.list("alarms").filter((a) => names.includes(a.AlarmName))) alarm.ActionsEnabled = enabled;
  ctx.account.save();
};

/** Appends {Namespace, Timestamp, MetricData} to cloudwatch/metric-data.jsonl. */
function putMetricData(ctx) {
  const data = JSON.parse(ctx.one("metric-data", true));
  const line = JSON.stringify({ Namespace: ctx.one("namespace", true), Timestamp: now(), MetricData: data });
  appendFileSync(join(ctx.account.dirOf("cloudwatch"), "metric-data.jsonl"), `${line}\n`);
}

function describeLogGroups(ctx) {
  const prefix = ctx.one("log-group-name-prefix") ?? "";
  return { logGroups: ctx.account.list("logGroups").filter((g) => g.logGroupName.startsWith(prefix)) };
}

function describeFileSystems(ctx) {
  const id = ctx.one("file-system-id");
  return { FileSystems: ctx.account.list("fileSystems").filter((f) => !id || f.FileSystemId === id) };
}

function recoveryPoint(ctx, arn) {
  const found = ctx.account.list("recoveryPoints").find((p) => p.RecoveryPointArn === arn);
  if (!found) ctx.fail("ResourceNotFoundException", `Recovery point ${arn} not found`);
  return found;
}

function describeRecoveryPoint(ctx) {
  const point = recoveryPoint(ctx, ctx.one("recovery-point-arn", true));
  if (point.BackupVaultName !== ctx.one("backup-vault-name", true))
    ctx.fail("ResourceNotFoundException", "Recovery point not found in this vault");
  return point;
}

/**
 * EFS item-level restore: each item of the recovery point (its content under
 * <state>/backup/<recovery point id>/) lands in a new aws-backup-restore_<time> directory at the
 * root of the file system (<state>/fs).
 */
function startRestoreJob(ctx) {
  const point = recoveryPoint(ctx, ctx.one("recovery-point-arn", true));
  const metadata = JSON.parse(ctx.one("metadata", true));
  const source = join(ctx.account.dir, "backup", point.RecoveryPointArn.split(":").pop());
  const restored = join(ctx.account.dirOf("fs"), `aws-backup-restore_${new Date().toISOString().replace(/[:.]/g, "-")}`);
  for (const item of JSON.parse(metadata.ItemsToRestore ?? "[]")) {
    if (!existsSync(join(source, item))) continue;
    mkdirSync(dirname(join(restored, item)), { recursive: true });
    cpSync(join(source, item), join(restored, item), { recursive: true, preserveTimestamps: true });
  }
  const job = {
    RestoreJobId: require("node:crypto").randomUUID(),
    RecoveryPointArn: point.RecoveryPointArn,
    Status: "COMPLETED",
    StatusMessage: "",
    CreationDate: now(),
    IamRoleArn: ctx.one("iam-role-arn", true),
  };
  ctx.account.list("restoreJobs").push(job);
  ctx.account.save();
  return { RestoreJobId: job.RestoreJobId };
}

function describeRestoreJob(ctx) {
  const job = ctx.account.list("restoreJobs").find((j) => j.RestoreJobId === ctx.one("restore-job-id", true));
  if (!job) ctx.fail("ResourceNotFoundException", "Restore job not found");
  return job;
}

module.exports = {
  cloudwatch: {
    "describe-alarms": describeAlarms,
    "enable-alarm-actions": alarmActions(true),
    "disable-alarm-actions": alarmActions(false),
    "put-metric-data": putMetricData,
  },
  logs: { "describe-log-groups": describeLogGroups },
  efs: { "describe-file-systems": describeFileSystems },
  backup: {
    "describe-recovery-point": describeRecoveryPoint,
    "start-restore-job": startRestoreJob,
    "describe-restore-job": describeRestoreJob,
  },
};
