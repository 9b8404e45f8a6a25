/**
 * Terraform's own plans, offline, against a state fabricated from the default roster's plan (one
 * planner and one deployment for the file):
 * - the review's verdicts: an instance-type change updates the host in place (stop and start), one
 *   of another architecture is refused by Terraform with the host's own message, swapped
 *   availability zones and a new vpc_cidr (`--var`) replace the host (refused: prevent_destroy,
 *   with the way forward), and the zones the data volume too;
 * - the host's guards and the operator guide's procedures, the guide's own commands and files planned: a
 *   new vpc_cidr refused by prevent_destroy; the architecture change (an override and -replace of
 *   the recorded architecture) replacing the host with the new type and image; the retirement (an
 *   override, state rm of what is kept, plan -destroy) destroying the rest and nothing kept; the ALB
 *   rules of a deployment made before allowed_cidrs moved, not re-created.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import type { TerraformJson } from "../../src/terraform/plan-json";
import { diffConfigs, referencesOf, resourceEntries } from "../../src/review/diff";
import { GUIDE_LINKS } from "../../src/naming";
import { sectionAt } from "../helpers/docs";
import { protectedResources } from "../../src/review/protected";
import { renderReview } from "../../src/review/report";
import { exitCodeOf, review, synthesizeRoster, type Review } from "../../src/review/review";
import { parseRoster } from "../../src/roster";
import type { TerraformState } from "../../src/terraform/fabricate-state";
import { OfflinePlanner, PlanRefusedError } from "../../src/terraform/plan-against-state";
import type { PlanJson, ResourceChange } from "../../src/terraform/plan-json";
import { DEFAULT_ROSTER_TEXT, PROJECT_ROOT } from "../helpers/fleet";
import { terraformOrSkip } from "../helpers/terraform";

const terraform = terraformOrSkip();
const maybe = terraform ? describe : describe.skip;
const TFVARS = readFileSync(join(PROJECT_ROOT, "terraform.tfvars.example"), "utf8");

/** The fenced blocks of `language` in `text`, without their indentation. */
function fenced(text: string, language: string): string[] {
  return [...text.matchAll(new RegExp("^( *)```" + language + "\\n([\\s\\S]*?)\\n\\1```", "gm"))].map(([, indent, body]) =>
    body
      .split("\n")
      .map((line) => line.slice(indent.length))
      .join("\n"),
  );
}

const actions = (change: ResourceChange | undefined) => change?.change.actions.join(",") ?? "absent";
const changeOf = (plan: PlanJson, address: string) => plan.resource_changes?.find((c) => c.address === address);

type Roster = { host: { instanceType: string }; availabilityZones: string[] };
/** Each edited roster is synthesized once for the file, however many tests plan or compare it. */
const synthesized = new Map<string, ReturnType<typeof synthesizeRoster>>();
const edited = (edit: (roster: Roster) => void) => {
  const roster = parse(DEFAULT_ROSTER_TEXT) as Roster;
  edit(roster);
  const text = stringify(roster);
  if (!synthesized.has(text)) synthesized.set(text, synthesizeRoster("roster.yaml", parseRoster(text, "roster.yaml")));
  return synthesized.get(text)!;
};

const base = synthesizeRoster("HEAD:roster.yaml", parseRoster(DEFAULT_ROSTER_TEXT));

maybe("planned against a deployment of the default roster", () => {
  // The provider's schemas, as `npm run review` keeps them (they depend only on its version).
  const cacheDir = join(PROJECT_ROOT, ".build", "terraform");
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
      const host = result.protected.find((v) => v.role === "host")!;
      // Terraform knows the host's public address only after it starts again.
      expect(host).toMatchObject({ action: "update", changed: ["instance_type", "public_dns", "public_ip"], refused: false });
      expect(host.consequence).toMatch(
        /^the host stops and starts to change its type \(t3\.2xlarge → t3a\.2xlarge\): every developer's container restarts/,
      );
      expect(result.protected.filter((v) => v.role !== "host").map((v) => v.action)).toEqual(["unchanged", "unchanged", "unchanged"]);
      expect(exitCodeOf(result)).toBe(3);
    });

    it("prints it among the fleet-wide changes and as a protected change", () => {
      const report = renderReview(result);
      expect(report).toMatch(
        /Shared by the whole fleet\n(?: {2}\S+\n(?: {4}.*\n| {10}.*\n)*)* {2}compute\n {4}~ {3}aws_instance\.host {3}\[protected\]\n {10}instance_type: "t3\.2xlarge" → "t3a\.2xlarge"\n/,
      );
      expect(report).toMatch(
        / {2}! host instance \(aws_instance\.\S+\): changed in place \(instance_type, public_dns, public_ip\): the host stops and starts/,
      );
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
      expect(result.refusals).toEqual([
        {
          address: "aws_instance.host",
          summary: "Resource precondition failed",
          detail: expect.stringMatching(/^The host was built for x86_64, and the roster's host\.instanceType is arm64\. /),
        },
      ]);
      expect(result.refusals[0].detail).toContain(`as ${GUIDE_LINKS.architectureChange} says`);
      expect(result.plan).toBeUndefined();
      expect(exitCodeOf(result)).toBe(3);
    });

    it("prints what the operator guide shows for it", () => {
      const [shown] = fenced(sectionAt(GUIDE_LINKS.architectureChange), "text");
      const printed = renderReview(result).split("\n");
      const from = printed.indexOf("Protected resources:");
      expect(printed.slice(from, from + shown.split("\n").length).join("\n")).toBe(shown);
    });

    it("prints the refusal first, and the protected resources as not planned", () => {
      const report = renderReview(result);
      expect(report).toContain(
        "Protected resources:\n  ! Terraform refuses this change: resource precondition failed on aws_instance.host:\n      The host was built for x86_64,",
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

    it("fails with the variable's own validation message for a value it refuses", () => {
      expect(() => review(base, base, { terraform, tfvars: TFVARS, planner, vars: { vpc_cidr: "10.50.0.0/12" } })).toThrow(
        expect.objectContaining({
          name: "PlanFailedError",
          message: expect.stringContaining("vpc_cidr must be an IPv4 CIDR block from /16 to /22"),
        }),
      );
    });

    it("says so, with the variable and the way forward", () => {
      const report = renderReview(result);
      expect(report).toContain('Plan-time variables of the change: vpc_cidr = "10.50.0.0/16"');
      expect(report).toContain(
        `Terraform would refuse to apply this plan: the host instance has prevent_destroy. If the host must be replaced (another architecture, another vpc_cidr), ${GUIDE_LINKS.hostReplacement} says how.`,
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

  describe("the host's guards and the operator guide's procedures", () => {
    let deployed: TerraformState;
    beforeAll(() => {
      // Settled: what configurations build with functions from faked values (policies naming ARNs,
      // the certificate's validation record) is as deployed too, so a plan changes only what it must.
      deployed = planner.deployedState(base.config);
    });

    it("refuses a new vpc_cidr, which would replace the host: prevent_destroy", () => {
      const refused = (() => {
        try {
          planner.plan(base.config, deployed, {
            vars: { vpc_cidr: "10.50.0.0/16" },
            keepPreventDestroy: true,
            target: ["aws_instance.host"],
          });
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(refused).toBeInstanceOf(PlanRefusedError);
      expect((refused as PlanRefusedError).refusals).toEqual([
        {
          address: "aws_instance.host",
          summary: "Instance cannot be destroyed",
          detail: expect.stringContaining("lifecycle.prevent_destroy"),
        },
      ]);
    });

    describe(`${GUIDE_LINKS.architectureChange}, as the guide says`, () => {
      const section = sectionAt(GUIDE_LINKS.architectureChange);
      const [override] = fenced(section, "json");
      const [command] = fenced(section, "sh");
      const replaced = [...command.matchAll(/-replace=(\S+)/g)].map((m) => m[1]);
      let plan: PlanJson;
      beforeAll(() => {
        const graviton = edited((r) => (r.host.instanceType = "m7g.2xlarge"));
        plan = planner.plan(graviton.config, deployed, {
          files: { "host-replacement_override.tf.json": override },
          replace: replaced,
          // Step 2: an arm64 image.
          vars: { ami_id: "ami-0fedcba9876543210" },
          keepPreventDestroy: true,
        }).plan;
      });

      it("replaces the recorded architecture, the only address it passes to -replace", () => {
        expect(replaced).toEqual(["terraform_data.compute_host-architecture"]);
        expect(actions(changeOf(plan, replaced[0]))).toBe("delete,create");
      });

      it("replaces the host with it, as the new type with the new image, and keeps the data volume and the archive", () => {
        const host = changeOf(plan, "aws_instance.host")!;
        expect(actions(host)).toBe("delete,create");
        expect(host.action_reason).toBe("replace_by_triggers");
        expect(host.change.after).toMatchObject({ instance_type: "m7g.2xlarge", ami: "ami-0fedcba9876543210" });
        expect(actions(changeOf(plan, "aws_ebs_volume.data_volume"))).toBe("no-op");
        expect(actions(changeOf(plan, "aws_s3_bucket.backup_archive_bucket"))).toBe("no-op");
      });

      it("replaces only what is bound to the instance itself: the host, its data-volume and target-group attachments", () => {
        const replacedNow = (plan.resource_changes ?? []).filter((c) => c.change.actions.includes("delete")).map((c) => c.address);
        expect(replacedNow.sort()).toEqual(
          [
            "aws_instance.host",
            "aws_volume_attachment.data_volume",
            "terraform_data.compute_host-architecture",
            ...base.fleet.developers.map((d) => `aws_lb_target_group_attachment.alb_tg-${d.name}-host`),
          ].sort(),
        );
        expect((plan.resource_changes ?? []).filter((c) => actions(c) === "delete")).toEqual([]);
      });
    });

    describe(`${GUIDE_LINKS.retire}, as the guide says`, () => {
      const section = sectionAt(GUIDE_LINKS.retire);
      const [override] = fenced(section, "json");
      const kept = fenced(section, "sh")
        .join("\n")
        .replace(/\\\n\s*/g, " ")
        .split("\n")
        .filter((line) => / state rm /.test(line))
        .flatMap((line) => line.split(" state rm ")[1].trim().split(/\s+/));
      const vars = { termination_protection: "false", alb_deletion_protection: "false" };

      it("keeps the key, the vault and its lock, the archive bucket and its settings: addresses of the stack", () => {
        const addresses = new Set(
          Object.entries(base.config.resource ?? {}).flatMap(([type, named]) => Object.keys(named).map((n) => `${type}.${n}`)),
        );
        expect(kept.length).toBeGreaterThan(10);
        for (const address of kept) expect([address, addresses.has(address)]).toEqual([address, true]);
        expect(kept).toEqual(
          expect.arrayContaining(["aws_kms_key.secrets_key", "aws_backup_vault.backup_vault", "aws_s3_bucket.backup_archive_bucket"]),
        );
      });

      // Step 2 is planned once, against a deployment made before allowed_cidrs keyed the ALB's rules:
      // the step changes only protection settings, and the old rules are moved, not re-created.
      const rules = ["aws_vpc_security_group_ingress_rule.network_alb-in-443", "aws_vpc_security_group_ingress_rule.network_alb-in-80"];
      let step2: PlanJson;
      beforeAll(() => {
        const beforeAllowedCidrs: TerraformState = {
          ...deployed,
          resources: deployed.resources.map((r) =>
            rules.includes(`${r.type}.${r.name}`)
              ? { ...r, instances: r.instances.map(({ index_key: _key, ...instance }) => instance) }
              : r,
          ),
        };
        step2 = planner.plan(base.config, beforeAllowedCidrs, {
          files: { "retire_override.tf.json": override },
          vars,
          keepPreventDestroy: true,
        }).plan;
      });

      it("step 2 changes only protection settings in place: nothing is replaced, created or destroyed", () => {
        const plan = step2;
        expect((plan.resource_changes ?? []).filter((c) => !["no-op", "update"].includes(actions(c))).map((c) => c.address)).toEqual([]);
        const after = (address: string) => changeOf(plan, address)!.change;
        expect([
          after("aws_instance.host").before?.disable_api_termination,
          after("aws_instance.host").after?.disable_api_termination,
        ]).toEqual([true, false]);
        expect(after("aws_lb.alb_load-balancer").after?.enable_deletion_protection).toBe(false);
        for (const bucket of ["artifacts_host-files_bucket", "alb_access-logs_bucket", "audit_access-logs_bucket"]) {
          expect([bucket, after(`aws_s3_bucket.${bucket}`).after?.force_destroy]).toEqual([bucket, true]);
        }
        expect(after("aws_s3_bucket.backup_archive_bucket").after?.force_destroy).toBe(false);
      });

      it("moves the ALB's rules of a deployment made before allowed_cidrs to the 0.0.0.0/0 key, re-creating nothing", () => {
        const moved = (step2.resource_changes ?? []).filter((c) => c.previous_address !== undefined);
        expect(moved.map((c) => [c.address, { actions: c.change.actions, previousAddress: c.previous_address }]).sort()).toEqual(
          rules.map((rule) => [`${rule}["0.0.0.0/0"]`, { actions: ["no-op"], previousAddress: rule }]).sort(),
        );
      });

      it("then plans the destruction of everything else, the host and the data volume included, and of nothing kept", () => {
        const forgotten = new Set(kept);
        const state: TerraformState = { ...deployed, resources: deployed.resources.filter((r) => !forgotten.has(`${r.type}.${r.name}`)) };
        const changes = planner.plannedChanges(base.config, state, {
          destroy: true,
          files: { "retire_override.tf.json": override },
          vars,
          keepPreventDestroy: true,
        });
        expect(new Set([...changes.values()].map((c) => c.action))).toEqual(new Set(["delete"]));
        expect([...changes.keys()]).toEqual(expect.arrayContaining(["aws_instance.host", "aws_ebs_volume.data_volume"]));
        expect([...changes.keys()].filter((address) => forgotten.has(address.replace(/\[.*$/, "")))).toEqual([]);
        expect(changes.size).toBe(deployed.resources.reduce((n, r) => n + r.instances.length, 0) - kept.length);
      });
    });
  });
});

/** Sanity of the test's own inputs: the two rosters differ only where the tests say. */
describe("the rosters reviewed above", () => {
  const config = (r: ReturnType<typeof edited>): TerraformJson => r.config;
  it("differ from the default roster in the host alone for the instance-type change", () => {
    const names: string[] = [];
    const before = resourceEntries(config(base), names);
    const after = resourceEntries(config(edited((r) => (r.host.instanceType = "t3a.2xlarge"))), names);
    expect(diffConfigs(before, after).map((d) => [d.kind, d.entry.type])).toEqual([["changed", "aws_instance"]]);
  });
});
