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
import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildSync, type Message } from "esbuild";
import { zipSync } from "fflate";

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

/** The handler's bundle: CommonJS for the Node.js runtime, with the AWS SDK v3 left to the runtime, which provides it. */
export function bundleHandler(handler: string, root: string = PROJECT_ROOT): Uint8Array {
  if (!HANDLER_NAME.test(handler)) {
    throw new Error(`Lambda handler name ${JSON.stringify(handler)} is not a directory name of lowercase letters, digits and -`);
  }
  const entry = `${HANDLERS_DIR}/${handler}/handler.ts`;
  if (!existsSync(join(root, entry))) {
    throw new Error(`Lambda handler ${JSON.stringify(handler)} has no ${entry}: create it (exporting \`handler\`) or fix the name`);
  }
  let result;
  try {
    result = buildSync({
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
    });
  } catch (err) {
    // esbuild's BuildFailure carries its messages with their locations.
    const errors = (err as { errors?: Message[] }).errors;
    throw new Error(`bundling ${entry} failed:\n  ${errors ? formatMessages(errors) : String(err)}`, { cause: err });
  }
  return result.outputFiles[0].contents;
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
