/**
 * What synth writes, file by file, as a recorded digest: the Terraform JSON (cdk.tf.json), the HCL
 * export and every host file and operator script of the deployment/ layout, for the default roster
 * and for rosters that switch on what the default leaves off. A refactor leaves every digest as it
 * was; a change that means to alter the output updates the record on purpose and says why in its
 * commit:
 *
 *   UPDATE_DIGESTS=1 npx jest __tests__/synth-digest.test.ts
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { synthInto } from "../src/app";
import { deploymentFiles } from "../src/export/deployment";
import { parseRoster, type Fleet } from "../src/roster";
import type { TerraformJson } from "../src/terraform/plan-json";
import { fleetOf } from "./fixtures/rosters";
import { ecsOidcRosterText } from "./helpers/ecs-oidc";
import { defaultFleet, editedFleet, PROJECT_ROOT } from "./helpers/fleet";

const RECORD = join(__dirname, "fixtures", "synth-digests.json");

/** The rosters whose output is recorded, by name. */
const ROSTERS: Record<string, () => Fleet> = {
  default: defaultFleet,
  "schedule, WAF and S3 backend": () =>
    editedFleet((roster) => {
      roster.schedule = { timezone: "Asia/Bangkok", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "20:00" };
      roster.waf = { enabled: true };
      roster.state = { backend: "s3", bucket: "example-terraform-state" };
    }),
  "three developers of different sizes and extensions": () => fleetOf(),
  "ECS signing in with OpenID Connect": () => parseRoster(ecsOidcRosterText()),
  "host sleeping when idle, a developer with their own idle time and one who never sleeps": () =>
    editedFleet((roster) => {
      roster.sleep = { idleMinutes: 30 };
      const developers = roster.developers as { idleMinutes?: number }[];
      developers[1].idleMinutes = 0;
      developers[2].idleMinutes = 90;
    }),
};

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** sha256 of every file synth writes for `fleet`, by path: `cdk.tf.json` and `deployment/...` with its mode. */
function digests(fleet: Fleet): Record<string, string> {
  const outdir = mkdtempSync(join(tmpdir(), "synth-digest-"));
  try {
    const { stack, stackDir, hostFiles } = synthInto(fleet, outdir);
    const json = readFileSync(join(stackDir, "cdk.tf.json"), "utf8");
    const files = deploymentFiles(stack, join(PROJECT_ROOT, "deployment"), {
      projectRoot: PROJECT_ROOT,
      hostFiles,
      synthesized: JSON.parse(json) as TerraformJson,
    });
    const entries = [
      ["cdk.tf.json", sha256(json)],
      ...files.map((file) => [`deployment/${file.path} ${file.mode.toString(8)}`, sha256(file.content)]),
    ];
    return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : 1)));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const actual = Object.fromEntries(Object.entries(ROSTERS).map(([name, fleet]) => [name, digests(fleet())]));

if (process.env.UPDATE_DIGESTS === "1") {
  writeFileSync(RECORD, `${JSON.stringify(actual, null, 2)}\n`);
  console.warn(`UPDATE_DIGESTS=1: rewrote ${RECORD}; say in the commit why the output changes`);
}
const recorded = JSON.parse(readFileSync(RECORD, "utf8")) as Record<string, Record<string, string>>;

describe.each(Object.keys(ROSTERS))("what synth writes for the %s roster", (name) => {
  it("is file for file what the record says (UPDATE_DIGESTS=1 rewrites it, for a change that means it)", () => {
    expect(Object.keys(actual[name])).toEqual(Object.keys(recorded[name] ?? {}));
    const changed = Object.keys(actual[name]).filter((path) => actual[name][path] !== recorded[name][path]);
    expect(changed).toEqual([]);
  });
});
