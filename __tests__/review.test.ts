/**
 * `npm run review`: a roster change as resources added, removed and changed, grouped by
 * developer and by layer, the protected resources named, and the exit code (0: none of them
 * changes, 3: one does, 1: an error). Terraform is not needed for these cases; the plan-backed
 * verdicts are in plans/review-terraform.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { parseRoster } from "../src/roster";
import { costDeltaSection } from "../src/review/cost-section";
import { renderReview } from "../src/review/report";
import { exitCodeOf, review, synthesizeRoster, type Review } from "../src/review/review";
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
const withoutDev5 = (roster: Roster) => (roster.developers = roster.developers.filter((d) => d.name !== "dev5"));

/** Each roster is synthesized once for the file, however many reviews compare it. */
const synthesizedRosters = new Map<string, ReturnType<typeof synthesizeRoster>>();
function synthesized(label: string, text: string) {
  const key = JSON.stringify([label, text]);
  if (!synthesizedRosters.has(key)) synthesizedRosters.set(key, synthesizeRoster(label, parseRoster(text, label)));
  return synthesizedRosters.get(key)!;
}

function reviewOf(baseText: string, currentText: string): Review {
  return review(synthesized("base.yaml", baseText), synthesized("roster.yaml", currentText), {
    terraform: undefined,
    tfvars: TFVARS,
  });
}

/** The report's lines from `title` up to the next blank line. */
function section(report: string, title: string): string[] {
  const lines = report.split("\n");
  const start = lines.indexOf(title);
  if (start < 0) throw new Error(`no section "${title}" in:\n${report}`);
  const end = lines.indexOf("", start);
  return lines.slice(start + 1, end);
}

describe("adding a developer", () => {
  const result = reviewOf(edited(roomy), edited(withDev9));
  const report = renderReview(result);

  it("lists only the new developer, with their resources grouped by layer, all added", () => {
    const titles = report.split("\n").filter((l) => /^dev\d+ \(/.test(l));
    expect(titles).toEqual(["dev9 (added)"]);
    const dev9 = section(report, "dev9 (added)");
    expect(dev9.filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim())).toEqual(["alb", "artifacts", "monitoring", "secrets"]);
    const resources = dev9.filter((l) => /^ {4}[-+~] /.test(l));
    expect(resources.every((l) => l.startsWith("    + "))).toBe(true);
    const types = resources.map((l) => l.slice(6).split(".")[0]).sort();
    expect(types).toEqual(
      [
        "aws_cloudwatch_log_group",
        "aws_cloudwatch_metric_alarm",
        "aws_cloudwatch_metric_alarm",
        "aws_cloudwatch_metric_alarm",
        "aws_lb_listener_rule",
        "aws_lb_target_group",
        "aws_lb_target_group_attachment",
        "aws_route53_record",
        "aws_s3_object",
        "aws_secretsmanager_secret",
        "aws_secretsmanager_secret",
      ].sort(),
    );
  });

  it("puts the fleet-wide changes (host files, the apply association, the dashboard, the port range) under the shared heading", () => {
    const shared = section(report, "Shared by the whole fleet");
    const changed = shared.filter((l) => l.startsWith("    ~ ")).map((l) => l.slice(6).split(".")[0]);
    expect(new Set(changed)).toEqual(
      new Set([
        "aws_s3_object",
        "aws_ssm_association",
        "aws_cloudwatch_dashboard",
        "aws_vpc_security_group_egress_rule",
        "aws_vpc_security_group_ingress_rule",
      ]),
    );
    expect(shared.some((l) => l.startsWith("    + ") || l.startsWith("    - "))).toBe(false);
  });

  it("widens the one ALB-to-host rule of each direction to the new port instead of adding rules", () => {
    const rules = result.diffs.filter((d) => d.entry.type.startsWith("aws_vpc_security_group_"));
    expect(rules.map((d) => [d.kind, d.entry.address])).toEqual([
      ["changed", "aws_vpc_security_group_egress_rule.network_alb-out-developers"],
      ["changed", "aws_vpc_security_group_ingress_rule.network_host-in-developers"],
    ]);
    for (const rule of rules) expect(rule.attributes).toContainEqual({ path: "to_port", description: "8450 → 8451" });
  });

  it("summarizes a changed host file in one line instead of printing it", () => {
    const compose = result.diffs.find((d) => d.kind === "changed" && String(d.entry.body.key).endsWith("docker/docker-compose.yml"))!;
    expect(compose.attributes).toEqual([{ path: "content", description: expect.stringMatching(/^\d+ → \d+ lines \(\+\d+ −0\)$/) }]);
    expect(report).not.toContain("services:");
  });

  it("leaves every protected resource unchanged and exits 0", () => {
    expect(result.protected.map((v) => [v.role, v.action])).toEqual([
      ["host", "unchanged"],
      ["dataVolume", "unchanged"],
      ["dataVolumeAttachment", "unchanged"],
      ["archiveBucket", "unchanged"],
    ]);
    expect(result.verdictSource).toBe("configuration");
    expect(exitCodeOf(result)).toBe(0);
    expect(report).toMatch(/Summary: 11 to add, \d+ to change, 0 to remove\. No protected resource changes\./);
  });
});

describe("removing a developer", () => {
  const result = reviewOf(DEFAULT_ROSTER_TEXT, edited(withoutDev5));
  const report = renderReview(result);

  it("lists dev5 as removed with every one of their resources, and no other developer", () => {
    expect(report.split("\n").filter((l) => /^dev\d+ \(/.test(l))).toEqual(["dev5 (removed)"]);
    const removed = section(report, "dev5 (removed)").filter((l) => /^ {4}[-+~] /.test(l));
    expect(removed).toHaveLength(11);
    expect(removed.every((l) => l.startsWith("    - "))).toBe(true);
    expect(result.diffs.filter((d) => d.kind === "removed").every((d) => d.entry.developer === "dev5")).toBe(true);
  });

  it("exits 0: the host, the data volume, its attachment and the archive bucket are untouched", () => {
    expect(exitCodeOf(result)).toBe(0);
    expect(result.protected.every((v) => v.action === "unchanged")).toBe(true);
  });
});

describe("appended sections", () => {
  it("follow the protected resources, before the summary, in the order given", () => {
    const result = reviewOf(edited(roomy), edited(withDev9));
    const report = renderReview(result, [
      { title: "Monthly cost", lines: ["+ $31.40 (dev9)"] },
      { title: "Second", lines: ["two"] },
    ]);
    const lines = report.split("\n");
    const at = (text: string) => lines.findIndex((l) => l.startsWith(text));
    expect(lines.slice(at("Monthly cost"), at("Monthly cost") + 2)).toEqual(["Monthly cost", "  + $31.40 (dev9)"]);
    expect(at("Protected resources")).toBeLessThan(at("Monthly cost"));
    expect(at("Monthly cost")).toBeLessThan(at("Second"));
    expect(at("Second")).toBeLessThan(at("Summary:"));
  });
});

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
    // us-east-1's file leaves 4 fleet-wide lines unpriced (README: Cost to run): the sums are floors.
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
    const config = structuredClone(result.current.config) as { resource: Record<string, unknown> };
    config.resource.aws_nat_gateway = { nat: {} };
    const { lines } = rows({ ...result, current: { ...result.current, config: config as unknown as Review["current"]["config"] } });
    expect(delta(lines[1])).toBe("the same or more: aws_nat_gateway, a resource type the cost model does not know, is added");
    expect(lines).toContain("Resource types the cost model does not know, left out: aws_nat_gateway.");
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

  it("is appended by npm run review, before the summary", () => {
    const current = join(work, "scheduled.yaml");
    writeFileSync(current, edited(schedule));
    const run = launch("src/review/main.ts", ["--base", "roster.yaml"], { env: { ROSTER_FILE: current } });
    expect([run.status, run.stderr]).toEqual([0, ""]);
    expect(run.stdout).toMatch(
      /\nMonthly cost \(npm run cost\)\n {2}USD a month, ap-southeast-7 prices[^\n]*\n {2}Always on [^\n]*\n[\s\S]*\n\nSummary: /,
    );
    expect(run.stdout).toMatch(/\n {2}Scheduled \(168 → 60 h\/week\) /);
  });
});

describe("an unchanged roster", () => {
  it('says "No changes" and exits 0', () => {
    const result = reviewOf(DEFAULT_ROSTER_TEXT, DEFAULT_ROSTER_TEXT);
    expect(result.diffs).toEqual([]);
    expect(renderReview(result)).toContain("No changes: both rosters synthesize to the same Terraform configuration.");
    expect(exitCodeOf(result)).toBe(0);
  });
});

describe("npm run review, the command", () => {
  const file = (name: string, text: string) => {
    const path = join(work, name);
    writeFileSync(path, text);
    return path;
  };

  it("exits 0 with no changes for the same roster", () => {
    const run = launch("src/review/main.ts", ["--base", "roster.yaml"]);
    expect([run.status, run.stderr]).toEqual([0, ""]);
    expect(run.stdout).toContain("Roster review: roster.yaml against roster.yaml");
    expect(run.stdout).toContain("No changes");
  });

  it("exits 3 when the host's type changes, and without terraform says it cannot tell an update from a replacement", () => {
    const current = file(
      "type.yaml",
      edited((r) => (r.host.instanceType = "t3a.2xlarge")),
    );
    const run = launch("src/review/main.ts", ["--base=roster.yaml"], { env: { ROSTER_FILE: current, PATH: "/usr/bin:/bin" } });
    expect(run.status).toBe(3);
    expect(run.stdout).toContain('instance_type: "t3.2xlarge" → "t3a.2xlarge"');
    expect(run.stdout).toMatch(/! host instance \(aws_instance\.\S+\): changed in place \(instance_type\): the host stops and starts/);
    expect(run.stdout).toContain("without terraform this review cannot tell an update from a replacement");
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

  it("exits 1 for a --var without terraform, which alone could tell what it changes", () => {
    const run = launch("src/review/main.ts", ["--base", "roster.yaml", "--var", "vpc_cidr=10.50.0.0/16"], {
      env: { PATH: "/usr/bin:/bin" },
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("--var needs terraform on PATH to plan what the variables change");
    expect(run.stdout).toBe("");
  });

  it("reads the base from a git revision", () => {
    const run = launch("src/review/main.ts", ["--base", "HEAD"]);
    expect(run.stdout).toContain("Roster review: roster.yaml against HEAD:roster.yaml");
    expect([0, 3]).toContain(run.status);
  });
});
