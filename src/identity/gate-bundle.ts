/**
 * The gate as the host runs it: one self-contained CommonJS file (the gate, openid-client, jose,
 * cookie and zod, bundled by esbuild), run by the official Node image pinned here, so the host
 * installs and builds nothing. The output depends only on the sources and the locked
 * dependencies, so an unchanged gate gives byte-identical host files.
 */
import { join } from "node:path";

/** Node's LTS release the gate runs on; the rehearsal's stand-in image must use the same. */
export const GATE_NODE_VERSION = "24.22.3";
/** The official image, pinned to a release (pin it further by digest where the registry is reachable). */
export const GATE_NODE_IMAGE = `node:${GATE_NODE_VERSION}-trixie-slim`;

const ROOT = join(__dirname, "..", "..");
const ENTRY = "src/identity/gate/main.ts";

/** The gate's bundle, as text. esbuild is a devDependency: building needs a development install. */
export async function bundleGate(): Promise<string> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
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
  });
  return result.outputFiles[0].text;
}
