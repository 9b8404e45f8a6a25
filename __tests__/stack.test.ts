/**
 * DevEnvironmentStack: how the layers are wired together for the default roster (each layer's
 * own behaviour is in its test file), what holds across the whole stack (no secret values, one
 * account id, least-privilege IAM, tags), the outputs and the state backend. One synth of the
 * default roster for the file; resources are found by their readable addresses.
 */
import { S3Backend, Testing } from "cdktf";
import { stackProps } from "../src/app";
import { DevEnvironmentStack } from "../src/stacks/dev-environment-stack";
import { defaultFleet, editedFleet } from "./helpers/fleet";
import { parseDocument } from "./helpers/hcl-object";
import { synthStack } from "./helpers/synth";
import type { ProviderBlock } from "../src/terraform/plan-json";

const fleet = defaultFleet();
const config = synthStack(fleet);
const everything = JSON.stringify(config);
/** The resource at `type.name`. */
const at = (type: string, name: string): ProviderBlock => {
  const found = (config.resource[type] as ProviderBlock | undefined)?.[name] as ProviderBlock | undefined;
  if (!found) throw new Error(`no ${type}.${name}; have ${Object.keys(config.resource[type] ?? {}).join(", ")}`);
  return found;
};
const ref = (type: string, name: string, attribute: string) => `\${${type}.${name}.${attribute}}`;
const all = (type: string) => Object.values((config.resource[type] as ProviderBlock | undefined) ?? {}) as ProviderBlock[];
const keyArn = ref("aws_kms_key", "secrets_key", "arn");
/** The stack's one account id: read from the fleet key's ARN, never looked up. */
const account = `\${element(split(":", aws_kms_key.secrets_key.arn), 4)}`;
const topic = ref("aws_sns_topic", "notifications_alarms", "arn");

describe("wiring", () => {
  it("puts the host in the first zone's subnet, behind the host security group", () => {
    expect(at("aws_instance", "host")).toMatchObject({
      subnet_id: ref("aws_subnet", "network_public-ap-southeast-7a", "id"),
      vpc_security_group_ids: [ref("aws_security_group", "network_host-sg", "id")],
    });
    expect(at("aws_ebs_volume", "data_volume").availability_zone).toBe("ap-southeast-7a");
  });

  it("feeds every plan-time variable to the layer that uses it", () => {
    expect(at("aws_vpc", "network_vpc").cidr_block).toBe("${var.vpc_cidr}");
    expect(at("aws_vpc_security_group_ingress_rule", "network_host-in-ssh").for_each).toBe("${toset(var.admin_cidrs)}");
    for (const port of [443, 80])
      expect(at("aws_vpc_security_group_ingress_rule", `network_alb-in-${port}`).for_each).toBe("${toset(var.allowed_cidrs)}");
    expect(at("aws_sns_topic_subscription", "notifications_email").for_each).toBe("${toset(var.alarm_emails)}");
    expect(at("aws_instance", "host")).toMatchObject({
      ami: expect.stringMatching(
        /^\$\{\(var\.ami_id == ""\) \? one\(data\.aws_ssm_parameter\.compute_ubuntu-ami\[\*\]\.insecure_value\) : var\.ami_id\}$/,
      ),
      disable_api_termination: "${var.termination_protection}",
    });
    expect(at("aws_ebs_volume", "data_volume").size).toBe("${var.data_volume_size_gb}");
    expect(at("aws_lb", "alb_load-balancer").enable_deletion_protection).toBe("${var.alb_deletion_protection}");
    expect(at("aws_lb_listener", "alb_https")).toMatchObject({
      ssl_policy: "${var.ssl_policy}",
      certificate_arn:
        '${(var.certificate_arn == "") ? one(aws_acm_certificate_validation.alb_certificate-validation[*].certificate_arn) : var.certificate_arn}',
    });
    expect(at("aws_acm_certificate", "alb_certificate").count).toBe('${(var.certificate_arn == "") ? 1 : 0}');
    expect(at("aws_route53_record", "alb_dns-dev1").zone_id).toBe("${var.hosted_zone_id}");
    for (const group of all("aws_cloudwatch_log_group")) expect(group.retention_in_days).toBe("${var.log_retention_days}");
    expect(at("aws_budgets_budget", "monitoring_budget")).toMatchObject({ limit_amount: "${var.budget_amount_usd}" });
    for (const notification of at("aws_budgets_budget", "monitoring_budget").notification as ProviderBlock[]) {
      expect(notification.subscriber_email_addresses).toBe("${var.alarm_emails}");
    }
  });

  it("encrypts with the one fleet key: secrets, volumes, log groups, topic, backup vault, archive and host-file buckets", () => {
    for (const secret of all("aws_secretsmanager_secret")) expect(secret.kms_key_id).toBe(keyArn);
    expect(at("aws_ebs_volume", "data_volume").kms_key_id).toBe(keyArn);
    expect(at("aws_instance", "host").root_block_device.kms_key_id).toBe(keyArn);
    for (const group of all("aws_cloudwatch_log_group")) expect(group.kms_key_id).toBe(keyArn);
    expect(at("aws_sns_topic", "notifications_alarms").kms_master_key_id).toBe(keyArn);
    expect(at("aws_backup_vault", "backup_vault").kms_key_arn).toBe(keyArn);
    for (const bucket of ["backup_archive", "artifacts_host-files"]) {
      const [rule] = at("aws_s3_bucket_server_side_encryption_configuration", `${bucket}_encryption`).rule as ProviderBlock[];
      expect([bucket, rule.apply_server_side_encryption_by_default.kms_master_key_id]).toEqual([bucket, keyArn]);
    }
  });

  it("lets the host role use the fleet key only after the key policy names it and the host, and creates log groups after that", () => {
    const policy = parseDocument(at("aws_kms_key_policy", "key-policy_fleet-key").policy as string);
    const statement = (sid: string) => (policy.Statement as ProviderBlock[]).find((s) => s.Sid === sid);
    for (const sid of ["HostUsesFleetKeyThroughServices", "HostDecryptsItsSessionKeys"]) {
      expect(statement(sid)?.Principal).toEqual({ AWS: ref("aws_iam_role", "compute_role", "arn") });
    }
    expect(statement("HostDecryptsItsSessionKeys")?.Condition).toEqual({
      StringEquals: { "kms:EncryptionContext:aws:ssm:TargetId": ref("aws_instance", "host", "id") },
    });
    for (const group of all("aws_cloudwatch_log_group")) expect(group.depends_on).toEqual(["aws_kms_key_policy.key-policy_fleet-key"]);
  });

  it("logs the VPC's traffic, the buckets' access and the sessions, with the fleet key where AWS allows", () => {
    expect(at("aws_flow_log", "audit_flow-log")).toMatchObject({
      vpc_id: ref("aws_vpc", "network_vpc", "id"),
      log_destination: ref("aws_cloudwatch_log_group", "audit_flow-log-group", "arn"),
    });
    for (const bucket of ["alb_access-logs", "artifacts_host-files", "backup_archive"]) {
      expect([bucket, at("aws_s3_bucket_logging", `${bucket}_access-logging`).target_bucket]).toEqual([
        bucket,
        ref("aws_s3_bucket", "audit_access-logs_bucket", "id"),
      ]);
    }
    const session = JSON.parse(at("aws_ssm_document", "audit_session-preferences").content as string);
    expect(session.inputs).toMatchObject({
      kmsKeyId: ref("aws_kms_key", "secrets_key", "key_id"),
      cloudWatchLogGroupName: ref("aws_cloudwatch_log_group", "audit_session-log-group", "name"),
    });
    expect(config.output.session_document_name.value).toBe(ref("aws_ssm_document", "audit_session-preferences", "name"));
  });

  it("tells the alarm topic when an apply fails on the host, and has no WAF unless the roster asks", () => {
    expect(at("aws_cloudwatch_event_target", "artifacts_apply-failed-alarm").arn).toBe(topic);
    expect(JSON.parse(at("aws_cloudwatch_event_rule", "artifacts_apply-failed").event_pattern as string).detail["association-id"]).toEqual([
      ref("aws_ssm_association", "artifacts_apply", "association_id"),
    ]);
    expect(Object.keys(config.resource).filter((type) => type.startsWith("aws_wafv2"))).toEqual([]);
    const waf = synthStack(editedFleet((r) => (r.waf = { enabled: true, rateLimitPer5Minutes: 1000 })));
    expect(Object.values(waf.resource.aws_wafv2_web_acl_association as ProviderBlock)[0]).toMatchObject({
      resource_arn: ref("aws_lb", "alb_load-balancer", "arn"),
      web_acl_arn: ref("aws_wafv2_web_acl", "waf_web-acl", "arn"),
    });
  });

  it("routes every developer's target group to the host and watches it", () => {
    expect(at("aws_lb_target_group_attachment", "alb_tg-dev1-host").target_id).toBe(ref("aws_instance", "host", "id"));
    expect(at("aws_cloudwatch_metric_alarm", "monitoring_alarm-dev1-unhealthy").dimensions).toEqual({
      LoadBalancer: ref("aws_lb", "alb_load-balancer", "arn_suffix"),
      TargetGroup: ref("aws_lb_target_group", "alb_tg-dev1", "arn_suffix"),
    });
  });

  it("sends every alarm, auto-recovery included, to the one topic", () => {
    const alarms = all("aws_cloudwatch_metric_alarm");
    // Host CPU, memory, data and root disk, ALB 5xx; per developer unhealthy, restarts, disk share; auto-recovery.
    expect(alarms).toHaveLength(5 + 3 * fleet.developers.length + 1);
    for (const alarm of alarms)
      expect([alarm.alarm_name, (alarm.alarm_actions as string[]).includes(topic)]).toEqual([alarm.alarm_name, true]);
    expect(at("aws_cloudwatch_event_target", "monitoring_api-key-rotation-reminder-target").arn).toBe(topic);
  });

  it("backs up the data volume by the tag it carries, and the host archives into the backup layer's bucket", () => {
    const selection = at("aws_backup_selection", "backup_data-volume");
    expect(selection.resources).toEqual([`arn:aws:ec2:ap-southeast-7:${account}:volume/*`]);
    expect(selection.condition).toEqual([
      { string_equals: [{ key: "aws:ResourceTag/backup-plan", value: at("aws_backup_plan", "backup_plan").name }] },
    ]);
    expect(at("aws_ebs_volume", "data_volume").tags["backup-plan"]).toBe(at("aws_backup_plan", "backup_plan").name);
    expect(at("aws_ssm_association", "artifacts_apply").parameters).toMatchObject({
      archiveBucket: ref("aws_s3_bucket", "backup_archive_bucket", "id"),
      dataVolumeId: ref("aws_ebs_volume", "data_volume", "id"),
    });
  });

  it("applies the host files only once the data volume is attached and the log groups exist", () => {
    const dependsOn = at("aws_ssm_association", "artifacts_apply").depends_on as string[];
    expect(dependsOn).toContain("aws_volume_attachment.data_volume");
    const logGroups = Object.keys(config.resource.aws_cloudwatch_log_group as ProviderBlock)
      .filter((name) => name.startsWith("monitoring_"))
      .map((name) => `aws_cloudwatch_log_group.${name}`);
    expect(logGroups).toHaveLength(2 + fleet.developers.length);
    expect(dependsOn).toEqual(expect.arrayContaining(logGroups));
  });
});

describe("across the stack", () => {
  it("never puts a secret value in Terraform: no versions, no random provider, no secret strings", () => {
    expect(config.resource.aws_secretsmanager_secret_version).toBeUndefined();
    expect(Object.keys(config.provider as object)).toEqual(["aws"]);
    expect(everything).not.toMatch(/secret_string|secret_binary|random_password|"password":\s*"[^$]/);
    expect(everything).not.toMatch(/sk-ant-/);
  });

  it("reads the one account id from the fleet key's ARN, wherever a policy needs it, and looks nothing up", () => {
    const accountIds = [...everything.matchAll(/element\(split\(\\":\\", ([^)]+)\), 4\)/g)].map((m) => m[1]);
    expect(accountIds.length).toBeGreaterThanOrEqual(6);
    expect(new Set(accountIds)).toEqual(new Set(["aws_kms_key.secrets_key.arn"]));
    expect(everything).not.toMatch(/aws_caller_identity|:\d{12}:/);
    const keyPolicy = parseDocument(at("aws_kms_key_policy", "key-policy_fleet-key").policy as string);
    expect(keyPolicy.Statement[0].Principal.AWS).toBe(`arn:aws:iam::${account}:root`);
  });

  it('grants Resource "*" only for actions that have no resource scope, and no delete, s3:* or IAM action', () => {
    const statements = all("aws_iam_role_policy").flatMap((p) => parseDocument(p.policy as string).Statement as ProviderBlock[]);
    expect(
      statements
        .filter((s) => s.Resource === "*")
        .map((s) => s.Sid)
        .sort(),
    ).toEqual([
      "AgentChecksSessionLogGroup",
      "AgentOpensSessions",
      "AgentReceivesCommands",
      "FindDataVolume",
      "FindFlowLogGroup",
      "PublishFleetMetrics",
    ]);
    // ec2messages:DeleteMessage acknowledges a delivered Run Command message: no data.
    expect(statements.flatMap((s) => [s.Action].flat())).not.toContainEqual(
      expect.stringMatching(/^(s3|ec2|secretsmanager|logs|kms|ssm|backup):Delete|^s3:\*|^iam:/),
    );
    expect(config.resource.aws_iam_role_policy_attachment).not.toHaveProperty("compute_ssm-core");
    const ssmOnEverything = statements.filter((s) => [s.Resource].flat().includes("*")).flatMap((s) => [s.Action].flat());
    expect(ssmOnEverything.filter((a: string) => a.startsWith("ssm:"))).toEqual([]);
  });

  it("names every alarm <project>-<environment>-..., the pattern the fleet key lets CloudWatch publish for", () => {
    const keyPolicy = parseDocument(at("aws_kms_key_policy", "key-policy_fleet-key").policy as string);
    const alarms = keyPolicy.Statement.find((st: ProviderBlock) => st.Sid === "FleetAlarmsPublishToEncryptedTopic");
    const pattern = alarms.Condition.ArnLike["aws:SourceArn"] as string;
    expect(pattern.endsWith(":alarm:code-server-dev-*")).toBe(true);
    const names = all("aws_cloudwatch_metric_alarm").map((a) => a.alarm_name as string);
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((n) => !n.startsWith("code-server-dev-"))).toEqual([]);
  });

  it("opens SSH to no fixed address, let alone 0.0.0.0/0", () => {
    expect(everything).not.toMatch(/"from_port":22[^}]*0\.0\.0\.0\/0/);
  });

  it("tags every resource with project, environment and managed-by through the provider", () => {
    expect((config.provider as ProviderBlock).aws[0].default_tags).toEqual([
      { tags: { project: "code-server", environment: "dev", "managed-by": "cdktf" } },
    ]);
  });

  it("tags per-developer resources with their developer", () => {
    for (const type of ["aws_secretsmanager_secret", "aws_lb_target_group", "aws_lb_listener_rule", "aws_cloudwatch_log_group"]) {
      const tagged = all(type).filter((r) => r.tags?.developer);
      expect([type, new Set(tagged.map((r) => r.tags.developer)).size]).toEqual([type, fleet.developers.length]);
    }
  });
});

describe("outputs", () => {
  it("describes every output and gives each developer's URL and secret names", () => {
    for (const [name, output] of Object.entries(config.output as Record<string, ProviderBlock>)) {
      expect([name, typeof output.description]).toEqual([name, "string"]);
    }
    expect(config.output.developer_urls.value.dev1).toBe("https://dev1.dev.example.com");
    expect(config.output.secret_names.value.dev1).toEqual({
      password: ref("aws_secretsmanager_secret", "secrets_dev1-password", "name"),
      anthropic_api_key: ref("aws_secretsmanager_secret", "secrets_dev1-anthropic-api-key", "name"),
    });
    expect(config.output.instance_id.value).toBe(ref("aws_instance", "host", "id"));
    expect(config.output.host_files_hash.value).toBe(at("aws_ssm_association", "artifacts_apply").parameters.hostFilesHash);
  });
});

describe("state backend", () => {
  it("keeps local state in the project root, outside cdktf.out", () => {
    expect(config.terraform.backend).toEqual({ local: { path: "../../../terraform.code-server-dev.tfstate" } });
  });

  it("uses an encrypted S3 backend with S3-native locking and no DynamoDB table when the roster asks", () => {
    const s3 = editedFleet((r) => (r.state = { backend: "s3", bucket: "acme-tfstate" }));
    // The backend alone: the rest of this stack is the default roster's, synthesized above.
    const stack = new DevEnvironmentStack(Testing.app(), "code-server-dev", stackProps(s3));
    const backend = stack.node.findAll().find((c): c is S3Backend => c instanceof S3Backend);
    expect(backend?.toTerraform().terraform.backend).toEqual({
      s3: { bucket: "acme-tfstate", key: "code-server/dev/terraform.tfstate", region: "ap-southeast-7", encrypt: true, use_lockfile: true },
    });
  });
});
