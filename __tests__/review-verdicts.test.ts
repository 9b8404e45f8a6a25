/**
 * What the review says about an in-place change of the data volume (a tags-only change is not a
 * modification that needs resize2fs), and its summary when Terraform's plan replaces what the
 * configuration diff does not show (a `--var` such as a new vpc_cidr). No terraform needed: the
 * verdicts are built from real configuration diffs and from plans as Terraform prints them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { parseRoster } from "../src/roster";
import { verdictFromConfig, verdictFromPlan } from "../src/review/protected";
import { renderReview } from "../src/review/report";
import { review, synthesizeRoster, type Review } from "../src/review/review";
import type { PlanAction, PlanJson, ResourceChange } from "../src/terraform/plan-json";
import { DEFAULT_ROSTER_TEXT, PROJECT_ROOT } from "./helpers/fleet";
import type { Config } from "./helpers/synth";

const TFVARS = readFileSync(join(PROJECT_ROOT, "terraform.tfvars.example"), "utf8");
const edited = (edit: (roster: Config) => void): string => {
  const roster = parse(DEFAULT_ROSTER_TEXT) as Config;
  edit(roster);
  return stringify(roster);
};
function reviewOf(currentText: string, vars: Record<string, string> = {}): Review {
  return review(
    synthesizeRoster("base.yaml", parseRoster(DEFAULT_ROSTER_TEXT, "base.yaml")),
    synthesizeRoster("roster.yaml", parseRoster(currentText, "roster.yaml")),
    { terraform: undefined, tfvars: TFVARS, vars },
  );
}
const change = (address: string, actions: PlanAction[], replacePaths: string[][] = []): ResourceChange => {
  const [type, name] = address.split(".");
  return {
    address,
    mode: "managed",
    type,
    name,
    provider_name: "registry.terraform.io/hashicorp/aws",
    change: { actions, before: {}, after: {}, after_unknown: {}, replace_paths: replacePaths },
  };
};
const planOf = (...changes: ResourceChange[]): PlanJson => ({
  format_version: "1.2",
  terraform_version: "1.11.0",
  resource_changes: changes,
  planned_values: { root_module: {} },
});
const VOLUME = "aws_ebs_volume.data_volume";
const dataVolumeVerdict = (...paths: string[]) =>
  verdictFromPlan(
    "dataVolume",
    VOLUME,
    change(VOLUME, ["update"]),
    new Set([VOLUME]),
    paths.map((path) => ({ path, description: '"a" → "b"' })),
  );

describe("the data volume changed in place", () => {
  it("renaming the project changes only its tags: said so, with no modification and no resize2fs", () => {
    const result = reviewOf(edited((roster) => (roster.project = "cs-team")));
    const volume = result.protected.find((v) => v.role === "dataVolume")!;
    expect(volume.changed).toEqual(["tags.Name", "tags.backup-plan"]);
    expect(volume.consequence).toMatch(/^only its tags change: the data and the host are untouched; /);
    expect(volume.consequence).toContain(
      "its backup-plan tag, by which AWS Backup selects it, changes with the backup plan's name (both come from the roster's project and environment)",
    );
    expect(volume.consequence).not.toMatch(/size|resize2fs|modified/);
    expect(renderReview(result)).toContain(
      "  ! data volume (aws_ebs_volume.data_volume): changed in place (tags.Name, tags.backup-plan): only its tags change: the data and the host are untouched;",
    );
  });

  it("a tag that is not the backup tag: only the tags", () => {
    expect(dataVolumeVerdict("tags.Name", "tags_all.project").consequence).toBe(
      "only its tags change: the data and the host are untouched",
    );
  });

  it("a larger size: modified while attached, then grow the filesystem", () => {
    expect(dataVolumeVerdict("size").consequence).toBe(
      "EBS modifies it while it stays attached, with no downtime; once that is done, grow the filesystem on the host (resize2fs)",
    );
  });

  it("performance alone: modified while attached, nothing to grow", () => {
    for (const attribute of ["type", "iops", "throughput"]) {
      expect([attribute, dataVolumeVerdict(attribute).consequence]).toEqual([
        attribute,
        "EBS modifies it while it stays attached, with no downtime",
      ]);
    }
  });

  it("size and tags together: the modification, and the backup tag's note", () => {
    expect(dataVolumeVerdict("size", "tags.backup-plan").consequence).toBe(
      "EBS modifies it while it stays attached, with no downtime; once that is done, grow the filesystem on the host (resize2fs); " +
        "its backup-plan tag, by which AWS Backup selects it, changes with the backup plan's name (both come from the roster's project and environment)",
    );
  });

  it("another attribute: in place, without claiming a modification", () => {
    expect(dataVolumeVerdict("final_snapshot").consequence).toBe(
      "changed in place while it stays attached: the data and the host are untouched",
    );
  });

  it("without a plan, the same sentence with its caveat", () => {
    expect(verdictFromConfig("dataVolume", VOLUME, "changed", [{ path: "tags.Name", description: "" }]).consequence).toBe(
      "only its tags change: the data and the host are untouched, or worse: without terraform this review cannot tell an update from a replacement",
    );
  });
});

describe("the summary", () => {
  // A new vpc_cidr, as Terraform plans it against the deployed base: nothing differs in the
  // configurations, the host and what it depends on are replaced.
  const unchanged = reviewOf(DEFAULT_ROSTER_TEXT, { vpc_cidr: "10.50.0.0/16" });
  const host = "aws_instance.host";
  const attachment = "aws_volume_attachment.data_volume";
  const plan = planOf(
    change("aws_vpc.network_vpc", ["update"]),
    change("aws_subnet.network_public-ap-southeast-7a", ["delete", "create"], [["cidr_block"]]),
    change("aws_subnet.network_public-ap-southeast-7b", ["delete", "create"], [["cidr_block"]]),
    change("aws_security_group.network_host-sg", ["create", "delete"], [["vpc_id"]]),
    change(host, ["delete", "create"], [["subnet_id"]]),
    change(attachment, ["delete", "create"], [["instance_id"]]),
    change(VOLUME, ["no-op"]),
  );
  const withPlan: Review = {
    ...unchanged,
    plan,
    verdictSource: "terraform plan",
    protected: unchanged.protected.map((v) =>
      verdictFromPlan(
        v.role,
        v.address,
        plan.resource_changes!.find((c) => c.address === v.address),
        new Set([host, VOLUME]),
        [],
      ),
    ),
  };
  const summaryOf = (result: Review) =>
    renderReview(result)
      .split("\n")
      .find((line) => line.startsWith("Summary:"));

  it("says the counts are the configurations' and what the plan replaces, protected resources first", () => {
    expect(withPlan.protected.find((v) => v.role === "host")?.action).toBe("replace");
    expect(summaryOf(withPlan)).toBe(
      "Summary: the configurations differ by 0 to add, 0 to change, 0 to remove; " +
        "Terraform's plan of the protected resources and what they depend on (limited with -target) replaces 5 " +
        "(host instance, data volume attachment, aws_security_group.network_host-sg, aws_subnet.network_public-ap-southeast-7a and 1 more). " +
        "Exit 3: a protected resource changes; read the lines marked ! before you approve.",
    );
  });

  it("counts what the plan destroys apart from what it replaces", () => {
    const destroying: Review = { ...withPlan, plan: planOf(change(host, ["delete", "create"]), change("aws_eip.host", ["delete"])) };
    expect(summaryOf(destroying)).toContain("(limited with -target) replaces 1 (host instance) and destroys 1 (aws_eip.host).");
  });

  it("keeps the plain counts when the plan only updates in place, or there is no plan", () => {
    const inPlace: Review = { ...withPlan, plan: planOf(change(host, ["update"]), change(VOLUME, ["no-op"])) };
    expect(summaryOf(inPlace)).toMatch(/^Summary: 0 to add, 0 to change, 0 to remove\. /);
    expect(summaryOf(unchanged)).toBe("Summary: 0 to add, 0 to change, 0 to remove. No protected resource changes.");
  });
});

describe("a developer's own settings", () => {
  type RosterDeveloper = { name: string; [field: string]: unknown };
  const withDev3 = (fields: Record<string, unknown>) =>
    edited((roster) => {
      const developers = roster.developers as RosterDeveloper[];
      Object.assign(
        developers.find((d) => d.name === "dev3")!,
        fields,
      );
    });
  const sectionOf = (text: string, title: string) => {
    const lines = text.split("\n");
    const start = lines.indexOf(title);
    return start < 0 ? undefined : lines.slice(start, lines.indexOf("", start));
  };

  it("limits and extensions, which only the host files carry, are listed under the developer", () => {
    const text = renderReview(reviewOf(withDev3({ cpuLimit: 2, memoryLimitGiB: 6, extensions: ["redhat.vscode-yaml"] })));
    expect(sectionOf(text, "dev3 (changed)")).toEqual([
      "dev3 (changed)",
      "  settings (the next apply on the host recreates the container with them)",
      "    ~ cpuLimit: 1.5 → 2",
      "    ~ memoryLimitGiB: 4 → 6",
      "    ~ extensions: +redhat.vscode-yaml",
    ]);
    // The developers whose settings did not change get no section.
    expect(sectionOf(text, "dev2 (changed)")).toBeUndefined();
  });

  it("a new port is a setting and the ALB resources that follow it", () => {
    const section = sectionOf(renderReview(reviewOf(withDev3({ port: 8460 }))), "dev3 (changed)")!;
    expect(section.slice(0, 4)).toEqual([
      "dev3 (changed)",
      "  settings (the next apply on the host recreates the container with them)",
      "    ~ port: 8445 → 8460",
      "    ~ priority: 8445 → 8460",
    ]);
    expect(section).toContain("    ~ aws_lb_target_group.alb_tg-dev3");
  });
});
