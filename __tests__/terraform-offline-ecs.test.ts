/**
 * The ECS platform passes `terraform init`, `validate` and `plan` offline like the host: an `ecs`
 * roster with every switch that adds resources (private network, ECS Exec), synthesized and
 * exported once; the plan only creates, reads no data source, and its HCL export plans exactly
 * like its JSON. Both working directories share one provider process each.
 */
import { parse, stringify } from "yaml";
import { parseRoster } from "../src/roster";
import { withOidc } from "./helpers/ecs-oidc";
import { DEFAULT_ROSTER_TEXT } from "./helpers/fleet";
import { offlineSynthesis } from "./helpers/offline-synthesis";
import { changesOf, type PlanJson, terraformOrSkip, plannedByAddress, validatedPlan } from "./helpers/terraform";

const terraform = terraformOrSkip();
const maybe = terraform ? describe : describe.skip;

/** The default roster on ECS, in private subnets, with ECS Exec on and working hours. */
function ecsRoster(): string {
  const roster = parse(DEFAULT_ROSTER_TEXT) as Record<string, unknown>;
  delete roster.host;
  const schedule = { timezone: "Europe/Berlin", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "19:00" };
  return stringify({ ...roster, platform: "ecs", ecs: { network: "private", exec: true }, schedule });
}

/** Both ways of signing in: code-server's password (above), and the company's provider with its gate. */
const ROSTERS: [string, string, string[]][] = [
  ["password sign-in", ecsRoster(), []],
  ["oidc sign-in", withOidc(ecsRoster()), ["aws_s3_object"]],
];

const ECS_TYPES = [
  "aws_ecs_cluster",
  "aws_ecs_cluster_capacity_providers",
  "aws_ecs_service",
  "aws_ecs_task_definition",
  "aws_efs_access_point",
  "aws_efs_file_system",
  "aws_efs_file_system_policy",
  "aws_efs_mount_target",
  "aws_eip",
  "aws_nat_gateway",
  "aws_scheduler_schedule",
];

maybe.each(ROSTERS)("offline terraform of an ecs roster with %s", (_auth, rosterText, extraTypes) => {
  const synthesis = offlineSynthesis(terraform!, () => parseRoster(rosterText));
  let jsonPlan: PlanJson;

  it("validates and plans the synthesized JSON offline, only creating, the ECS platform's types and no host", () => {
    jsonPlan = validatedPlan(synthesis.json, { varFile: "test.tfvars" });
    expect(new Set(changesOf(jsonPlan).map((r) => r.change.actions.join(",")))).toEqual(new Set(["create"]));
    const types = new Set(changesOf(jsonPlan).map((r) => r.type));
    expect([...types]).toEqual(expect.arrayContaining([...ECS_TYPES, ...extraTypes]));
    for (const hostType of ["aws_instance", "aws_ebs_volume", "aws_ssm_association"]) expect(types.has(hostType)).toBe(false);
    expect((jsonPlan.planned_values.root_module.resources ?? []).filter((r) => r.mode === "data")).toEqual([]);
  });

  it("exports HCL that is fmt-clean, validates, and plans exactly like the JSON", () => {
    synthesis.hcl.run(["init", "-input=false", "-no-color"]);
    synthesis.hcl.shareProvider();
    expect(synthesis.hcl.run(["validate", "-no-color"]).output).toContain("The configuration is valid");
    expect(synthesis.hcl.run(["fmt", "-check", "-no-color", "main.tf", "variables.tf", "outputs.tf"]).status).toBe(0);
    synthesis.hcl.run(["plan", "-refresh=false", "-input=false", "-no-color", "-var-file=test.tfvars", "-out=plan.bin"]);
    const hclPlan = synthesis.hcl.json<PlanJson>(["show", "-json", "plan.bin"]);
    expect(plannedByAddress(hclPlan)).toEqual(plannedByAddress(jsonPlan));
    expect(hclPlan.planned_values.outputs).toEqual(jsonPlan.planned_values.outputs);
  });
});
