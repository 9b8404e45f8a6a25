/**
 * `npm run cost -- --update-prices <region>` against the public bulk offer files, served from a
 * local HTTP server out of fixtures/price-list-bulk: a hand-made sample in the files' format
 * (service index → region index → offer file; products by SKU, terms.OnDemand by SKU and offer
 * term code) with invented figures, tiers out of order, units in several spellings, and
 * products that must not be picked (another OS, tenancy or capacity status, a trust store's
 * hours, archive storage, reserved terms). The price file it produces must validate.
 */
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, normalize } from "node:path";
import { pathToFileURL } from "node:url";
import { bulkOffersSource } from "../src/cost/bulk-offers";
import { runCostCli } from "../src/cost/cli";
import { monthlyCost } from "../src/cost/engine";
import { EC2_INSTANCES, PRICE_SPECS } from "../src/cost/price-list";
import { loadPrices, PriceError } from "../src/cost/prices";
import { updatePrices } from "../src/cost/update-prices";
import { parse, stringify } from "yaml";
import { parseRoster } from "../src/roster";
import { DEFAULT_ROSTER_TEXT, defaultFleet, PROJECT_ROOT } from "./helpers/fleet";
import { readPriceFile, scratchPrices, STARTING_REASON } from "./helpers/price-files";

const REGION = "ap-southeast-7";
const SAMPLE = join(PROJECT_ROOT, "__tests__", "fixtures", "price-list-bulk");
const work = mkdtempSync(join(tmpdir(), "update-prices-bulk-"));

/** How the server answers a path: "serve", an HTTP status, "stall" (a few bytes, then nothing) or "html" (not JSON). */
type Behaviour = "serve" | number | "stall" | "html";
let behave: (path: string, nth: number) => Behaviour = () => "serve";
const requests: string[] = [];
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url!, "http://x").pathname);
    requests.push(path);
    const behaviour = behave(path, requests.filter((p) => p === path).length);
    const file = normalize(join(SAMPLE, path));
    if (behaviour === "stall") {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{ "formatVersion" : "v1.0", ');
      return; // never ends: the client must give up by itself
    }
    if (behaviour === "html") return void res.writeHead(200, { "content-type": "text/html" }).end("<html>Maintenance</html>");
    if (behaviour !== "serve") return void res.writeHead(behaviour).end();
    if (!file.startsWith(SAMPLE) || !existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/json" });
    createReadStream(file, { highWaterMark: 1024 }).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(work, { recursive: true, force: true });
});
beforeEach(() => {
  behave = () => "serve";
  requests.length = 0;
});

// Short waits between tries; a download is abandoned after 2 s of silence (the stalled one).
const FAST = { retryDelayMs: 10, idleTimeoutMs: 2000 };
const EC2_FILE = "/offers/v1.0/aws/AmazonEC2/20261101000000/ap-southeast-7/index.json";

describe("the bulk offer files' products, read through the service and region indexes", () => {
  it("keeps exactly the products each query selects, with their on-demand dimensions lowest tier first", async () => {
    const source = await bulkOffersSource(REGION, { baseUrl: base, ...FAST });
    // The service index, then EC2's region index, which names its file for the region.
    expect(requests[0]).toBe("/offers/v1.0/aws/index.json");
    const at = (path: string) => requests.indexOf(path);
    expect(at("/offers/v1.0/aws/AmazonEC2/current/region_index.json")).toBeLessThan(at(EC2_FILE));
    // Route 53 is global: its file for all regions, no region index.
    expect(requests).toContain("/offers/v1.0/aws/AmazonRoute53/20261101000000/index.json");
    expect(requests).not.toContain("/offers/v1.0/aws/AmazonRoute53/current/region_index.json");
    // Each file once, however many prices read it.
    expect(requests.filter((p) => p.includes("AmazonCloudWatch/2026"))).toHaveLength(1);

    // Linux, shared tenancy, capacity status "Used": not Windows, dedicated or a reservation's unused hours.
    const instances = source.products(EC2_INSTANCES).map((p) => [p.attributes.instanceType, p.dimensions.map((d) => [d.usd, d.unit])]);
    expect(instances).toEqual([
      ["t3.2xlarge", [[0.42, "Hrs"]]],
      ["t4g.2xlarge", [[0.34, "Hrs"]]],
      ["c5.4xlarge", [[0.81, "Hrs"]]],
      ["x2iedn.32xlarge", [[40, "Hrs"]]],
    ]);
    const transfer = source.products(PRICE_SPECS["data-transfer.internet-out.gb"]!.query);
    expect(transfer.map((p) => p.dimensions.map((d) => [d.begin, d.end, d.usd]))).toEqual([
      [
        [0, 10240, 0.115],
        [10240, 51200, 0.09],
        [51200, Infinity, 0.08],
      ],
    ]);
  });
});

describe("--update-prices ap-southeast-7 from the bulk offer files", () => {
  let dir: string;
  let before: ReturnType<typeof readPriceFile>;
  let after: ReturnType<typeof readPriceFile>;
  let result: ReturnType<typeof updatePrices>;
  beforeAll(async () => {
    dir = scratchPrices(work, REGION);
    before = readPriceFile(dir, REGION);
    result = updatePrices(REGION, await bulkOffersSource(REGION, { baseUrl: base, ...FAST }), { dir, today: "2026-11-28" });
    after = readPriceFile(dir, REGION);
  });

  it("writes the built-in instance types' hourly rates, and no other type's", () => {
    expect(after.prices["ec2.instance-hour"]).toEqual({
      unit: "instance-hour",
      byInstanceType: { "c5.4xlarge": 0.81, "t3.2xlarge": 0.42, "t4g.2xlarge": 0.34 },
      source: "priceListBulkApi",
    });
  });

  it("takes the first paid tier, and converts each unit to the price file's", () => {
    const figure = (id: string) => [after.prices[id].usd, after.prices[id].unit];
    expect(
      Object.fromEntries(
        [
          "data-transfer.internet-out.gb",
          "cloudwatch.metric-month",
          "s3.standard.gb-month",
          "cloudwatch.vended-logs.ingest.gb",
          "route53.queries.million",
          "ebs.snapshot.gb-month",
          "elb.lcu-hour",
          "secretsmanager.secret-month",
          "kms.key-month",
        ].map((id) => [id, figure(id)]),
      ),
    ).toEqual({
      // Listed out of order in the file; the first tier, 0-10 TB.
      "data-transfer.internet-out.gb": [0.115, "GB (tiered: the 0–10240 tier)"],
      // A free tier first (0-10 metrics at $0): the unit price is the first paid tier.
      "cloudwatch.metric-month": [0.36, "metric-month (tiered: the 10–10000 tier)"],
      "s3.standard.gb-month": [0.026, "GB-month (tiered: the 0–51200 tier)"],
      "cloudwatch.vended-logs.ingest.gb": [0.67, "GB (tiered: the 0–10240 tier)"],
      // Per query in the file; per million in the price file.
      "route53.queries.million": [0.45, "million queries"],
      // "GB-Month", "LCU-Hrs", "Secrets", "Keys": other spellings of the file's units.
      "ebs.snapshot.gb-month": [0.055, "GB-month"],
      "elb.lcu-hour": [0.009, "LCU-hour"],
      "secretsmanager.secret-month": [0.45, "secret-month"],
      "kms.key-month": [1, "key-month"],
    });
  });

  it("does not take the products next to the right one", () => {
    const usd = (id: string) => after.prices[id].usd;
    // gp2 is $0.125, snapshot archive $0.014, the idle address $0.007, a trust store's hour and an NLB's $0.006 and $0.028.
    expect(["ebs.gp3.gb-month", "ebs.snapshot.gb-month", "vpc.public-ipv4-hour", "elb.alb-hour"].map(usd)).toEqual([
      0.1, 0.055, 0.006, 0.027,
    ]);
    // Data scanned is $0.0067, archive storage $0.005.
    expect(["cloudwatch.logs.ingest.gb", "s3.standard.gb-month"].map(usd)).toEqual([0.67, 0.026]);
  });

  it("says why a price was not found, and keeps what had its own source", () => {
    const p = after.prices;
    expect(p["waf.web-acl-month"]).toEqual({
      unpriced: "the AWS Price List bulk offer files gave no figure on 2026-11-28: awswaf has no price list for ap-southeast-7",
    });
    expect(p["cloudwatch.dashboard-month"].unpriced).toMatch(/priced per "Hrs", a unit this tool does not convert to dashboard-month$/);
    expect(p["route53.hosted-zone-month"]).toEqual(before.prices["route53.hosted-zone-month"]);
    expect(p["scheduler.invocations.million"]).toEqual(before.prices["scheduler.invocations.million"]);
    expect(p["budgets.budget-month"]).toEqual({ unpriced: STARTING_REASON });
    expect(Object.keys(after.sources).sort()).toEqual(["priceListBulkApi", "zoneBook"]);
    expect(result.found).toHaveLength(26);
  });

  it("reads the ECS platform's prices from AmazonECS, AmazonEFS, AWSBackup and EC2's NAT gateway, not the products next to them", () => {
    const figure = (id: string) => [after.prices[id].usd, after.prices[id].unit];
    const ids = [
      "fargate.x86_64.vcpu-hour",
      "fargate.x86_64.gb-hour",
      "fargate.arm64.vcpu-hour",
      "fargate.arm64.gb-hour",
      "efs.standard.gb-month",
      "efs.elastic-read.gb",
      "efs.elastic-write.gb",
      "backup.efs.gb-month",
      "vpc.nat-gateway-hour",
      "vpc.nat-gateway.gb",
    ];
    expect(Object.fromEntries(ids.map((id) => [id, figure(id)]))).toEqual({
      // Not Windows ($0.1101), Spot ($0.0151) or ephemeral storage ($0.00014): Linux on demand, by architecture.
      "fargate.x86_64.vcpu-hour": [0.0501, "vCPU-hour"],
      "fargate.x86_64.gb-hour": [0.0055, "GB-hour"],
      "fargate.arm64.vcpu-hour": [0.0401, "vCPU-hour"],
      "fargate.arm64.gb-hour": [0.0044, "GB-hour"],
      // Not Infrequent Access ($0.03), One Zone ($0.19), IA retrieval ($0.012) or provisioned throughput.
      "efs.standard.gb-month": [0.36, "GB-month (Standard)"],
      "efs.elastic-read.gb": [0.036, "GB read (elastic throughput)"],
      "efs.elastic-write.gb": [0.072, "GB written (elastic throughput)"],
      // Not cold storage, a logically air-gapped vault's or EBS's.
      "backup.efs.gb-month": [0.06, "GB-month (warm backup storage)"],
      // Not a regional NAT gateway's hour ($0.07).
      "vpc.nat-gateway-hour": [0.061, "NAT gateway-hour"],
      "vpc.nat-gateway.gb": [0.062, "GB processed"],
    });
    expect(ids.every((id) => after.prices[id].source === "priceListBulkApi")).toBe(true);
    expect(after.sources.priceListBulkApi.description).toMatch(
      /AmazonECS ap-southeast-7 published 2026-11-06, .*AmazonEFS ap-southeast-7 published 2026-11-05, .*AWSBackup ap-southeast-7 published 2026-11-04/,
    );
  });

  it("cites the files read, the latest publication date and the day it read them", () => {
    expect(after.sources.priceListBulkApi).toEqual({
      description: expect.stringMatching(
        /^AWS Price List bulk offer files \(public, no credentials\) under http:\/\/127\.0\.0\.1:\d+, .*AmazonEC2 ap-southeast-7 published 2026-11-14, .*AmazonRoute53 \(all regions\) published 2026-11-08/,
      ),
      url: `${base}/offers/v1.0/aws/index.json`,
      asOf: "2026-11-14",
      read: "2026-11-28",
    });
  });

  it("is a price file that validates and prices the default roster", () => {
    const bill = monthlyCost(defaultFleet(), { prices: loadPrices(REGION, dir) });
    expect(bill.monthly.lines.find((l) => l.id === "ec2.host")).toMatchObject({ unitPriceUsd: 0.42, monthlyUsd: 306.6 });
    expect(bill.monthly.lines.find((l) => l.id === "ebs.data")).toMatchObject({ quantity: 500, monthlyUsd: 50 });
  });

  it("prices an ECS roster's tasks and homes with the figures it read", () => {
    const roster = parse(DEFAULT_ROSTER_TEXT);
    roster.platform = "ecs";
    delete roster.host;
    const bill = monthlyCost(parseRoster(stringify(roster)), { prices: loadPrices(REGION, dir) });
    // 8 tasks × 2 vCPU × 730 h at $0.0501; 8 homes × 30 GB at $0.36.
    expect(bill.monthly.lines.find((l) => l.id === "fargate.vcpu")).toMatchObject({ unitPriceUsd: 0.0501, monthlyUsd: 585.17 });
    expect(bill.monthly.lines.find((l) => l.id === "efs.storage")).toMatchObject({ quantity: 240, monthlyUsd: 86.4 });
  });
});

describe("when the files cannot be read", () => {
  it("tries again after a server error and a stalled download, then reads the file", async () => {
    behave = (path, nth) => (path === EC2_FILE ? ([503, "stall", "serve"] as const)[nth - 1] : "serve");
    const progress: string[] = [];
    const source = await bulkOffersSource(REGION, { baseUrl: base, ...FAST, progress: (l) => progress.push(l) });
    expect(requests.filter((p) => p === EC2_FILE)).toHaveLength(3);
    expect(progress).toContainEqual(`  ${base}${EC2_FILE}: HTTP 503 Service Unavailable; trying again (2 of 3)`);
    expect(progress).toContainEqual(`  ${base}${EC2_FILE}: nothing received for 2 s; trying again (3 of 3)`);
    expect(source.products(EC2_INSTANCES)).toHaveLength(4);
  });

  it("gives up after the last try with an error naming the URL, and leaves the price file as it was", async () => {
    behave = (path) => (path === EC2_FILE ? 500 : "serve");
    const dir = scratchPrices(work, REGION);
    const committed = readFileSync(join(dir, `${REGION}.json`), "utf8");
    let stdout = "";
    let stderr = "";
    const code = await runCostCli(["--update-prices", REGION, "--offers-url", base], {
      env: {},
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      pricesDir: dir,
      bulk: FAST,
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(
      new RegExp(
        `^${base}${EC2_FILE}: HTTP 500 Internal Server Error \\(gave up after 3 tries\\)\\n.*ap-southeast-7\\.json is unchanged\\.\\n$`,
      ),
    );
    expect(stdout).not.toMatch(/Rewrote/);
    expect(readFileSync(join(dir, `${REGION}.json`), "utf8")).toBe(committed);
  });

  it("does not retry what another try cannot mend: a missing file, or one that is not JSON", async () => {
    behave = (path) => (path === EC2_FILE ? 404 : "serve");
    await expect(bulkOffersSource(REGION, { baseUrl: base, ...FAST })).rejects.toThrow(
      new PriceError(`${base}${EC2_FILE}: HTTP 404 Not Found`),
    );
    behave = (path) => (path === EC2_FILE ? "html" : "serve");
    await expect(bulkOffersSource(REGION, { baseUrl: base, ...FAST })).rejects.toThrow(new RegExp(`^${base}${EC2_FILE}: .*"<"`));
    expect(requests.filter((p) => p === EC2_FILE)).toHaveLength(2);
    await expect(bulkOffersSource(REGION, { baseUrl: pathToFileURL(join(SAMPLE, "offers")).href, ...FAST })).rejects.toThrow(
      /\/offers\/offers\/v1\.0\/aws\/index\.json: no such file$/,
    );
  });

  it("reads a local copy of the same tree through a file: URL", async () => {
    const source = await bulkOffersSource(REGION, { baseUrl: pathToFileURL(SAMPLE).href });
    expect(source.products(EC2_INSTANCES).map((p) => p.attributes.instanceType)).toEqual([
      "t3.2xlarge",
      "t4g.2xlarge",
      "c5.4xlarge",
      "x2iedn.32xlarge",
    ]);
    expect(requests).toEqual([]);
  });
});

describe("npm run cost -- --update-prices, the arguments", () => {
  const run = async (argv: string[]) => {
    let stderr = "";
    const code = await runCostCli(argv, { env: {}, stdout: () => undefined, stderr: (t) => (stderr += t), pricesDir: work });
    return { code, stderr };
  };

  it.each([
    [["--update-prices", "Moon"], /^--update-prices "Moon": expected an AWS region code/],
    [["--update-prices=us-east-1", "--json"], /^--update-prices takes no other option than --offers-url or --query-api \(got --json\)/],
    [
      ["--update-prices", REGION, "--offers-url", "pricing.example"],
      /^--offers-url "pricing\.example": expected an http\(s\):\/\/ or file:\/\/ URL/,
    ],
    [
      ["--update-prices", REGION, "--offers-url", "https://x", "--query-api"],
      /^--offers-url and --query-api are two different sources: give one/,
    ],
    [["--query-api"], /^--query-api goes with --update-prices <region> only/],
  ])("refuses %j with exit 2 and the usage", async (argv, message) => {
    const { code, stderr } = await run(argv);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/usage: npm run cost/);
  });

  it("rewrites the file from the bulk files by default and says what it read", async () => {
    const dir = scratchPrices(work, REGION);
    let stdout = "";
    const code = await runCostCli(["--update-prices", REGION, "--offers-url", base], {
      env: {},
      stdout: (t) => (stdout += t),
      stderr: () => undefined,
      pricesDir: dir,
    });
    expect(code).toBe(0);
    expect(stdout).toContain(`  reading ${base}${EC2_FILE}\n`);
    expect(stdout).toContain("  awswaf ap-southeast-7: awswaf has no price list for ap-southeast-7\n");
    expect(stdout).toMatch(
      new RegExp(
        `\\nRewrote .*ap-southeast-7\\.json from the AWS Price List bulk offer files \\(${base}\\): 26 prices found, EC2 on-demand rates for 3 instance types\\.\\n`,
      ),
    );
    expect(loadPrices(REGION, dir).get("elb.alb-hour")).toMatchObject({ priced: true, usd: 0.027 });
  });
});
