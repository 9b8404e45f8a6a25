/**
 * The secret initializer in Terraform's own plans, offline: the HCL export (with its ZIP) plans
 * exactly as the synthesized JSON, and against a deployment of a stack holding it, adding a secret
 * replaces the invocation (Terraform runs the function again) while an unchanged configuration
 * leaves it alone.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OfflinePlanner } from "../../src/terraform/plan-against-state";
import { PROJECT_ROOT } from "../helpers/fleet";
import { exportProbe, probeStack, REGION } from "../helpers/secret-initializer-probe";
import { changesOf, offlineWorkdir, type PlanJson, terraformOrSkip, plannedByAddress } from "../helpers/terraform";

const terraform = terraformOrSkip();
const maybe = terraform ? describe : describe.skip;

maybe("a stack holding the secret initializer", () => {
  const out = mkdtempSync(join(tmpdir(), "secret-initializer-plans-"));
  const probe = probeStack(join(out, "cdktf.out"), ["dev1", "dev2"]);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  /** `show -json` of an offline plan of the configuration in `dir`. */
  function planOf(dir: string): PlanJson {
    const workdir = offlineWorkdir(terraform!, dir);
    try {
      workdir.run(["init", "-input=false", "-no-color"]);
      workdir.shareProvider();
      workdir.run(["plan", "-refresh=false", "-input=false", "-no-color", "-out=plan.bin"]);
      return workdir.json<PlanJson>(["show", "-json", "plan.bin"]);
    } finally {
      workdir.dispose();
    }
  }

  it("plans from the HCL export exactly as from the JSON, the invocation's input known only after apply", () => {
    const jsonPlan = planOf(probe.stackDir);
    const hclPlan = planOf(exportProbe(probe.stack, probe.config, join(out, "deployment")));
    expect(plannedByAddress(hclPlan)).toEqual(plannedByAddress(jsonPlan));
    const invocation = changesOf(jsonPlan).find((r) => r.address === "aws_lambda_invocation.secret-initializer_run");
    expect(invocation?.change.after_unknown).toMatchObject({ input: true, result: true });
  });

  it("runs the function again when the list of secrets changes, and not otherwise", () => {
    const cacheDir = join(PROJECT_ROOT, ".build", "terraform");
    const planner = new OfflinePlanner({ terraform: terraform!, tfvars: "", region: REGION, cacheDir });
    try {
      const deployed = planner.deployment(probe.config);
      expect(Object.fromEntries(deployed.selfPlanned)).toEqual({});
      const grown = probeStack(join(out, "grown"), ["dev1", "dev2", "dev3"]);
      // The function's policy names the fleet's secret prefix, not each secret: a new secret leaves it as it is.
      expect(Object.fromEntries(planner.plannedChanges(grown.config, deployed.state))).toEqual({
        "aws_secretsmanager_secret.password-dev3": { action: "create" },
        "aws_lambda_invocation.secret-initializer_run": { action: "replace" },
      });
    } finally {
      planner.dispose();
    }
  });
});
