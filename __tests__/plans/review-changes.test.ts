/**
 * The review tells what Terraform's plan does, for each change that can hurt: every action, symbol
 * and count it prints is held against Terraform's own account of the same plan (its streamed
 * `planned_change` messages and `change_summary`), and each dangerous change exits 3 with what the
 * developers will notice. One deployment of the default roster, fabricated offline, serves them all.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { GUIDE_LINKS } from "../../src/naming";
import { sectionAt } from "../helpers/docs";
import { planCounts, type ReviewedChange } from "../../src/review/planned";
import { renderReview } from "../../src/review/report";
import { appliedBy } from "../../src/review/settings";
import { exitCodeOf, review, synthesizeRoster, type Review } from "../../src/review/review";
import { reviewSections } from "../../src/review/sections";
import { parseRoster } from "../../src/roster";
import { OfflinePlanner } from "../../src/terraform/plan-against-state";
import { DEFAULT_ROSTER_TEXT, PROJECT_ROOT } from "../helpers/fleet";
import { launch } from "../helpers/launch";
import { terraformOrSkip } from "../helpers/terraform";

const terraform = terraformOrSkip();
const maybe = terraform ? describe : describe.skip;
const TFVARS = readFileSync(join(PROJECT_ROOT, "terraform.tfvars.example"), "utf8");

type Roster = {
  region: string;
  domain: string;
  availabilityZones: string[];
  host: { instanceType: string };
  developers: { name: string; port: number }[];
};
const rosterText = (edit: (roster: Roster) => void, from = DEFAULT_ROSTER_TEXT) => {
  const roster = parse(from) as Roster;
  edit(roster);
  return stringify(roster);
};
const synthesized = (text: string) => synthesizeRoster("roster.yaml", parseRoster(text, "roster.yaml"));
const base = synthesizeRoster("HEAD:roster.yaml", parseRoster(DEFAULT_ROSTER_TEXT));

/** Terraform's streamed word for each of the review's actions. */
const ANNOUNCED = { create: "create", update: "update", replace: "replace", delete: "delete", forget: "remove" } as const;

maybe("the review against a deployment of the default roster", () => {
  let planner: OfflinePlanner;
  /** Each review, once for the file. */
  const reviews = new Map<string, { result: Review }>();
  const cacheDir = join(PROJECT_ROOT, ".build", "terraform");
  beforeAll(() => {
    planner = new OfflinePlanner({ terraform: terraform!, tfvars: TFVARS, region: base.fleet.region, cacheDir });
  });
  afterAll(() => planner?.dispose());

  /** Reviews `current` against `from` (the default roster). */
  function reviewed(name: string, current: ReturnType<typeof synthesized>, vars: Record<string, string> = {}, from = base) {
    if (!reviews.has(name)) reviews.set(name, { result: review(from, current, { terraform, tfvars: TFVARS, planner, vars }) });
    return reviews.get(name)!;
  }

  /**
   * The review's actions and counts are Terraform's: address by address against the changes its
   * streamed output announced for the same plan, and in sum against its own change summary.
   */
  function expectTerraformsAccount(name: string) {
    const { result } = reviews.get(name)!;
    const announced = result.announced!;
    expect(announced.size).toBeGreaterThan(0);
    const shown = new Map(result.changes.map((c: ReviewedChange) => [c.address, ANNOUNCED[c.action]]));
    expect(Object.fromEntries(shown)).toEqual(Object.fromEntries([...announced].map(([address, c]) => [address, c.action])));
    const counts = planCounts(result.changes);
    expect({ add: counts.add, change: counts.change, remove: counts.destroy }).toEqual(result.summary);
    const report = renderReview(result);
    expect(report).toContain(
      `Summary: Terraform's plan: ${result.summary!.add} to add, ${result.summary!.change} to change, ${result.summary!.remove} to destroy`,
    );
    for (const change of result.changes) {
      const symbol = { create: "+", update: "~", delete: "-", forget: ".", replace: change.createFirst ? "+/-" : "-/+" }[change.action];
      expect(report).toContain(`    ${symbol.padEnd(3)} ${change.address}`);
    }
  }

  describe("a developer's new port", () => {
    const name = "port";
    const current = synthesized(rosterText((r) => (r.developers.find((d) => d.name === "dev3")!.port = 8460)));
    it("replaces only the target-group attachment, forced by the port: the target group keeps its name and identity", () => {
      const { result } = reviewed(name, current);
      const replaced = result.changes.filter((c) => c.action === "replace");
      expect(replaced.map((c) => [c.address, c.forcedBy])).toEqual([["aws_lb_target_group_attachment.alb_tg-dev3-host", ["port"]]]);
      expect(result.changes.find((c) => c.address === "aws_lb_target_group.alb_tg-dev3")).toBeUndefined();
      expect(result.changes.filter((c) => c.action === "delete")).toEqual([]);
    });
    it("is Terraform's account, and exits 3 saying what dev3 will notice", () => {
      expectTerraformsAccount(name);
      const { result } = reviews.get(name)!;
      expect(exitCodeOf(result)).toBe(3);
      expect(result.impacts.map((i) => [i.developer, i.addresses])).toEqual([
        ["dev3", ["aws_lb_target_group_attachment.alb_tg-dev3-host"]],
      ]);
      expect(result.impacts[0].notice).toMatch(/recreated their container on the new port/);
      expect(renderReview(result)).toMatch(
        /\n {4}-\/\+ aws_lb_target_group_attachment\.alb_tg-dev3-host {3}\[replaced, forced by port\]\n/,
      );
    });
  });

  describe("a new domain", () => {
    const name = "domain";
    const current = synthesized(rosterText((r) => (r.domain = "code.example.org")));
    it("replaces the certificate (the new one first) and every developer's DNS record, forced by its name", () => {
      const { result } = reviewed(name, current);
      const certificate = result.changes.find((c) => c.type === "aws_acm_certificate")!;
      expect(certificate).toMatchObject({ action: "replace", createFirst: true });
      expect(certificate.forcedBy).toContain("domain_name");
      const records = result.changes.filter((c) => c.type === "aws_route53_record" && c.developer);
      expect(records.map((c) => [c.developer, c.action, c.forcedBy])).toEqual(
        base.fleet.developers.map((d) => [d.name, "replace", ["name"]]),
      );
    });
    it("is Terraform's account, and exits 3 naming each developer's new URL", () => {
      expectTerraformsAccount(name);
      const { result } = reviews.get(name)!;
      expect(exitCodeOf(result)).toBe(3);
      expect(result.impacts.find((i) => i.developer === "dev1")!.notice).toBe(
        "the URL moves from https://dev1.dev.example.com to https://dev1.code.example.org; the old one stops resolving",
      );
      expect(result.impacts.filter((i) => i.developer === undefined).map((i) => i.notice)).toEqual([
        "HTTPS switches to a new certificate, requested and validated through DNS before the old one is removed",
      ]);
    });
  });

  describe("the migration from the host to ECS, step by step", () => {
    const step = (platform: string, migration?: object) =>
      synthesized(
        rosterText((r) => {
          const roster = r as Roster & Record<string, unknown>;
          roster.platform = platform;
          if (migration) roster.migration = migration;
          if (platform === "ecs" && !migration) delete (roster as Partial<Roster>).host;
        }),
      );
    const prepared = step("host", { prepare: "ecs" });
    const switched = step("ecs", { keep: "host" });
    const retired = step("ecs");
    const verdict = (result: Review, role: string) => result.protected.find((v) => v.role === role);

    it("prepares ECS beside the serving host: the homes' file system is created, the host and its data untouched", () => {
      const { result } = reviewed("migration-prepare", prepared);
      expectTerraformsAccount("migration-prepare");
      expect(verdict(result, "host")?.action).toBe("unchanged");
      expect(verdict(result, "dataVolume")?.action).toBe("unchanged");
      expect(verdict(result, "homes")).toMatchObject({
        action: "create",
        consequence: expect.stringContaining("scripts/migrate-homes.sh"),
      });
      expect(exitCodeOf(result)).toBe(3);
    });

    it("switches serving to ECS while the host is kept: the host, its data volume and the homes untouched", () => {
      const { result } = reviewed("migration-switch", switched, {}, prepared);
      expectTerraformsAccount("migration-switch");
      for (const role of ["host", "dataVolume", "dataVolumeAttachment", "homes"]) {
        expect([role, verdict(result, role)?.action]).toEqual([role, "unchanged"]);
      }
    });

    it("retires the host only on purpose, and even then Terraform forgets the data volume instead of destroying it", () => {
      const { result } = reviewed("migration-retire", retired, {}, switched);
      expectTerraformsAccount("migration-retire");
      expect(verdict(result, "host")?.action).toBe("delete");
      expect(verdict(result, "dataVolume")).toMatchObject({ action: "forget", refused: false });
      expect(result.changes.filter((c) => c.action === "delete").map((c) => c.type)).not.toContain("aws_ebs_volume");
      expect(verdict(result, "homes")?.action).toBe("unchanged");
      // ECS's load balancer serves every URL: the host's, which no DNS record points at, goes unnoticed,
      // and the load balancers' security group stays (a replacement would fail while ECS's holds it).
      expect(result.changes.filter((c) => c.action === "delete").map((c) => c.address)).toContain("aws_lb.alb_load-balancer");
      expect(result.impacts).toEqual([]);
      expect(result.changes.filter((c) => c.action === "replace").map((c) => c.address)).toEqual([]);
      expect(renderReview(result)).toMatch(
        /! data volume \(aws_ebs_volume\.[^)]+\): no longer managed by Terraform: Terraform forgets it and does not destroy it/,
      );
      expect(exitCodeOf(result)).toBe(3);
    });
  });

  describe("on ECS", () => {
    const ecsText = rosterText((r) => {
      const roster = r as Roster & Record<string, unknown>;
      roster.platform = "ecs";
      delete (roster as Partial<Roster>).host;
    });
    const onEcs = synthesized(ecsText);
    type EcsRoster = Roster & { developers: { name: string; memoryLimitGiB?: number }[] };

    it("a developer's larger memory limit replaces their task definition alone: Terraform's account, exit 3 saying their task restarts", () => {
      const bigger = synthesized(rosterText((r) => ((r as EcsRoster).developers[2].memoryLimitGiB = 6), ecsText));
      const { result } = reviewed("ecs-memory", bigger, {}, onEcs);
      expectTerraformsAccount("ecs-memory");
      expect(result.changes.filter((c) => c.action === "replace").map((c) => [c.type, c.developer])).toEqual([
        ["aws_ecs_task_definition", "dev3"],
      ]);
      expect(result.impacts.map((i) => [i.developer, i.notice])).toEqual([
        ["dev3", expect.stringMatching(/^their task is replaced \(its [a-z_, ]+ changes?\): their editor is unreachable/)],
      ]);
      expect(renderReview(result)).toContain(`settings (${appliedBy("ecs")})`);
      expect(exitCodeOf(result)).toBe(3);
    });

    it("a removed developer: one sentence, their home kept on the file system, Terraform's account, exit 3", () => {
      const fewer = synthesized(rosterText((r) => (r.developers = r.developers.filter((d) => d.name !== "dev5")), ecsText));
      const { result } = reviewed("ecs-remove", fewer, {}, onEcs);
      expectTerraformsAccount("ecs-remove");
      expect(result.impacts).toHaveLength(1);
      expect(result.impacts[0].notice).toMatch(/their home stays on the homes' file system at \/home\/dev5 \(nothing is deleted/);
      expect(result.impacts[0].notice).toMatch(
        /archive it before the apply with archive-home\.sh, synthesized while the roster still names them/,
      );
      expect(result.impacts[0].notice).not.toMatch(/host/);
      expect(result.protected.find((v) => v.role === "homes")?.action).toBe("unchanged");
      expect(exitCodeOf(result)).toBe(3);
    });

    it("a new code-server image replaces each developer's task definition and updates their service, nothing else: exit 3, each told", () => {
      const newer = synthesized(rosterText((r) => ((r as Roster & { codeServer: { tag: string } }).codeServer.tag = "4.103.0"), ecsText));
      const { result } = reviewed("ecs-update-code-server", newer, {}, onEcs);
      expectTerraformsAccount("ecs-update-code-server");
      const developers = onEcs.fleet.developers.map((d) => d.name);
      const byType = (type: string) => result.changes.filter((c) => c.type === type);
      expect(byType("aws_ecs_task_definition").map((c) => [c.developer, c.action])).toEqual(developers.map((d) => [d, "replace"]));
      expect(byType("aws_ecs_service").map((c) => [c.developer, c.action])).toEqual(developers.map((d) => [d, "update"]));
      // What the deployment plans of itself (alsoWithoutTheChange) aside.
      const others = result.changes.filter(
        (c) => !c.alsoWithoutTheChange && !["aws_ecs_task_definition", "aws_ecs_service"].includes(c.type),
      );
      expect(others).toEqual([]);
      expect(result.impacts.map((i) => i.developer)).toEqual(developers);
      expect(result.protected.find((v) => v.role === "homes")?.action).toBe("unchanged");
      expect(exitCodeOf(result)).toBe(3);
    });
  });

  describe("a new region", () => {
    const current = synthesized(
      rosterText((r) => Object.assign(r, { region: "us-east-1", availabilityZones: ["us-east-1a", "us-east-1b"] })),
    );
    it("is refused by Terraform's plan with the VPC's region check, named a region change, and exits 3", () => {
      const { result } = reviewed("region", current);
      expect(result.regionChange).toEqual({ from: "ap-southeast-7", to: "us-east-1" });
      expect(result.refusals).toEqual([
        expect.objectContaining({
          address: "aws_vpc.network_vpc",
          detail: expect.stringMatching(/^This environment was deployed in ap-southeast-7, and the roster's region is us-east-1\. /),
        }),
      ]);
      expect(result.refusals[0].detail).toContain(GUIDE_LINKS.regionMove);
      expect(result.changes).toEqual([]);
      expect(exitCodeOf(result)).toBe(3);
      const report = renderReview(result);
      expect(report).toContain("! Region change: the roster moves the environment from ap-southeast-7 to us-east-1.");
      expect(report).toContain("Summary: Terraform refuses to plan the change. Exit 3: Terraform refuses this change;");
    });
  });

  describe("a new instance type of the same architecture", () => {
    const name = "type";
    const current = synthesized(rosterText((r) => (r.host.instanceType = "t3a.2xlarge")));
    it("updates the host in place (stop and start), is Terraform's account, and exits 3", () => {
      const { result } = reviewed(name, current);
      const host = result.protected.find((v) => v.role === "host")!;
      expect(host.action).toBe("update");
      // Terraform knows the public address only after the start.
      expect(host.changed).toEqual(["instance_type", "public_dns", "public_ip"]);
      expect(host.consequence).toMatch(/^the host stops and starts to change its type \(t3\.2xlarge → t3a\.2xlarge\).*public IP changes$/);
      expect(result.changes.filter((c) => c.action !== "update")).toEqual([]);
      expectTerraformsAccount(name);
      expect(exitCodeOf(result)).toBe(3);
    });
  });

  describe("the data volume's size (--var data_volume_size_gb)", () => {
    it("a larger one: modified in place, then the filesystem grown; Terraform's account; exit 3", () => {
      const { result } = reviewed("grow", base, { data_volume_size_gb: "600" });
      const volume = result.protected.find((v) => v.role === "dataVolume")!;
      expect(volume).toMatchObject({ action: "update", changed: ["size"] });
      expect(volume.impossible).toBeUndefined();
      expect(volume.consequence).toMatch(/grow the filesystem on the host \(resize2fs\)/);
      expect(result.changes.find((c) => c.address === "aws_ebs_volume.data_volume")!.attributes).toEqual([
        { path: "size", description: "500 → 600" },
      ]);
      expectTerraformsAccount("grow");
      expect(exitCodeOf(result)).toBe(3);
    });

    it("a smaller one: Terraform plans it, but EBS volumes cannot shrink: refused with the sizes, exit 3", () => {
      const { result } = reviewed("shrink", base, { data_volume_size_gb: "400" });
      const volume = result.protected.find((v) => v.role === "dataVolume")!;
      expect(volume).toMatchObject({ action: "update", impossible: true });
      expect(volume.consequence).toMatch(/^EBS volumes cannot shrink \(500 → 400 GiB\): AWS refuses the modification/);
      expect(volume.consequence).not.toMatch(/resize2fs/);
      expectTerraformsAccount("shrink");
      expect(exitCodeOf(result)).toBe(3);
      expect(renderReview(result)).toContain("Terraform would plan it, and the apply would fail: the review refuses it.");
    });
  });

  describe("swapped availability zones", () => {
    const name = "zones";
    const current = synthesized(rosterText((r) => (r.availabilityZones = ["ap-southeast-7b", "ap-southeast-7a"])));
    it("replaces the host and the data volume (both refused by prevent_destroy), is Terraform's account, exit 3", () => {
      const { result } = reviewed(name, current);
      const byRole = new Map(result.protected.map((v) => [v.role, v]));
      expect(byRole.get("dataVolume")).toMatchObject({ action: "replace", forcedBy: ["availability_zone"], refused: true });
      expect(byRole.get("host")).toMatchObject({ action: "replace", refused: true });
      expectTerraformsAccount(name);
      expect(exitCodeOf(result)).toBe(3);
    });
  });

  describe("removing a developer", () => {
    const name = "remove";
    const current = synthesized(rosterText((r) => (r.developers = r.developers.filter((d) => d.name !== "dev5"))));
    it("destroys dev5's resources alone, is Terraform's account, and exits 3 with one sentence for dev5", () => {
      const { result } = reviewed(name, current);
      const destroyed = result.changes.filter((c) => c.action === "delete");
      expect(destroyed.length).toBe(11);
      expect(destroyed.every((c) => c.developer === "dev5")).toBe(true);
      expect(result.changes.filter((c) => c.action !== "delete" && c.developer)).toEqual([]);
      expectTerraformsAccount(name);
      expect(exitCodeOf(result)).toBe(3);
      expect(result.impacts).toHaveLength(1);
      expect(result.impacts[0].notice).toMatch(/^removed: their URL stops answering .*archives their home/);
      expect(result.protected.every((v) => v.action === "unchanged")).toBe(true);
    });
  });

  describe("adding a developer, on a host with room", () => {
    const name = "add";
    const roomy = rosterText((r) => (r.host.instanceType = "c5.4xlarge"));
    const from = synthesized(roomy);
    const current = synthesized(rosterText((r) => r.developers.push({ name: "dev9", port: 8451 }), roomy));
    it("creates dev9's resources and changes only fleet-wide ones: Terraform's account, exit 0", () => {
      const { result } = reviewed(name, current, {}, from);
      const created = result.changes.filter((c) => c.action === "create");
      expect(created.length).toBe(11);
      expect(created.every((c) => c.developer === "dev9")).toBe(true);
      expect(result.changes.filter((c) => c.developer && c.developer !== "dev9")).toEqual([]);
      expect(result.changes.filter((c) => c.action === "replace" || c.action === "delete")).toEqual([]);
      expectTerraformsAccount(name);
      expect(result.impacts).toEqual([]);
      expect(exitCodeOf(result)).toBe(0);
      const report = renderReview(result);
      expect(report.split("\n").filter((l) => /^dev\d+ \(/.test(l))).toEqual(["dev9 (added)"]);
      expect(report).toMatch(/Nothing protected changes and no developer loses anything they depend on\.\n$/);
    });
  });

  describe("the operator guide's add-a-developer example", () => {
    const GUIDE = join(PROJECT_ROOT, "docs/operator-guide.md");
    it("is what npm run review prints for the guide's edit (UPDATE_DOCS=1 rewrites it)", async () => {
      const text = readFileSync(GUIDE, "utf8");
      const start = text.indexOf(sectionAt("docs/operator-guide.md#add-a-developer"));
      const edit = parse(/```yaml\n([\s\S]*?)\n```/.exec(text.slice(start))![1]) as { host: object; developers: object[] };
      const roster = parse(DEFAULT_ROSTER_TEXT) as { host: object; developers: object[] };
      Object.assign(roster.host, edit.host);
      roster.developers.push(...edit.developers);
      // As `npm run review -- --base HEAD` labels and prints it.
      const result = review(
        synthesizeRoster("HEAD:roster.yaml", base.fleet),
        synthesizeRoster("roster.yaml", parseRoster(stringify(roster))),
        {
          terraform,
          tfvars: TFVARS,
          planner,
        },
      );
      const printed = renderReview(result, await reviewSections(result)).replace(/\n$/, "");
      const block = /(```text\n)([\s\S]*?)(\n```)/.exec(text.slice(start))!;
      if (process.env.UPDATE_DOCS === "1") {
        const at = start + block.index;
        writeFileSync(GUIDE, text.slice(0, at) + block[1] + printed + block[3] + text.slice(at + block[0].length));
      } else {
        expect(printed).toBe(block[2]);
      }
      expect(exitCodeOf(result)).toBe(3);
    });
  });

  describe("npm run review, the command", () => {
    it("prints Terraform's account of adding a schedule, then the monthly cost section, and exits 0", () => {
      const work = mkdtempSync(join(tmpdir(), "review-command-"));
      try {
        const current = join(work, "scheduled.yaml");
        const schedule = { timezone: "Asia/Bangkok", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "20:00" };
        writeFileSync(
          current,
          rosterText((r) => Object.assign(r, { schedule })),
        );
        const run = launch("src/review/main.ts", ["--base", "roster.yaml"], { env: { ROSTER_FILE: current } });
        expect([run.status, run.stderr]).toEqual([0, ""]);
        expect(run.stdout).toMatch(/\n {4}\+ {3}aws_scheduler_schedule\.schedule_start-host\n/);
        expect(run.stdout).toMatch(
          /\nMonthly cost \(npm run cost\)\n {2}USD a month, ap-southeast-7 prices[^\n]*\n {2}Always on [^\n]*\n[\s\S]*\n\nSummary: Terraform's plan: \d+ to add, /,
        );
        expect(run.stdout).toMatch(/\n {2}Scheduled \(168 → 60 h\/week\) /);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    });
  });

  describe("the same roster", () => {
    it("plans only what Terraform plans for the deployment unchanged, each marked so, and exits 0", () => {
      const { result } = reviewed("same", synthesized(DEFAULT_ROSTER_TEXT));
      expect(result.changes.every((c) => c.alsoWithoutTheChange)).toBe(true);
      expectTerraformsAccount("same");
      expect(exitCodeOf(result)).toBe(0);
    });
  });
});
