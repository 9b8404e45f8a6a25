/**
 * The SSM document the sleeper and the wake function act on the host with: it runs only the two
 * host scripts, for one developer or all, and a developer's name reaches the script as one argument.
 * The document's shell lines run in bash here with the parameters substituted as SSM does, after
 * SSM's own checks (allowed values, pattern; the rehearsal's stand-in does the same), against
 * scripts that print their arguments.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostScriptDocumentContent } from "../src/constructs/host-script-document";
import { scriptParameters } from "../src/lambdas/sleep-wake/host";
import { commandScript, type CommandDocument } from "../rehearse/sleep/document";

let dir: string;
let document: CommandDocument;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "host-script-"));
  for (const script of ["start-containers", "stop-containers", "apply"]) {
    writeFileSync(join(dir, `${script}.sh`), `#!/bin/bash\nprintf '%s|' ${script} "$@"\n`);
    chmodSync(join(dir, `${script}.sh`), 0o755);
  }
  document = hostScriptDocumentContent(`${dir}/`) as unknown as CommandDocument;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The document run on the host for `values`, as SSM and its agent would: what the script printed, or SSM's refusal. */
function run(values: Record<string, string[]>): string {
  const made = commandScript(document, values);
  if ("refused" in made) return `refused: ${made.refused}`;
  return spawnSync("bash", ["-c", made.script], { encoding: "utf8" }).stdout;
}

describe("the host script document", () => {
  it("runs a script for one developer, as the functions send it", () => {
    expect(run(scriptParameters("start-containers", "dev1"))).toBe("start-containers|--developer|dev1|");
    expect(run(scriptParameters("stop-containers", "ml-team-2"))).toBe("stop-containers|--developer|ml-team-2|");
  });

  it("runs a script for every developer without a name", () => {
    expect(run(scriptParameters("stop-containers"))).toBe("stop-containers|");
  });

  it("runs no other script", () => {
    expect(run({ script: ["apply"], developer: [""] })).toBe("refused: script is not an allowed value");
    expect(run({ script: ["../apply"], developer: [""] })).toBe("refused: script is not an allowed value");
  });

  it.each(["dev1; reboot", "$(reboot)", "dev1 --all", "'dev1'", "-dev1", "Dev1", "dev1\nreboot"])(
    "refuses the developer %j before anything runs",
    (developer) => {
      expect(run({ script: ["stop-containers"], developer: [developer] })).toBe("refused: developer does not match the pattern");
    },
  );
});
