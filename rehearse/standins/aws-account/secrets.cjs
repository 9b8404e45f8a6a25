"use strict";
// Secrets Manager: secrets as Terraform creates them (no value), their versions as files, the
// deletion schedule (DeletedDate) and its undoing. A value never arrives on the command line.
const { mkdirSync, readFileSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");
const { CliError, readValue } = require("./cli.cjs");
const { hex, now, secretKey } = require("./state.cjs");

/** The secret a --secret-id (a name or an ARN) names. */
function find(ctx, id) {
  const secret = ctx.account.list("secrets").find((s) => s.Name === id || s.ARN === id);
  if (!secret) ctx.fail("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
  return secret;
}

/** Refuses a value given on argv: it would show in `ps` and in shell history. */
function valueFromFile(ctx, option) {
  const raw = ctx.raw(option);
  if (raw === undefined) return undefined;
  if (!raw.startsWith("file://")) {
    throw new CliError(`aws stand-in: --${option} was given on the command line; a secret value travels by file://<path>, never argv`, 99);
  }
  return readValue(raw);
}

function stages(ctx, secret) {
  const versions = ctx.account.secretVersions(secret.Name);
  return Object.fromEntries(versions.map((v, i) => [v, [i === versions.length - 1 ? "AWSCURRENT" : "AWSPREVIOUS"]]).slice(-2));
}

function addVersion(ctx, secret, value) {
  const dir = join(ctx.account.dir, "secrets", secretKey(secret.Name));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const version = `v${ctx.account.secretVersions(secret.Name).length + 1}`;
  writeFileSync(join(dir, version), value, { mode: 0o600 });
  return version;
}

function createSecret(ctx) {
  const name = ctx.one("name", true);
  if (ctx.account.list("secrets").some((s) => s.Name === name)) {
    ctx.fail("ResourceExistsException", `The operation failed because the secret ${name} already exists.`);
  }
  const secret = { Name: name, ARN: ctx.account.arn("secretsmanager", `secret:${name}-${hex(3)}`), CreatedDate: now() };
  const value = valueFromFile(ctx, "secret-string");
  ctx.account.list("secrets").push(secret);
  ctx.account.save();
  const version = value === undefined ? undefined : addVersion(ctx, secret, value);
  return { ARN: secret.ARN, Name: name, ...(version ? { VersionId: version } : {}) };
}

function describeSecret(ctx) {
  const secret = find(ctx, ctx.one("secret-id", true));
  const versions = stages(ctx, secret);
  return { ...secret, ...(Object.keys(versions).length ? { VersionIdsToStages: versions } : {}) };
}

function getSecretValue(ctx) {
  const secret = find(ctx, ctx.one("secret-id", true));
  if (secret.DeletedDate) {
    ctx.fail("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.");
  }
  const version = ctx.account.secretVersions(secret.Name).pop();
  if (!version) {
    ctx.fail("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT");
  }
  const value = readFileSync(join(ctx.account.dir, "secrets", secretKey(secret.Name), version), "utf8");
  return { ARN: secret.ARN, Name: secret.Name, VersionId: version, SecretString: value, VersionStages: ["AWSCURRENT"], CreatedDate: now() };
}

function putSecretValue(ctx) {
  const secret = find(ctx, ctx.one("secret-id", true));
  const value = valueFromFile(ctx, "secret-string");
  if (value === undefined) throw new CliError("aws stand-in: put-secret-value needs --secret-string file://<path>", 252);
  if (secret.DeletedDate) {
    ctx.fail("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.");
  }
  return { ARN: secret.ARN, Name: secret.Name, VersionId: addVersion(ctx, secret, value), VersionStages: ["AWSCURRENT"] };
}

function restoreSecret(ctx) {
  const secret = find(ctx, ctx.one("secret-id", true));
  delete secret.DeletedDate;
  ctx.account.save();
  return { ARN: secret.ARN, Name: secret.Name };
}

module.exports = {
  "create-secret": createSecret,
  "describe-secret": describeSecret,
  "get-secret-value": getSecretValue,
  "put-secret-value": putSecretValue,
  "restore-secret": restoreSecret,
};
