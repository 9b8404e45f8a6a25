/**
 * The sleeper and the wake function bundle like every project handler: one index.js that leaves
 * the AWS SDK to the runtime, exports `handler`, and loads without reading its environment (the
 * environment is read at the first event, so a cold start with a bad one fails that event).
 */
import "./helpers/quiet-aws-sdk";
import { createRequire } from "node:module";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { BUNDLE_FILE, packageHandler, PROJECT_ROOT } from "../src/lambdas/package";

// The wake also signs visitors in with the gate's libraries (openid-client, jose: about 140 kB).
describe.each([
  ["sleeper", 100_000],
  ["wake", 250_000],
])("the %s handler", (name, limit) => {
  const { zip } = packageHandler({ handler: name });
  const files = unzipSync(zip);
  const code = new TextDecoder().decode(files[BUNDLE_FILE]);

  it("is one index.js that requires the AWS SDK instead of holding it", () => {
    expect(Object.keys(files)).toEqual([BUNDLE_FILE]);
    expect(code).toMatch(/require\("@aws-sdk\/client-elastic-load-balancing-v2"\)/);
    // The SDK's clients would weigh megabytes; the project's own code is tens of kilobytes.
    expect(code.length).toBeLessThan(limit);
  });

  it("loads and exports a handler function", () => {
    const module = { exports: {} as Record<string, unknown> };
    const load = new Function("module", "exports", "require", code) as (m: unknown, e: unknown, r: NodeJS.Require) => void;
    load(module, module.exports, createRequire(join(PROJECT_ROOT, "package.json")));
    expect(typeof module.exports.handler).toBe("function");
  });
});
