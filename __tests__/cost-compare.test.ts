/**
 * `npm run cost -- --compare <sizes>`: both platforms for teams of each size, priced from rosters
 * generated from the roster file, always on and on weekdays 08:00-20:00; a team a platform cannot
 * serve is shown as not possible with the roster's own reason; bad sizes are refused.
 */
import { parse } from "yaml";
import { monthlyCost } from "../src/cost/engine";
import { awakeHoursPerWeek, DEFAULT_IDLE_MINUTES, sleepingCost } from "../src/cost/sleep";
import { loadPrices } from "../src/cost/prices";
import { cheapestHostRoster, ecsRoster, fleetOf, type RosterDocument } from "../src/cost/team-rosters";
import { RosterError } from "../src/roster";
import { routesByShard, routingTable } from "../src/routing";
import { runCost } from "./helpers/cost-cli";
import { DEFAULT_ROSTER_TEXT } from "./helpers/fleet";

const run = runCost;

/** The table's rows by "platform size": runs on, and the four sums (six with --active-hours) as numbers. */
function rowsOf(stdout: string) {
  const table = stdout.split("\n\n")[1].split("\n").slice(1);
  return new Map(
    table.map((row) => {
      const [platform, size, ...rest] = row.split(/\s{2,}/);
      const sums = rest.slice(1).map((cell) => Number(cell.replace(/^at least /, "").replace("$", "")));
      const [always, perDeveloper, weekdays, weekdaysEach, sleeping, sleepingEach] = sums;
      return [`${platform} ${size}`, { runsOn: rest[0], always, perDeveloper, weekdays, weekdaysEach, sleeping, sleepingEach }];
    }),
  );
}

describe("npm run cost -- --compare", () => {
  let result: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    result = await run(["--compare", "2,12", "--region", "us-east-1"]);
  });

  test("prints a row for each platform and size, the host on the roster's own type when it holds the team, else the cheapest that does", () => {
    expect(result.code).toBe(0);
    const rows = rowsOf(result.stdout);
    expect([...rows.keys()]).toEqual(["host 2", "host 12", "ecs (public) 2", "ecs (public) 12", "ecs (private) 2", "ecs (private) 12"]);
    expect(rows.get("host 2")!.runsOn).toBe("EC2 t3.2xlarge");
    // 12 developers reserve 12 vCPU and 36 GiB + 2 GiB headroom: no 2xlarge holds them; m5.4xlarge is the cheapest x86_64 type that does
    // (m6i.4xlarge costs the same).
    expect(rows.get("host 12")!.runsOn).toBe("EC2 m5.4xlarge");
    expect(rows.get("ecs (public) 12")!.runsOn).toBe("Fargate 2 vCPU / 4 GiB x86_64, 1 ALB");
    expect(rows.get("ecs (private) 12")!.runsOn).toBe("Fargate 2 vCPU / 4 GiB x86_64, 1 ALB");
    expect(result.stderr).toContain("pricing host, 12 developers on m5.4xlarge\n");
  });

  test("gives each sum per developer, and the weekday schedule costs less than always on", () => {
    for (const [key, row] of rowsOf(result.stdout)) {
      const size = Number(key.split(" ").at(-1));
      expect([key, row.perDeveloper]).toEqual([key, Math.round((row.always / size) * 100) / 100]);
      expect([key, row.weekdaysEach]).toEqual([key, Math.round((row.weekdays / size) * 100) / 100]);
      expect(row.weekdays).toBeLessThan(row.always);
    }
  });

  test("is what npm run cost prints for the generated roster", () => {
    const fleet = fleetOf(ecsRoster(parse(DEFAULT_ROSTER_TEXT) as RosterDocument, 2, "private"));
    if (fleet instanceof RosterError) throw fleet;
    const bill = monthlyCost(fleet, { region: "us-east-1" });
    expect(rowsOf(result.stdout).get("ecs (private) 2")).toMatchObject({
      always: bill.monthly.total,
      perDeveloper: bill.monthly.perDeveloper,
    });
    // The us-east-1 file prices neither log storage nor flow logs: the sums are floors and say so.
    expect(result.stdout).toMatch(/\necs \(public\)\s+2\s+Fargate[^\n]+at least \$/);
    expect(result.stdout).toMatch(
      /Sums marked "at least" leave out the lines with no price here:\n {2}- host: [^\n]*AWS Budgets\n {2}- ecs: /,
    );
  });

  test("a private network costs one NAT gateway more whatever the team's size, less each task's public address", () => {
    const rows = rowsOf(result.stdout);
    const extra = (n: number) => rows.get(`ecs (private) ${n}`)!.always - rows.get(`ecs (public) ${n}`)!.always;
    const prices = loadPrices("us-east-1");
    const usd = (id: Parameters<typeof prices.get>[0]) => (prices.get(id) as { usd: number }).usd;
    const [natHour, natGb, address] = [usd("vpc.nat-gateway-hour"), usd("vpc.nat-gateway.gb"), usd("vpc.public-ipv4-hour")];
    // 730 h of the gateway and of its address; per developer 20 GB through it instead of an address's 730 h.
    expect(extra(2)).toBeCloseTo(730 * natHour + 730 * address + 2 * (20 * natGb - 730 * address), 1);
    expect(extra(2) - extra(12)).toBeCloseTo(10 * (730 * address - 20 * natGb), 1);
  });

  test("a generated ECS team fills the fewest load balancers: 60 developers on two, whatever their ports", () => {
    const fleet = fleetOf(ecsRoster(parse(DEFAULT_ROSTER_TEXT) as RosterDocument, 60));
    if (fleet instanceof RosterError) throw fleet;
    expect(fleet.developers.map((d) => d.port).slice(-1)).toEqual([8502]);
    expect(routesByShard(routingTable(fleet)).size).toBe(2);
  });

  test("a team no host can serve is not possible there, with the roster's reason that holds for every type", () => {
    const refused = cheapestHostRoster(parse(DEFAULT_ROSTER_TEXT) as RosterDocument, 101, loadPrices("us-east-1"));
    expect(refused).toBeInstanceOf(RosterError);
    expect((refused as RosterError).problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/^101 developers is more than one ALB listener can route \(100 rules\) for the host/),
    ]);
  });

  test.each([
    [["--compare", "lots"], /^--compare "lots": expected team sizes separated by commas, such as 8,50,200/],
    [["--compare", "8,0"], /^--compare: a team of 0: give sizes from 1 to 1000/],
    [["--compare", "1001"], /^--compare: a team of 1001: give sizes from 1 to 1000/],
    [["--compare", "8,50,8"], /^--compare: 8 is given twice: give each team size once/],
    [["--compare", "8", "--json"], /^--compare prints a table, not JSON: leave out --json/],
    [["--compare", "8", "--home-gb-per-developer=-3"], /^--home-gb-per-developer "-3": expected a number of 0 or more/],
  ])("%j is refused with a clear message and exit 2, before anything is synthesized", async (argv, message) => {
    const { code, stdout, stderr } = await run(argv);
    expect([code, stdout]).toEqual([2, ""]);
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/usage: npm run cost/);
    expect(stderr).not.toMatch(/^pricing /m);
  });
});

describe("npm run cost -- --compare --active-hours", () => {
  let result: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    result = await run(["--compare", "2", "--region", "us-east-1", "--active-hours", "20"]);
  });

  test("adds the sleeping total and its share per developer to every platform's row, below its weekday schedule", () => {
    expect([result.code, result.stderr.replace(/^pricing .*\n/gm, "")]).toEqual([0, ""]);
    expect(result.stdout.split("\n\n")[1].split("\n")[0]).toMatch(/Per developer\s+Sleeping, 20 h active\s+Per developer$/);
    const rows = rowsOf(result.stdout);
    expect([...rows.keys()]).toEqual(["host 2", "ecs (public) 2", "ecs (private) 2"]);
    for (const [key, row] of rows) {
      expect([key, row.sleepingEach]).toEqual([key, Math.round((row.sleeping / 2) * 100) / 100]);
      expect([key, row.sleeping < row.weekdays]).toEqual([key, true]);
    }
  });

  test("prices each platform's generated roster sleeping with the default idle minutes", () => {
    const doc = { ...ecsRoster(parse(DEFAULT_ROSTER_TEXT) as RosterDocument, 2, "public"), sleep: { idleMinutes: DEFAULT_IDLE_MINUTES } };
    const fleet = fleetOf(doc);
    if (fleet instanceof RosterError) throw fleet;
    const expected = sleepingCost(monthlyCost(fleet, { region: "us-east-1" }), 20, awakeHoursPerWeek(fleet, 20));
    expect(expected.awakeHours).toBe(30);
    expect(rowsOf(result.stdout).get("ecs (public) 2")).toMatchObject({ sleeping: expected.total, sleepingEach: expected.perDeveloper });
    expect(result.stdout).toContain("each developer active 20 h a week and awake 30");
  });
});
