/* global process, console, Buffer, __filename */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS file that node runs as it is, before anything is compiled */
/**
 * Runs a TypeScript entry point (main.ts, src/review/main.ts, ...) from a build compiled once
 * with esbuild, and never from a stale one:
 *
 *   node tools/launch.js <entry.ts> [args...]
 *
 * The bundle's file name is a hash of exactly the source text esbuild compiled (captured by a
 * plugin as it reads each project file), of the installed dependency tree and of this file.
 * Before running, the launcher hashes the current text of the same files: an edit anywhere gives
 * another name, so the old bundle can no longer be found and the entry is rebuilt (about a
 * second). If esbuild is missing (an install without devDependencies) it refuses to run a stale
 * build instead.
 *
 * Why: transpiling on every run (tsx) made the cdktf app step about twice as slow; one bundle
 * loads much faster than hundreds of small modules.
 */
"use strict";
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
// Two levels below the root, like src/<dir>/*.ts: modules that find templates/ and other
// project files relative to their own directory (`join(__dirname, "..", "..", ...)`) keep
// finding them from inside the bundle.
const BUILD_DIR = path.join(ROOT, ".build", "dist");
// Loaded at run time from node_modules: reads its WebAssembly file next to its own code.
const EXTERNAL = ["@cdktf/hcl-tools", "esbuild"];

/** The installed dependency tree as npm records it (falls back to the lock file). */
function dependencyStamp() {
  for (const file of ["node_modules/.package-lock.json", "package-lock.json"]) {
    try {
      return fs.readFileSync(path.join(ROOT, file));
    } catch {
      // try the next one
    }
  }
  return Buffer.alloc(0);
}

/** Hash of the launcher, the dependencies and each input's path and text; undefined if an input is gone. */
function buildHash(inputs, readInput) {
  const hash = createHash("sha256");
  hash.update(fs.readFileSync(__filename));
  hash.update(dependencyStamp());
  for (const file of [...inputs].sort()) {
    const text = readInput(file);
    if (text === undefined) return undefined;
    hash.update(`\0${file}\0`);
    hash.update(text);
  }
  return hash.digest("hex").slice(0, 20);
}

function readOrUndefined(file) {
  try {
    return fs.readFileSync(path.join(ROOT, file));
  } catch {
    return undefined;
  }
}

function entryName(entry) {
  return entry.replace(/\.ts$/, "").replace(/[^A-Za-z0-9]+/g, "-");
}

/** The up-to-date bundle of `entry`, if the last build's inputs still hash to an existing bundle. */
function freshBundle(name) {
  let inputs;
  try {
    inputs = JSON.parse(fs.readFileSync(path.join(BUILD_DIR, `${name}.inputs.json`), "utf8"));
  } catch {
    return undefined;
  }
  const hash = buildHash(inputs, readOrUndefined);
  const bundle = hash && path.join(BUILD_DIR, `${name}-${hash}.js`);
  return bundle && fs.existsSync(bundle) ? bundle : undefined;
}

function writeAtomically(file, content) {
  const staging = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(staging, content);
  fs.renameSync(staging, file);
}

/** Builds `entry` into a bundle named by the hash of what was compiled; returns its path. */
async function build(entry, name) {
  let esbuild;
  try {
    esbuild = require("esbuild");
  } catch {
    throw new Error(
      `the build of ${entry} in ${path.relative(process.cwd(), BUILD_DIR)} is missing or older than the sources, and esbuild (a devDependency) is not installed to rebuild it: run npm ci`,
    );
  }
  const compiled = new Map();
  const captureSources = {
    name: "capture-sources",
    setup(builder) {
      builder.onLoad({ filter: /.*/ }, (args) => {
        const relative = path.relative(ROOT, args.path);
        if (relative.startsWith("..") || relative.split(path.sep).includes("node_modules")) return undefined;
        const text = fs.readFileSync(args.path);
        compiled.set(relative.split(path.sep).join("/"), text);
        return { contents: text, loader: "default" };
      });
    },
  };
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    external: EXTERNAL,
    write: false,
    outfile: path.join(BUILD_DIR, `${name}.js`),
    sourcemap: "external",
    logLevel: "error",
    plugins: [captureSources],
  });
  const hash = buildHash(compiled.keys(), (file) => compiled.get(file));
  const bundle = path.join(BUILD_DIR, `${name}-${hash}.js`);
  for (const output of result.outputFiles) {
    const target = output.path.endsWith(".map") ? `${bundle}.map` : bundle;
    const text = output.path.endsWith(".map") ? output.contents : `${output.text}\n//# sourceMappingURL=${path.basename(bundle)}.map\n`;
    writeAtomically(target, text);
  }
  writeAtomically(path.join(BUILD_DIR, `${name}.inputs.json`), JSON.stringify([...compiled.keys()].sort(), null, 2));
  // Earlier builds of this entry can never be fresh again.
  const earlier = new RegExp(`^${name}-[0-9a-f]{20}\\.js(\\.map)?$`);
  for (const old of fs.readdirSync(BUILD_DIR)) {
    if (earlier.test(old) && !old.startsWith(path.basename(bundle))) fs.rmSync(path.join(BUILD_DIR, old), { force: true });
  }
  return bundle;
}

/** The bundle to run for `entry` (a .ts path relative to the project root), built if needed. */
async function ensureBuilt(entry) {
  if (!fs.existsSync(path.join(ROOT, entry))) throw new Error(`no such entry point: ${entry}`);
  const name = entryName(entry);
  return freshBundle(name) ?? (await build(entry, name));
}

module.exports = { ensureBuilt, BUILD_DIR };

if (require.main === module) {
  const [entry, ...args] = process.argv.slice(2);
  if (!entry) {
    console.error("usage: node tools/launch.js <entry.ts> [args...]");
    process.exit(2);
  }
  ensureBuilt(entry).then(
    (bundle) => {
      // Source maps cost time on every token cdktf creates; src/speed.ts explains the switch.
      if (process.env.CDKTF_STACK_TRACES === "1") process.setSourceMapsEnabled(true);
      process.argv = [process.argv[0], bundle, ...args];
      require(bundle);
    },
    (err) => {
      console.error(`tools/launch.js: ${err.message}`);
      process.exit(1);
    },
  );
}
