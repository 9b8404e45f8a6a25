/**
 * The synthesized stack and its HCL export pass `terraform init`, `validate` and `plan` offline
 * (no AWS credentials), the plan only creates, and the HCL plans exactly like the JSON.
 * One synth and one export for the whole file. The first validate and plan run Terraform as an
 * operator does; the others share one provider process per workdir (src/terraform/provider-server.ts),
 * and the HCL's plan, equal to the JSON's, shows that this plans alike.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { synthInto } from "../src/app";
import { exportDeployment } from "../src/export/deployment";
import { defaultFleet, editedFleet, PROJECT_ROOT } from "./helpers/fleet";
import { AWS_PROVIDER_VERSION, offlineWorkdir, type PlanJson, terraformOrSkip, type Workdir } from "./helpers/terraform";

const terraform = terraformOrSkip();
const maybe = terraform ? describe : describe.skip;
const TFVARS = readFileSync(join(PROJECT_ROOT, "terraform.tfvars.example"), "utf8");

/** Resource types the default plan creates: the architecture the README describes, nothing else. */
const EXPECTED_TYPES = [
  "aws_acm_certificate",
  "aws_acm_certificate_validation",
  "aws_backup_plan",
  "aws_backup_selection",
  "aws_backup_vault",
  "aws_backup_vault_lock_configuration",
  "aws_budgets_budget",
  "aws_cloudwatch_dashboard",
  "aws_cloudwatch_event_rule",
  "aws_cloudwatch_event_target",
  "aws_cloudwatch_log_group",
  "aws_cloudwatch_metric_alarm",
  "aws_default_security_group",
  "aws_ebs_volume",
  "aws_flow_log",
  "aws_iam_instance_profile",
  "aws_iam_role",
  "aws_iam_role_policy",
  "aws_iam_role_policy_attachment",
  "aws_instance",
  "aws_internet_gateway",
  "aws_kms_alias",
  "aws_kms_key",
  "aws_kms_key_policy",
  "aws_lb",
  "aws_lb_listener",
  "aws_lb_listener_rule",
  "aws_lb_target_group",
  "aws_lb_target_group_attachment",
  "aws_route",
  "aws_route53_record",
  "aws_route_table",
  "aws_route_table_association",
  "aws_s3_bucket",
  "aws_s3_bucket_lifecycle_configuration",
  "aws_s3_bucket_logging",
  "aws_s3_bucket_ownership_controls",
  "aws_s3_bucket_policy",
  "aws_s3_bucket_public_access_block",
  "aws_s3_bucket_server_side_encryption_configuration",
  "aws_s3_bucket_versioning",
  "aws_s3_object",
  "aws_secretsmanager_secret",
  "aws_security_group",
  "aws_sns_topic",
  "aws_sns_topic_policy",
  "aws_sns_topic_subscription",
  "aws_ssm_association",
  "aws_ssm_document",
  "aws_subnet",
  "aws_volume_attachment",
  "aws_vpc",
  "aws_vpc_security_group_egress_rule",
  "aws_vpc_security_group_ingress_rule",
  // Terraform's own: the architecture the host was built for.
  "terraform_data",
];

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

  let scheduledStackDir: string;

  beforeAll(async () => {
    const { stack, stackDir } = synthInto(defaultFleet(), join(out, "cdktf.out"));
    scheduledStackDir = synthInto(
      editedFleet((roster) => {
        roster.schedule = { timezone: "Asia/Bangkok", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "20:00" };
      }),
      join(out, "scheduled"),
    ).stackDir;
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
    const actions = new Set(jsonPlan.resource_changes.map((r) => r.change.actions.join(",")));
    expect(actions).toEqual(new Set(["create"]));
    expect([...new Set(jsonPlan.resource_changes.map((r) => r.type))].sort()).toEqual([...EXPECTED_TYPES].sort());
    // No data source is read at plan time in the default configuration (ami_id is set).
    expect(jsonPlan.planned_values.root_module.resources.filter((r) => r.mode === "data")).toEqual([]);
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

  it("stops a shared provider when the process that started it is killed, leaving no provider behind", () => {
    // A workdir of its own (the server's socket and log go there), with the installed providers.
    const dir = mkdtempSync(join(tmpdir(), "provider-server-"));
    try {
      symlinkSync(join(json.dir, ".terraform"), join(dir, ".terraform"));
      const starter = [
        `const { ProviderServer } = require(${JSON.stringify(join(PROJECT_ROOT, "src", "terraform", "provider-server.ts"))});`,
        `const server = ProviderServer.start(${JSON.stringify(dir)}, ${JSON.stringify(AWS_PROVIDER_VERSION)}, process.env);`,
        `console.log(server.pid);`,
        `process.kill(process.pid, "SIGKILL");`,
      ].join("\n");
      const run = spawnSync(process.execPath, ["--import", "tsx", "-e", starter], {
        encoding: "utf8",
        env: { ...process.env, TMPDIR: dir },
      });
      expect(run.signal).toBe("SIGKILL");
      const pid = Number(run.stdout.trim());
      expect(pid).toBeGreaterThan(1);
      const deadline = Date.now() + 10_000;
      while (existsSync(`/proc/${pid}`) && Date.now() < deadline) spawnSync("sleep", ["0.05"]);
      expect(existsSync(`/proc/${pid}`)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
      Object.fromEntries(plan.resource_changes.map((r) => [r.address, [r.change.actions, r.change.after, r.change.after_unknown]]));
    expect(byAddress(hclPlan)).toEqual(byAddress(jsonPlan));
    expect(hclPlan.configuration.root_module.variables).toEqual(jsonPlan.configuration.root_module.variables);
    expect(hclPlan.planned_values.outputs).toEqual(jsonPlan.planned_values.outputs);
  });

  /**
   * One plan for two questions, from the JSON workdir with the scheduled roster swapped in (same
   * providers, so no second init): the variables' variant and the schedule's resources.
   */
  let variantPlan: PlanJson;
  const variant = () => {
    if (!variantPlan) {
      copyFileSync(join(scheduledStackDir, "cdk.tf.json"), join(json.dir, "cdk.tf.json"));
      json.run([
        "plan",
        "-refresh=false",
        "-input=false",
        "-no-color",
        "-var-file=test.tfvars",
        '-var=admin_cidrs=["203.0.113.10/32"]',
        '-var=allowed_cidrs=["198.51.100.0/24","192.0.2.7/32"]',
        "-var=certificate_arn=arn:aws:acm:ap-southeast-7:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000",
        "-out=variant.bin",
      ]);
      variantPlan = json.json<PlanJson>(["show", "-json", "variant.bin"]);
    }
    return variantPlan;
  };

  it("opens SSH for an explicit admin CIDR, and uses an existing certificate instead of requesting one", () => {
    const plan = variant();
    const ingress = (port: number) =>
      plan.resource_changes.filter((r) => r.type === "aws_vpc_security_group_ingress_rule" && r.change.after.from_port === port);
    expect(ingress(22).map((r) => r.change.after.cidr_ipv4)).toEqual(["203.0.113.10/32"]);
    // The ALB answers the allowed blocks only, one rule per block and port, keyed by the block.
    for (const port of [443, 80]) {
      expect(ingress(port).map((r) => [r.address.replace(/^.*\[/, "["), r.change.after.cidr_ipv4])).toEqual([
        ['["192.0.2.7/32"]', "192.0.2.7/32"],
        ['["198.51.100.0/24"]', "198.51.100.0/24"],
      ]);
    }
    expect(plan.resource_changes.filter((r) => r.type.startsWith("aws_acm_"))).toEqual([]);
  });

  it("plans a roster with a schedule: the schedules, their group, role and failure alarm, only creating", () => {
    const plan = variant();
    expect(new Set(plan.resource_changes.map((r) => r.change.actions.join(",")))).toEqual(new Set(["create"]));
    // The certificate's two types are left out by certificate_arn (the test above).
    expect([...new Set(plan.resource_changes.map((r) => r.type))].sort()).toEqual(
      [...EXPECTED_TYPES.filter((type) => !type.startsWith("aws_acm_")), "aws_scheduler_schedule", "aws_scheduler_schedule_group"].sort(),
    );
    // The ALB's and SSH's rules are keyed by the variables' blocks (the test above), so they are new addresses too.
    const added = plan.resource_changes
      .map((r) => r.address)
      .filter((address) => !jsonPlan.resource_changes.some((r) => r.address === address))
      .filter((address) => !address.startsWith("aws_vpc_security_group_ingress_rule."));
    expect(added.sort()).toEqual([
      "aws_cloudwatch_metric_alarm.schedule_failed-call",
      "aws_iam_role.schedule_role",
      "aws_iam_role_policy.schedule_role-policy",
      "aws_scheduler_schedule.schedule_alarms-off",
      "aws_scheduler_schedule.schedule_alarms-on",
      "aws_scheduler_schedule.schedule_start-host",
      "aws_scheduler_schedule.schedule_stop-host",
      "aws_scheduler_schedule_group.schedule_group",
    ]);
    const startHost = plan.resource_changes.find((r) => r.address === "aws_scheduler_schedule.schedule_start-host")!.change.after;
    expect([startHost.schedule_expression, startHost.schedule_expression_timezone]).toEqual([
      "cron(0 8 ? * MON,TUE,WED,THU,FRI *)",
      "Asia/Bangkok",
    ]);
  });
});
