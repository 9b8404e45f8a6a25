/**
 * Every rendered script passes shellcheck and follows the scripts' conventions. What the operator
 * scripts do with their arguments and the AWS CLI is in operator-scripts.test.ts.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { renderApplyDocumentScript, renderBootstrap, renderHostFiles, renderOperatorScripts, type RenderedFile } from "../src/render";
import { fleetOf } from "./fixtures/rosters";
import { editedFleet, PROJECT_ROOT } from "./helpers/fleet";

/** Every template file under `dir`. */
function templateFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".hbs"))
    .map((e) => join(e.parentPath, e.name));
}
import { sleepingAlarmNamesOf } from "./helpers/synth";

const fleet = fleetOf();
const scheduledFleet = editedFleet((roster) => {
  roster.schedule = { timezone: "Europe/Berlin", days: ["mon", "sun"], start: "07:30", stop: "19:45" };
});
const hostScripts = renderHostFiles(fleet).filter((f) => f.path.endsWith(".sh"));
const operatorScripts = renderOperatorScripts(fleet, { sleepingAlarmNames: sleepingAlarmNamesOf(fleet) });
const bootstrap: RenderedFile = { path: "bootstrap/user-data.sh", content: renderBootstrap(fleet), mode: 0o755 };
const applyDocumentScript: RenderedFile = { path: "ssm/apply-host-files.sh", content: renderApplyDocumentScript(fleet), mode: 0o755 };

const workDir = mkdtempSync(join(tmpdir(), "render-scripts-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function writeAll(dir: string, files: readonly RenderedFile[]): string[] {
  return files.map((file) => {
    const path = join(dir, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content, { mode: file.mode });
    return path;
  });
}

const hasShellcheck = spawnSync("shellcheck", ["--version"]).status === 0;

describe("shellcheck", () => {
  if (!hasShellcheck) {
    if (process.env.CI === "true") {
      it("is installed (CI=true requires it: apt-get install -y shellcheck)", () => {
        throw new Error("shellcheck is not on PATH");
      });
    } else {
      console.warn(
        "SKIPPING the shellcheck tests: shellcheck is not on PATH (apt-get install -y shellcheck); CI=true makes this a failure",
      );
      it.skip("shellcheck is not installed", () => undefined);
    }
    return;
  }

  it("passes every host script, operator script, the bootstrap and the apply document's script, following sourced files (-x)", () => {
    // Host and operator scripts land in different places, so check them in separate trees.
    const host = writeAll(join(workDir, "host"), hostScripts);
    const operator = writeAll(join(workDir, "operator"), [...operatorScripts, bootstrap, applyDocumentScript]);
    // wake.sh and sleep.sh take another branch for a roster with a schedule.
    const scheduled = writeAll(
      join(workDir, "operator-scheduled"),
      renderOperatorScripts(scheduledFleet, { sleepingAlarmNames: sleepingAlarmNamesOf(scheduledFleet) }).filter((f) =>
        /\/(wake|sleep)\.sh$/.test(f.path),
      ),
    );
    const result = spawnSync("shellcheck", ["-x", "--severity=style", ...host, ...operator, ...scheduled], { encoding: "utf8" });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });
});

describe("script conventions", () => {
  it.each([...hostScripts, ...operatorScripts, applyDocumentScript].map((f) => [f.path, f] as const))(
    "%s is bash with set -euo pipefail, mode 0755",
    (_, file) => {
      expect(file.content.startsWith("#!/usr/bin/env bash\n")).toBe(true);
      expect(file.content).toMatch(/^set -euo pipefail$/m);
      expect(file.mode).toBe(0o755);
    },
  );

  it("no template parses its options by hand: one parser (partials/options.hbs) for every script", () => {
    const loops = templateFiles(join(PROJECT_ROOT, "templates"))
      .filter((path) => !path.endsWith(join("partials", "options.hbs")))
      // A loop over the arguments, or a case on the first one that matches an option.
      .filter((path) => /while \(\(\$# > 0\)\)|while \[ \$# -gt 0 \]|case \$1 in\s*\n\s*-/.test(readFileSync(path, "utf8")))
      .map((path) => relative(PROJECT_ROOT, path));
    expect(loops).toEqual([]);
  });

  it("every upload to S3 in a template sends a checksum: the archive bucket's Object Lock refuses an object without one", () => {
    const remote = (word: string) => /^"?(\$url|s3:\/\/)/.test(word);
    const uploads: string[] = [];
    for (const path of templateFiles(join(PROJECT_ROOT, "templates"))) {
      for (const line of readFileSync(path, "utf8").split("\n")) {
        const at = line.search(/\bs3 cp\b/);
        if (at < 0) continue;
        const words = line
          .slice(at + "s3 cp".length)
          .split("|")[0]
          .split("||")[0]
          .trim()
          .split(/\s+/);
        const operands = words.filter((w, i) => !w.startsWith("--") && !["--expected-size", "--checksum-algorithm"].includes(words[i - 1]));
        const [source, target] = operands.slice(-2);
        if (!remote(source) && remote(target)) uploads.push(`${relative(PROJECT_ROOT, path)}: ${line.trim()}`);
      }
    }
    expect(uploads.length).toBeGreaterThanOrEqual(4);
    expect(uploads.filter((u) => !/--checksum-algorithm (CRC32|SHA256)\b/.test(u))).toEqual([]);
  });

  it("operator scripts are not among the host files (they are not uploaded)", () => {
    const hostPaths = new Set(renderHostFiles(fleet).map((f) => f.path));
    for (const file of operatorScripts) expect(hostPaths.has(file.path)).toBe(false);
    expect(operatorScripts.map((f) => f.path)).toEqual([
      "scripts/readd-developer.sh",
      "scripts/restart.sh",
      "scripts/restore.sh",
      "scripts/rotate-password.sh",
      "scripts/set-api-key.sh",
      "scripts/show-password.sh",
      "scripts/sleep.sh",
      "scripts/wake.sh",
    ]);
  });
});
