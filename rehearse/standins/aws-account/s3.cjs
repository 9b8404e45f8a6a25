"use strict";
// S3, as files s3/<bucket>/<key>: the s3 commands (cp, sync, ls) and head-object. S3 keeps no file
// modes: a downloaded file gets the umask's. Faults: AWS_STANDIN_FAULT_S3=fail answers every S3
// call with an error, =lose reports uploads done and stores nothing;
// AWS_STANDIN_FAULT_SYNC_KILL_AFTER=<n> kills the process that ran the sync (SIGKILL, as a power
// loss) once n files have arrived.
const fs = require("node:fs");
const { dirname, join, relative } = require("node:path");
const { AwsError, CliError } = require("./cli.cjs");

/** s3://bucket/key → { bucket, key }. */
function parseUrl(url) {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match || match[2].split("/").includes("..")) throw new CliError(`aws stand-in: not an S3 URL: ${url}`, 252);
  return { bucket: match[1], key: match[2] };
}

function bucketDir(ctx, bucket, operation) {
  const dir = join(ctx.account.dir, "s3", bucket);
  if (!fs.existsSync(dir)) throw new AwsError("NoSuchBucket", operation, "The specified bucket does not exist", ctx.s3Exit);
  return dir;
}

function injectedFailure(ctx, operation) {
  if (ctx.env.AWS_STANDIN_FAULT_S3 === "fail") {
    throw new AwsError(
      "InternalError",
      operation,
      "We encountered an internal error. Please try again. (a fault injected through AWS_STANDIN_FAULT_S3)",
      ctx.s3Exit,
    );
  }
}

/** Every object under a directory, as keys relative to it, sorted. */
function objectsUnder(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.endsWith(".part"))
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

function upload(ctx, source, url) {
  const { bucket, key } = parseUrl(url);
  const target = join(bucketDir(ctx, bucket, "PutObject"), key);
  const body = source === "-" ? fs.readFileSync(0) : fs.readFileSync(source);
  injectedFailure(ctx, "PutObject");
  if (ctx.env.AWS_STANDIN_FAULT_S3 === "lose") return;
  fs.mkdirSync(dirname(target), { recursive: true });
  fs.writeFileSync(`${target}.part`, body);
  fs.renameSync(`${target}.part`, target);
  if (!ctx.has("only-show-errors") && !ctx.has("quiet")) process.stdout.write(`upload: ${source} to ${url}\n`);
}

/**
 * Writes all of `buffer` to `fd`: a single writeSync to a pipe writes only what fits in it, or
 * fails with EAGAIN while a slow reader (tar, in a container) has not caught up.
 */
function writeAll(fd, buffer) {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let offset = 0; offset < buffer.length;) {
    try {
      offset += fs.writeSync(fd, buffer, offset);
    } catch (error) {
      if (error.code !== "EAGAIN") throw error;
      Atomics.wait(pause, 0, 0, 5);
    }
  }
}

function download(ctx, url, target) {
  injectedFailure(ctx, "GetObject");
  const { bucket, key } = parseUrl(url);
  const object = join(bucketDir(ctx, bucket, "HeadObject"), key);
  if (!fs.existsSync(object)) throw new AwsError("404", "HeadObject", `Key "${key}" does not exist`, 1);
  if (target === "-") writeAll(1, fs.readFileSync(object));
  else fs.copyFileSync(object, target);
}

function cp(ctx) {
  const [source, target] = ctx.positional;
  if (!source || !target) throw new CliError("aws stand-in: s3 cp <source> <target>", 252);
  if (source.startsWith("s3://")) download(ctx, source, target);
  else upload(ctx, source, target);
}

/** s3://bucket/prefix/ to a directory, as the apply document syncs the host files. */
function sync(ctx) {
  const [source, target] = ctx.positional;
  if (!source?.startsWith("s3://") || !target || target.startsWith("s3://")) {
    throw new CliError("aws stand-in: s3 sync copies s3:// to a local directory only", 252);
  }
  const { bucket, key } = parseUrl(source);
  const tree = join(bucketDir(ctx, bucket, "ListObjectsV2"), key);
  injectedFailure(ctx, "ListObjectsV2");
  fs.mkdirSync(target, { recursive: true });
  const keys = objectsUnder(tree);
  const killAfter = Number(ctx.env.AWS_STANDIN_FAULT_SYNC_KILL_AFTER || 0);
  keys.forEach((object, i) => {
    fs.mkdirSync(dirname(join(target, object)), { recursive: true });
    fs.writeFileSync(`${join(target, object)}.sync-part`, fs.readFileSync(join(tree, object)));
    fs.renameSync(`${join(target, object)}.sync-part`, join(target, object));
    if (!ctx.has("only-show-errors")) process.stdout.write(`download: s3://${bucket}/${key}${object} to ${join(target, object)}\n`);
    if (killAfter > 0 && i + 1 === killAfter) {
      process.kill(process.ppid, "SIGKILL");
      process.exit(137);
    }
  });
  if (ctx.has("delete")) for (const stray of objectsUnder(target).filter((f) => !keys.includes(f))) fs.rmSync(join(target, stray));
}

/** Every object under the prefix with its full key, as `aws s3 ls --recursive` prints it. */
function ls(ctx) {
  const { bucket, key } = parseUrl(ctx.positional[0] ?? "");
  const dir = bucketDir(ctx, bucket, "ListObjectsV2");
  injectedFailure(ctx, "ListObjectsV2");
  for (const object of objectsUnder(dir).filter((o) => o.startsWith(key))) {
    const stat = fs.statSync(join(dir, object));
    const when = stat.mtime.toISOString().replace("T", " ").slice(0, 19);
    process.stdout.write(`${when} ${String(stat.size).padStart(10)} ${object}\n`);
  }
}

function headObject(ctx) {
  injectedFailure(ctx, "HeadObject");
  const object = join(bucketDir(ctx, ctx.one("bucket", true), "HeadObject"), ctx.one("key", true));
  if (!fs.existsSync(object)) ctx.fail("404", "Not Found");
  const body = fs.readFileSync(object);
  return {
    ContentLength: body.length,
    ETag: `"${require("node:crypto").createHash("md5").update(body).digest("hex")}"`,
    ContentType: "binary/octet-stream",
    LastModified: fs.statSync(object).mtime.toUTCString(),
  };
}

module.exports = { s3: { cp, sync, ls }, s3api: { "head-object": headObject } };
