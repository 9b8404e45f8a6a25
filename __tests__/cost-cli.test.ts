import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { runCostCli, USAGE } from "../src/cost/cli";
import { DEFAULT_ROSTER_TEXT, PROJECT_ROOT } from "./helpers/fleet";
import { launch } from "./helpers/launch";

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = "";
  let stderr = "";
  const code = await runCostCli(argv, {
    env: { ROSTER_FILE: join(PROJECT_ROOT, "roster.yaml"), ...env },
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  });
  return { code, stdout, stderr };
}

describe("npm run cost", () => {
  test("--json prints exactly currency, region, developers, complete, unpriced, monthly and scheduled", async () => {
    const { code, stdout, stderr } = await run(["--json", "--region", "us-east-1"]);
    expect([code, stderr]).toEqual([0, ""]);
    const bill = JSON.parse(stdout);
    expect(Object.keys(bill)).toEqual(["currency", "region", "developers", "complete", "unpriced", "monthly", "scheduled"]);
    expect(Object.keys(bill.monthly)).toEqual(["total", "perDeveloper", "lines"]);
    expect(Object.keys(bill.scheduled)).toEqual(["total", "perDeveloper", "hoursPerWeek"]);
    expect(bill).toMatchObject({ currency: "USD", region: "us-east-1", developers: 8 });
    // The roster has no schedule: the scheduled figures are the always-on ones.
    expect(bill.scheduled).toEqual({ total: bill.monthly.total, perDeveloper: bill.monthly.perDeveloper, hoursPerWeek: 168 });
    const ec2 = bill.monthly.lines.find((l: { id: string }) => l.id === "ec2.host");
    expect(ec2).toMatchObject({ quantity: 730, unit: "h", unitPriceUsd: 0.3328, monthlyUsd: 242.94, scalesWithHost: true });
  });

  test("--help names every key --json prints, sleeping with --active-hours", async () => {
    const keys = Object.keys(JSON.parse((await run(["--json", "--region", "us-east-1", "--active-hours", "20"])).stdout));
    const named = /--json\s+print \{([^}]*)\}/
      .exec(USAGE)![1]
      .split(",")
      .map((key) => key.trim().split(/\s/)[0]);
    expect(named).toEqual(keys);
    expect(USAGE).toContain("sleeping (with --active-hours)");
  });

  test("--json says the bill is incomplete and names the lines it leaves out", async () => {
    const bill = JSON.parse((await run(["--json", "--region", "us-east-1"])).stdout);
    const unpricedLines = bill.monthly.lines.filter((l: { monthlyUsd: number | null }) => l.monthlyUsd === null);
    expect(unpricedLines.length).toBeGreaterThan(0);
    expect(bill.complete).toBe(false);
    expect(bill.unpriced).toEqual(unpricedLines.map((l: { description: string }) => l.description));
    expect(bill.unpriced).toContain("AWS Budgets");
    // The total is the sum of the priced lines: a floor of the bill.
    const sum = bill.monthly.lines.reduce((s: number, l: { monthlyUsd: number | null }) => s + (l.monthlyUsd ?? 0), 0);
    expect(bill.monthly.total).toBeCloseTo(sum, 2);
  });

  test("--json says complete: true when every line has a price", async () => {
    // us-east-1's file with a test figure for each price it leaves unpriced.
    const dir = mkdtempSync(join(tmpdir(), "prices-"));
    const file = JSON.parse(readFileSync(join(PROJECT_ROOT, "prices", "us-east-1.json"), "utf8"));
    file.sources.test = {
      description: "a figure for each unpriced entry, for this test only",
      url: "https://example.com",
      asOf: null,
      read: "2026-11-28",
    };
    for (const [id, entry] of Object.entries<Record<string, unknown>>(file.prices)) {
      if ("unpriced" in entry)
        file.prices[id] = id.includes("savings-plan")
          ? { unit: "h", source: "test", byInstanceType: {} }
          : { usd: 1, unit: "unit", source: "test" };
    }
    writeFileSync(join(dir, "us-east-1.json"), JSON.stringify(file));
    let stdout = "";
    const code = await runCostCli(["--json", "--region", "us-east-1"], {
      env: { ROSTER_FILE: join(PROJECT_ROOT, "roster.yaml") },
      stdout: (t) => (stdout += t),
      stderr: () => undefined,
      pricesDir: dir,
    });
    rmSync(dir, { recursive: true, force: true });
    const bill = JSON.parse(stdout);
    expect([code, bill.complete, bill.unpriced]).toEqual([0, true, []]);
    expect(bill.monthly.lines.every((l: { monthlyUsd: number | null }) => l.monthlyUsd !== null)).toBe(true);
  });

  test("prices the roster's schedule: the scheduled column is the roster's hours, and says which schedule", async () => {
    const roster = parse(DEFAULT_ROSTER_TEXT);
    roster.schedule = { timezone: "Asia/Bangkok", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "20:00" };
    const dir = mkdtempSync(join(tmpdir(), "roster-"));
    const file = join(dir, "roster.yaml");
    writeFileSync(file, stringify(roster));
    const json = await run(["--json", "--region", "us-east-1"], { ROSTER_FILE: file });
    const table = await run(["--region", "us-east-1"], { ROSTER_FILE: file });
    rmSync(dir, { recursive: true, force: true });
    const bill = JSON.parse(json.stdout);
    expect(bill.scheduled.hoursPerWeek).toBe(60);
    expect(bill.scheduled.perDeveloper).toBeLessThanOrEqual(0.7 * bill.monthly.perDeveloper);
    const host = bill.monthly.lines.find((l: { id: string }) => l.id === "ec2.host");
    expect(host.scheduledUsd).toBeCloseTo((0.3328 * 730 * 60) / 168, 2);
    expect(table.stdout).toMatch(
      /^Monthly cost of code-server-dev \(.*roster\.yaml, host scheduled mon tue wed thu fri 08:00-20:00 Asia\/Bangkok\)/,
    );
    expect(table.stdout).toMatch(/Always on +60 h\/week\n/);
  });

  test("flags override the usage assumptions, and the table states them", async () => {
    const json = JSON.parse((await run(["--json", "--region", "us-east-1", "--egress-gb", "1000", "--data-volume-gb", "800"])).stdout);
    const byId = Object.fromEntries(json.monthly.lines.map((l: { id: string }) => [l.id, l]));
    expect(byId["transfer.browsers"]).toMatchObject({ quantity: 1000, monthlyUsd: 90 });
    expect(byId["ebs.data"]).toMatchObject({ quantity: 800, monthlyUsd: 64 });
    const table = (await run(["--changed-gb-per-day", "2"])).stdout;
    expect(table).toMatch(/EBS snapshots \(AWS Backup recovery points\): 1 volume × \(250 GB used \(--used-gb\) \+ 2 GB changed a day/);
    expect(table).toMatch(/Unpriced \(left out of the totals/);
    // ap-southeast-7 prices neither the host nor most lines: its sums are floors, never a total.
    expect(table).toMatch(/\nTotal: incomplete, 16 unpriced +at least \$\d+\.\d\d +at least \$\d+\.\d\d\n/);
    expect(table).toMatch(/\nPer developer \(8\) +at least \$\d+\.\d\d +at least \$\d+\.\d\d\n/);
    expect(table).toContain(
      "The totals are incomplete: they add up the priced lines only, so the bill is higher, by at least the host itself",
    );
    expect(table).not.toMatch(/\nTotal +\$/);
    expect(table).toMatch(/Graviton \(arm64\) sibling t4g\.2xlarge/);
  });

  test.each([
    [["--egress-gb", "lots"], /--egress-gb "lots": expected a number of 0 or more/],
    [["--used-gb=-5"], /--used-gb "-5": expected a number of 0 or more/],
    [["--data-volume-gb", "10"], /--data-volume-gb 10: expected a whole number of GB from 50 to 16384/],
    [["--lcu", "0"], /--lcu 0: an ALB bills/],
    [["--region", "Moon"], /--region "Moon": expected an AWS region code/],
    [["--egres-gb", "5"], /Unknown option '--egres-gb'/],
  ])("%j is refused with a clear message and exit 2", async (argv, message) => {
    const { code, stdout, stderr } = await run(argv);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/usage: npm run cost/);
  });

  test("a roster in a region without prices is an error naming the regions that have them", async () => {
    const roster = parse(DEFAULT_ROSTER_TEXT);
    roster.region = "sa-east-1";
    roster.availabilityZones = ["sa-east-1a", "sa-east-1b"];
    const dir = mkdtempSync(join(tmpdir(), "roster-"));
    const file = join(dir, "roster.yaml");
    writeFileSync(file, stringify(roster));
    const { code, stderr } = await run([], { ROSTER_FILE: file });
    rmSync(dir, { recursive: true, force: true });
    expect(code).toBe(1);
    expect(stderr).toMatch(/no prices for region sa-east-1: prices\/ has ap-southeast-1, ap-southeast-7, eu-west-1, us-east-1/);
    expect(stderr).toContain("Create sa-east-1.json with npm run cost -- --update-prices sa-east-1");
  });

  test("the npm script exits non-zero on a bad flag", () => {
    const result = launch("src/cost/main.ts", ["--s3-gb-per-bucket", "x"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--s3-gb-per-bucket "x"/);
  });
});
