"use strict";
// The account, kept in a directory: account.json holds the resources (the collections below, each
// a list of records in the API's own shape), secret values are files secrets/<name>/<version>, S3
// objects are files s3/<bucket>/<key>, metric data is appended to cloudwatch/metric-data.jsonl.
const { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");

const COLLECTIONS = [
  "instances",
  "volumes",
  "snapshots",
  "alarms",
  "secrets",
  "logGroups",
  "commands",
  "services",
  "tasks",
  "taskDefinitions",
  "fileSystems",
  "recoveryPoints",
  "restoreJobs",
  "priceList",
];

class Account {
  constructor(dir, region) {
    this.dir = dir;
    this.file = join(dir, "account.json");
    this.data = existsSync(this.file) ? JSON.parse(readFileSync(this.file, "utf8")) : {};
    for (const name of COLLECTIONS) this.data[name] ??= [];
    this.region = region ?? this.data.region ?? "us-east-1";
    this.accountId = this.data.accountId ?? "111122223333";
  }

  list(name) {
    return this.data[name];
  }

  /** Writes the resources back, whole (a reader never sees half a file). */
  save() {
    const part = `${this.file}.${process.pid}.part`;
    writeFileSync(part, `${JSON.stringify(this.data, null, 2)}\n`);
    renameSync(part, this.file);
  }

  arn(service, resource) {
    return `arn:aws:${service}:${this.region}:${this.accountId}:${resource}`;
  }

  path(...parts) {
    const target = join(this.dir, ...parts);
    return target;
  }

  /** A directory of the state, created if need be. */
  dirOf(...parts) {
    const target = join(this.dir, ...parts);
    mkdirSync(target, { recursive: true });
    return target;
  }

  /** The version files of a secret, oldest first (v1, v2, ...). */
  secretVersions(name) {
    const dir = join(this.dir, "secrets", secretKey(name));
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => /^v\d+$/.test(f))
      .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  }
}

/** A secret's name as a directory name. */
const secretKey = (name) => name.replace(/[^A-Za-z0-9._-]/g, "_");
// node:crypto is loaded only when an id is made: loading it costs more than most calls take.
const hex = (bytes) => require("node:crypto").randomBytes(bytes).toString("hex");
/** An id as AWS makes them: <prefix>-<17 hex digits>. */
const newId = (prefix) => `${prefix}-0${hex(8)}`;
const now = () => new Date().toISOString().replace(/\.\d+Z$/, "+00:00");

module.exports = { Account, secretKey, newId, hex, now };
