/**
 * What Terraform does with the host's guards, planned offline against a state fabricated from the
 * default roster's plan (src/terraform): a new vpc_cidr is refused by prevent_destroy; the README's
 * architecture change (an override and -replace of the recorded architecture) replaces the host
 * with the new type and image; the README's retirement (an override, state rm of what is kept,
 * plan -destroy) destroys the rest and nothing kept; and the ALB rules deployed before
 * allowed_cidrs move to their new address instead of being re-created. The README's own commands
 * and files are what is planned.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { synthesizeRoster } from "../src/review/review";
import { parseRoster } from "../src/roster";
import type { TerraformState } from "../src/terraform/fabricate-state";
import { OfflinePlanner, PlanRefusedError } from "../src/terraform/plan-against-state";
import type { PlanJson, ResourceChange } from "../src/terraform/plan-json";
import { README_SECTIONS } from "../src/naming";
import { DEFAULT_ROSTER_TEXT, PROJECT_ROOT } from "./helpers/fleet";
import { terraformOrSkip } from "./helpers/terraform";

const terraform = terraformOrSkip();
const maybe = terraform ? describe : describe.skip;
const TFVARS = readFileSync(join(PROJECT_ROOT, "terraform.tfvars.example"), "utf8");
const README = readFileSync(join(PROJECT_ROOT, "README.md"), "utf8");

/** The README's paragraph that starts with `**<title>**`, up to the next bold paragraph title. */
function readmeSection(title: string): string {
  const start = README.indexOf(`**${title}**`);
  if (start < 0) throw new Error(`README has no "**${title}**"`);
  const end = README.indexOf("\n**", start + title.length + 4);
  return README.slice(start, end < 0 ? undefined : end);
}

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

maybe("the host's guards, planned against a deployment of the default roster", () => {
  const cacheDir = join(PROJECT_ROOT, ".build", "terraform");
  const base = synthesizeRoster("roster.yaml", parseRoster(DEFAULT_ROSTER_TEXT));
  let planner: OfflinePlanner;
  let deployed: TerraformState;
  beforeAll(() => {
    planner = new OfflinePlanner({ terraform: terraform!, tfvars: TFVARS, region: base.fleet.region, cacheDir });
    // Settled: what configurations build with functions from faked values (policies naming ARNs,
    // the certificate's validation record) is as deployed too, so a plan changes only what it must.
    deployed = planner.deployedState(base.config);
  });
  afterAll(() => planner?.dispose());

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

  describe(`"${README_SECTIONS.architectureChange}", as the README says`, () => {
    const section = readmeSection(README_SECTIONS.architectureChange);
    const [override] = fenced(section, "json");
    const [command] = fenced(section, "sh");
    const replaced = [...command.matchAll(/-replace=(\S+)/g)].map((m) => m[1]);
    let plan: PlanJson;
    beforeAll(() => {
      const roster = parse(DEFAULT_ROSTER_TEXT) as { host: { instanceType: string } };
      roster.host.instanceType = "m7g.2xlarge";
      const graviton = synthesizeRoster("roster.yaml", parseRoster(stringify(roster)));
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

  describe(`"${README_SECTIONS.retire}", as the README says`, () => {
    const section = readmeSection(README_SECTIONS.retire);
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

    it("step 2 changes only protection settings in place: nothing is replaced, created or destroyed", () => {
      const { plan } = planner.plan(base.config, deployed, {
        files: { "retire_override.tf.json": override },
        vars,
        keepPreventDestroy: true,
      });
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

  it("moves the ALB's rules of a deployment made before allowed_cidrs to the 0.0.0.0/0 key, re-creating nothing", () => {
    const rules = ["aws_vpc_security_group_ingress_rule.network_alb-in-443", "aws_vpc_security_group_ingress_rule.network_alb-in-80"];
    const before: TerraformState = {
      ...deployed,
      resources: deployed.resources.map((r) =>
        rules.includes(`${r.type}.${r.name}`) ? { ...r, instances: r.instances.map(({ index_key: _key, ...instance }) => instance) } : r,
      ),
    };
    const changes = planner.plannedChanges(base.config, before, { target: rules });
    expect([...changes].sort()).toEqual(rules.map((rule) => [`${rule}["0.0.0.0/0"]`, { action: "move", previousAddress: rule }]).sort());
  });
});
