"use strict";
// The AWS CLI stand-in: an AWS account kept in the directory AWS_STANDIN_STATE, answering the calls
// the host and operator scripts (and the cost tool's --query-api) make with the API's own response
// shapes, built from that state, and changing it as AWS would. Every call is appended to <state>/calls.log ("aws <argv>"), every
// file:// argument copied to <state>/captured/. A call outside this list exits 252, naming it.
// Faults (not account state) come from AWS_STANDIN_FAULT_* variables: see s3.cjs, ssm.cjs and
// ecs.cjs, and AWS_STANDIN_FAULT_DENY="<service> <action>,..." (those calls are refused, as IAM
// refuses them).
const { appendFileSync, copyFileSync, mkdirSync } = require("node:fs");
const { basename, join } = require("node:path");
const { AwsError, CliError, parseArgv, readValue, render } = require("./cli.cjs");
const { Account } = require("./state.cjs");

/** Each service's calls, loaded only for the service called (node starts on every call). */
const SERVICES = {
  ec2: () => require("./ec2.cjs").calls,
  ecs: () => require("./ecs.cjs"),
  secretsmanager: () => require("./secrets.cjs"),
  ssm: () => require("./ssm.cjs"),
  s3: () => require("./s3.cjs").s3,
  s3api: () => require("./s3.cjs").s3api,
  cloudwatch: () => require("./others.cjs").cloudwatch,
  logs: () => require("./others.cjs").logs,
  efs: () => require("./others.cjs").efs,
  backup: () => require("./others.cjs").backup,
  pricing: () => require("./pricing.cjs"),
};

const operationName = (action) => action.replace(/(^|-)([a-z])/g, (_, _dash, c) => c.toUpperCase());

/** What a handler gets: the account, the options (file:// values read) and how to fail. */
function context(parsed, account, env) {
  const { opts, positional, service, action } = parsed;
  const operation = operationName(action);
  const raw = (name) => opts.get(name)?.[0];
  const many = (name, required) => {
    const values = opts.get(name) ?? [];
    if (required && values.length === 0) throw new CliError(`aws: error: the following arguments are required: --${name}`, 252);
    return values;
  };
  return {
    account,
    env,
    positional,
    s3Exit: service === "s3" ? 1 : 254,
    raw,
    has: (name) => opts.has(name),
    many,
    one: (name, required) => (required || opts.has(name) ? readValue(many(name, required)[0] ?? "") : undefined),
    fail: (code, message) => {
      throw new AwsError(code, operation, message, service === "s3" ? 1 : 254);
    },
    appendLog: (file, content) => appendFileSync(join(account.dir, file), content),
  };
}

/** The call as given, and every file:// argument's content, kept for the tests to look at. */
function record(dir, argv) {
  appendFileSync(join(dir, "calls.log"), `aws ${argv.join(" ")}\n`);
  const files = argv.flatMap((arg) => arg.split(/(?==file:\/\/)/)).filter((a) => a.replace(/^=/, "").startsWith("file://"));
  if (files.length === 0) return;
  mkdirSync(join(dir, "captured"), { recursive: true });
  for (const file of files.map((a) => a.replace(/^=/, "").slice("file://".length)))
    copyFileSync(file, join(dir, "captured", basename(file)));
}

function handlerOf(parsed, env) {
  const { service, action } = parsed;
  const calls = Object.hasOwn(SERVICES, service) ? SERVICES[service]() : {};
  const handler = Object.hasOwn(calls, action) ? calls[action] : undefined;
  if (!handler) {
    throw new CliError(
      `aws stand-in: '${service} ${action}' is not one of the calls the scripts make; add it to rehearse/standins/aws-account/`,
      252,
    );
  }
  const denied = (env.AWS_STANDIN_FAULT_DENY ?? "").split(",").map((s) => s.trim());
  if (denied.includes(`${service} ${action}`)) {
    throw new AwsError(
      "UnauthorizedOperation",
      operationName(action),
      "You are not authorized to perform this operation. (a fault injected through AWS_STANDIN_FAULT_DENY)",
      service === "s3" ? 1 : 254,
    );
  }
  return handler;
}

function main(argv, env = process.env) {
  const dir = env.AWS_STANDIN_STATE;
  if (!dir) {
    process.stderr.write("aws stand-in: AWS_STANDIN_STATE names no directory: the account lives there\n");
    return 255;
  }
  mkdirSync(dir, { recursive: true });
  try {
    record(dir, argv);
    const parsed = parseArgv(argv);
    const handler = handlerOf(parsed, env);
    const account = new Account(dir, parsed.globals.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION);
    process.stdout.write(render(handler(context(parsed, account, env)), parsed.globals));
    return 0;
  } catch (error) {
    if (!(error instanceof AwsError || error instanceof CliError)) throw error;
    process.stderr.write(error instanceof AwsError ? `\n${error.message}\n` : `${error.message}\n`);
    return error.exitCode;
  }
}

module.exports = { main };
