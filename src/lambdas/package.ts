/**
 * Packages a Lambda handler (`src/lambdas/<name>/handler.ts`) as the ZIP that Terraform uploads:
 * one esbuild bundle, `index.js`, zipped so that the same source gives the same bytes on every
 * synth, on every machine, in every checkout and time zone. Terraform compares the ZIP's hash
 * (`source_code_hash`) with the deployed one, so any byte that changed without the code changing
 * would be a spurious update in every plan and review.
 *
 * What makes it reproducible: esbuild's output depends only on the source and esbuild's version
 * (paths in its comments are relative to the project root, never absolute); the ZIP holds that one
 * file under a fixed name, with fixed attributes, a fixed modification time and a fixed
 * compression level, and no extra fields (fflate adds none unless asked).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type BuildOptions, buildSync, type Message, version as esbuildVersion } from "esbuild";
import { zipSync } from "fflate";
import { keepReplacingEarlier, writeFileAtomically } from "../write-atomically";

/** The project root (this file is two levels below it, here and in the launcher's bundle). */
export const PROJECT_ROOT = join(__dirname, "..", "..");

/** Where handlers live, relative to the project root: `<dir>/<name>/handler.ts`. */
export const HANDLERS_DIR = "src/lambdas";

/** The Node.js major version the bundle targets; the function's runtime is `nodejs<this>.x`. */
export const NODE_MAJOR = 22;

/** The file inside the ZIP; the function's handler setting is `index.handler`. */
export const BUNDLE_FILE = "index.js";

/** What a handler name may be: a directory name below HANDLERS_DIR. */
export const HANDLER_NAME = /^[a-z][a-z0-9-]*$/;

/** Maximum DEFLATE compression: fixed, because another level gives other bytes. */
const COMPRESSION_LEVEL = 9;
/** Version made by Unix, so that the mode below is read: a regular file, rw-r--r--. */
const UNIX = 3;
const REGULAR_FILE_644 = (0o100644 << 16) >>> 0;

/**
 * The entry's modification time: the earliest a ZIP can record. fflate writes the DOS time from the
 * Date's local fields, so the Date is built from local fields too: the same bytes in every time zone.
 */
const zipTime = () => new Date(1980, 0, 1, 0, 0, 0);

export interface LambdaPackage {
  /** The handler's name (its directory under `src/lambdas`). */
  readonly handler: string;
  /** The ZIP's bytes. */
  readonly zip: Uint8Array;
  /** Base64 SHA-256 of the ZIP: the function's `source_code_hash`, as Terraform's filebase64sha256 spells it. */
  readonly sha256Base64: string;
  /** Hex SHA-256 of the ZIP. */
  readonly sha256Hex: string;
  /**
   * Where the ZIP sits relative to the Terraform directory (the synthesized stack's and the HCL
   * export's alike), named after its content: a plan saved before a later synth cannot apply other
   * code than it was reviewed with, because its file is gone.
   */
  readonly path: string;
}

export interface PackageOptions {
  /** The handler's directory name under `src/lambdas`. */
  readonly handler: string;
  /**
   * The project root the handler is found under and esbuild's paths are relative to.
   * @default PROJECT_ROOT
   */
  readonly root?: string;
}

function formatMessages(messages: readonly Message[]): string {
  return messages.map((m) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ${m.text}` : m.text)).join("\n  ");
}

/** Where bundles are kept between synths, relative to the project root. */
export const BUNDLE_CACHE_DIR = join(".build", "lambdas");

/** esbuild's options for a handler's entry point: CommonJS for the Node.js runtime, the AWS SDK v3 left to the runtime. */
function buildOptions(entry: string, root: string): BuildOptions & { write: false } {
  return {
    entryPoints: [entry],
    absWorkingDir: root,
    bundle: true,
    platform: "node",
    target: `node${NODE_MAJOR}`,
    format: "cjs",
    external: ["@aws-sdk/*"],
    write: false,
    logLevel: "silent",
    charset: "utf8",
  };
}

/** Files besides the bundle's own inputs that change what esbuild makes of them, where they exist. */
const SETTINGS_FILES = ["tsconfig.json", "package.json"];
/** The installed dependency tree as npm records it, or else as the lock file does: the first that exists counts. */
const DEPENDENCY_RECORDS = [join("node_modules", ".package-lock.json"), "package-lock.json"];

function readOrUndefined(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/**
 * What the bundle of `entry` is kept under: a hash of esbuild's version and options, the settings
 * files and the path and text of each project file the last build read; undefined when one of
 * those files is gone.
 */
function bundleKey(entry: string, root: string, inputs: readonly string[]): string | undefined {
  const { absWorkingDir: _, ...options } = buildOptions(entry, root);
  const hash = createHash("sha256").update(`${esbuildVersion}\0${JSON.stringify(options)}`);
  const records = DEPENDENCY_RECORDS.map((file) => readOrUndefined(join(root, file)));
  hash.update(records.find((text) => text !== undefined) ?? "");
  for (const file of SETTINGS_FILES) hash.update(`\0${file}\0`).update(readOrUndefined(join(root, file)) ?? "");
  for (const file of inputs) {
    const text = readOrUndefined(join(root, file));
    if (text === undefined) return undefined;
    hash.update(`\0${file}\0`).update(text);
  }
  return hash.digest("hex").slice(0, 20);
}

/** The bundle kept for `handler`, if every file it was built from is unchanged. */
function keptBundle(handler: string, entry: string, root: string): Uint8Array | undefined {
  try {
    const dir = join(root, BUNDLE_CACHE_DIR);
    const inputs = JSON.parse(readFileSync(join(dir, `${handler}.inputs.json`), "utf8")) as string[];
    const key = bundleKey(entry, root, inputs);
    return key === undefined ? undefined : readFileSync(join(dir, `${handler}-${key}.js`));
  } catch {
    return undefined;
  }
}

/** Keeps `bundle` for the next synth, with the list of files it was built from; earlier bundles of `handler` go. */
function keepBundle(handler: string, entry: string, root: string, bundle: Uint8Array, inputs: readonly string[]): void {
  const key = bundleKey(entry, root, inputs);
  if (key === undefined) return;
  try {
    const dir = join(root, BUNDLE_CACHE_DIR);
    keepReplacingEarlier(dir, `${handler}-${key}.js`, bundle, new RegExp(`^${handler}-[0-9a-f]{20}\\.js$`));
    writeFileAtomically(join(dir, `${handler}.inputs.json`), JSON.stringify(inputs));
  } catch {
    // A read-only checkout bundles on every synth; nothing else changes.
  }
}

/**
 * The handler's bundle. Bundling is a tenth of a synth that has a Lambda, and gives the same
 * bytes until a file it read changes, so the bundle is kept in `.build/lambdas/` under a hash of
 * everything that goes into it (`bundleKey`) and reused while that hash finds it: any edit, to
 * the handler or to a module it imports, bundles afresh. The launcher keeps its builds this way.
 */
export function bundleHandler(handler: string, root: string = PROJECT_ROOT): Uint8Array {
  if (!HANDLER_NAME.test(handler)) {
    throw new Error(`Lambda handler name ${JSON.stringify(handler)} is not a directory name of lowercase letters, digits and -`);
  }
  const entry = `${HANDLERS_DIR}/${handler}/handler.ts`;
  if (!existsSync(join(root, entry))) {
    throw new Error(`Lambda handler ${JSON.stringify(handler)} has no ${entry}: create it (exporting \`handler\`) or fix the name`);
  }
  const kept = keptBundle(handler, entry, root);
  if (kept) return kept;
  let result;
  try {
    result = buildSync({ ...buildOptions(entry, root), metafile: true });
  } catch (err) {
    // esbuild's BuildFailure carries its messages with their locations.
    const errors = (err as { errors?: Message[] }).errors;
    throw new Error(`bundling ${entry} failed:\n  ${errors ? formatMessages(errors) : String(err)}`, { cause: err });
  }
  const bundle = result.outputFiles[0].contents;
  // The project's own files; what esbuild took from node_modules is covered by npm's record of the tree.
  const inputs = Object.keys(result.metafile.inputs).filter((file) => !file.split("/").includes("node_modules"));
  keepBundle(handler, entry, root, bundle, inputs.sort());
  return bundle;
}

/** `bundle` as the one file of a reproducible ZIP (see the module comment). */
export function reproducibleZip(bundle: Uint8Array): Uint8Array {
  return zipSync({ [BUNDLE_FILE]: [bundle, { level: COMPRESSION_LEVEL, mtime: zipTime(), os: UNIX, attrs: REGULAR_FILE_644 }] });
}

/** The handler bundled and zipped, with its hashes and path. */
export function packageHandler(options: PackageOptions): LambdaPackage {
  const zip = reproducibleZip(bundleHandler(options.handler, options.root));
  const sha256 = createHash("sha256").update(zip);
  const sha256Hex = sha256.copy().digest("hex");
  return {
    handler: options.handler,
    zip,
    sha256Base64: sha256.digest("base64"),
    sha256Hex,
    path: `assets/lambda-${options.handler}-${sha256Hex.slice(0, 16)}.zip`,
  };
}
