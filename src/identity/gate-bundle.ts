/**
 * The gate as a platform runs it: one self-contained CommonJS file (the gate, openid-client, jose,
 * cookie and zod, bundled by esbuild), run by the official Node image pinned here, so neither the
 * host nor a task installs or builds anything. The output depends only on the sources and the
 * locked dependencies, so an unchanged gate gives a byte-identical file and the same name.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { buildSync } from "esbuild";

/** Node's LTS release the gate runs on; the rehearsal's stand-in image must use the same. */
export const GATE_NODE_VERSION = "24.22.3";
/** The official image, pinned to a release (pin it further by digest where the registry is reachable). */
export const GATE_NODE_IMAGE = `node:${GATE_NODE_VERSION}-trixie-slim`;

const ROOT = join(__dirname, "..", "..");
const ENTRY = "src/identity/gate/main.ts";

/** The gate's bundle, as text. esbuild is a devDependency: building needs a development install. */
export function bundleGate(): string {
  const result = buildSync({
    absWorkingDir: ROOT,
    entryPoints: [ENTRY],
    bundle: true,
    platform: "node",
    format: "cjs",
    // The oldest node the project supports; the image's is newer.
    target: "node20",
    write: false,
    outfile: "gate.js",
    banner: { js: `// code-server sign-in gate, built from ${ENTRY}; run with ${GATE_NODE_IMAGE}: node gate.js --config <file>` },
    logLevel: "error",
    charset: "utf8",
  });
  return result.outputFiles[0].text;
}

/** The bundle as a file beside a stack's configuration, named by its content. */
export interface GateFile {
  /** `assets/gate-<first 16 hex digits of its sha256>.js`, relative to the Terraform directory. */
  readonly path: string;
  readonly content: Uint8Array;
  readonly sha256Hex: string;
}

export function gateFile(): GateFile {
  const content = Buffer.from(bundleGate(), "utf8");
  const sha256Hex = createHash("sha256").update(content).digest("hex");
  return { path: `assets/gate-${sha256Hex.slice(0, 16)}.js`, content, sha256Hex };
}
