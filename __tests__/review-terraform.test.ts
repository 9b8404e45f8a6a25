/**
 * The review's verdicts on protected resources come from a real `terraform plan -refresh=false`
 * of the changed roster against a state fabricated from the default roster's plan, offline:
 * an instance-type change updates the host in place (stop and start), one of another architecture
 * is refused by Terraform with the host's own message, swapped availability zones and a new
 * vpc_cidr (`--var`) replace the host (refused: prevent_destroy, with the way forward), and the
 * zones the data volume too.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { type TerraformConfig } from "../src/app";
import { diffConfigs, referencesOf, resourceEntries } from "../src/review/diff";
import { README_SECTIONS } from "../src/naming";
import { protectedResources } from "../src/review/protected";
import { renderReview } from "../src/review/report";
import { exitCodeOf, review, synthesizeRoster, type Review } from "../src/review/review";
import { parseRoster } from "../src/roster";
import { OfflinePlanner } from "../src/terraform/plan-against-state";
import { DEFAULT_ROSTER_TEXT, PROJECT_ROOT } from "./helpers/fleet";
import { terraformOrSkip } from "./helpers/terraform";

const terraform = terraformOrSkip();
const maybe = terraform ? describe : describe.skip;
const TFVARS = readFileSync(join(PROJECT_ROOT, "terraform.tfvars.example"), "utf8");

type Roster = { host: { instanceType: string }; availabilityZones: string[] };
const edited = (edit: (roster: Roster) => void) => {
  const roster = parse(DEFAULT_ROSTER_TEXT) as Roster;
  edit(roster);
  return synthesizeRoster("roster.yaml", parseRoster(stringify(roster), "roster.yaml"));
};

maybe("review with terraform", () => {
  // The provider's schemas, as `npm run review` keeps them (they depend only on its version).
  const cacheDir = join(PROJECT_ROOT, ".build", "terraform");
  const base = synthesizeRoster("HEAD:roster.yaml", parseRoster(DEFAULT_ROSTER_TEXT));
  let planner: OfflinePlanner;
  beforeAll(() => {
    planner = new OfflinePlanner({ terraform: terraform!, tfvars: TFVARS, region: base.fleet.region, cacheDir });
  });
  afterAll(() => {
    planner?.dispose();
  });
  const reviewAgainstBase = (current: ReturnType<typeof edited>): Review => review(base, current, { terraform, tfvars: TFVARS, planner });

  describe("changing the host's instance type", () => {
    let result: Review;
    beforeAll(() => {
      result = reviewAgainstBase(edited((r) => (r.host.instanceType = "t3a.2xlarge")));
    });

    it("updates the host in place and says it stops and starts: every container restarts", () => {
      expect(result.verdictSource).toBe("terraform plan");
      const host = result.protected.find((v) => v.role === "host")!;
      expect(host).toMatchObject({ action: "update", changed: ["instance_type"], refused: false });
      expect(host.consequence).toMatch(
        /^the host stops and starts to change its type \(t3\.2xlarge → t3a\.2xlarge\): every developer's container restarts/,
      );
      expect(result.protected.filter((v) => v.role !== "host").map((v) => v.action)).toEqual(["unchanged", "unchanged", "unchanged"]);
      expect(exitCodeOf(result)).toBe(3);
    });

    it("prints it among the fleet-wide changes and as a protected change", () => {
      const report = renderReview(result);
      expect(report).toMatch(
        /Shared by the whole fleet\n {2}compute\n {4}~ aws_instance\.\S+ {3}\[protected\]\n {8}instance_type: "t3\.2xlarge" → "t3a\.2xlarge"\n/,
      );
      expect(report).toMatch(/ {2}! host instance \(aws_instance\.\S+\): changed in place \(instance_type\): the host stops and starts/);
      expect(report).not.toMatch(/^dev\d/m);
    });

    it("plans against a state in which the protected resources and all they reference are exactly as deployed", () => {
      // The fabricated state is faithful where the review reads it: nothing the protected
      // resources reference changes, and the only protected change is the one the roster made.
      const entries = resourceEntries(result.current.config, []);
      const known = new Set(entries.keys());
      const referenced = new Set<string>();
      const queue = [...protectedResources(result.current.config, entries).values()];
      while (queue.length > 0) {
        const next = queue.pop()!;
        for (const ref of referencesOf(entries.get(next)?.body ?? {}, known)) {
          if (referenced.has(ref)) continue;
          referenced.add(ref);
          queue.push(ref);
        }
      }
      const protectedAddresses = new Set(result.protected.map((v) => v.address));
      const changes = (result.plan!.resource_changes ?? []).filter(
        (c) => referenced.has(`${c.type}.${c.name}`) && !protectedAddresses.has(`${c.type}.${c.name}`),
      );
      expect(changes.length).toBeGreaterThan(5);
      expect(changes.filter((c) => c.change.actions.join() !== "no-op").map((c) => c.address)).toEqual([]);
    });
  });

  describe("changing the host's instance type to one of another architecture", () => {
    let result: Review;
    beforeAll(() => {
      result = reviewAgainstBase(edited((r) => (r.host.instanceType = "m7g.2xlarge")));
    });

    it("is refused by Terraform's plan with the host's precondition, which names both architectures and the way forward", () => {
      expect(result.verdictSource).toBe("terraform plan");
      expect(result.refusals).toEqual([
        {
          address: "aws_instance.host",
          summary: "Resource precondition failed",
          detail: expect.stringMatching(/^The host was built for x86_64, and the roster's host\.instanceType is arm64\. /),
        },
      ]);
      expect(result.refusals[0].detail).toContain(`README says under "${README_SECTIONS.architectureChange}"`);
      expect(result.plan).toBeUndefined();
      expect(exitCodeOf(result)).toBe(3);
    });

    it("prints the refusal first, and the protected resources as not planned", () => {
      const report = renderReview(result);
      expect(report).toContain(
        "Protected resources (terraform plan):\n  ! Terraform refuses this change: resource precondition failed on aws_instance.host:\n      The host was built for x86_64,",
      );
      expect(report).toMatch(/ {2}! host instance \(aws_instance\.host\): not planned: Terraform refuses to plan the change \(above\)\./);
      expect(report).toMatch(/ {4}data volume \(aws_ebs_volume\.data_volume\): unchanged/);
      expect(report).toContain("Exit 3: Terraform refuses this change;");
    });
  });

  describe("a new vpc_cidr (--var)", () => {
    let result: Review;
    beforeAll(() => {
      result = review(base, synthesizeRoster("roster.yaml", base.fleet), {
        terraform,
        tfvars: TFVARS,
        planner,
        vars: { vpc_cidr: "10.50.0.0/16" },
      });
    });

    it("is planned although both rosters are the same, and replaces the host, which prevent_destroy refuses", () => {
      expect(result.diffs).toEqual([]);
      const byRole = new Map(result.protected.map((v) => [v.role, v]));
      expect(byRole.get("host")).toMatchObject({ action: "replace", forcedBy: ["subnet_id"], refused: true });
      expect(byRole.get("dataVolume")!.action).toBe("unchanged");
      expect(exitCodeOf(result)).toBe(3);
    });

    it("says so, with the variable and the way forward", () => {
      const report = renderReview(result);
      expect(report).toContain('Plan-time variables of the change: vpc_cidr = "10.50.0.0/16"');
      expect(report).toContain(
        `Terraform would refuse to apply this plan: the host instance has prevent_destroy. If the host must be replaced (another architecture, another vpc_cidr), the README says how under "${README_SECTIONS.hostReplacement}".`,
      );
    });
  });

  describe("swapping the availability zones", () => {
    let result: Review;
    beforeAll(() => {
      result = reviewAgainstBase(edited((r) => (r.availabilityZones = [...r.availabilityZones].reverse())));
    });

    it("replaces the data volume, names it, and says Terraform would refuse and every workspace would be lost", () => {
      const volume = result.protected.find((v) => v.role === "dataVolume")!;
      expect(volume).toMatchObject({ action: "replace", forcedBy: ["availability_zone"], refused: true });
      expect(volume.consequence).toMatch(/every developer's workspace would be lost/);
      const report = renderReview(result);
      expect(report).toMatch(/! data volume \(aws_ebs_volume\.\S+\): REPLACED, forced by availability_zone: a new, empty data volume/);
      expect(report).toContain("Terraform would refuse to apply this plan: the data volume has prevent_destroy.");
    });

    it("replaces the host (its subnet is another), refused too, and the attachment, though the roster named neither", () => {
      const byRole = new Map(result.protected.map((v) => [v.role, v]));
      expect(byRole.get("host")).toMatchObject({ action: "replace", forcedBy: ["subnet_id"], refused: true });
      expect(byRole.get("host")!.consequence).toMatch(/^the host is destroyed and a new one created: every container stops/);
      expect(byRole.get("dataVolumeAttachment")).toMatchObject({ action: "replace" });
      expect(byRole.get("archiveBucket")!.action).toBe("unchanged");
      expect(exitCodeOf(result)).toBe(3);
    });
  });
});

/** Sanity of the test's own inputs: the two rosters differ only where the tests say. */
describe("the rosters reviewed above", () => {
  const config = (r: ReturnType<typeof edited>): TerraformConfig => r.config;
  it("differ from the default roster in the host alone for the instance-type change", () => {
    const names: string[] = [];
    const before = resourceEntries(config(synthesizeRoster("a", parseRoster(DEFAULT_ROSTER_TEXT))), names);
    const after = resourceEntries(config(edited((r) => (r.host.instanceType = "t3a.2xlarge"))), names);
    expect(diffConfigs(before, after).map((d) => [d.kind, d.entry.type])).toEqual([["changed", "aws_instance"]]);
  });
});
