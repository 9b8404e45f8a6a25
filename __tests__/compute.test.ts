/**
 * ComputeLayer: the host (IMDSv2, hop limit 1, the roster's type and architecture), its root
 * volume, the separate data volume and attachment at their pinned addresses, EC2 auto-recovery
 * and the host role's least-privilege policies, with ARNs from the stack's AwsEnvironment.
 */
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { DataAwsSsmParameter } from "@cdktf/provider-aws/lib/data-aws-ssm-parameter";
import { EbsVolume } from "@cdktf/provider-aws/lib/ebs-volume";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { Instance } from "@cdktf/provider-aws/lib/instance";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { VolumeAttachment } from "@cdktf/provider-aws/lib/volume-attachment";
import { TerraformVariable, Testing } from "cdktf";
import type { Construct } from "constructs";
import { ComputeLayer, type ComputeLayerProps } from "../src/modules/compute";
import { classifiedAlarms } from "../src/modules/monitoring";
import { TERRAFORM_ADDRESSES } from "../src/naming";
import type { Fleet } from "../src/roster";
import { defaultFleet, editedFleet } from "./helpers/fleet";
import { parseJsonencode } from "./helpers/hcl-object";
import { ACCOUNT, refToOnly, standIns, synthLayer } from "./helpers/layer";
import { type Config, resources } from "./helpers/synth";

const fleet = defaultFleet();
const TOPIC = `arn:aws:sns:ap-southeast-7:${ACCOUNT}:alarms`;

function compute(scope: Construct, overrides: Partial<ComputeLayerProps> = {}, layerFleet: Fleet = fleet): ComputeLayer {
  standIns.aws(scope);
  return new ComputeLayer(scope, "compute", {
    fleet: layerFleet,
    subnet: new Subnet(scope, "subnet", { vpcId: "vpc-1", cidrBlock: "10.0.0.0/24" }),
    securityGroup: new SecurityGroup(scope, "sg", {}),
    key: standIns.key(scope),
    userData: "#!/bin/bash\necho ${not-a-terraform-template}\n",
    alarmTopicArn: TOPIC,
    ...overrides,
  });
}

const { json, config } = synthLayer((scope) => compute(scope));
const instance = Object.values<Config>(config.resource.aws_instance)[0];
const keyArn = refToOnly(config, "aws_kms_key", "arn");
const instanceId = `\${aws_instance.${TERRAFORM_ADDRESSES.instance.name}.id}`;

describe("host", () => {
  it("requires IMDSv2 with hop limit 1, so containers cannot reach the role's credentials", () => {
    expect(instance.metadata_options).toEqual({ http_endpoint: "enabled", http_tokens: "required", http_put_response_hop_limit: 1 });
  });

  it("runs the roster's type with detailed monitoring, EBS optimisation, termination protection, a public IP and unlimited credits", () => {
    expect(json).toHaveResourceWithProperties(Instance, {
      instance_type: "t3.2xlarge",
      monitoring: true,
      ebs_optimized: true,
      disable_api_termination: true,
      associate_public_ip_address: true,
      credit_specification: { cpu_credits: "unlimited" },
      subnet_id: refToOnly(config, "aws_subnet", "id"),
      vpc_security_group_ids: [refToOnly(config, "aws_security_group", "id")],
      tags: { Name: "code-server-dev-host" },
    });
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

  it("escapes Terraform template syntax in user_data, never replaces the host for it, and has no inline EBS device", () => {
    expect(instance.user_data).toBe("#!/bin/bash\necho $${not-a-terraform-template}\n");
    expect(json).not.toContain("user_data_replace_on_change");
    expect(json).not.toContain("ebs_block_device");
  });

  it("looks up Canonical's amd64 image when no AMI is given, and ignores later AMI changes", () => {
    expect(json).toHaveDataSourceWithProperties(DataAwsSsmParameter, {
      name: "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id",
    });
    expect(instance.ami).toBe(`\${${refToOnly(config, "aws_ssm_parameter", "insecure_value", "data").slice(2, -1)}}`);
    expect(instance.lifecycle).toEqual({ ignore_changes: ["ami"] });
  });

  it("uses a given AMI without any lookup", () => {
    const { json: given } = synthLayer((scope) => compute(scope, { amiId: "ami-0123456789abcdef0" }));
    expect(given).toHaveResourceWithProperties(Instance, { ami: "ami-0123456789abcdef0" });
    expect(given).not.toHaveDataSource(DataAwsSsmParameter);
  });

  it("looks up the image only when the ami_id variable is empty", () => {
    const { json: planned } = synthLayer((scope) =>
      compute(scope, { amiId: new TerraformVariable(scope, "ami-id", { type: "string" }).stringValue }),
    );
    expect(planned).toHaveDataSourceWithProperties(DataAwsSsmParameter, { count: '${(var.ami-id == "") ? 1 : 0}' });
    expect(planned).toHaveResourceWithProperties(Instance, {
      ami: expect.stringMatching(
        /^\$\{\(var\.ami-id == ""\) \? one\(data\.aws_ssm_parameter\.[\w-]+\[\*\]\.insecure_value\) : var\.ami-id\}$/,
      ),
    });
  });

  it("looks up the arm64 image for a Graviton host and sets no CPU credits on a non-burstable one", () => {
    const graviton = editedFleet((r) => {
      r.host = { instanceType: "m7g.2xlarge" };
    });
    const { json: arm, config: armConfig } = synthLayer((scope) => compute(scope, {}, graviton));
    expect(arm).toHaveDataSourceWithProperties(DataAwsSsmParameter, { name: expect.stringContaining("/current/arm64/hvm/") });
    expect(Object.values<Config>(armConfig.resource.aws_instance)[0].credit_specification).toBeUndefined();
  });

  it("recovers the host on a failed system status check and tells the alarm topic", () => {
    expect(json).toHaveResourceWithProperties(CloudwatchMetricAlarm, {
      alarm_name: "code-server-dev-host-auto-recovery",
      namespace: "AWS/EC2",
      metric_name: "StatusCheckFailed_System",
      dimensions: { InstanceId: instanceId },
      alarm_actions: ["arn:aws:automate:ap-southeast-7:ec2:recover", TOPIC],
      ok_actions: [TOPIC],
    });
  });

  it("keeps recovery armed while a scheduled host sleeps: no status check while stopped reads as passing", () => {
    const recovery = (c: Config) => resources(c, "aws_cloudwatch_metric_alarm")[0][1];
    expect("treat_missing_data" in recovery(config)).toBe(false);
    const scheduled = editedFleet((roster) => {
      roster.schedule = { timezone: "Asia/Bangkok", days: ["mon"], start: "08:00", stop: "20:00" };
    });
    const { config: asleep } = synthLayer((scope) => compute(scope, {}, scheduled));
    expect(recovery(asleep).treat_missing_data).toBe("notBreaching");
    let declared: ReturnType<typeof classifiedAlarms> = [];
    Testing.synthScope((scope) => {
      compute(scope);
      declared = classifiedAlarms(scope);
    });
    expect(declared.map((a) => [a.alarmName, a.sleepsWithHost])).toEqual([["code-server-dev-host-auto-recovery", false]]);
  });
});

describe("data volume", () => {
  it("is a separate encrypted gp3 volume in the host's zone that no deploy may destroy, tagged with its backup plan", () => {
    expect(json).toHaveResourceWithProperties(EbsVolume, {
      availability_zone: "ap-southeast-7a",
      size: 500,
      type: "gp3",
      encrypted: true,
      kms_key_id: keyArn,
      lifecycle: { prevent_destroy: true },
      tags: { Name: "code-server-dev-data", "backup-plan": "code-server-dev-data-volume" },
    });
  });

  it("is attached as /dev/sdf, detached only from a stopped host", () => {
    expect(json).toHaveResourceWithProperties(VolumeAttachment, {
      device_name: "/dev/sdf",
      volume_id: `\${aws_ebs_volume.${TERRAFORM_ADDRESSES.dataVolume.name}.id}`,
      instance_id: instanceId,
      stop_instance_before_detaching: true,
    });
  });

  it("keeps the addresses the restore runbook prints, in any stack", () => {
    for (const { type, name } of Object.values(TERRAFORM_ADDRESSES)) expect(Object.keys(config.resource[type] as Config)).toEqual([name]);
  });
});

describe("host role", () => {
  const policies = new Map(
    resources(config, "aws_iam_role_policy").map(([, p]) => [p.name as string, parseJsonencode(p.policy as string)]),
  );
  const statements = [...policies.values()].flatMap((p) => p.Statement as Config[]);
  const sid = (name: string) => statements.find((s) => s.Sid === name);

  it("is assumed by EC2 and attached to the host through its profile", () => {
    expect(JSON.parse(Object.values<Config>(config.resource.aws_iam_role)[0].assume_role_policy as string).Statement).toEqual([
      { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
    ]);
    expect(instance.iam_instance_profile).toBe(refToOnly(config, "aws_iam_instance_profile", "name"));
  });

  it("has the SSM managed-instance core policy, for Session Manager and the association", () => {
    expect(json).toHaveResourceWithProperties(IamRolePolicyAttachment, {
      policy_arn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    });
  });

  it('uses Resource "*" only for actions that have no resource scope', () => {
    const wildcard = statements.filter((s) => s.Resource === "*").map((s) => [s.Sid, s.Action]);
    expect(wildcard.sort()).toEqual([
      ["FindDataVolume", ["ec2:DescribeVolumes", "ec2:DescribeSnapshots"]],
      ["PublishFleetMetrics", "cloudwatch:PutMetricData"],
    ]);
    expect(sid("PublishFleetMetrics")?.Condition).toEqual({ StringLike: { "cloudwatch:namespace": "code-server/dev*" } });
    expect(statements.flatMap((s) => [s.Action].flat())).not.toContainEqual(expect.stringMatching(/Delete|^s3:\*|^iam:/));
  });

  it("reads this fleet's secrets and writes only password secrets", () => {
    expect(sid("ReadFleetSecrets")?.Resource).toBe(`arn:aws:secretsmanager:ap-southeast-7:${ACCOUNT}:secret:code-server/dev/*`);
    expect(sid("FillMissingPasswords")).toMatchObject({
      Action: "secretsmanager:PutSecretValue",
      Resource: `arn:aws:secretsmanager:ap-southeast-7:${ACCOUNT}:secret:code-server/dev/*/password-??????`,
    });
    expect(sid("UseFleetKey")?.Resource).toBe(keyArn);
  });

  it("writes only the fleet's log groups and snapshots only the data volume", () => {
    expect(sid("WriteFleetLogs")?.Resource).toEqual([
      `arn:aws:logs:ap-southeast-7:${ACCOUNT}:log-group:/aws/ec2/code-server/*`,
      `arn:aws:logs:ap-southeast-7:${ACCOUNT}:log-group:/aws/ec2/code-server/*:log-stream:*`,
    ]);
    expect(sid("SnapshotDataVolume")?.Resource).toEqual([
      `arn:aws:ec2:ap-southeast-7:${ACCOUNT}:volume/\${aws_ebs_volume.data_volume.id}`,
      "arn:aws:ec2:ap-southeast-7::snapshot/*",
    ]);
    expect(sid("TagNewSnapshots")?.Condition).toEqual({ StringEquals: { "ec2:CreateAction": "CreateSnapshot" } });
  });
});

describe("props validation", () => {
  test.each<[string, Partial<ComputeLayerProps>, RegExp]>([
    [
      "an empty data volume",
      { dataVolumeSizeGb: 0 },
      /^ComputeLayer stack\/compute: dataVolumeSizeGb 0 must be a whole number of GiB from 1 to 16384$/,
    ],
    [
      "a data volume above gp3's size",
      { dataVolumeSizeGb: 16385 },
      /^ComputeLayer stack\/compute: dataVolumeSizeGb 16385 must be a whole number of GiB from 1 to 16384$/,
    ],
    [
      "a fractional size",
      { dataVolumeSizeGb: 1.5 },
      /^ComputeLayer stack\/compute: dataVolumeSizeGb 1\.5 must be a whole number of GiB from 1 to 16384$/,
    ],
    [
      "an AMI name",
      { amiId: "ubuntu-22.04" },
      /^ComputeLayer stack\/compute: amiId "ubuntu-22\.04" is not an AMI id such as ami-0123456789abcdef0, or ""$/,
    ],
    [
      "user_data above 16 KiB",
      { userData: `#!/bin/bash\n${"#".repeat(16 * 1024)}` },
      /^ComputeLayer stack\/compute: userData is 16396 bytes; EC2 accepts at most 16384$/,
    ],
  ])("refuses %s", (_, overrides, message) => {
    expect(() => Testing.synthScope((scope) => compute(scope, overrides))).toThrow(message);
  });

  it("refuses a fleet without a zone", () => {
    expect(() => Testing.synthScope((scope) => compute(scope, {}, { ...fleet, availabilityZones: [] }))).toThrow(
      /^ComputeLayer stack\/compute: fleet\.availabilityZones is empty; the host and its data volume need a zone$/,
    );
  });
});
