/**
 * The roster's platform: `platform: host` (the default) or `ecs`, the host section exactly when the
 * host runs, a migration that keeps or prepares the other platform beside the serving one, and on
 * ECS each developer's Fargate size: the smallest that holds their limits, refused beyond the largest.
 */
import { parse, stringify } from "yaml";
import { describeFargateSizes, FARGATE_SIZES, LARGEST_FARGATE_SIZE, smallestFargateSize } from "../src/roster/fargate";
import { parseRoster } from "../src/roster";
import { DEFAULT_ROSTER_TEXT, generatedRosterText, problemsOf } from "./helpers/fleet";

type Roster = Record<string, unknown> & { developers: Record<string, unknown>[] };
const edited = (edit: (roster: Roster) => void, from = DEFAULT_ROSTER_TEXT) => {
  const roster = parse(from) as Roster;
  edit(roster);
  return stringify(roster);
};
const onEcs = (roster: Roster) => {
  roster.platform = "ecs";
  delete roster.host;
};
/** `path|message` of every problem, without the lines (the tests edit the YAML). */
const messages = (text: string) => problemsOf(text).map((p) => p.split("|").slice(1).join("|"));

describe("the platform", () => {
  it("is the host unless the roster says ecs, and the fleet runs what it names", () => {
    const host = parseRoster(DEFAULT_ROSTER_TEXT);
    expect([host.platform, host.host?.instanceType, host.ecs, host.migration]).toEqual(["host", "t3.2xlarge", undefined, undefined]);
    const ecs = parseRoster(edited(onEcs));
    expect([ecs.platform, ecs.host, ecs.ecs]).toEqual(["ecs", undefined, { architecture: "x86_64", network: "public", exec: false }]);
  });

  it("takes ECS's settings, and refuses a value it does not know with the ones it does", () => {
    const fleet = parseRoster(
      edited((r) => Object.assign(onEcsRoster(r), { ecs: { architecture: "arm64", network: "private", exec: true } })),
    );
    expect(fleet.ecs).toEqual({ architecture: "arm64", network: "private", exec: true });
    expect(messages(edited((r) => Object.assign(onEcsRoster(r), { ecs: { network: "nat" } })))).toEqual([
      'ecs.network|ecs.network must be public or private (found "nat")',
    ]);
    expect(messages(edited((r) => Object.assign(r, { platform: "k8s" })))).toEqual(['platform|platform must be host or ecs (found "k8s")']);
  });

  it("needs the host section while the host runs, and refuses one no host uses", () => {
    expect(messages(edited((r) => delete r.host))).toEqual([
      "host|host is required while the host platform runs (platform: host): give at least instanceType (e.g. t3.2xlarge)",
    ]);
    expect(messages(edited((r) => (r.platform = "ecs")))).toEqual([
      "host|host is set, but no host runs on platform: ecs: remove it, or keep the host during a migration with migration: { keep: host }",
    ]);
  });

  it("refuses ECS settings where ECS does not run, but not their defaults written out", () => {
    expect(messages(edited((r) => (r.ecs = { architecture: "arm64" })))).toEqual([
      "ecs|ecs settings have no effect unless ECS runs: set platform: ecs, or prepare it with migration: { prepare: ecs }",
    ]);
    expect(parseRoster(edited((r) => (r.ecs = { architecture: "x86_64" }))).ecs).toBeUndefined();
  });
});

/** The roster on ECS (for Object.assign chains). */
function onEcsRoster(roster: Roster): Roster {
  onEcs(roster);
  return roster;
}

describe("a migration", () => {
  it("prepares ECS beside the serving host: both run, the host serves", () => {
    const fleet = parseRoster(edited((r) => (r.migration = { prepare: "ecs" })));
    expect([fleet.platform, fleet.host?.instanceType, fleet.ecs?.network, fleet.migration]).toEqual([
      "host",
      "t3.2xlarge",
      "public",
      { prepare: "ecs" },
    ]);
    expect(fleet.developers.every((d) => d.fargate !== undefined)).toBe(true);
  });

  it("keeps the host beside the serving ECS", () => {
    const fleet = parseRoster(edited((r) => Object.assign(r, { platform: "ecs", migration: { keep: "host" } })));
    expect([fleet.platform, fleet.host?.instanceType, fleet.migration]).toEqual(["ecs", "t3.2xlarge", { keep: "host" }]);
  });

  it("names the other platform of the one that serves, and only one", () => {
    expect(messages(edited((r) => (r.migration = { keep: "host" })))).toEqual([
      "migration.keep|migration.keep: host keeps the host beside a serving ECS: it needs platform: ecs",
    ]);
    expect(messages(edited((r) => Object.assign(r, { platform: "ecs", migration: { prepare: "ecs" } })))).toContain(
      "migration.prepare|migration.prepare: ecs builds ECS beside a serving host: it needs platform: host",
    );
    expect(messages(edited((r) => (r.migration = { prepare: "ecs", keep: "host" })))).toContain(
      "migration|a migration either prepares ecs (platform: host) or keeps host (platform: ecs): give one of them",
    );
  });
});

describe("Fargate sizes", () => {
  it("are AWS's pairs: 0.25 vCPU with 0.5-2 GiB up to 16 vCPU with 32-120 GiB in 8 GiB steps", () => {
    expect(FARGATE_SIZES[0]).toEqual({ cpu: 256, memoryMiB: 512 });
    expect(FARGATE_SIZES.filter((s) => s.cpu === 512).map((s) => s.memoryMiB)).toEqual([1024, 2048, 3072, 4096]);
    expect(FARGATE_SIZES.filter((s) => s.cpu === 16384).map((s) => s.memoryMiB / 1024)).toEqual([
      32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120,
    ]);
    expect(LARGEST_FARGATE_SIZE).toEqual({ cpu: 16384, memoryMiB: 122880 });
  });

  it("give each developer the smallest pair that holds their limits", () => {
    expect(smallestFargateSize(1.5, 4096)).toEqual({ cpu: 2048, memoryMiB: 4096 });
    expect(smallestFargateSize(0.5, 1024)).toEqual({ cpu: 512, memoryMiB: 1024 });
    // 1 vCPU offers at most 8 GiB: 10 GiB needs 2 vCPU.
    expect(smallestFargateSize(1, 10240)).toEqual({ cpu: 2048, memoryMiB: 10240 });
    expect(smallestFargateSize(16, 122881)).toBeUndefined();
    const fleet = parseRoster(
      edited((r) => {
        onEcs(r);
        r.developers[1] = { ...r.developers[1], cpuLimit: 3, memoryLimitGiB: 10 };
      }),
    );
    expect(fleet.developers.slice(0, 2).map((d) => d.fargate)).toEqual([
      { cpu: 2048, memoryMiB: 4096 },
      { cpu: 4096, memoryMiB: 10240 },
    ]);
  });

  it("refuse a developer no Fargate task holds, naming the largest, and a default once", () => {
    const tooBig = edited((r) => {
      onEcs(r);
      r.developers[2] = { ...r.developers[2], cpuLimit: 32, cpus: 1 };
    });
    expect(messages(tooBig)).toEqual([
      'developers.2.cpuLimit|developer "dev3": cpuLimit 32 vCPU with memoryLimitGiB 4 fits no Fargate task: Fargate\'s largest task is 16 vCPU / 120 GiB; lower cpuLimit, or run this team on the host platform',
    ]);
    const defaults = edited((r) => {
      onEcs(r);
      r.developerDefaults = { memoryLimitGiB: 128, memoryGiB: 3 };
    });
    expect(messages(defaults)).toEqual([
      "developerDefaults.memoryLimitGiB|cpuLimit 1.5 vCPU with memoryLimitGiB 128 fits no Fargate task: Fargate's largest task is 16 vCPU / 120 GiB; lower memoryLimitGiB, or run this team on the host platform",
    ]);
  });
});

describe("synth's line of Fargate sizes", () => {
  it("groups the developers by size, smallest first, and names at most three of each in full", () => {
    const small = { cpu: 512, memoryMiB: 1024 };
    const large = { cpu: 4096, memoryMiB: 10240 };
    const developers = Array.from({ length: 250 }, (_, i) => ({ name: `dev${i + 1}`, fargate: i % 125 === 3 ? small : large }));
    const line = describeFargateSizes(developers)!;
    expect(line).toBe("0.5 vCPU / 1 GiB × 2 (dev4, dev129), 4 vCPU / 10 GiB × 248 (dev1 … dev250)");
    expect(describeFargateSizes(parseRoster(DEFAULT_ROSTER_TEXT).developers)).toBeUndefined();
  });
});

describe("the team's size", () => {
  it("is at most one load balancer's worth on the host, and 250 developers run on ECS", () => {
    const big = generatedRosterText(250);
    expect(messages(big).find((m) => m.startsWith("developers|"))).toMatch(
      /^developers\|250 developers is more than one ALB listener can route \(100 rules\) for the host: run them on platform: ecs/,
    );
    expect(parseRoster(edited(onEcs, big)).developers).toHaveLength(250);
  });
});
