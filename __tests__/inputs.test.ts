/**
 * EnvironmentInputs: the plan-time variables, each with a type, a description, validation and
 * (where one is safe) a default, under the plain names operators write in terraform.tfvars.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TerraformOutput } from "cdktf";
import { ALLOWED_SSL_POLICIES, DEFAULT_SSL_POLICY, EnvironmentInputs, VARIABLES } from "../src/constructs/inputs";
import { synthLayer } from "./helpers/layer";
import type { ProviderBlock } from "../src/terraform/plan-json";
import { PROJECT_ROOT } from "./helpers/fleet";

const { config } = synthLayer((scope) => new EnvironmentInputs(scope, "inputs"));
const variables = config.variable as Record<string, ProviderBlock>;

describe("variables", () => {
  it("are every plan-time value, under its plain Terraform name, with a type, a description and no null", () => {
    expect(Object.keys(variables).sort()).toEqual(Object.keys(VARIABLES).sort());
    for (const [name, variable] of Object.entries(variables)) {
      expect([name, typeof variable.type, (variable.description as string).length > 20, variable.nullable]).toEqual([
        name,
        "string",
        true,
        false,
      ]);
    }
  });

  it("are each listed in terraform.tfvars.example, set or as a commented default", () => {
    const example = readFileSync(join(PROJECT_ROOT, "terraform.tfvars.example"), "utf8");
    const listed = new Set([...example.matchAll(/^#? ?([a-z_]+) += /gm)].map((m) => m[1]));
    expect(Object.keys(VARIABLES).filter((name) => !listed.has(name))).toEqual([]);
  });

  it("require only the values that have no sensible default: the hosted zone and the alarm e-mails", () => {
    const required = Object.entries(variables).filter(([, v]) => !("default" in v));
    expect(required.map(([name]) => name).sort()).toEqual(["alarm_emails", "hosted_zone_id"]);
  });

  it("default to the documented sizes and to protection switched on", () => {
    expect(Object.fromEntries(Object.entries(variables).map(([name, v]) => [name, v.default]))).toEqual({
      hosted_zone_id: undefined,
      alarm_emails: undefined,
      certificate_arn: "",
      admin_cidrs: [],
      allowed_cidrs: ["0.0.0.0/0"],
      ami_id: "",
      vpc_cidr: "10.40.0.0/16",
      data_volume_size_gb: 500,
      log_retention_days: 30,
      budget_amount_usd: 400,
      ssl_policy: "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
      termination_protection: true,
      alb_deletion_protection: true,
    });
  });

  it("are read through typed accessors as references to those names", () => {
    const { config: probed } = synthLayer((scope) => {
      const read = new EnvironmentInputs(scope, "inputs");
      new TerraformOutput(scope, "probe", {
        value: {
          zone: read.hostedZoneId,
          certificate: read.certificateArn,
          admins: read.adminCidrs,
          allowed: read.allowedCidrs,
          emails: read.alarmEmails,
          ami: read.amiId,
          cidr: read.vpcCidr,
          size: read.dataVolumeSizeGb,
          retention: read.logRetentionDays,
          budget: read.budgetAmountUsd,
          tls: read.sslPolicy,
          termination: read.terminationProtection,
          deletion: read.albDeletionProtection,
        },
      });
    });
    expect((probed.output as ProviderBlock).probe.value).toEqual({
      zone: "${var.hosted_zone_id}",
      certificate: "${var.certificate_arn}",
      admins: "${var.admin_cidrs}",
      allowed: "${var.allowed_cidrs}",
      emails: "${var.alarm_emails}",
      ami: "${var.ami_id}",
      cidr: "${var.vpc_cidr}",
      size: "${var.data_volume_size_gb}",
      retention: "${var.log_retention_days}",
      budget: "${var.budget_amount_usd}",
      tls: "${var.ssl_policy}",
      termination: "${var.termination_protection}",
      deletion: "${var.alb_deletion_protection}",
    });
  });
});

describe("validation", () => {
  const conditions = (name: string) => (variables[name].validation as ProviderBlock[]).map((v) => v.condition as string);

  it("never lets SSH open to the whole internet", () => {
    expect(conditions("admin_cidrs")).toContain('${alltrue([for c in var.admin_cidrs : !endswith(c, "/0")])}');
  });

  it("lets 1 to 25 IPv4 blocks reach the ALB: two rules each within a security group's 60", () => {
    expect(conditions("allowed_cidrs")).toEqual([
      "${length(var.allowed_cidrs) >= 1 && length(var.allowed_cidrs) <= 25}",
      "${alltrue([for c in var.allowed_cidrs : can(cidrnetmask(c))])}",
    ]);
  });

  it("accepts only TLS 1.3 listener policies, post-quantum first", () => {
    expect(conditions("ssl_policy")).toEqual([`\${contains(${JSON.stringify(ALLOWED_SSL_POLICIES)}, var.ssl_policy)}`]);
    expect(ALLOWED_SSL_POLICIES.every((p) => p.startsWith("ELBSecurityPolicy-TLS13-"))).toBe(true);
    expect(DEFAULT_SSL_POLICY).toBe(ALLOWED_SSL_POLICIES[0]);
  });

  it("requires at least one alarm e-mail and a /16 to /22 VPC", () => {
    expect(conditions("alarm_emails")[0]).toBe("${length(var.alarm_emails) > 0}");
    expect(conditions("vpc_cidr")[0]).toContain("<= 22");
  });
});
