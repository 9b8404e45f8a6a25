/**
 * Offline Terraform for the tests: src/terraform/offline.ts (shared with `npm run review`), and
 * what only tests need.
 */
import { findTerraform, type Workdir } from "../../src/terraform/offline";

import type { PlanJson, ResourceChange } from "../../src/terraform/plan-json";

export type { PlanJson } from "../../src/terraform/plan-json";

/** Every resource change of a plan (none when it changes nothing). */
export function changesOf(plan: PlanJson): readonly ResourceChange[] {
  return plan.resource_changes ?? [];
}
export { AWS_PROVIDER_VERSION, findProviderMirror, findTerraform, offlineWorkdir, type Workdir } from "../../src/terraform/offline";

/** Whether the offline Terraform tests can run; with CI=true a missing terraform is a failure. */
export function terraformOrSkip(): string | undefined {
  const terraform = findTerraform();
  if (!terraform) {
    if (process.env.CI === "true") throw new Error("terraform is not on PATH, and CI=true: install Terraform >= 1.11");
    console.warn("\n*** SKIPPED: terraform is not on PATH; the offline init/validate/plan checks did not run ***\n");
  }
  return terraform;
}

/** Resource types the default plan creates: the architecture docs/contributing.md#architecture describes, nothing else. */
export const DEFAULT_PLAN_TYPES = [
  "aws_acm_certificate",
  "aws_acm_certificate_validation",
  "aws_backup_plan",
  "aws_backup_selection",
  "aws_backup_vault",
  "aws_backup_vault_lock_configuration",
  "aws_backup_vault_policy",
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
  "aws_s3_bucket_object_lock_configuration",
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

/** Each planned resource by address: its actions and its planned values, for comparing two plans of one stack. */
export function plannedByAddress(plan: PlanJson): Record<string, unknown> {
  return Object.fromEntries(changesOf(plan).map((r) => [r.address, [r.change.actions, r.change.after, r.change.after_unknown]]));
}

/**
 * `terraform init`, `validate` (which must say the configuration is valid) and `plan` of a working
 * directory offline with its `test.tfvars` when it has one, sharing one provider process after init.
 */
export function validatedPlan(workdir: Workdir, options: { varFile?: string } = {}): PlanJson {
  workdir.run(["init", "-input=false", "-no-color"]);
  workdir.shareProvider();
  const validated = workdir.run(["validate", "-no-color"]).output;
  if (!validated.includes("The configuration is valid")) throw new Error(`terraform validate failed:\n${validated}`);
  const vars = options.varFile ? [`-var-file=${options.varFile}`] : [];
  workdir.run(["plan", "-refresh=false", "-input=false", "-no-color", ...vars, "-out=plan.bin"]);
  return workdir.json<PlanJson>(["show", "-json", "plan.bin"]);
}
