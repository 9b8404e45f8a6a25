/**
 * Lambda packaging: a handler's ZIP is byte for byte the same on every synth, in every checkout
 * directory and time zone, changes exactly when the code does, holds one readable index.js that
 * leaves the AWS SDK to the runtime, and bad handlers fail with errors that say what to do.
 */
import "./helpers/quiet-aws-sdk";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { BUNDLE_CACHE_DIR, bundleHandler, HANDLERS_DIR, type LambdaPackage, packageHandler, PROJECT_ROOT } from "../src/lambdas/package";

const HANDLER = "secret-initializer";
const roots = mkdtempSync(join(tmpdir(), "lambda-package-"));
afterAll(() => rmSync(roots, { recursive: true, force: true }));

/** A project root of its own holding `source` as the handler `name` (and the real handler beside it). */
function projectCopy(dirName: string, name = HANDLER, source?: string): string {
  const root = join(roots, dirName);
  // The whole source tree: a handler may import the project's shared modules.
  cpSync(join(PROJECT_ROOT, "src"), join(root, "src"), { recursive: true });
  for (const file of ["tsconfig.json", "package.json"]) cpSync(join(PROJECT_ROOT, file), join(root, file));
  if (name !== HANDLER) cpSync(join(PROJECT_ROOT, HANDLERS_DIR, HANDLER), join(root, HANDLERS_DIR, name), { recursive: true });
  if (source !== undefined) writeFileSync(join(root, HANDLERS_DIR, name, "handler.ts"), source);
  return root;
}

/** The ZIP's central directory entry of its one file, as fields. */
function centralEntry(zip: Uint8Array) {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const at = zip.findIndex((_, i) => view.getUint32(i, true) === 0x02014b50);
  return {
    madeBy: view.getUint8(at + 5),
    method: view.getUint16(at + 10, true),
    dosTime: view.getUint16(at + 12, true),
    dosDate: view.getUint16(at + 14, true),
    extraLength: view.getUint16(at + 30, true),
    unixMode: view.getUint32(at + 38, true) >>> 16,
  };
}

describe("the same source gives the same bytes", () => {
  const first = packageHandler({ handler: HANDLER });

  it("on a second package in the same run", () => {
    const second = packageHandler({ handler: HANDLER });
    expect(Buffer.from(second.zip).equals(Buffer.from(first.zip))).toBe(true);
    expect(second.sha256Base64).toBe(first.sha256Base64);
    expect(second.path).toBe(first.path);
  });

  it("in any time zone (the ZIP's time is built from local fields)", () => {
    // A process of its own per zone: a test's process.env is not the one Node reads its zone from.
    const script = `process.stdout.write(require("./src/lambdas/package").packageHandler({ handler: "${HANDLER}" }).sha256Hex)`;
    // tsx keeps a cache in the temp directory: one removed with the others.
    const tsxTemp = mkdtempSync(join(roots, "tsx-"));
    for (const zone of ["Asia/Tokyo", "America/Los_Angeles"]) {
      const hex = execFileSync(process.execPath, ["--import", "tsx", "-e", script], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, TZ: zone, TMPDIR: tsxTemp },
        encoding: "utf8",
      });
      expect([zone, hex]).toEqual([zone, first.sha256Hex]);
    }
  });

  it("from a checkout in another directory", () => {
    const elsewhere = packageHandler({ handler: HANDLER, root: projectCopy("another-checkout") });
    const andAnother = packageHandler({ handler: HANDLER, root: projectCopy("and-a-third-one-deeper/x") });
    expect(elsewhere.sha256Hex).toBe(andAnother.sha256Hex);
    expect(Buffer.from(unzipSync(elsewhere.zip)["index.js"]).toString()).not.toContain(roots);
  });

  it("names its file after its content, and its hashes are the ZIP's", () => {
    const hex = createHash("sha256").update(first.zip).digest("hex");
    expect(first.sha256Hex).toBe(hex);
    expect(first.sha256Base64).toBe(Buffer.from(hex, "hex").toString("base64"));
    expect(first.path).toBe(`assets/lambda-${HANDLER}-${hex.slice(0, 16)}.zip`);
  });
});

describe("a change of code", () => {
  const base = "export const handler = async () => 1;\n";
  const root = projectCopy("changed", "probe", base);
  const before = packageHandler({ handler: "probe", root });

  it("changes the bytes, the hash and the file name; a change back restores them", () => {
    writeFileSync(join(root, HANDLERS_DIR, "probe", "handler.ts"), "export const handler = async () => 2;\n");
    const after = packageHandler({ handler: "probe", root });
    expect(after.sha256Hex).not.toBe(before.sha256Hex);
    expect(after.path).not.toBe(before.path);
    writeFileSync(join(root, HANDLERS_DIR, "probe", "handler.ts"), base);
    expect(packageHandler({ handler: "probe", root }).sha256Hex).toBe(before.sha256Hex);
  });

  it("in a module the handler imports changes the bytes too, though the bundle is kept between synths", () => {
    const shared = join(root, HANDLERS_DIR, "probe", "answer.ts");
    writeFileSync(shared, "export const answer = 1;\n");
    writeFileSync(
      join(root, HANDLERS_DIR, "probe", "handler.ts"),
      'import { answer } from "./answer";\nexport const handler = async () => answer;\n',
    );
    const first = packageHandler({ handler: "probe", root });
    expect(readdirSync(join(root, BUNDLE_CACHE_DIR)).filter((f) => f.startsWith("probe-"))).toHaveLength(1);
    writeFileSync(shared, "export const answer = 2;\n");
    const second = packageHandler({ handler: "probe", root });
    expect(second.sha256Hex).not.toBe(first.sha256Hex);
    expect(Buffer.from(unzipSync(second.zip)["index.js"]).toString()).toContain("answer = 2");
    writeFileSync(join(root, HANDLERS_DIR, "probe", "handler.ts"), base);
    rmSync(shared);
  });

  it("in a comment or a type changes nothing that runs, so nothing at all", () => {
    writeFileSync(join(root, HANDLERS_DIR, "probe", "handler.ts"), `// a note\nexport const handler = async (): Promise<number> => 1;\n`);
    expect(packageHandler({ handler: "probe", root }).sha256Hex).toBe(before.sha256Hex);
  });
});

describe("the bundle kept between synths", () => {
  const root = projectCopy("kept");
  const fresh = bundleHandler(HANDLER, root);
  const dir = join(root, BUNDLE_CACHE_DIR);

  it("is the bundle esbuild makes, and is what the next synth takes", () => {
    const [kept] = readdirSync(dir).filter((f) => f.endsWith(".js"));
    expect(kept).toMatch(new RegExp(`^${HANDLER}-[0-9a-f]{20}\\.js$`));
    writeFileSync(join(dir, kept), "/* kept */");
    expect(Buffer.from(bundleHandler(HANDLER, root)).toString()).toBe("/* kept */");
    rmSync(join(dir, kept));
    expect(Buffer.from(bundleHandler(HANDLER, root)).equals(Buffer.from(fresh))).toBe(true);
  });

  it("is bundled afresh when its list of inputs is unreadable or names a file that is gone", () => {
    writeFileSync(join(dir, `${HANDLER}.inputs.json`), "not json");
    expect(Buffer.from(bundleHandler(HANDLER, root)).equals(Buffer.from(fresh))).toBe(true);
    writeFileSync(join(dir, `${HANDLER}.inputs.json`), JSON.stringify(["src/gone.ts"]));
    expect(Buffer.from(bundleHandler(HANDLER, root)).equals(Buffer.from(fresh))).toBe(true);
    expect(existsSync(join(dir, `${HANDLER}.inputs.json`))).toBe(true);
  });
});

describe("what the ZIP holds", () => {
  const code: LambdaPackage = packageHandler({ handler: HANDLER });
  const files = unzipSync(code.zip);
  const bundle = Buffer.from(files["index.js"]).toString();

  it("is one file, index.js: the bundle", () => {
    expect(Object.keys(files)).toEqual(["index.js"]);
    expect(Buffer.from(files["index.js"]).equals(Buffer.from(bundleHandler(HANDLER)))).toBe(true);
  });

  it("a deflated regular file, rw-r--r-- for Unix, dated 1980-01-01 00:00, with no extra fields", () => {
    expect(centralEntry(code.zip)).toEqual({
      madeBy: 3,
      method: 8,
      dosTime: 0,
      dosDate: (0 << 9) | (1 << 5) | 1,
      extraLength: 0,
      unixMode: 0o100644,
    });
  });

  it("leaves the AWS SDK to the Lambda runtime and needs nothing else outside Node.js", () => {
    const required = [...bundle.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    expect(new Set(required)).toEqual(new Set(["node:crypto", "@aws-sdk/client-secrets-manager"]));
    expect(bundle).not.toContain("SecretsManagerServiceException extends");
  });

  it("loads as CommonJS and exports `handler`, as the runtime's index.handler expects", () => {
    const module = { exports: {} as Record<string, unknown> };
    new Function("module", "exports", "require", bundle)(module, module.exports, require);
    expect(typeof module.exports.handler).toBe("function");
  });
});

describe("bad handlers", () => {
  it("refuses a name that is not a plain directory name", () => {
    expect(() => packageHandler({ handler: "../secret-initializer" })).toThrow(
      'Lambda handler name "../secret-initializer" is not a directory name of lowercase letters, digits and -',
    );
  });

  it("names the file it expected when there is none", () => {
    expect(() => packageHandler({ handler: "no-such-handler" })).toThrow(
      'Lambda handler "no-such-handler" has no src/lambdas/no-such-handler/handler.ts: create it (exporting `handler`) or fix the name',
    );
  });

  it("reports a syntax error with the file and line", () => {
    const root = projectCopy("broken", "broken", "export const handler = async () => {\n  return 1 +;\n};\n");
    expect(() => packageHandler({ handler: "broken", root })).toThrow(
      /bundling src\/lambdas\/broken\/handler\.ts failed:\n {2}src\/lambdas\/broken\/handler\.ts:2:/,
    );
  });
});
