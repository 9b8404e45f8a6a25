/**
 * `npm run cost -- --update-prices <region> --query-api`: against the AWS stand-in, which answers
 * `pricing get-products` as the Price List Query API does (PriceList entries are JSON strings with
 * `product.attributes` and `terms.OnDemand…priceDimensions…pricePerUnit.USD`, filtered by
 * TERM_MATCH on the product's attributes), the region's price file is rewritten with the API as
 * the source and the date; what the API does not give keeps its entry or stays unpriced.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCostCli } from "../src/cost/cli";
import { monthlyCost } from "../src/cost/engine";
import { loadPrices, PriceError } from "../src/cost/prices";
import { AwsAccount } from "../rehearse/lib/aws-account";
import { awsCli, pricingEndpointRegion, queryApiSource } from "../src/cost/query-api";
import { updatePrices } from "../src/cost/update-prices";
import { defaultFleet, PROJECT_ROOT } from "./helpers/fleet";
import { readPriceFile, scratchPrices as scratchIn } from "./helpers/price-files";

const REGION = "ap-southeast-7";
const SOURCE_ID = "priceListQueryApi";
const work = mkdtempSync(join(tmpdir(), "update-prices-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Canned {
  serviceCode: string;
  family: string;
  attributes: Record<string, string>;
  /** [beginRange, endRange, USD, unit] per price dimension. */
  dimensions: [string, string, string, string][];
  publicationDate?: string;
}

/** A product as the API sends it (as a JSON string), terms keyed by SKU and offer-term codes. */
function priceListProduct(c: Canned, i: number): Record<string, unknown> {
  const sku = `SKU${String(i).padStart(4, "0")}`;
  const term = `${sku}.JRTCKXETXF`;
  return {
    product: { productFamily: c.family, attributes: { servicecode: c.serviceCode, ...c.attributes }, sku },
    serviceCode: c.serviceCode,
    terms: {
      OnDemand: {
        [term]: {
          priceDimensions: Object.fromEntries(
            c.dimensions.map(([beginRange, endRange, usd, unit], d) => [
              `${term}.${d}`,
              { unit, endRange, description: "canned", appliesTo: [], rateCode: `${term}.${d}`, beginRange, pricePerUnit: { USD: usd } },
            ]),
          ),
          sku,
          effectiveDate: "2026-11-01T00:00:00Z",
          offerTermCode: "JRTCKXETXF",
          termAttributes: {},
        },
      },
    },
    version: "20261101000000",
    publicationDate: c.publicationDate ?? "2026-11-01T00:00:00Z",
  };
}

const here = { regionCode: REGION };
const one = (usd: string, unit: string): [string, string, string, string][] => [["0", "Inf", usd, unit]];
const linux = {
  ...here,
  operatingSystem: "Linux",
  tenancy: "Shared",
  preInstalledSw: "NA",
  capacitystatus: "Used",
  marketoption: "OnDemand",
};
/** Invented figures: what matters is which product each price is read from. */
const CANNED: Canned[] = [
  {
    serviceCode: "AmazonEC2",
    family: "Compute Instance",
    attributes: { ...linux, instanceType: "t3.2xlarge" },
    dimensions: one("0.4011000000", "Hrs"),
  },
  {
    serviceCode: "AmazonEC2",
    family: "Compute Instance",
    attributes: { ...linux, instanceType: "t4g.2xlarge" },
    dimensions: one("0.3211", "Hrs"),
  },
  // Not in the roster's built-in table: left out of the file.
  {
    serviceCode: "AmazonEC2",
    family: "Compute Instance",
    attributes: { ...linux, instanceType: "x2iedn.32xlarge" },
    dimensions: one("33", "Hrs"),
  },
  // Another region's: the regionCode filter keeps it out.
  {
    serviceCode: "AmazonEC2",
    family: "Compute Instance",
    attributes: { ...linux, regionCode: "us-east-1", instanceType: "t3.2xlarge" },
    dimensions: one("0.3328", "Hrs"),
    publicationDate: "2026-11-20T00:00:00Z",
  },
  // Windows, a reservation-only capacity status: other filters keep them out.
  {
    serviceCode: "AmazonEC2",
    family: "Compute Instance",
    attributes: { ...linux, operatingSystem: "Windows", instanceType: "t3.2xlarge" },
    dimensions: one("0.5", "Hrs"),
  },
  { serviceCode: "AmazonEC2", family: "Storage", attributes: { ...here, volumeApiName: "gp3" }, dimensions: one("0.0960000000", "GB-Mo") },
  { serviceCode: "AmazonEC2", family: "Storage", attributes: { ...here, volumeApiName: "gp2" }, dimensions: one("0.12", "GB-Mo") },
  {
    serviceCode: "AmazonEC2",
    family: "Storage Snapshot",
    attributes: { ...here, usagetype: "APT1-EBS:SnapshotUsage" },
    dimensions: one("0.055", "GB-Mo"),
  },
  {
    serviceCode: "AmazonEC2",
    family: "Storage Snapshot",
    attributes: { ...here, usagetype: "APT1-EBS:SnapshotArchiveStorage" },
    dimensions: one("0.0138", "GB-Mo"),
  },
  {
    serviceCode: "AmazonVPC",
    family: "",
    attributes: { ...here, usagetype: "APT1-PublicIPv4:InUseAddress" },
    dimensions: one("0.005", "Hrs"),
  },
  {
    serviceCode: "AmazonVPC",
    family: "",
    attributes: { ...here, usagetype: "APT1-PublicIPv4:IdleAddress" },
    dimensions: one("0.005", "Hrs"),
  },
  {
    serviceCode: "AWSELB",
    family: "Load Balancer-Application",
    attributes: { ...here, usagetype: "APT1-LoadBalancerUsage" },
    dimensions: one("0.0252", "Hrs"),
  },
  // A trust-store hour is also "LoadBalancerUsage" at its end, after "TS-": not the ALB's hour.
  {
    serviceCode: "AWSELB",
    family: "Load Balancer-Application",
    attributes: { ...here, usagetype: "APT1-TS-LoadBalancerUsage" },
    dimensions: one("0.0055", "Hrs"),
  },
  {
    serviceCode: "AWSELB",
    family: "Load Balancer-Application",
    attributes: { ...here, usagetype: "APT1-LCUUsage" },
    dimensions: one("0.008", "LCU-Hrs"),
  },
  {
    serviceCode: "AWSDataTransfer",
    family: "Data Transfer",
    attributes: { fromRegionCode: REGION, transferType: "AWS Outbound", usagetype: "APT1-DataTransfer-Out-Bytes" },
    dimensions: [
      ["10240", "51200", "0.085", "GB"],
      ["0", "10240", "0.108", "GB"],
    ],
  },
  {
    serviceCode: "AWSSecretsManager",
    family: "Secret",
    attributes: { ...here, usagetype: "APT1-AWSSecretsManager-Secrets" },
    dimensions: one("0.4", "Secrets"),
  },
  {
    serviceCode: "awskms",
    family: "Encryption Key",
    attributes: { ...here, usagetype: "ap-southeast-7-KMS-Keys" },
    dimensions: one("1", "Keys"),
  },
  {
    serviceCode: "AmazonCloudWatch",
    family: "Data Payload",
    attributes: { ...here, usagetype: "APT1-DataProcessing-Bytes" },
    dimensions: one("0.7", "GB"),
  },
  {
    serviceCode: "AmazonCloudWatch",
    family: "Data Payload",
    attributes: { ...here, usagetype: "APT1-DataScanned-Bytes" },
    dimensions: one("0.007", "GB"),
  },
  {
    serviceCode: "AmazonCloudWatch",
    family: "Storage Snapshot",
    attributes: { ...here, usagetype: "APT1-TimedStorage-ByteHrs" },
    dimensions: one("0.033", "GB-Mo"),
  },
  {
    serviceCode: "AmazonCloudWatch",
    family: "Metric",
    attributes: { ...here, usagetype: "APT1-CW:MetricMonitorUsage" },
    // The free tier is a dimension of its own: the unit price is the first paid tier.
    dimensions: [
      ["0", "10", "0.0000000000", "Metrics"],
      ["10", "10000", "0.33", "Metrics"],
      ["10000", "250000", "0.1", "Metrics"],
    ],
  },
  {
    serviceCode: "AmazonCloudWatch",
    family: "Alarm",
    attributes: { ...here, usagetype: "APT1-CW:AlarmMonitorUsage", alarmType: "Standard" },
    dimensions: one("0.11", "Alarms"),
  },
  // Dashboards are global (no regionCode); this one in a unit the tool does not convert.
  {
    serviceCode: "AmazonCloudWatch",
    family: "Dashboard",
    attributes: { usagetype: "DashboardsUsageHour" },
    dimensions: one("0.0041", "Hrs"),
  },
  {
    serviceCode: "AmazonRoute53",
    family: "DNS Query",
    attributes: { usagetype: "DNS-Queries", routingType: "Standard" },
    dimensions: one("0.0000004", "Queries"),
  },
  {
    serviceCode: "AmazonRoute53",
    family: "DNS Query",
    attributes: { usagetype: "DNS-Queries", routingType: "Latency Based Routing" },
    dimensions: one("0.0000006", "Queries"),
  },
  // Fargate on Linux by architecture; Windows' vCPU is another usage type.
  {
    serviceCode: "AmazonECS",
    family: "Compute",
    attributes: { ...here, usagetype: "APT1-Fargate-vCPU-Hours:perCPU" },
    dimensions: one("0.0505", "hours"),
  },
  {
    serviceCode: "AmazonECS",
    family: "Compute",
    attributes: { ...here, usagetype: "APT1-Fargate-ARM-vCPU-Hours:perCPU" },
    dimensions: one("0.0404", "hours"),
  },
  {
    serviceCode: "AmazonECS",
    family: "Compute",
    attributes: { ...here, usagetype: "APT1-Fargate-Windows-vCPU-Hours:perCPU" },
    dimensions: one("0.1", "hours"),
  },
  {
    serviceCode: "AmazonEC2",
    family: "NAT Gateway",
    attributes: { ...here, usagetype: "APT1-NatGateway-Hours" },
    dimensions: one("0.0593", "Hrs"),
  },
  {
    serviceCode: "AmazonS3",
    family: "Storage",
    attributes: { ...here, storageClass: "General Purpose", volumeType: "Standard", usagetype: "APT1-TimedStorage-ByteHrs" },
    dimensions: [["0", "51200", "0.025", "GB-Mo"]],
    publicationDate: "2026-11-12T08:00:00Z",
  },
];

/**
 * The AWS stand-in as `aws`, its account holding the canned products: it answers `pricing
 * get-products` with those of the service code that match every TERM_MATCH filter, and logs each call.
 */
const bin = join(work, "bin");
mkdirSync(bin);
symlinkSync(join(PROJECT_ROOT, "rehearse", "standins", "aws"), join(bin, "aws"));
const account = new AwsAccount(join(work, "account"), "ap-south-1");
CANNED.forEach((c, i) => account.addPriceListProduct(priceListProduct(c, i)));
const env = { ...process.env, ...account.env, PATH: `${bin}:${process.env.PATH}` };
/** Each call's options by name, from the stand-in's log ("aws pricing get-products --region ap-south-1 --filters [...] ..."). */
const optionsOfCalls = (since: number): Record<string, string>[] =>
  account
    .calls()
    .slice(since)
    .map((line) => {
      const [command, ...options] = line.split(/ (?=--)/);
      return { command, ...Object.fromEntries(options.map((o) => [o.slice(2, o.indexOf(" ")), o.slice(o.indexOf(" ") + 1)])) };
    });

/** The operator's credentials lack pricing:GetProducts: the CLI's message, as the stand-in gives it. */
const denied = { ...env, AWS_STANDIN_FAULT_DENY: "pricing get-products" };
const DENIED =
  "An error occurred (UnauthorizedOperation) when calling the GetProducts operation: You are not authorized to perform this operation. (a fault injected through AWS_STANDIN_FAULT_DENY)";

const scratchPrices = () => scratchIn(work, REGION);
const read = (dir: string) => readPriceFile(dir, REGION);

describe("--update-prices ap-southeast-7 against the Price List Query API", () => {
  const dir = scratchPrices();
  const before = read(dir);
  const since = account.calls().length;
  const result = updatePrices(REGION, queryApiSource(REGION, awsCli(env)), { dir, today: "2026-11-27" });
  const after = read(dir);
  const calls = optionsOfCalls(since);

  it("asks the API's nearest endpoint, once per query, with TERM_MATCH filters on the region", () => {
    expect(calls.every((c) => c.command === "aws pricing get-products" && c.region === "ap-south-1")).toBe(true);
    const filtersOf = (serviceCode: string) =>
      calls.filter((c) => c["service-code"] === serviceCode).map((c) => JSON.parse(c.filters) as unknown);
    expect(filtersOf("AmazonEC2")[0]).toEqual([
      { Type: "TERM_MATCH", Field: "regionCode", Value: REGION },
      { Type: "TERM_MATCH", Field: "productFamily", Value: "Compute Instance" },
      { Type: "TERM_MATCH", Field: "operatingSystem", Value: "Linux" },
      { Type: "TERM_MATCH", Field: "tenancy", Value: "Shared" },
      { Type: "TERM_MATCH", Field: "preInstalledSw", Value: "NA" },
      { Type: "TERM_MATCH", Field: "capacitystatus", Value: "Used" },
      { Type: "TERM_MATCH", Field: "marketoption", Value: "OnDemand" },
    ]);
    // CloudWatch's five regional prices come from one call; dashboards (global) from another.
    expect(filtersOf("AmazonCloudWatch")).toHaveLength(2);
    expect(filtersOf("AWSDataTransfer")).toEqual([
      [
        { Type: "TERM_MATCH", Field: "fromRegionCode", Value: REGION },
        { Type: "TERM_MATCH", Field: "transferType", Value: "AWS Outbound" },
      ],
    ]);
    expect(calls.every((c) => c["format-version"] === "aws_v1")).toBe(true);
  });

  it("writes each figure from the one product its query selects, with the API and the date as its source", () => {
    const p = after.prices;
    expect(p["ec2.instance-hour"]).toEqual({
      unit: "instance-hour",
      source: SOURCE_ID,
      byInstanceType: { "t3.2xlarge": 0.4011, "t4g.2xlarge": 0.3211 },
    });
    const usd = (id: string) => [id, p[id].usd, p[id].source];
    expect(
      [
        "ebs.gp3.gb-month",
        "ebs.snapshot.gb-month",
        "vpc.public-ipv4-hour",
        "elb.alb-hour",
        "elb.lcu-hour",
        "data-transfer.internet-out.gb",
        "secretsmanager.secret-month",
        "kms.key-month",
        "cloudwatch.logs.ingest.gb",
        "cloudwatch.logs.storage.gb-month",
        "cloudwatch.metric-month",
        "cloudwatch.alarm-metric-month",
        "route53.queries.million",
        "s3.standard.gb-month",
      ].map(usd),
    ).toEqual([
      ["ebs.gp3.gb-month", 0.096, SOURCE_ID],
      ["ebs.snapshot.gb-month", 0.055, SOURCE_ID],
      ["vpc.public-ipv4-hour", 0.005, SOURCE_ID],
      ["elb.alb-hour", 0.0252, SOURCE_ID],
      ["elb.lcu-hour", 0.008, SOURCE_ID],
      ["data-transfer.internet-out.gb", 0.108, SOURCE_ID],
      ["secretsmanager.secret-month", 0.4, SOURCE_ID],
      ["kms.key-month", 1, SOURCE_ID],
      ["cloudwatch.logs.ingest.gb", 0.7, SOURCE_ID],
      ["cloudwatch.logs.storage.gb-month", 0.033, SOURCE_ID],
      ["cloudwatch.metric-month", 0.33, SOURCE_ID],
      ["cloudwatch.alarm-metric-month", 0.11, SOURCE_ID],
      ["route53.queries.million", 0.4, SOURCE_ID],
      ["s3.standard.gb-month", 0.025, SOURCE_ID],
    ]);
    expect(p["data-transfer.internet-out.gb"].unit).toBe("GB (tiered: the 0–10240 tier)");
    expect(p["cloudwatch.metric-month"].unit).toBe("metric-month (tiered: the 10–10000 tier)");
    expect(after.sources[SOURCE_ID]).toEqual({
      description: expect.stringMatching(
        /^AWS Price List Query API \(pricing:GetProducts through the AWS CLI, endpoint ap-south-1\), .*published 2026-11-01 to 2026-11-12$/,
      ),
      url: "https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html",
      asOf: "2026-11-12",
      read: "2026-11-27",
    });
    expect(["fargate.x86_64.vcpu-hour", "fargate.arm64.vcpu-hour", "vpc.nat-gateway-hour"].map(usd)).toEqual([
      ["fargate.x86_64.vcpu-hour", 0.0505, SOURCE_ID],
      ["fargate.arm64.vcpu-hour", 0.0404, SOURCE_ID],
      ["vpc.nat-gateway-hour", 0.0593, SOURCE_ID],
    ]);
    expect(result.found).toHaveLength(18);
    expect(result.instanceTypes).toBe(2);
  });

  it("leaves unpriced, with the reason, what the API does not give, and keeps figures and reasons from elsewhere", () => {
    const p = after.prices;
    expect(p["waf.web-acl-month"]).toEqual({ unpriced: "the AWS Price List Query API gave no figure on 2026-11-27: no matching product" });
    expect(p["cloudwatch.dashboard-month"]).toEqual({
      unpriced:
        'the AWS Price List Query API gave no figure on 2026-11-27: priced per "Hrs", a unit this tool does not convert to dashboard-month',
    });
    // The hosted zone's figure had its own source; the API gave none, so it stands, source and all.
    expect(p["route53.hosted-zone-month"]).toEqual(before.prices["route53.hosted-zone-month"]);
    expect(after.sources.zoneBook).toEqual(before.sources.zoneBook);
    // The KMS figure now comes from the API: its old source is cited no more, and dropped.
    expect(Object.keys(after.sources).sort()).toEqual(["priceListQueryApi", "zoneBook"]);
    // Not a product of the Query API: the entry is left as it was.
    expect(p["scheduler.invocations.million"]).toEqual(before.prices["scheduler.invocations.million"]);
    expect(result.missing.map((m) => m.id).sort()).toEqual([
      "backup.efs.gb-month",
      "cloudwatch.dashboard-month",
      "cloudwatch.vended-logs.ingest.gb",
      "efs.elastic-read.gb",
      "efs.elastic-write.gb",
      "efs.standard.gb-month",
      "fargate.arm64.gb-hour",
      "fargate.x86_64.gb-hour",
      "route53.hosted-zone-month",
      "vpc.nat-gateway.gb",
      "waf.requests.million",
      "waf.rule-month",
      "waf.web-acl-month",
    ]);
  });

  it("is a valid price file that prices the default roster's host", () => {
    const prices = loadPrices(REGION, dir);
    const bill = monthlyCost(defaultFleet(), { prices });
    expect(bill.monthly.lines.find((l) => l.id === "ec2.host")).toMatchObject({ unitPriceUsd: 0.4011, monthlyUsd: 292.8 });
  });
});

describe("when the API cannot be read", () => {
  it("fails with the CLI's message and leaves the price file as it was", () => {
    const dir = scratchPrices();
    const before = readFileSync(join(dir, `${REGION}.json`), "utf8");
    expect(() => updatePrices(REGION, queryApiSource(REGION, awsCli(denied)), { dir })).toThrow(
      new PriceError(`aws pricing get-products failed (exit 254): ${DENIED}`),
    );
    expect(readFileSync(join(dir, `${REGION}.json`), "utf8")).toBe(before);
  });

  it("names the AWS CLI when there is none", () => {
    expect(() => updatePrices(REGION, queryApiSource(REGION, awsCli({ PATH: join(work, "nothing") })), { dir: scratchPrices() })).toThrow(
      /the AWS CLI \(aws\) is required to read the Price List Query API/,
    );
  });
});

describe("npm run cost -- --update-prices --query-api", () => {
  const run = async (argv: string[], runEnv: NodeJS.ProcessEnv) => {
    let stdout = "";
    let stderr = "";
    const code = await runCostCli(argv, { env: runEnv, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
    return { code, stdout, stderr };
  };

  it("exits 1 and changes no price file when the API cannot be read", async () => {
    const committed = readFileSync(join(PROJECT_ROOT, "prices", "eu-west-1.json"), "utf8");
    const { code, stdout, stderr } = await run(["--update-prices", "eu-west-1", "--query-api"], {
      ...denied,
    });
    expect([code, stdout]).toEqual([1, ""]);
    expect(stderr).toBe(`aws pricing get-products failed (exit 254): ${DENIED}\nprices/eu-west-1.json is unchanged.\n`);
    expect(readFileSync(join(PROJECT_ROOT, "prices", "eu-west-1.json"), "utf8")).toBe(committed);
  });

  it("rewrites the file and says what it found and what it did not", async () => {
    const dir = scratchPrices();
    let stdout = "";
    const code = await runCostCli(["--update-prices", REGION, "--query-api"], {
      env,
      stdout: (t) => (stdout += t),
      stderr: () => undefined,
      pricesDir: dir,
    });
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(
      /^Rewrote .*ap-southeast-7\.json from the AWS Price List Query API \(endpoint ap-south-1\): 18 prices found, EC2 on-demand rates for 2 instance types\.$/,
    );
    expect(lines).toContain("  - waf.web-acl-month: no matching product");
    expect(lines.at(-2)).toBe(
      "Not in the Price List's products (entries kept): ec2.detailed-monitoring-instance-month, ec2.savings-plan-compute-1y-hour, scheduler.invocations.million, budgets.budget-month.",
    );
    expect(read(dir).prices["elb.alb-hour"]).toMatchObject({ usd: 0.0252, source: SOURCE_ID });
  });

  it("asks the endpoint nearest the region", () => {
    expect(["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-7", "sa-east-1"].map(pricingEndpointRegion)).toEqual([
      "us-east-1",
      "us-east-1",
      "eu-central-1",
      "ap-south-1",
      "us-east-1",
    ]);
  });
});
