/**
 * `npm run review` without a plan: its arguments and errors (exit 1 and 2), the base read from a
 * file or a git revision, no review at all without terraform, and the monthly cost section, which
 * reads the two rosters alone. Terraform's plans of roster changes, and the review's account of
 * them, are in plans/review-changes.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { parseRoster } from "../src/roster";
import { costDeltaSection } from "../src/review/cost-section";
import { renderReview } from "../src/review/report";
import { readBaseRoster } from "../src/review/base";
import { review, synthesizeRoster, type Review } from "../src/review/review";
import { DEFAULT_ROSTER_TEXT, PROJECT_ROOT } from "./helpers/fleet";
import { launch } from "./helpers/launch";

const TFVARS = readFileSync(join(PROJECT_ROOT, "terraform.tfvars.example"), "utf8");
const work = mkdtempSync(join(tmpdir(), "review-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Roster = { host: { instanceType: string }; developers: { name: string; port: number }[] };
const edited = (edit: (roster: Roster) => void): string => {
  const roster = parse(DEFAULT_ROSTER_TEXT) as Roster;
  edit(roster);
  return stringify(roster);
};
/** The default roster on a host with room for more developers. */
const roomy = (roster: Roster) => (roster.host.instanceType = "c5.4xlarge");
const withDev9 = (roster: Roster) => {
  roomy(roster);
  roster.developers.push({ name: "dev9", port: 8451 });
};

/** Each roster is synthesized once for the file, however many reviews compare it. */
const synthesizedRosters = new Map<string, ReturnType<typeof synthesizeRoster>>();
function synthesized(label: string, text: string) {
  const key = JSON.stringify([label, text]);
  if (!synthesizedRosters.has(key)) synthesizedRosters.set(key, synthesizeRoster(label, parseRoster(text, label)));
  return synthesizedRosters.get(key)!;
}

/**
 * The two rosters as a review holds them, before any plan: all the cost section reads (it prices
 * each roster's own configuration).
 */
function reviewOf(baseText: string, currentText: string): Review {
  const [base, current] = [synthesized("base.yaml", baseText), synthesized("roster.yaml", currentText)];
  return { base, current, diffs: [], changes: [], protected: [], impacts: [], refusals: [], vars: {} };
}

describe("the monthly cost section", () => {
  /** The same edit, in us-east-1, whose price file prices every line a developer adds. */
  const inUsEast1 = (edit: (roster: Roster) => void) => (roster: Roster) => {
    Object.assign(roster, { region: "us-east-1", availabilityZones: ["us-east-1a", "us-east-1b"] });
    edit(roster);
  };
  const schedule = (roster: Roster) =>
    Object.assign(roster, {
      schedule: { timezone: "Asia/Bangkok", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "20:00" },
    });
  const rows = (result: Review) => {
    const section = costDeltaSection(result)!;
    const report = renderReview(result, [section]);
    return { title: section.title, lines: section.lines, report };
  };

  it("adding a developer: base → new and the difference, which is dev9's own lines computed by hand", () => {
    const { title, lines, report } = rows(reviewOf(edited(inUsEast1(roomy)), edited(inUsEast1(withDev9))));
    expect(title).toBe("Monthly cost (npm run cost)");
    // us-east-1's file leaves 5 fleet-wide lines unpriced (README: Cost to run): the sums are floors.
    expect(lines[0]).toBe("USD a month, sums of the priced lines (≥: the bill is higher), us-east-1 prices from prices/us-east-1.json:");
    // dev9: 2 secrets × $0.40 + 3 alarms × $0.10 + 2 GB of logs × $0.50 + 5 metrics × $0.30 = $3.60;
    // dev9's logs also add storage, which us-east-1's file leaves unpriced: the difference is a floor.
    expect(lines[1]).toMatch(/^Always on +≥\$(\d+\.\d\d) → +≥\$(\d+\.\d\d) +≥ \+\$3\.60$/);
    expect(lines.at(-2)).toMatch(/^The change also moves lines with no sourced price \(CloudWatch Logs storage\): /);
    const [, before, after] = /\$(\d+\.\d\d) → +≥\$(\d+\.\d\d)/.exec(lines[1])!;
    expect(Math.round((Number(after) - Number(before)) * 100)).toBe(360);
    // Over 8 and then 9 developers a floor bounds nothing per developer.
    const [, perBefore, perAfter] = /\$(\d+\.\d\d) → +≥\$(\d+\.\d\d) +unknown$/.exec(lines[2])!;
    expect(lines[2]).toMatch(/^Per developer \(8 → 9\)/);
    expect([Number(perBefore), Number(perAfter)]).toEqual([
      Math.round((Number(before) / 8) * 100) / 100,
      Math.round((Number(after) / 9) * 100) / 100,
    ]);
    // No schedule on either side: no scheduled rows.
    expect(lines.some((l) => l.startsWith("Scheduled"))).toBe(false);
    expect(report).toContain("\nMonthly cost (npm run cost)\n  USD a month, sums of the priced lines");
  });

  it("adding a schedule: the scheduled rows, at most 70 % per developer, and always on only its failure alarm dearer", () => {
    const { lines } = rows(reviewOf(edited(inUsEast1(() => undefined)), edited(inUsEast1(schedule))));
    // The schedule's own alarm on dropped calls ($0.10); its invocations are $0.00 at $1 a million.
    expect(lines[1]).toMatch(/^Always on .* \+\$0\.10$/);
    const scheduled = lines.find((l) => l.startsWith("Scheduled (168 → 60 h/week)"))!;
    const perDeveloper = lines.find((l) => l.startsWith("Scheduled, per developer"))!;
    const [, alwaysOn] = /\$(\d+\.\d\d) → /.exec(lines[2])!;
    const [, , scheduledPerDeveloper] = /\$(\d+\.\d\d) → +≥\$(\d+\.\d\d)/.exec(perDeveloper)!;
    // The unpriced lines that stop with the host (us-east-1: detailed monitoring, log storage) cost
    // less too: the scheduled saving is at least the priced one.
    expect(scheduled).toMatch(/ ≤ −\$\d+\.\d\d$/);
    expect(Number(scheduledPerDeveloper)).toBeLessThanOrEqual(0.7 * Number(alwaysOn));
  });

  it("says which lines it leaves out, and is absent when a roster's region has no price file", () => {
    // ap-southeast-7's file prices data transfer (2 lines) and the KMS key; a line whose instance type changes is one line.
    const { lines } = rows(reviewOf(DEFAULT_ROSTER_TEXT, edited(withDev9)));
    expect(lines.at(-1)).toBe("19 of 22 lines have no sourced price and are left out of the sums; npm run cost lists them.");
    // dev9's secrets, alarms and logs have no price in ap-southeast-7: the difference is not the priced lines' difference.
    expect(lines[1]).toMatch(/^Always on +≥\$\d+\.\d\d → +≥\$\d+\.\d\d +unknown$/);
    expect(lines.at(-2)).toMatch(/^The change also moves lines with no sourced price \(EC2 host c5\.4xlarge, Secrets Manager secrets, /);
    const brazil = (roster: Roster) => Object.assign(roster, { region: "sa-east-1", availabilityZones: ["sa-east-1a", "sa-east-1b"] });
    expect(costDeltaSection(reviewOf(DEFAULT_ROSTER_TEXT, edited(brazil)))).toBeUndefined();
  });

  it("a resource of a type the cost model does not know, added by the change: the difference is a floor", () => {
    const result = reviewOf(edited(inUsEast1(() => undefined)), edited(inUsEast1(() => undefined)));
    const config = structuredClone(result.current.config) as { resource: Record<string, unknown> };
    config.resource.aws_nat_gateway = { nat: {} };
    const { lines } = rows({ ...result, current: { ...result.current, config: config as unknown as Review["current"]["config"] } });
    expect(lines[1]).toMatch(/^Always on .* ≥ ±\$0\.00$/);
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^The change also moves lines with no sourced price \(aws_nat_gateway \(a type the cost model does not know\)\): /,
      ),
    );
  });

  it("an instance type change where the host has no price: the difference is unknown, never ±$0", () => {
    const { lines } = rows(
      reviewOf(
        DEFAULT_ROSTER_TEXT,
        edited((roster) => Object.assign(roster, { host: { instanceType: "t3a.2xlarge" } })),
      ),
    );
    expect(lines.slice(1, 3).map((l) => l.split(/ {3}/).at(-1))).toEqual(["unknown", "unknown"]);
    expect(lines[3]).toMatch(/^The change also moves lines with no sourced price \(EC2 host t3a\.2xlarge\): /);
  });

  it("is appended by npm run review, before the summary", () => {
    const current = join(work, "scheduled.yaml");
    writeFileSync(current, edited(schedule));
    const run = launch("src/review/main.ts", ["--base", "roster.yaml"], { env: { ROSTER_FILE: current } });
    expect([run.status, run.stderr]).toEqual([0, ""]);
    expect(run.stdout).toMatch(
      /\nMonthly cost \(npm run cost\)\n {2}USD a month, sums of the priced lines \(≥: the bill is higher\), ap-southeast-7 prices[^\n]*\n {2}Always on [^\n]*\n[\s\S]*\n\nSummary: /,
    );
    expect(run.stdout).toMatch(/\n {2}Scheduled \(168 → 60 h\/week\) /);
  });
});

describe("npm run review, the command", () => {
  const file = (name: string, text: string) => {
    const path = join(work, name);
    writeFileSync(path, text);
    return path;
  };

  it("exits 1 without terraform, saying it would only guess, and prints no review", () => {
    const current = file(
      "type.yaml",
      edited((r) => (r.host.instanceType = "t3a.2xlarge")),
    );
    for (const args of [["--base=roster.yaml"], ["--base", "roster.yaml", "--var", "vpc_cidr=10.50.0.0/16"]]) {
      const run = launch("src/review/main.ts", args, { env: { ROSTER_FILE: current, PATH: "/usr/bin:/bin" } });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain("npm run review needs terraform on PATH: every verdict comes from Terraform's plan of the change");
      expect(run.stdout).toBe("");
    }
    expect(() =>
      review(reviewOf(DEFAULT_ROSTER_TEXT, DEFAULT_ROSTER_TEXT).base, reviewOf(DEFAULT_ROSTER_TEXT, DEFAULT_ROSTER_TEXT).current, {
        terraform: undefined,
        tfvars: TFVARS,
      }),
    ).toThrow(expect.objectContaining({ name: "ReviewError" }));
  });

  it("exits 1 with the roster's own message when the base roster is bad", () => {
    const base = file(
      "bad-base.yaml",
      "domain: dev.example.com\nhost: { instanceType: t3.2xlarge }\ndevelopers:\n  - { name: Dev_1, port: 8443 }\n",
    );
    const run = launch("src/review/main.ts", ["--base", base]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${base}:4: developers[0].name: a developer name must be a DNS label`);
    expect(run.stdout).toBe("");
  });

  it("exits 1 for a base that is neither a file nor a git revision", () => {
    const run = launch("src/review/main.ts", ["--base", "no-such-branch-or-file"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      '--base no-such-branch-or-file: there is no such file, and git knows no revision "no-such-branch-or-file"',
    );
  });

  it("exits 1 when the current roster file does not exist, and 2 without --base", () => {
    const missing = launch("src/review/main.ts", ["--base", "roster.yaml"], { env: { ROSTER_FILE: join(work, "missing.yaml") } });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/missing\.yaml: .*file not found.*set ROSTER_FILE/);
    const usage = launch("src/review/main.ts", []);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("--base is required");
  });

  it("exits 2 for a --var that names no variable, or has no value", () => {
    const unknown = launch("src/review/main.ts", ["--base", "roster.yaml", "--var", "vpc_size=10"]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("--var vpc_size=10: there is no variable vpc_size; the variables are hosted_zone_id,");
    const bare = launch("src/review/main.ts", ["--base", "roster.yaml", "--var=vpc_cidr"]);
    expect(bare.status).toBe(2);
    expect(bare.stderr).toContain("--var vpc_cidr: write it as <name>=<value>, e.g. --var vpc_cidr=10.50.0.0/16");
  });

  it("reads the base from a git revision: the roster file as that commit has it", () => {
    const base = readBaseRoster("HEAD", "roster.yaml", PROJECT_ROOT);
    expect(base.label).toBe("HEAD:roster.yaml");
    expect(parseRoster(base.text, base.label).developers.length).toBeGreaterThan(0);
  });
});
