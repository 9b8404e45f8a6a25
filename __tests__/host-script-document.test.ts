/**
 * The SSM document the sleeper and the wake function act on the host with: it runs only the two
 * host scripts, for one developer or all, and a developer's name reaches the script as one argument.
 * The document's shell lines run in bash here with the parameters substituted as SSM does, after
 * SSM's own checks (allowed values, pattern), against scripts that print their arguments.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostScriptDocumentContent } from "../src/constructs/host-script-document";
import { scriptParameters } from "../src/lambdas/sleep-wake/host";

interface Parameter {
  readonly allowedValues?: string[];
  readonly allowedPattern?: string;
  readonly default?: string;
}
interface Document {
  readonly parameters: Record<string, Parameter>;
  readonly mainSteps: { action: string; inputs: { runCommand: string[] } }[];
}

let dir: string;
let document: Document;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "host-script-"));
  for (const script of ["start-containers", "stop-containers", "apply"]) {
    writeFileSync(join(dir, `${script}.sh`), `#!/bin/bash\nprintf '%s|' ${script} "$@"\n`);
    chmodSync(join(dir, `${script}.sh`), 0o755);
  }
  document = hostScriptDocumentContent(`${dir}/`) as unknown as Document;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What SSM refuses before sending anything: a value outside the allowed ones or the pattern. */
function refusedBySsm(values: Record<string, string[]>): string | undefined {
  for (const [name, parameter] of Object.entries(document.parameters)) {
    const value = values[name]?.[0] ?? parameter.default;
    if (value === undefined) return `${name} is required`;
    if (parameter.allowedValues && !parameter.allowedValues.includes(value)) return `${name} is not an allowed value`;
    if (parameter.allowedPattern && !new RegExp(parameter.allowedPattern).test(value)) return `${name} does not match the pattern`;
  }
  return undefined;
}

/** The document run on the host for `values`: what the script printed, or SSM's refusal. */
function run(values: Record<string, string[]>): string {
  const refused = refusedBySsm(values);
  if (refused) return `refused: ${refused}`;
  const lines = document.mainSteps[0].inputs.runCommand.map((line) =>
    line.replace(/\{\{ (\w+) \}\}/g, (_, name: string) => values[name]?.[0] ?? document.parameters[name].default ?? ""),
  );
  const result = spawnSync("bash", ["-c", lines.join("\n")], { encoding: "utf8" });
  return result.stdout;
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
