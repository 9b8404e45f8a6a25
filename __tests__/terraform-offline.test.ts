/**
 * The synthesized stack and its HCL export pass `terraform init`, `validate` and `plan` offline
 * (no AWS credentials), the plan only creates, and the HCL plans exactly like the JSON.
 * One synth and one export for the whole file. The first validate and plan run Terraform as an
 * operator does; the others share one provider process per workdir (src/terraform/provider-server.ts),
 * and the HCL's plan, equal to the JSON's, shows that this plans alike.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { synthInto } from "../src/app";
import { exportDeployment } from "../src/export/deployment";
import { defaultFleet, PROJECT_ROOT } from "./helpers/fleet";
import { DEFAULT_PLAN_TYPES, offlineWorkdir, changesOf, type PlanJson, terraformOrSkip, type Workdir } from "./helpers/terraform";

const terraform = terraformOrSkip();
const maybe = terraform ? describe : describe.skip;
const TFVARS = readFileSync(join(PROJECT_ROOT, "terraform.tfvars.example"), "utf8");

maybe("offline terraform", () => {
  const out = mkdtempSync(join(tmpdir(), "synth-"));
  let json: Workdir;
  let hcl: Workdir;
  let jsonPlan: PlanJson;
  let hclPlan: PlanJson;

  afterAll(() => {
    json?.dispose();
    hcl?.dispose();
    rmSync(out, { recursive: true, force: true });
  });

  beforeAll(async () => {
    const { stack, stackDir } = synthInto(defaultFleet(), join(out, "cdktf.out"));
    await exportDeployment(stack, join(out, "deployment"), { projectRoot: PROJECT_ROOT });
    json = offlineWorkdir(terraform!, stackDir, { "test.tfvars": TFVARS });
    hcl = offlineWorkdir(terraform!, join(out, "deployment", "terraform"), { "test.tfvars": TFVARS });
  });

  it("initialises from the local provider mirror and validates the synthesized JSON", () => {
    json.run(["init", "-input=false", "-no-color"]);
    expect(json.run(["validate", "-no-color"]).output).toContain("The configuration is valid");
  });

  it("plans offline with terraform.tfvars.example, only creating, the expected resource types", () => {
    json.run(["plan", "-refresh=false", "-input=false", "-no-color", "-var-file=test.tfvars", "-out=plan.bin"]);
    jsonPlan = json.json<PlanJson>(["show", "-json", "plan.bin"]);
    const actions = new Set(changesOf(jsonPlan).map((r) => r.change.actions.join(",")));
    expect(actions).toEqual(new Set(["create"]));
    expect([...new Set(changesOf(jsonPlan).map((r) => r.type))].sort()).toEqual([...DEFAULT_PLAN_TYPES].sort());
    // No data source is read at plan time in the default configuration (ami_id is set).
    expect((jsonPlan.planned_values.root_module.resources ?? []).filter((r) => r.mode === "data")).toEqual([]);
  });

  it("rejects SSH from 0.0.0.0/0 and an IPv6 source for the IPv4-only ALB at plan time, by variable validation", () => {
    // The checks above ran Terraform as an operator does; the plans below share one provider process.
    json.shareProvider();
    const { status, output } = json.run(
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
    hcl.run(["init", "-input=false", "-no-color"]);
    // Its plan below, compared with the JSON's, also shows that a shared provider plans alike.
    hcl.shareProvider();
    expect(hcl.run(["validate", "-no-color"]).output).toContain("The configuration is valid");
    expect(hcl.run(["fmt", "-check", "-no-color", "main.tf", "variables.tf", "outputs.tf"]).status).toBe(0);
  });

  it("exports HCL that plans exactly the same resources, values, variables and outputs as the JSON", () => {
    hcl.run(["plan", "-refresh=false", "-input=false", "-no-color", "-var-file=test.tfvars", "-out=plan.bin"]);
    hclPlan = hcl.json<PlanJson>(["show", "-json", "plan.bin"]);
    const byAddress = (plan: PlanJson) =>
      Object.fromEntries(changesOf(plan).map((r) => [r.address, [r.change.actions, r.change.after, r.change.after_unknown]]));
    expect(byAddress(hclPlan)).toEqual(byAddress(jsonPlan));
    expect(hclPlan.configuration?.root_module.variables).toEqual(jsonPlan.configuration?.root_module.variables);
    expect(hclPlan.planned_values.outputs).toEqual(jsonPlan.planned_values.outputs);
  });
});
