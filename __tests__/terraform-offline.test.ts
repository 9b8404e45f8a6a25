/**
 * The synthesized stack and its HCL export pass `terraform init`, `validate` and `plan` offline
 * (no AWS credentials), the plan only creates, and the HCL plans exactly like the JSON.
 * One synth and one export for the whole file. The first validate and plan run Terraform as an
 * operator does; the others share one provider process per workdir (src/terraform/provider-server.ts),
 * and the HCL's plan, equal to the JSON's, shows that this plans alike.
 */
import { defaultFleet } from "./helpers/fleet";
import { offlineSynthesis } from "./helpers/offline-synthesis";
import { DEFAULT_PLAN_TYPES, changesOf, type PlanJson, terraformOrSkip, plannedByAddress } from "./helpers/terraform";

const terraform = terraformOrSkip();
const maybe = terraform ? describe : describe.skip;

maybe("offline terraform", () => {
  const synthesis = offlineSynthesis(terraform!, defaultFleet);
  let jsonPlan: PlanJson;
  let hclPlan: PlanJson;

  it("initialises from the local provider mirror and validates the synthesized JSON", () => {
    synthesis.json.run(["init", "-input=false", "-no-color"]);
    expect(synthesis.json.run(["validate", "-no-color"]).output).toContain("The configuration is valid");
  });

  it("plans offline with terraform.tfvars.example, only creating, the expected resource types", () => {
    synthesis.json.run(["plan", "-refresh=false", "-input=false", "-no-color", "-var-file=test.tfvars", "-out=plan.bin"]);
    jsonPlan = synthesis.json.json<PlanJson>(["show", "-json", "plan.bin"]);
    const actions = new Set(changesOf(jsonPlan).map((r) => r.change.actions.join(",")));
    expect(actions).toEqual(new Set(["create"]));
    expect([...new Set(changesOf(jsonPlan).map((r) => r.type))].sort()).toEqual([...DEFAULT_PLAN_TYPES].sort());
    // No data source is read at plan time in the default configuration (ami_id is set).
    expect((jsonPlan.planned_values.root_module.resources ?? []).filter((r) => r.mode === "data")).toEqual([]);
  });

  it("rejects SSH from 0.0.0.0/0 and an IPv6 source for the IPv4-only ALB at plan time, by variable validation", () => {
    // The checks above ran Terraform as an operator does; the plans below share one provider process.
    synthesis.json.shareProvider();
    const { status, output } = synthesis.json.run(
      [
        "plan",
        "-refresh=false",
        "-input=false",
        "-no-color",
        "-var-file=test.tfvars",
        '-var=admin_cidrs=["0.0.0.0/0"]',
        '-var=allowed_cidrs=["2001:db8::/32"]',
      ],
      { allowFailure: true },
    );
    expect(status).not.toBe(0);
    expect(output).toContain("must not open SSH to the whole internet");
    expect(output).toContain("allowed_cidrs must be IPv4 CIDR blocks");
  });

  it("exports HCL that is terraform fmt-clean and validates offline", () => {
    synthesis.hcl.run(["init", "-input=false", "-no-color"]);
    // Its plan below, compared with the JSON's, also shows that a shared provider plans alike.
    synthesis.hcl.shareProvider();
    expect(synthesis.hcl.run(["validate", "-no-color"]).output).toContain("The configuration is valid");
    expect(synthesis.hcl.run(["fmt", "-check", "-no-color", "main.tf", "variables.tf", "outputs.tf"]).status).toBe(0);
  });

  it("exports HCL that plans exactly the same resources, values, variables and outputs as the JSON", () => {
    synthesis.hcl.run(["plan", "-refresh=false", "-input=false", "-no-color", "-var-file=test.tfvars", "-out=plan.bin"]);
    hclPlan = synthesis.hcl.json<PlanJson>(["show", "-json", "plan.bin"]);
    expect(plannedByAddress(hclPlan)).toEqual(plannedByAddress(jsonPlan));
    expect(hclPlan.configuration?.root_module.variables).toEqual(jsonPlan.configuration?.root_module.variables);
    expect(hclPlan.planned_values.outputs).toEqual(jsonPlan.planned_values.outputs);
  });
});
