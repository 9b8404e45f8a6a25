"use strict";
// The AWS CLI's surface: where global options go, how a command's options and file:// values are
// read, how a response is printed (--query through JMESPath, --output json or text) and how an
// error looks and exits.
const { readFileSync } = require("node:fs");

const GLOBAL_WITH_VALUE = new Set(["--region", "--output", "--query", "--profile", "--endpoint-url", "--color"]);
const GLOBAL_FLAGS = new Set(["--no-cli-pager", "--no-paginate", "--debug", "--no-verify-ssl", "--no-sign-request"]);
/** Command options that take no value. */
const FLAGS = new Set([
  "--only-show-errors",
  "--delete",
  "--force-new-deployment",
  "--no-force-new-deployment",
  "--encrypted",
  "--no-encrypted",
  "--interactive",
  "--dry-run",
  "--recursive",
  "--quiet",
]);

/** An error AWS answers: printed as the CLI prints it, exit 254 (1 for the s3 commands). */
class AwsError extends Error {
  constructor(code, operation, message, exitCode = 254) {
    super(`An error occurred (${code}) when calling the ${operation} operation: ${message}`);
    this.exitCode = exitCode;
  }
}

/** A failure of the stand-in or the CLI itself (a waiter, a bad argument): its own text and exit code. */
class CliError extends Error {
  constructor(message, exitCode) {
    super(message);
    this.exitCode = exitCode;
  }
}

const splitInline = (word) => {
  const at = word.indexOf("=");
  return word.startsWith("--") && at > 0 ? [word.slice(0, at), word.slice(at + 1)] : [word, undefined];
};

/** argv → { globals, service, action, opts: Map<name, values[]>, positional }. */
function parseArgv(argv) {
  const globals = { output: "json" };
  const words = [];
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = splitInline(argv[i]);
    if (GLOBAL_WITH_VALUE.has(name)) globals[name.slice(2)] = inline ?? argv[++i];
    else if (!GLOBAL_FLAGS.has(name)) words.push(argv[i]);
  }
  const [service = "", action = "", ...rest] = words;
  return { globals, service, action, ...parseOptions(rest, service === "s3") };
}

/** Options take the words up to the next option (one word each for the s3 commands); flags none. */
function parseOptions(words, oneValueEach) {
  const opts = new Map();
  const positional = [];
  let current;
  for (const word of words) {
    if (word.startsWith("--")) {
      const [name, inline] = splitInline(word);
      opts.set(name.slice(2), inline === undefined ? [] : [inline]);
      current = FLAGS.has(name) || inline !== undefined ? undefined : name.slice(2);
    } else if (current !== undefined) {
      opts.get(current).push(word);
      if (oneValueEach) current = undefined;
    } else positional.push(word);
  }
  return { opts, positional };
}

/** A parameter's value as the CLI reads it: file://<path> is the file's content. */
const readValue = (value) => (value.startsWith("file://") ? readFileSync(value.slice("file://".length), "utf8") : value);

/** The AWS CLI's text output (awscli/text.py): rows of tab-separated scalars, None for null. */
function formatText(item, out, identifier, scalarKeys) {
  if (Array.isArray(item)) formatList(item, out, identifier);
  else if (item !== null && typeof item === "object") formatObject(item, out, identifier, scalarKeys);
  else out.push(scalar(item));
}
const isComposite = (v) => v !== null && typeof v === "object";
const scalar = (v) => (v === null || v === undefined ? "None" : v === true ? "True" : v === false ? "False" : String(v));

function formatList(list, out, identifier) {
  if (list.length === 0) return;
  if (list.some((e) => isComposite(e) && !Array.isArray(e))) {
    const keys = [...new Set(list.flatMap((e) => (isComposite(e) ? Object.keys(e).filter((k) => !isComposite(e[k])) : [])))].sort();
    for (const element of list) formatText(element, out, identifier, keys);
  } else if (list.some(Array.isArray)) {
    const scalars = list.filter((e) => !isComposite(e));
    if (scalars.length > 0) scalarRow(scalars, out, identifier);
    for (const nested of list.filter(isComposite)) formatText(nested, out, identifier);
  } else scalarRow(list, out, identifier);
}

function scalarRow(values, out, identifier) {
  if (identifier === undefined) out.push(values.map(scalar).join("\t"));
  else for (const v of values) out.push(`${identifier.toUpperCase()}\t${scalar(v)}`);
}

function formatObject(object, out, identifier, scalarKeys) {
  const keys =
    scalarKeys ??
    Object.keys(object)
      .filter((k) => !isComposite(object[k]))
      .sort();
  const scalars = keys.map((k) => (scalarKeys && !(k in object) ? "" : scalar(object[k])));
  if (scalars.length > 0) out.push((identifier === undefined ? scalars : [identifier.toUpperCase(), ...scalars]).join("\t"));
  const rest = Object.keys(object)
    .filter((k) => !keys.includes(k))
    .sort();
  for (const key of rest) formatText(object[key], out, key);
}

/** The response as the CLI prints it, after --query; nothing for an empty response. */
function render(response, globals) {
  if (response === undefined) return "";
  const result = globals.query === undefined ? response : require("jmespath").search(response, globals.query);
  if (globals.query === undefined && isComposite(result) && Object.keys(result).length === 0) return "";
  if (globals.output === "text") {
    const out = [];
    formatText(result, out);
    return out.map((line) => `${line}\n`).join("");
  }
  return `${JSON.stringify(result ?? null, null, 4)}\n`;
}

module.exports = { AwsError, CliError, parseArgv, readValue, render };
