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
  /** The same edit, in us-east-1, whose price file prices every line a developer adds but one. */
  const inUsEast1 = (edit: (roster: Roster) => void) => (roster: Roster) => {
    Object.assign(roster, { region: "us-east-1", availabilityZones: ["us-east-1a", "us-east-1b"] });
    edit(roster);
  };
  const inRegion = (region: string) => (roster: Roster) =>
    Object.assign(roster, { region, availabilityZones: [`${region}a`, `${region}b`] });
  const schedule = (roster: Roster) =>
    Object.assign(roster, {
      schedule: { timezone: "Asia/Bangkok", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "20:00" },
    });
  const rows = (result: Review) => {
    const section = costDeltaSection(result);
    const report = renderReview(result, [section]);
    return { title: section.title, lines: section.lines, report };
  };
  /** The difference a row states, after the two sums. */
  const delta = (line: string) => line.split(/ {3}/).at(-1);

  it("adding a developer: base → new and the difference, which is dev9's own lines computed by hand", () => {
    const { title, lines, report } = rows(reviewOf(edited(inUsEast1(roomy)), edited(inUsEast1(withDev9))));
    expect(title).toBe("Monthly cost (npm run cost)");
    // us-east-1's file leaves 4 fleet-wide lines unpriced (docs/cost.md): the sums are floors.
    expect(lines[0]).toBe(
      'USD a month, us-east-1 prices from prices/us-east-1.json; "at least": a sum that leaves out lines with no price:',
    );
    // dev9: 2 secrets × $0.40 + 3 alarms × $0.10 + 2 GB of logs × $0.50 + 5 metrics × $0.30 = $3.60;
    // dev9's logs also add storage, which us-east-1's file leaves unpriced: the difference is a floor, and says why.
    expect(lines[1]).toMatch(/^Always on +at least \$(\d+\.\d\d) → +at least \$(\d+\.\d\d) {3}/);
    expect(delta(lines[1])).toBe("at least $3.60 more: more CloudWatch Logs storage (no price)");
    const [, before, after] = /\$(\d+\.\d\d) → +at least \$(\d+\.\d\d)/.exec(lines[1])!;
    expect(Math.round((Number(after) - Number(before)) * 100)).toBe(360);
    // Over 8 and then 9 developers a floor bounds nothing per developer.
    const [, perBefore, perAfter] = /\$(\d+\.\d\d) → +at least \$(\d+\.\d\d) {3}/.exec(lines[2])!;
    expect(lines[2]).toMatch(/^Per developer \(8 → 9\)/);
    expect(delta(lines[2])).toBe(
      "unknown: more CloudWatch Logs storage (no price); and the lines with no price are shared by 9 developers instead of 8",
    );
    expect([Number(perBefore), Number(perAfter)]).toEqual([
      Math.round((Number(before) / 8) * 100) / 100,
      Math.round((Number(after) / 9) * 100) / 100,
    ]);
    // No schedule on either side: no scheduled rows.
    expect(lines.some((l) => l.startsWith("Scheduled"))).toBe(false);
    expect(lines.at(-1)).toBe(
      "4 of 22 lines have no sourced price and are left out of the sums: EC2 detailed monitoring, CloudWatch Logs storage, VPC flow logs (vended log ingestion), AWS Budgets; npm run cost lists them.",
    );
    expect(report).toContain('\nMonthly cost (npm run cost)\n  USD a month, us-east-1 prices from prices/us-east-1.json; "at least"');
    expect(report).not.toMatch(/[±≥≤]/);
  });

  it("a larger data volume (--var data_volume_size_gb): the new roster priced with it, the difference 500 GB of gp3, and the header says so", () => {
    const text = edited(inUsEast1(() => undefined));
    const result = { ...reviewOf(text, text), vars: { data_volume_size_gb: "1000" } };
    const { lines } = rows(result);
    const gp3 = JSON.parse(readFileSync(join(PROJECT_ROOT, "prices", "us-east-1.json"), "utf8")).prices["ebs.gp3.gb-month"].usd as number;
    expect(lines[0]).toMatch(
      /^USD a month, us-east-1 prices from prices\/us-east-1\.json, the new one with a 1000 GB data volume \(--var data_volume_size_gb\)/,
    );
    expect(delta(lines[1])).toBe(`$${(500 * gp3).toFixed(2)} more`);
    // Without the variable, nothing moves.
    expect(delta(rows(reviewOf(text, text)).lines[1])).toBe("no change");
  });

  it("adding a schedule: the scheduled rows, at most 70 % per developer, and always on only its failure alarm dearer", () => {
    const { lines } = rows(reviewOf(edited(inUsEast1(() => undefined)), edited(inUsEast1(schedule))));
    // The schedule's own alarm on dropped calls ($0.10); its invocations are $0.00 at $1 a million.
    expect(delta(lines[1])).toBe("$0.10 more");
    expect(lines[2]).toMatch(/^Per developer \(8\) /);
    const scheduled = lines.find((l) => l.startsWith("Scheduled (168 → 60 h/week)"))!;
    const perDeveloper = lines.find((l) => l.startsWith("Scheduled, per developer"))!;
    const [, alwaysOn] = /\$(\d+\.\d\d) → /.exec(lines[2])!;
    const [, , scheduledPerDeveloper] = /\$(\d+\.\d\d) → +at least \$(\d+\.\d\d)/.exec(perDeveloper)!;
    // The unpriced lines that stop with the host (us-east-1: detailed monitoring, log storage) cost
    // less too: the scheduled saving is at least the priced one, and the row says which lines.
    expect(delta(scheduled)).toMatch(
      /^at least \$\d+\.\d\d less: fewer hours of EC2 detailed monitoring \(no price\); fewer hours of CloudWatch Logs storage \(no price\)$/,
    );
    expect(Number(scheduledPerDeveloper)).toBeLessThanOrEqual(0.7 * Number(alwaysOn));
  });

  it("in ap-southeast-7, names the new host type with no price as what makes the difference unknown", () => {
    const { lines } = rows(reviewOf(DEFAULT_ROSTER_TEXT, edited(withDev9)));
    expect(lines.at(-1)).toBe("16 of 22 lines have no sourced price and are left out of the sums; npm run cost lists them.");
    expect(lines[1]).toMatch(/^Always on +at least \$\d+\.\d\d → +at least \$\d+\.\d\d {3}/);
    expect(delta(lines[1])).toBe(
      "unknown: the new host type c5.4xlarge has no price; more Secrets Manager secrets (no price); and 4 more lines with no price",
    );
    expect(lines.at(-2)).toMatch(/^Lines with no price that the change moves: EC2 host c5\.4xlarge, Secrets Manager secrets, /);
  });

  it("when a roster's region has no price file, says which region and how to create one", () => {
    const prices = "(prices/ has ap-southeast-1, ap-southeast-7, eu-west-1, us-east-1)";
    const howTo = (region: string) =>
      `Create it with npm run cost -- --update-prices ${region} (it reads AWS's public price list), then review again.`;
    const { title, lines, report } = rows(reviewOf(DEFAULT_ROSTER_TEXT, edited(inRegion("sa-east-1"))));
    expect(title).toBe("Monthly cost (npm run cost)");
    expect(lines).toEqual([`No cost figures: the new roster's region sa-east-1 has no price file ${prices}. ${howTo("sa-east-1")}`]);
    expect(report).toMatch(/\nMonthly cost \(npm run cost\)\n {2}No cost figures: /);
    expect(rows(reviewOf(edited(inRegion("sa-east-1")), DEFAULT_ROSTER_TEXT)).lines).toEqual([
      `No cost figures: the base roster's region sa-east-1 has no price file ${prices}. ${howTo("sa-east-1")}`,
    ]);
    const inBrazil = edited(inRegion("sa-east-1"));
    expect(rows(reviewOf(inBrazil, inBrazil)).lines).toEqual([
      `No cost figures: both rosters' region sa-east-1 has no price file ${prices}. ${howTo("sa-east-1")}`,
    ]);
  });

  it("a resource of a type the cost model does not know, added by the change: the difference is a floor", () => {
    const result = reviewOf(edited(inUsEast1(() => undefined)), edited(inUsEast1(() => undefined)));
    const config = structuredClone(result.current.config);
    config.resource.aws_rds_cluster = { db: {} };
    const { lines } = rows({ ...result, current: { ...result.current, config } });
    expect(delta(lines[1])).toBe("the same or more: aws_rds_cluster, a resource type the cost model does not know, is added");
    expect(lines).toContain("Resource types the cost model does not know, left out: aws_rds_cluster.");
  });

  it("an instance type change where the host has no price: the difference is unknown, never no change", () => {
    const { lines } = rows(
      reviewOf(
        DEFAULT_ROSTER_TEXT,
        edited((roster) => Object.assign(roster, { host: { instanceType: "t3a.2xlarge" } })),
      ),
    );
    expect(lines.slice(1, 3).map(delta)).toEqual([
      "unknown: the new host type t3a.2xlarge has no price",
      "unknown: the new host type t3a.2xlarge has no price",
    ]);
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
