/**
 * Network, secrets, compute, storage and IAM (issue 3): named assertions on the synthesized
 * stack of the default roster. One synth for the whole file.
 */
import { secretName } from "../src/naming";
import { defaultFleet } from "./helpers/fleet";
import { byPath, type Config, only, parseJsonencode, refTo, resources, synthStack } from "./helpers/synth";

const fleet = defaultFleet();
const config = synthStack(fleet);
const instance = only(config, "aws_instance");
const hostSg = refTo(config, "aws_security_group", "network/host-sg", "id");
const albSg = refTo(config, "aws_security_group", "network/alb-sg", "id");
const keyArn = refTo(config, "aws_kms_key", "secrets/key", "arn");
const everything = JSON.stringify(config);

describe("network", () => {
  it("has public subnets in two availability zones of the region, the host in the first", () => {
    const subnets = resources(config, "aws_subnet").map(([, s]) => s);
    expect(subnets.map((s) => s.availability_zone).sort()).toEqual(["ap-southeast-7a", "ap-southeast-7b"]);
    expect(instance.subnet_id).toBe(refTo(config, "aws_subnet", "network/public-ap-southeast-7a", "id"));
  });

  it("routes the subnets to an internet gateway", () => {
    expect(only(config, "aws_route")).toMatchObject({
      destination_cidr_block: "0.0.0.0/0",
      gateway_id: refTo(config, "aws_internet_gateway", "network/igw", "id"),
    });
    expect(resources(config, "aws_route_table_association")).toHaveLength(2);
  });

  it("manages the VPC's default security group so that it allows nothing", () => {
    expect(only(config, "aws_default_security_group")).toMatchObject({ ingress: [], egress: [] });
  });

  it("lets the host in only from the ALB security group, only on roster ports", () => {
    const hostIngress = resources(config, "aws_vpc_security_group_ingress_rule")
      .map(([, r]) => r)
      .filter((r) => r.security_group_id === hostSg && r.from_port !== 22);
    expect(hostIngress.map((r) => r.from_port).sort()).toEqual(fleet.developers.map((d) => d.port));
    for (const rule of hostIngress) {
      expect(rule).toMatchObject({ referenced_security_group_id: albSg, ip_protocol: "tcp", to_port: rule.from_port });
      expect(rule.cidr_ipv4).toBeUndefined();
    }
  });

  it("opens SSH only per admin CIDR from the variable, none by default, never 0.0.0.0/0", () => {
    const ssh = resources(config, "aws_vpc_security_group_ingress_rule")
      .map(([, r]) => r)
      .filter((r) => r.from_port === 22);
    expect(ssh).toHaveLength(1);
    expect(ssh[0].for_each).toBe("${toset(var.admin_cidrs)}");
    expect(config.variable.admin_cidrs.default).toEqual([]);
    expect(config.variable.admin_cidrs.validation.map((v: Config) => v.condition)).toContainEqual(
      expect.stringContaining('!endswith(c, "/0")'),
    );
    expect(everything).not.toMatch(/"from_port":22[^}]*0\.0\.0\.0\/0/);
  });

  it("lets the ALB in on 443 and 80 from anywhere and out only to the host on developer ports", () => {
    const albIn = resources(config, "aws_vpc_security_group_ingress_rule")
      .map(([, r]) => r)
      .filter((r) => r.security_group_id === albSg);
    expect(albIn.map((r) => [r.from_port, r.cidr_ipv4]).sort()).toEqual(
      [
        [443, "0.0.0.0/0"],
        [80, "0.0.0.0/0"],
      ].sort(),
    );
    const albOut = resources(config, "aws_vpc_security_group_egress_rule")
      .map(([, r]) => r)
      .filter((r) => r.security_group_id === albSg);
    expect(albOut.map((r) => r.from_port).sort()).toEqual(fleet.developers.map((d) => d.port));
    for (const rule of albOut) expect(rule.referenced_security_group_id).toBe(hostSg);
  });

  it("gives the host only the outbound it needs: HTTPS, HTTP, DNS to the VPC resolver, NTP", () => {
    const hostOut = resources(config, "aws_vpc_security_group_egress_rule")
      .map(([, r]) => r)
      .filter((r) => r.security_group_id === hostSg);
    expect(hostOut.map((r) => `${r.ip_protocol}/${r.from_port}`).sort()).toEqual(["tcp/443", "tcp/53", "tcp/80", "udp/123", "udp/53"]);
    expect(hostOut.find((r) => r.from_port === 53)!.cidr_ipv4).toBe("${cidrhost(var.vpc_cidr, 2)}/32");
  });

  it("describes every security group and rule", () => {
    for (const type of ["aws_security_group", "aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"]) {
      for (const [id, r] of resources(config, type)) expect([id, r.description?.length > 10]).toEqual([id, true]);
    }
  });
});

describe("secrets", () => {
  it("creates one password and one API-key secret per developer, named predictably, KMS-encrypted, with a recovery window", () => {
    const secrets = resources(config, "aws_secretsmanager_secret").map(([, s]) => s);
    expect(secrets).toHaveLength(2 * fleet.developers.length);
    for (const developer of fleet.developers) {
      for (const kind of ["password", "anthropic-api-key"] as const) {
        const secret = secrets.find((s) => s.name === secretName(fleet, developer, kind));
        expect(secret).toMatchObject({ kms_key_id: keyArn, recovery_window_in_days: 30, tags: { developer: developer.name } });
      }
    }
    expect(secretName(fleet, fleet.developers[0], "password")).toBe("code-server/dev/dev1/password");
  });

  it("never puts a secret value in Terraform: no versions, no random provider, no secret strings", () => {
    expect(config.resource.aws_secretsmanager_secret_version).toBeUndefined();
    expect(Object.keys(config.provider)).toEqual(["aws"]);
    expect(everything).not.toMatch(/secret_string|secret_binary|random_password|"password":\s*"[^$]/);
    expect(everything).not.toMatch(/sk-ant-/);
  });

  it("uses a customer-managed key with rotation, administered by the account and usable by the host role", () => {
    expect(only(config, "aws_kms_key")).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30 });
    const policy = parseJsonencode(only(config, "aws_kms_key_policy").policy);
    const sid = (s: string) => policy.Statement.find((st: Config) => st.Sid === s);
    expect(sid("AccountAdministersKeyThroughIam").Principal.AWS).toMatch(
      /^arn:aws:iam::\$\{element\(split\(":", aws_kms_key\..*\.arn\), 4\)\}:root$/,
    );
    expect(sid("HostRoleUsesKey").Principal.AWS).toBe(refTo(config, "aws_iam_role", "compute/role", "arn"));
    expect(sid("CloudWatchLogsEncryptsFleetLogGroups").Principal.Service).toBe("logs.ap-southeast-7.amazonaws.com");
  });
});

describe("compute", () => {
  it("requires IMDSv2 with hop limit 1", () => {
    expect(instance.metadata_options).toEqual({ http_endpoint: "enabled", http_tokens: "required", http_put_response_hop_limit: 1 });
  });

  it("runs the roster's instance type with detailed monitoring, EBS optimisation, termination protection and unlimited credits", () => {
    expect(instance).toMatchObject({
      instance_type: "t3.2xlarge",
      monitoring: true,
      ebs_optimized: true,
      disable_api_termination: "${var.termination_protection}",
      credit_specification: { cpu_credits: "unlimited" },
      associate_public_ip_address: true,
    });
    expect(config.variable.termination_protection.default).toBe(true);
  });

  it("takes the AMI from ami_id, looking Canonical's parameter up only when it is empty, and ignores AMI drift", () => {
    const lookup = Object.values<Config>(config.data.aws_ssm_parameter)[0];
    expect(lookup.name).toBe("/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id");
    expect(lookup.count).toBe('${(var.ami_id == "") ? 1 : 0}');
    expect(instance.ami).toMatch(
      /^\$\{\(var\.ami_id == ""\) \? one\(data\.aws_ssm_parameter\.[\w-]+\[\*\]\.insecure_value\) : var\.ami_id\}$/,
    );
    expect(instance.lifecycle.ignore_changes).toEqual(["ami"]);
  });

  it("has a 50 GB gp3 root volume encrypted with the fleet key", () => {
    expect(instance.root_block_device).toEqual({
      volume_size: 50,
      volume_type: "gp3",
      encrypted: true,
      kms_key_id: keyArn,
      delete_on_termination: true,
    });
  });

  it("keeps the data volume separate: encrypted, in the host's AZ, prevent_destroy, tagged for backup, attached with a stop first", () => {
    const volume = only(config, "aws_ebs_volume");
    expect(volume).toMatchObject({
      availability_zone: "ap-southeast-7a",
      size: "${var.data_volume_size_gb}",
      type: "gp3",
      encrypted: true,
      kms_key_id: keyArn,
      lifecycle: { prevent_destroy: true },
      tags: { "backup-plan": "code-server-dev-daily" },
    });
    expect(config.variable.data_volume_size_gb.default).toBe(500);
    expect(only(config, "aws_volume_attachment")).toMatchObject({
      volume_id: refTo(config, "aws_ebs_volume", "compute/data", "id"),
      instance_id: refTo(config, "aws_instance", "compute/host", "id"),
      stop_instance_before_detaching: true,
    });
  });

  it("has no inline ebs_block_device and never replaces the host on a user_data change", () => {
    expect(everything).not.toContain("ebs_block_device");
    expect(everything).not.toContain("user_data_replace_on_change");
  });

  it("recovers the host on a failed system status check and tells the alarm topic", () => {
    const alarm = byPath(config, "aws_cloudwatch_metric_alarm", "compute/auto-recovery");
    expect(alarm).toMatchObject({
      metric_name: "StatusCheckFailed_System",
      namespace: "AWS/EC2",
      dimensions: { InstanceId: refTo(config, "aws_instance", "compute/host", "id") },
    });
    expect(alarm.alarm_actions).toEqual([
      "arn:aws:automate:ap-southeast-7:ec2:recover",
      refTo(config, "aws_sns_topic", "notifications/alarms", "arn"),
    ]);
  });
});

describe("IAM", () => {
  const rolePolicies = resources(config, "aws_iam_role_policy").map(([, p]) => ({ name: p.name, doc: parseJsonencode(p.policy) }));
  const statements = rolePolicies.flatMap((p) => p.doc.Statement.map((s: Config) => ({ policy: p.name, ...s })));
  const account = '${element(split(":", ' + keyArn.slice(2, -1) + "), 4)}";

  it('uses Resource "*" only for actions that have no resource scope', () => {
    const wildcard = statements.filter((s) => s.Resource === "*").map((s) => [s.Sid, s.Action]);
    expect(wildcard).toEqual([
      ["PublishFleetMetrics", "cloudwatch:PutMetricData"],
      ["FindDataVolume", ["ec2:DescribeVolumes", "ec2:DescribeSnapshots"]],
    ]);
    expect(statements.find((s) => s.Sid === "PublishFleetMetrics").Condition).toEqual({
      StringLike: { "cloudwatch:namespace": "code-server/dev*" },
    });
  });

  it("scopes secrets to this fleet's names, and writes only to password secrets", () => {
    const sid = (s: string) => statements.find((st) => st.Sid === s);
    expect(sid("ReadFleetSecrets").Resource).toBe(`arn:aws:secretsmanager:ap-southeast-7:${account}:secret:code-server/dev/*`);
    expect(sid("FillMissingPasswords")).toMatchObject({
      Action: "secretsmanager:PutSecretValue",
      Resource: `arn:aws:secretsmanager:ap-southeast-7:${account}:secret:code-server/dev/*/password-??????`,
    });
    expect(sid("UseFleetKey").Resource).toBe(keyArn);
  });

  it("scopes logs to the fleet's log groups, S3 to the artifact prefix and archive bucket, snapshots to the data volume", () => {
    const sid = (s: string) => statements.find((st) => st.Sid === s);
    expect(sid("WriteFleetLogs").Resource).toEqual([
      `arn:aws:logs:ap-southeast-7:${account}:log-group:/aws/ec2/code-server/*`,
      `arn:aws:logs:ap-southeast-7:${account}:log-group:/aws/ec2/code-server/*:log-stream:*`,
    ]);
    const artifacts = refTo(config, "aws_s3_bucket", "artifacts/host-files/bucket", "arn");
    expect(sid("ReadHostFiles").Resource).toBe(`${artifacts}/host-files/*`);
    expect(sid("ListHostFiles").Condition).toEqual({ StringLike: { "s3:prefix": ["host-files/*"] } });
    expect(sid("WriteAndVerifyWorkspaceArchives").Resource).toBe(`${refTo(config, "aws_s3_bucket", "backup/archive/bucket", "arn")}/*`);
    expect(sid("SnapshotDataVolume").Resource[0]).toBe(
      `arn:aws:ec2:ap-southeast-7:${account}:volume/${refTo(config, "aws_ebs_volume", "compute/data", "id")}`,
    );
    expect(statements.flatMap((s) => [s.Action].flat())).not.toContainEqual(expect.stringMatching(/Delete|^s3:\*|^iam:/));
  });

  it("attaches the SSM managed-instance core policy for Session Manager", () => {
    const attachments = resources(config, "aws_iam_role_policy_attachment").map(([, a]) => a.policy_arn);
    expect(attachments).toContain("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore");
  });
});

describe("tags", () => {
  it("tags every resource with project, environment and managed-by through the provider", () => {
    expect(config.provider.aws[0].default_tags).toEqual([{ tags: { project: "code-server", environment: "dev", "managed-by": "cdktf" } }]);
  });

  it("tags per-developer resources with their developer", () => {
    for (const type of ["aws_secretsmanager_secret", "aws_lb_target_group", "aws_lb_listener_rule", "aws_cloudwatch_log_group"]) {
      const tagged = resources(config, type).filter(([, r]) => r.tags?.developer);
      expect([type, new Set(tagged.map(([, r]) => r.tags.developer)).size]).toEqual([type, fleet.developers.length]);
    }
  });
});
