import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { cheaperChoices, siblingTypes } from "../src/cost/choices";
import { monthlyCost, type Bill } from "../src/cost/engine";
import { renderReport } from "../src/cost/report";
import { synthConfig } from "../src/app";
import { agentMetricSeries } from "../src/cost/pricers";
import type { TerraformJson } from "../src/terraform/plan-json";
import { loadPrices, PRICES_DIR, PriceError } from "../src/cost/prices";
import { hoursPerWeek, type CostSchedule } from "../src/cost/schedule";
import { parseRoster } from "../src/roster";
import { rosterSchema } from "../src/roster/schema";
import { DEFAULT_ROSTER_TEXT, defaultFleet, editedFleet } from "./helpers/fleet";
import type { ProviderBlock } from "../src/terraform/plan-json";

const fleet = defaultFleet();
let config: TerraformJson;
beforeAll(() => {
  config = synthConfig(fleet);
});

const priceFile = (region: string) => JSON.parse(readFileSync(join(PRICES_DIR, `${region}.json`), "utf8")).prices;
const line = (bill: Bill, id: string) => {
  const found = bill.monthly.lines.find((l) => l.id === id);
  if (!found) throw new Error(`no line ${id} in ${bill.monthly.lines.map((l) => l.id).join(", ")}`);
  return found;
};
const WEEKDAYS_8_TO_8: CostSchedule = {
  timezone: "Asia/Bangkok",
  days: ["mon", "tue", "wed", "thu", "fri"],
  start: "08:00",
  stop: "20:00",
};

describe("the default roster's bill", () => {
  test("priced in us-east-1, every line matches the arithmetic done by hand from the price file", () => {
    const p = priceFile("us-east-1");
    const bill = monthlyCost(fleet, { region: "us-east-1", config });
    const hours = 730; // AWS's month: 24 × 365 / 12
    // The stack: one t3.2xlarge with a 50 GB gp3 root and a 500 GB gp3 data volume (variable default),
    // one internet-facing ALB in 2 subnets, 8 developers × 2 secrets, one KMS key, 8 developer + 4 host
    // log groups (system, docker, sessions, flow logs), 30 alarms of which alb-5xx reads 2 metrics, one
    // dashboard, 4 buckets, one VPC flow log.
    const expected: Record<string, number> = {
      "ec2.host": p["ec2.instance-hour"].byInstanceType["t3.2xlarge"] * hours, // 0.3328 × 730 = 242.944
      "ebs.root": 50 * p["ebs.gp3.gb-month"].usd, // 50 × 0.08 = 4
      "ebs.data": 500 * p["ebs.gp3.gb-month"].usd, // 500 × 0.08 = 40
      "ebs.snapshots": (250 + 0.5 * 90) * p["ebs.snapshot.gb-month"].usd, // 250 GB used + 0.5 GB/day × 90-day monthly retention = 295 × 0.05
      "vpc.host-ipv4": hours * p["vpc.public-ipv4-hour"].usd, // 730 × 0.005 = 3.65
      "elb.alb-hours": hours * p["elb.alb-hour"].usd, // 730 × 0.0225 = 16.425
      "elb.lcu": 1 * hours * p["elb.lcu-hour"].usd, // 1 LCU × 730 × 0.008 = 5.84
      "vpc.alb-ipv4": 2 * hours * p["vpc.public-ipv4-hour"].usd, // 2 subnets × 730 × 0.005 = 7.3
      "transfer.browsers": 500 * p["data-transfer.internet-out.gb"].usd, // 500 × 0.09 = 45
      "transfer.api": 100 * p["data-transfer.internet-out.gb"].usd, // 100 × 0.09 = 9
      secrets: 8 * 2 * p["secretsmanager.secret-month"].usd, // 16 × 0.40 = 6.4
      kms: 1 * p["kms.key-month"].usd, // 1
      "logs.ingest": (8 * 2 + 4) * p["cloudwatch.logs.ingest.gb"].usd, // 20 GB × 0.50 = 10
      // mem_used_percent + disk_used_percent for / and /mnt/ebs-data, each also rolled up on [InstanceId, path] = 5,
      // plus 4 container metrics and the data-volume share × 8 developers = 40
      "cloudwatch.metrics": (1 + 2 * 2 + 5 * 8) * p["cloudwatch.metric-month"].usd, // 45 × 0.30 = 13.5
      // recovery, cpu/memory/data disk/root disk, alb-5xx (2), 8 × (unhealthy, restarts, disk share) = 31 × 0.10
      "cloudwatch.alarms": (1 + 4 + 2 + 8 * 3) * p["cloudwatch.alarm-metric-month"].usd,
      "cloudwatch.dashboards": 1 * p["cloudwatch.dashboard-month"].usd, // 3
      "s3.storage": 4 * 5 * p["s3.standard.gb-month"].usd, // host files, ALB logs, S3 access logs, archive: 20 GB × 0.023 = 0.46
      "route53.queries": 1 * p["route53.queries.million"].usd, // 1 million queries assumed × 0.40
    };
    for (const [id, usd] of Object.entries(expected)) {
      expect([id, line(bill, id).monthlyUsd]).toEqual([id, Math.round(usd * 100) / 100]);
    }
    const unpriced = bill.monthly.lines.filter((l) => l.monthlyUsd === null).map((l) => l.id);
    expect(unpriced.sort()).toEqual(["budgets", "ec2.detailed-monitoring", "logs.storage", "vpc.flow-logs"]);
    expect(bill.monthly.lines).toHaveLength(Object.keys(expected).length + unpriced.length);
    const total = Object.values(expected).reduce((s, usd) => s + Math.round(usd * 100) / 100, 0);
    expect(bill.monthly.total).toBeCloseTo(total, 2);
    expect(bill.monthly.perDeveloper).toBeCloseTo(total / 8, 2);
    expect(bill.unknownResources).toEqual([]);
  });

  test("in its own region (ap-southeast-7) only the sourced lines are priced; the rest are listed as unpriced", () => {
    const p = priceFile("ap-southeast-7");
    const bill = monthlyCost(fleet, { config });
    expect(bill.region).toBe("ap-southeast-7");
    expect(line(bill, "transfer.browsers").monthlyUsd).toBe(500 * p["data-transfer.internet-out.gb"].usd); // 500 × 0.108 = 54
    expect(line(bill, "transfer.api").monthlyUsd).toBeCloseTo(100 * 0.108, 2);
    expect(line(bill, "kms").monthlyUsd).toBe(1);
    // Public IPv4 ($0.005 an hour in every region) and Route 53 queries (a global service) have sources too.
    expect(line(bill, "vpc.host-ipv4").monthlyUsd).toBe(730 * p["vpc.public-ipv4-hour"].usd); // 3.65
    expect(line(bill, "vpc.alb-ipv4").monthlyUsd).toBe(2 * 730 * 0.005);
    expect(line(bill, "route53.queries").monthlyUsd).toBe(p["route53.queries.million"].usd); // 1 million × 0.40
    expect(bill.monthly.total).toBeCloseTo(54 + 10.8 + 1 + 3.65 + 7.3 + 0.4, 2);
    expect(line(bill, "ec2.host").monthlyUsd).toBeNull();
    expect(bill.unpriced).toEqual(
      expect.arrayContaining(["EC2 host t3.2xlarge", "EBS data volume (gp3)", "Application Load Balancer hours"]),
    );
  });

  test("a weekday 08:00-20:00 schedule brings the cost per developer to at most 70 % of always-on", () => {
    const p = priceFile("us-east-1");
    const always = monthlyCost(fleet, { region: "us-east-1", config });
    const scheduled = monthlyCost(fleet, { region: "us-east-1", config, schedule: WEEKDAYS_8_TO_8 });
    expect(scheduled.scheduled.hoursPerWeek).toBe(60); // 5 days × 12 h
    // Only what stops with the host scales: its hours, its public address, its logs and metrics.
    expect(line(scheduled, "ec2.host").scheduledUsd).toBeCloseTo((p["ec2.instance-hour"].byInstanceType["t3.2xlarge"] * 730 * 60) / 168, 2);
    expect(line(scheduled, "ebs.data").scheduledUsd).toBe(line(scheduled, "ebs.data").monthlyUsd);
    expect(line(scheduled, "elb.alb-hours").scheduledUsd).toBe(line(scheduled, "elb.alb-hours").monthlyUsd);
    expect(scheduled.monthly.total).toBe(always.monthly.total);
    expect(scheduled.scheduled.perDeveloper).toBeLessThanOrEqual(0.7 * always.monthly.perDeveloper);
  });

  test("the roster's own schedule, synthesized: its schedules priced as invocations, its failure alarm counted, the per-developer cost at most 70 %", () => {
    const scheduledFleet = parseRoster(
      `${DEFAULT_ROSTER_TEXT}\nschedule: { timezone: Asia/Bangkok, days: [mon, tue, wed, thu, fri], start: "08:00", stop: "20:00" }\n`,
    );
    const p = priceFile("us-east-1");
    const bill = monthlyCost(scheduledFleet, { region: "us-east-1", schedule: scheduledFleet.schedule });
    expect(bill.scheduled.hoursPerWeek).toBe(60);
    // start, stop, alarms off, alarms on: at most one run a day each.
    expect(line(bill, "scheduler")).toMatchObject({ quantity: (4 * 31) / 1e6, unitPriceUsd: p["scheduler.invocations.million"].usd });
    expect(line(bill, "scheduler").monthlyUsd).toBe(0);
    // The 31 alarm metrics of the default roster (7 for the host and the ALB, the 2 metrics of the
    // 5xx alarm among them, and 3 per developer) and the schedule's one alarm on dropped calls.
    expect(line(bill, "cloudwatch.alarms").quantity).toBe(32);
    expect(bill.scheduled.perDeveloper).toBeLessThanOrEqual(0.7 * bill.monthly.perDeveloper);
    const unpriced = monthlyCost(scheduledFleet, { schedule: scheduledFleet.schedule });
    expect(line(unpriced, "scheduler")).toMatchObject({
      monthlyUsd: null,
      unpricedReason: expect.stringMatching(/no figure for this region/),
    });
  });

  test("without a schedule, the scheduled figures equal the always-on ones at 168 hours a week", () => {
    const bill = monthlyCost(fleet, { region: "us-east-1", config });
    expect(bill.scheduled).toEqual({ total: bill.monthly.total, perDeveloper: bill.monthly.perDeveloper, hoursPerWeek: 168 });
  });

  test("usage assumptions and the data volume size are overridable", () => {
    const bill = monthlyCost(fleet, {
      region: "us-east-1",
      config,
      assumptions: { dataVolumeGb: 1000, egressGb: 2000, logsGbPerDeveloper: 5 },
    });
    expect(line(bill, "ebs.data").quantity).toBe(1000);
    expect(line(bill, "ebs.data").monthlyUsd).toBe(80);
    expect(line(bill, "transfer.browsers").monthlyUsd).toBe(180);
    expect(line(bill, "logs.ingest").quantity).toBe(8 * 5 + 4);
  });
});

describe("resource counting", () => {
  const withExtra = (extra: Record<string, Record<string, ProviderBlock>>): TerraformJson => ({
    ...config,
    resource: { ...config.resource, ...extra },
  });

  test("a resource type the model does not know is reported as unpriced, not ignored", () => {
    const bill = monthlyCost(fleet, { region: "us-east-1", config: withExtra({ aws_rds_cluster: { db: {} } }) });
    expect(bill.unknownResources).toEqual([{ type: "aws_rds_cluster", count: 1 }]);
    expect(bill.unpriced).toContain("aws_rds_cluster × 1 (resource type unknown to the cost model)");
  });

  test("flow logs, a WAF web ACL and scheduler schedules are counted when the stack has them", () => {
    const bill = monthlyCost(fleet, {
      region: "us-east-1",
      config: withExtra({
        aws_flow_log: { vpc: { traffic_type: "ALL" } },
        aws_wafv2_web_acl: { edge: { rule: [{ name: "a" }, { name: "b" }] } },
        aws_wafv2_web_acl_association: { alb: {} },
        aws_scheduler_schedule: { start: {}, stop: {} },
      }),
    });
    expect(line(bill, "vpc.flow-logs").quantity).toBe(10);
    expect(line(bill, "waf.acls").quantity).toBe(1);
    expect(line(bill, "waf.rules").quantity).toBe(2);
    expect(line(bill, "waf.requests").quantity).toBe(5);
    expect(line(bill, "scheduler").quantity).toBeCloseTo(62 / 1e6, 9);
    // us-east-1 has no sourced figures for them yet: they show as unpriced lines.
    expect(bill.unpriced).toEqual(expect.arrayContaining(["VPC flow logs (vended log ingestion)", "WAF web ACLs"]));
    expect(bill.unknownResources).toEqual([]);
  });

  test("a WAF web ACL of the roster (waf.enabled) is counted with the rules of its rule_json", () => {
    const waf = editedFleet((r) => (r.waf = { enabled: true }));
    const bill = monthlyCost(waf, { region: "us-east-1" });
    expect(line(bill, "waf.acls").quantity).toBe(1);
    // AWS's common rule set and the per-IP rate limit.
    expect(line(bill, "waf.rules").quantity).toBe(2);
    expect(bill.unknownResources).toEqual([]);
  });

  test("the CloudWatch agent's series are counted from its configuration, roll-ups included", () => {
    const agent = {
      metrics: {
        append_dimensions: { InstanceId: "x" },
        aggregation_dimensions: [["InstanceId", "path"]],
        metrics_collected: {
          mem: { measurement: ["used_percent"] },
          disk: { measurement: ["used_percent", "inodes_free"], resources: ["/", "/data", "/b"] },
        },
      },
    };
    // mem: 1 (no path, no roll-up); disk: 2 measurements × 3 paths, each rolled up once = 12
    expect(agentMetricSeries(JSON.stringify(agent))).toBe(13);
  });
});

describe("price files", () => {
  test("every region's file validates, and a region without one is a clear error naming those that exist", () => {
    for (const region of ["ap-southeast-7", "us-east-1", "eu-west-1", "ap-southeast-1"]) expect(loadPrices(region).region).toBe(region);
    expect(() => loadPrices("sa-east-1")).toThrow(PriceError);
    expect(() => loadPrices("sa-east-1")).toThrow(
      /no prices for region sa-east-1: .*has ap-southeast-1, ap-southeast-7, eu-west-1, us-east-1/,
    );
  });

  const scratch: string[] = [];
  afterAll(() => scratch.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  const brokenFile = (edit: (file: ProviderBlock) => void) => {
    const dir = mkdtempSync(join(tmpdir(), "prices-"));
    scratch.push(dir);
    const file = JSON.parse(readFileSync(join(PRICES_DIR, "us-east-1.json"), "utf8"));
    edit(file);
    writeFileSync(join(dir, "us-east-1.json"), JSON.stringify(file));
    return dir;
  };

  test("a bill is complete only when every line is priced: then the report prints a total, otherwise floors", () => {
    const usEast1 = monthlyCost(fleet, { region: "us-east-1", config });
    expect(usEast1.complete).toBe(false);
    expect(renderReport(usEast1, [], "Monthly cost")).toMatch(/\nTotal: incomplete, 4 unpriced +at least \$/);
    const dir = brokenFile((f) => {
      const source = Object.keys(f.sources)[0];
      for (const [id, entry] of Object.entries(f.prices as Record<string, object>))
        if ("unpriced" in entry && !id.startsWith("ec2.savings-plan")) f.prices[id] = { usd: 0.01, unit: "unit", source };
    });
    const priced = monthlyCost(fleet, { region: "us-east-1", config, prices: loadPrices("us-east-1", dir) });
    expect(priced.complete).toBe(true);
    const report = renderReport(priced, [], "Monthly cost");
    expect(report).toMatch(new RegExp(`\\nTotal +\\$${priced.monthly.total.toFixed(2)} +\\$${priced.scheduled.total.toFixed(2)}\\n`));
    expect(report).not.toMatch(/incomplete|at least/);
  });

  test("a price file missing a price is refused, naming it and what to write", () => {
    const dir = brokenFile((f) => delete f.prices["kms.key-month"]);
    expect(() => loadPrices("us-east-1", dir)).toThrow(/no entry for kms\.key-month: give each a price with its source, or \{"unpriced"/);
  });

  test("a price citing an unknown source, or a negative price, is refused with its path", () => {
    const dir = brokenFile((f) => {
      f.prices["elb.alb-hour"].source = "nowhere";
      f.prices["elb.lcu-hour"].usd = -1;
    });
    expect(() => loadPrices("us-east-1", dir)).toThrow(/prices\.elb\.lcu-hour/);
    const unknownSource = brokenFile((f) => (f.prices["elb.alb-hour"].source = "nowhere"));
    expect(() => loadPrices("us-east-1", unknownSource)).toThrow(
      /prices\.elb\.alb-hour\.source: source "nowhere" is not listed under "sources"/,
    );
  });
});

describe("schedule", () => {
  test("hours per week follow days and times; bad schedules are refused", () => {
    expect(hoursPerWeek()).toBe(168);
    expect(hoursPerWeek(WEEKDAYS_8_TO_8)).toBe(60);
    expect(hoursPerWeek({ ...WEEKDAYS_8_TO_8, days: ["sat"], start: "09:30", stop: "12:00" })).toBe(2.5);
    expect(() => hoursPerWeek({ ...WEEKDAYS_8_TO_8, stop: "07:00" })).toThrow(/stop 07:00 must be after schedule.start 08:00/);
    expect(() => hoursPerWeek({ ...WEEKDAYS_8_TO_8, start: "8am" })).toThrow(/schedule.start "8am" is not a time of day/);
    expect(() => hoursPerWeek({ ...WEEKDAYS_8_TO_8, days: ["monday" as "mon"] })).toThrow(/unknown day monday/);
  });
});

describe("cheaper choices", () => {
  const raw = rosterSchema.parse(parse(DEFAULT_ROSTER_TEXT));

  test("the AMD and Graviton siblings that the capacity check accepts, with their monthly saving", () => {
    expect(siblingTypes(raw, "t3.2xlarge")).toEqual({ amd: ["t3a.2xlarge"], graviton: ["t4g.2xlarge"] });
    const p = priceFile("us-east-1")["ec2.instance-hour"].byInstanceType;
    const bill = monthlyCost(fleet, { region: "us-east-1", config, schedule: WEEKDAYS_8_TO_8 });
    const choices = cheaperChoices(raw, fleet, bill, loadPrices("us-east-1"));
    const amd = choices.find((c) => c.kind === "amd")!;
    const graviton = choices.find((c) => c.kind === "graviton")!;
    expect(amd.monthlySavingUsd).toBeCloseTo((p["t3.2xlarge"] - p["t3a.2xlarge"]) * 730, 2); // (0.3328 − 0.3008) × 730 = 23.36
    expect(graviton.monthlySavingUsd).toBeCloseTo((p["t3.2xlarge"] - p["t4g.2xlarge"]) * 730, 2); // (0.3328 − 0.2688) × 730 = 46.72
    expect(graviton.scheduledSavingUsd).toBeCloseTo(((p["t3.2xlarge"] - p["t4g.2xlarge"]) * 730 * 60) / 168, 2);
    expect(choices.find((c) => c.kind === "savings-plan")).toMatchObject({ monthlySavingUsd: null });
  });

  test("a sibling the capacity check refuses is not offered", () => {
    // 8 developers reserving 1.5 vCPU each need 12 vCPUs: no 2xlarge (8 vCPU) fits, so none is offered.
    const big = rosterSchema.parse({
      ...raw,
      host: { instanceType: "m5.4xlarge" },
      developerDefaults: { ...raw.developerDefaults, cpus: 1.5, cpuLimit: 2 },
    });
    expect(siblingTypes(big, "m5.4xlarge").graviton).toEqual(expect.arrayContaining(["m6g.4xlarge", "m7g.4xlarge"]));
    expect(siblingTypes(big, "m5.2xlarge")).toEqual({ amd: [], graviton: [] });
  });
});
