/**
 * `npm run cost` on the ECS platform: every resource type of an ECS stack (public and private
 * network, with and without the roster's schedule) is priced or known to carry no charge of its
 * own, and the figures follow from the price file by hand: each developer's Fargate task by its
 * size and architecture while it runs, the homes on EFS and their backups, the tasks' public
 * addresses or the one NAT gateway, the sharded ALBs and Container Insights.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { synthConfig } from "../src/app";
import { cheaperChoices, readRawRoster } from "../src/cost/choices";
import { monthlyCost, type Bill } from "../src/cost/engine";
import { NO_CHARGE_OF_THEIR_OWN } from "../src/cost/inventory";
import { PRICERS } from "../src/cost/pricers";
import { loadPrices, PRICES_DIR } from "../src/cost/prices";
import { renderReport } from "../src/cost/report";
import { parseRoster, type Fleet } from "../src/roster";
import type { TerraformJson } from "../src/terraform/plan-json";
import { ecsOidcRosterText } from "./helpers/ecs-oidc";
import { DEFAULT_ROSTER_TEXT, generatedRosterText } from "./helpers/fleet";

const p = JSON.parse(readFileSync(join(PRICES_DIR, "us-east-1.json"), "utf8")).prices;
const prices = loadPrices("us-east-1");
const HOURS = 730;
const WEEKDAYS = { timezone: "Asia/Bangkok", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "20:00" };

/** The default roster (8 developers, limits 1.5 vCPU / 4 GiB) on ECS, edited. */
function ecsFleet(edit: (roster: Record<string, unknown>) => void = () => undefined, from = DEFAULT_ROSTER_TEXT): Fleet {
  const roster = parse(from);
  roster.platform = "ecs";
  delete roster.host;
  edit(roster);
  return parseRoster(stringify(roster));
}

const line = (bill: Bill, id: string) => {
  const found = bill.monthly.lines.find((l) => l.id === id);
  if (!found) throw new Error(`no line ${id} in ${bill.monthly.lines.map((l) => l.id).join(", ")}`);
  return found;
};
const has = (bill: Bill, id: string) => bill.monthly.lines.some((l) => l.id === id);
const usd = (n: number) => Math.round(n * 100) / 100;

const variants = {
  public: ecsFleet(),
  private: ecsFleet((r) => (r.ecs = { network: "private" })),
  "public, scheduled": ecsFleet((r) => (r.schedule = WEEKDAYS)),
  "private, scheduled": ecsFleet((r) => ((r.ecs = { network: "private" }), (r.schedule = WEEKDAYS))),
  "public, oidc": parseRoster(ecsOidcRosterText()),
};
const configs = new Map<string, TerraformJson>();
const bills = new Map<string, Bill>();
beforeAll(() => {
  for (const [name, fleet] of Object.entries(variants)) {
    const config = synthConfig(fleet);
    configs.set(name, config);
    bills.set(name, monthlyCost(fleet, { region: "us-east-1", prices, config, schedule: fleet.schedule }));
  }
});

describe("an ECS stack's resource types", () => {
  test.each(Object.keys(variants))("are each priced or of no charge of their own (%s)", (name) => {
    const types = Object.keys(configs.get(name)!.resource);
    const unaccounted = types.filter((t) => !(t in PRICERS) && !NO_CHARGE_OF_THEIR_OWN.has(t));
    expect(unaccounted).toEqual([]);
    expect(bills.get(name)!.unknownResources).toEqual([]);
    // The secret initializer's function and its one run are of no charge of their own; the cluster is priced by its metrics.
    expect(types).toEqual(
      expect.arrayContaining(["aws_lambda_function", "aws_lambda_invocation", "aws_ecs_cluster", "aws_efs_file_system"]),
    );
  });

  test("a Container Insights mode the model does not know is reported, not ignored", () => {
    const config = structuredClone(configs.get("public")!);
    for (const cluster of Object.values(config.resource.aws_ecs_cluster))
      cluster.setting = [{ name: "containerInsights", value: "enhanced" }];
    const bill = monthlyCost(variants.public, { region: "us-east-1", prices, config });
    expect(bill.unknownResources).toEqual([{ type: "aws_ecs_cluster (containerInsights enhanced)", count: 1 }]);
    expect(bill.complete).toBe(false);
  });
});

describe("the developers' Fargate tasks", () => {
  test("bill each task's vCPU and memory for 730 hours, at the x86_64 rates, by hand from the price file", () => {
    const bill = bills.get("public")!;
    // cpuLimit 1.5 and memoryLimitGiB 4 take the 2 vCPU / 4 GiB task: 8 tasks.
    expect(line(bill, "fargate.vcpu")).toMatchObject({ quantity: 8 * 2 * HOURS, unit: "vCPU-h", scalesWithHost: true });
    expect(line(bill, "fargate.vcpu").monthlyUsd).toBe(usd(8 * 2 * HOURS * p["fargate.x86_64.vcpu-hour"].usd)); // 11680 × 0.04048
    expect(line(bill, "fargate.memory").monthlyUsd).toBe(usd(8 * 4 * HOURS * p["fargate.x86_64.gb-hour"].usd)); // 23360 × 0.004445
  });

  test("a developer with larger limits gets a larger task, and pays for it", () => {
    const fleet = ecsFleet(
      (r) => ((r.developers as Record<string, unknown>[])[1] = { name: "dev2", port: 8444, cpuLimit: 3, memoryLimitGiB: 10 }),
    );
    const bill = monthlyCost(fleet, { region: "us-east-1", prices });
    // 7 tasks of 2 vCPU / 4 GB and one of 4 vCPU / 10 GB.
    expect(line(bill, "fargate.vcpu").quantity).toBe((7 * 2 + 4) * HOURS);
    expect(line(bill, "fargate.memory").quantity).toBe((7 * 4 + 10) * HOURS);
    expect(line(bill, "fargate.vcpu").basis).toMatch(/^7 tasks × 2 vCPU \/ 4 GB \+ 1 task × 4 vCPU \/ 10 GB × 730 h/);
  });

  test("an arm64 task costs less than the same x86_64 task, and the report names the saving", () => {
    const arm = ecsFleet((r) => (r.ecs = { architecture: "arm64" }));
    const armBill = monthlyCost(arm, { region: "us-east-1", prices });
    const x86 = bills.get("public")!;
    expect(line(armBill, "fargate.vcpu")).toMatchObject({
      description: "Fargate vCPU (arm64)",
      quantity: line(x86, "fargate.vcpu").quantity,
    });
    expect(line(armBill, "fargate.vcpu").unitPriceUsd).toBe(p["fargate.arm64.vcpu-hour"].usd);
    const fargate = (b: Bill) => line(b, "fargate.vcpu").monthlyUsd! + line(b, "fargate.memory").monthlyUsd!;
    expect(fargate(armBill)).toBeLessThan(fargate(x86));
    const [choice] = cheaperChoices(readRawRoster(join(__dirname, "..", "roster.yaml")), variants.public, x86, prices);
    expect(choice).toMatchObject({ kind: "arm64-tasks" });
    expect(choice.monthlySavingUsd).toBeCloseTo(fargate(x86) - fargate(armBill), 1);
    expect(cheaperChoices(readRawRoster(join(__dirname, "..", "roster.yaml")), arm, armBill, prices)).toEqual([]);
  });

  test("on the roster's schedule they bill only the scheduled hours, and so do their addresses and metrics", () => {
    const always = bills.get("public")!;
    const scheduled = bills.get("public, scheduled")!;
    expect(scheduled.scheduled.hoursPerWeek).toBe(60);
    for (const id of ["fargate.vcpu", "fargate.memory", "vpc.task-ipv4", "cloudwatch.container-insights"]) {
      const l = line(scheduled, id);
      expect([id, l.scheduledUsd, l.monthlyUsd]).toEqual([id, usd((l.quantity * l.unitPriceUsd! * 60) / 168), line(always, id).monthlyUsd]);
    }
    // The homes, the ALB and the secrets cost the same every hour of the week.
    for (const id of ["efs.storage", "elb.alb-hours", "secrets"])
      expect(line(scheduled, id).scheduledUsd).toBe(line(scheduled, id).monthlyUsd);
    expect(line(scheduled, "scheduler").monthlyUsd).toBe(0);
    expect(line(scheduled, "scheduler").basis).toMatch(/14 million invocations a month free/);
  });
});

describe("the homes on EFS", () => {
  test("store 30 GB per developer, read and write through elastic throughput, and are backed up; no EBS snapshot is billed", () => {
    const bill = bills.get("public")!;
    expect(line(bill, "efs.storage")).toMatchObject({ quantity: 8 * 30, monthlyUsd: usd(8 * 30 * p["efs.standard.gb-month"].usd) });
    expect(line(bill, "efs.reads")).toMatchObject({ quantity: 8 * 60, monthlyUsd: usd(8 * 60 * p["efs.elastic-read.gb"].usd) });
    expect(line(bill, "efs.writes")).toMatchObject({ quantity: 8 * 20, monthlyUsd: usd(8 * 20 * p["efs.elastic-write.gb"].usd) });
    // The homes once, then 0.5 GB changed a day for the backup plan's 90-day retention.
    expect(line(bill, "efs.backups")).toMatchObject({ quantity: 8 * 30 + 0.5 * 90, monthlyUsd: usd(285 * p["backup.efs.gb-month"].usd) });
    // The shared backup plan also selects tagged EBS volumes, and an ECS stack has none.
    expect(has(bill, "ebs.snapshots")).toBe(false);
  });

  test("follow the per-developer assumptions", () => {
    const bill = monthlyCost(variants.public, {
      region: "us-east-1",
      prices,
      config: configs.get("public"),
      assumptions: { homeGbPerDeveloper: 50, efsReadGbPerDeveloper: 10, efsWriteGbPerDeveloper: 0 },
    });
    expect([line(bill, "efs.storage").quantity, line(bill, "efs.reads").quantity, has(bill, "efs.writes")]).toEqual([400, 80, false]);
  });
});

describe("the network", () => {
  test("public: one address per running task; no NAT gateway", () => {
    const bill = bills.get("public")!;
    expect(line(bill, "vpc.task-ipv4")).toMatchObject({ quantity: 8 * HOURS, monthlyUsd: usd(8 * HOURS * p["vpc.public-ipv4-hour"].usd) });
    expect(["vpc.nat-hours", "vpc.nat-data", "vpc.eip-ipv4"].filter((id) => has(bill, id))).toEqual([]);
  });

  test("private: one NAT gateway's hours and address whatever the team's size, its data by developer, no task address", () => {
    const eight = bills.get("private")!;
    expect(has(eight, "vpc.task-ipv4")).toBe(false);
    expect(line(eight, "vpc.nat-hours")).toMatchObject({ quantity: HOURS, monthlyUsd: usd(HOURS * p["vpc.nat-gateway-hour"].usd) });
    expect(line(eight, "vpc.nat-data")).toMatchObject({ quantity: 8 * 20, monthlyUsd: usd(160 * p["vpc.nat-gateway.gb"].usd) });
    expect(line(eight, "vpc.eip-ipv4")).toMatchObject({ description: "Public IPv4 address of the NAT gateway", quantity: HOURS });
    const sixty = monthlyCost(
      ecsFleet((r) => (r.ecs = { network: "private" }), generatedRosterText(60)),
      { region: "us-east-1", prices },
    );
    expect(line(sixty, "vpc.nat-hours").monthlyUsd).toBe(line(eight, "vpc.nat-hours").monthlyUsd);
    expect(line(sixty, "vpc.eip-ipv4").quantity).toBe(HOURS);
    expect(line(sixty, "vpc.nat-data").quantity).toBe(60 * 20);
    // The tasks' internet traffic is the team's, as from the host.
    expect(line(eight, "transfer.tasks").monthlyUsd).toBe(usd(100 * p["data-transfer.internet-out.gb"].usd));
    // Priorities 8443 to 8502 fall in three blocks of 50 (8401-8450, 8451-8500, 8501-8550): three ALBs, each billed, the team's traffic once.
    expect(line(sixty, "elb.alb-hours")).toMatchObject({ quantity: 3 * HOURS, monthlyUsd: usd(3 * HOURS * p["elb.alb-hour"].usd) });
    expect(line(sixty, "elb.lcu").quantity).toBe(3 * HOURS);
    expect(line(sixty, "vpc.alb-ipv4").quantity).toBe(3 * 2 * HOURS);
    expect(line(sixty, "transfer.browsers").quantity).toBe(500);
    expect(sixty.unknownResources).toEqual([]);
  });
});

describe("Container Insights and the rest", () => {
  test("the cluster's metrics: 13 for the cluster, 15 per service and 10 per task family, priced as custom metrics", () => {
    const bill = bills.get("public")!;
    expect(line(bill, "cloudwatch.container-insights")).toMatchObject({
      quantity: 13 + 8 * (15 + 10),
      monthlyUsd: usd(213 * p["cloudwatch.metric-month"].usd),
    });
    // No host: no host metrics, and the non-developer log groups add no host logs.
    expect(has(bill, "cloudwatch.metrics")).toBe(false);
    expect(line(bill, "logs.ingest").quantity).toBe(8 * 2);
  });

  test("the report says the tasks run on the schedule, not a host", () => {
    const text = renderReport(bills.get("private, scheduled")!, [], "Monthly cost");
    expect(text).toMatch(/^Monthly cost: 8 developers, ECS Fargate, 8 tasks, prices for us-east-1/);
    expect(text).toContain("Scheduled column: each developer's task runs 60 of 168 hours a week; lines marked * stop with them.");
    expect(text).not.toMatch(/host undefined/);
  });
});
