/**
 * What the synthesized stack creates that AWS bills, as quantities of the cost model's unit
 * prices. The stack is synthesized in-process with the same code `npm run synth` uses; every
 * resource type in it is either priced here, known to carry no charge of its own, or reported as
 * an unknown billable type, so a resource added later is never silently left out of the bill.
 */
import { VARIABLES } from "../constructs/inputs";
import type { Fleet } from "../roster";
import type { TerraformJson } from "../terraform/plan-json";
import { hostMetrics, PRICERS, type PricingContext } from "./pricers";
import { DEFAULT_ASSUMPTIONS, type Inventory, type UnknownResource, type Usage, type UsageAssumptions } from "./usage";

export { DEFAULT_ASSUMPTIONS, HOURS_PER_MONTH, type Inventory, type UnknownResource, type Usage, type UsageAssumptions } from "./usage";

/**
 * Types with no charge of their own: they are configuration of, or billed through, a priced
 * resource (listeners and rules through the ALB hours and LCUs, the backup plan through snapshot
 * storage, bucket settings and objects through bucket storage, task definitions through the ECS
 * services that run them, EFS mount targets, access points and policy through the file system), or
 * free (IAM, VPC plumbing, public ACM certificates, KMS aliases, an ECS cluster's capacity providers).
 * SNS and EventBridge rules carry the alarms' and the reminder's few notifications a month, which
 * this model does not price.
 */
export const NO_CHARGE_OF_THEIR_OWN: ReadonlySet<string> = new Set([
  "aws_acm_certificate",
  "aws_acm_certificate_validation",
  "aws_backup_plan",
  "aws_backup_selection",
  "aws_backup_vault",
  "aws_backup_vault_lock_configuration",
  "aws_backup_vault_policy",
  "aws_cloudwatch_event_rule",
  "aws_cloudwatch_event_target",
  "aws_cloudwatch_log_resource_policy",
  "aws_default_security_group",
  "aws_ecs_cluster_capacity_providers",
  "aws_ecs_task_definition",
  "aws_efs_access_point",
  "aws_efs_file_system_policy",
  "aws_efs_mount_target",
  "aws_iam_instance_profile",
  "aws_iam_policy",
  "aws_iam_role",
  "aws_iam_role_policy",
  "aws_iam_role_policy_attachment",
  "aws_internet_gateway",
  "aws_kms_alias",
  "aws_kms_key_policy",
  // The secret initializer runs once per apply that changes the secrets it fills: a few
  // invocations of seconds a month, inside Lambda's monthly free requests and compute; its log
  // group is priced with the others.
  "aws_lambda_function",
  "aws_lambda_invocation",
  // Sleep when idle's functions: a reconcile every 5 minutes and a few wakes and sleeps a day, inside
  // Lambda's monthly free requests and compute; the ELB and EventBridge permissions to invoke them
  // and the failed wakes' metric filter cost nothing (the metric and alarms are priced with the others).
  "aws_lambda_permission",
  "aws_cloudwatch_log_metric_filter",
  "aws_lb_listener",
  "aws_lb_listener_rule",
  "aws_lb_target_group",
  "aws_lb_target_group_attachment",
  "aws_route",
  "aws_route_table",
  "aws_route_table_association",
  "aws_s3_bucket_lifecycle_configuration",
  "aws_s3_bucket_logging",
  "aws_s3_bucket_object_lock_configuration",
  "aws_s3_bucket_ownership_controls",
  "aws_s3_bucket_policy",
  "aws_s3_bucket_public_access_block",
  "aws_s3_bucket_server_side_encryption_configuration",
  "aws_s3_bucket_versioning",
  "aws_s3_object",
  "aws_scheduler_schedule_group",
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
  "aws_wafv2_web_acl_association",
  // The web ACL's request log is billed as the log group's ingestion.
  "aws_wafv2_web_acl_logging_configuration",
  // Terraform's own resource (the host's recorded architecture): no AWS resource at all.
  "terraform_data",
]);

/** The data volume's size: the variable's default and the bounds of its own validation, so the two never disagree. */
export function dataVolumeGbLimits(): { min: number; max: number; default: number } {
  const variable = VARIABLES.data_volume_size_gb as { default: number; validation: { condition: string }[] };
  const condition = variable.validation[0].condition;
  return { min: Number(/>= (\d+)/.exec(condition)![1]), max: Number(/<= (\d+)/.exec(condition)![1]), default: Number(variable.default) };
}

/** Counts what the synthesized stack bills, given the usage assumptions: each type by its pricer (pricers.ts). */
export function inventory(config: TerraformJson, fleet: Fleet, overrides: Partial<UsageAssumptions> = {}): Inventory {
  const assumptions = { ...DEFAULT_ASSUMPTIONS, ...overrides };
  const context: PricingContext = { config, fleet, assumptions };
  const usage: Usage[] = [];
  const unknown: UnknownResource[] = [];
  for (const [type, byName] of Object.entries(config.resource)) {
    const all = Object.values(byName);
    const pricer = PRICERS[type];
    if (pricer) {
      const priced = pricer(all, context);
      usage.push(...priced.usage.filter((u) => u.quantity > 0));
      unknown.push(...(priced.unknown ?? []));
    } else if (!NO_CHARGE_OF_THEIR_OWN.has(type)) {
      unknown.push({ type, count: all.length });
    }
  }
  usage.push(...hostMetrics(context).filter((u) => u.quantity > 0));
  const dataVolume = usage.find((u) => u.id === "ebs.data");
  const fallbackDataGb = dataVolumeGbLimits().default;
  return {
    usage,
    unknown,
    assumptions: { ...assumptions, dataVolumeGb: dataVolume?.quantity ?? assumptions.dataVolumeGb ?? fallbackDataGb },
  };
}
