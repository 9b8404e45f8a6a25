/**
 * ComputeLayer: the host (IMDSv2, hop limit 1, the roster's type and architecture, prevent_destroy,
 * a recorded architecture it may not leave in place), its root volume, the separate data volume and
 * attachment at their pinned addresses, EC2 auto-recovery and the host role's least-privilege
 * policies (the SSM agent's own, the fleet key only through services), with ARNs from the stack's
 * AwsEnvironment. What Terraform does with the guards is planned in plans/review-terraform.test.ts.
 */
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { DataAwsSsmParameter } from "@cdktf/provider-aws/lib/data-aws-ssm-parameter";
import { EbsVolume } from "@cdktf/provider-aws/lib/ebs-volume";
import { Instance } from "@cdktf/provider-aws/lib/instance";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { VolumeAttachment } from "@cdktf/provider-aws/lib/volume-attachment";
import { TerraformVariable, Testing } from "cdktf";
import type { Construct } from "constructs";
import { ComputeLayer, type ComputeLayerProps } from "../src/constructs/compute";
import { classifiedAlarms } from "../src/constructs/monitoring";
import { TerraformData } from "../src/constructs/terraform-data";
import { BACKUP_SELECTION_TAG, GUIDE_LINKS, TERRAFORM_ADDRESSES } from "../src/naming";
import type { Fleet } from "../src/roster";
import { defaultFleet, editedFleet } from "./helpers/fleet";
import { parseDocument } from "./helpers/hcl-object";
import { ACCOUNT, refToOnly, standIns, synthLayer } from "./helpers/layer";
import { resources } from "./helpers/synth";
import type { ProviderBlock, TerraformJson } from "../src/terraform/plan-json";

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
const instance = Object.values<ProviderBlock>(config.resource.aws_instance)[0];
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
    expect(instance.lifecycle.ignore_changes).toEqual(["ami"]);
  });

  it("has prevent_destroy: termination protection alone does not stop Terraform", () => {
    expect(instance.lifecycle.prevent_destroy).toBe(true);
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
    expect(Object.values<ProviderBlock>(armConfig.resource.aws_instance)[0].credit_specification).toBeUndefined();
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
    const recovery = (c: TerraformJson) => resources(c, "aws_cloudwatch_metric_alarm")[0][1];
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

describe("architecture guard", () => {
  const recordName = Object.keys(config.resource.terraform_data)[0];
  const recorded = `terraform_data.${recordName}.output.architecture`;

  it("records the architecture the host is built for, once: later changes to the record's input are ignored", () => {
    expect(json).toHaveResourceWithProperties(TerraformData, {
      input: { architecture: "x86_64" },
      lifecycle: { ignore_changes: ["input"] },
    });
  });

  it("refuses, as a precondition of the host, a roster of another architecture, naming both and the way forward", () => {
    const [precondition] = instance.lifecycle.precondition as ProviderBlock[];
    expect(precondition.condition).toBe(`\${${recorded} == "x86_64"}`);
    expect(precondition.error_message).toContain(`The host was built for \${${recorded}}, and the roster's host.instanceType is x86_64.`);
    expect(precondition.error_message).toContain(
      "To keep the host, choose a type of its architecture (arm64: t4g, m6g, m7g, c6g, c7g, r6g, r7g).",
    );
    expect(precondition.error_message).toContain(`as ${GUIDE_LINKS.architectureChange} says.`);
  });

  it("is replaced together with the host on purpose: replacing the record replaces the host", () => {
    expect(instance.lifecycle.replace_triggered_by).toEqual([`terraform_data.${recordName}`]);
  });

  it("names the other architecture's families for a Graviton roster", () => {
    const graviton = editedFleet((r) => {
      r.host = { instanceType: "m7g.2xlarge" };
    });
    const { config: arm } = synthLayer((scope) => compute(scope, {}, graviton));
    const [precondition] = (Object.values<ProviderBlock>(arm.resource.aws_instance)[0].lifecycle.precondition as ProviderBlock[]) ?? [];
    expect(precondition.condition).toMatch(/ == "arm64"\}$/);
    expect(precondition.error_message).toContain("(x86_64: t3, t3a, m5, m6i, m7i, c5, c6i, r5, r6i)");
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
      tags: { Name: "code-server-dev-data", [BACKUP_SELECTION_TAG]: "code-server-dev-data-volume" },
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
    for (const { type, name } of Object.values(TERRAFORM_ADDRESSES))
      expect(Object.keys(config.resource[type] as ProviderBlock)).toEqual([name]);
  });
});

describe("host role", () => {
  const policies = new Map(resources(config, "aws_iam_role_policy").map(([, p]) => [p.name as string, parseDocument(p.policy as string)]));
  const statements = [...policies.values()].flatMap((p) => p.Statement as ProviderBlock[]);
  const sid = (name: string) => statements.find((s) => s.Sid === name);

  it("is assumed by EC2 and attached to the host through its profile", () => {
    expect(JSON.parse(Object.values<ProviderBlock>(config.resource.aws_iam_role)[0].assume_role_policy as string).Statement).toEqual([
      { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
    ]);
    expect(instance.iam_instance_profile).toBe(refToOnly(config, "aws_iam_instance_profile", "name"));
  });

  it("has no managed policy: AmazonSSMManagedInstanceCore would read every SSM parameter of the account", () => {
    expect(config.resource.aws_iam_role_policy_attachment).toBeUndefined();
    expect(statements.flatMap((s) => [s.Action].flat())).not.toContainEqual(
      expect.stringMatching(/^ssm:GetParameter|^ssm:\*|Inventory|Manifest/),
    );
  });

  it("lets the SSM agent register, run the apply association's document, Run Command and sessions, and nothing else of SSM", () => {
    const agent = policies.get("ssm-agent")!.Statement as ProviderBlock[];
    expect(agent.map((st) => [st.Sid, st.Action, st.Resource])).toEqual([
      [
        "AgentReportsItsOwnState",
        [
          "ssm:UpdateInstanceInformation",
          "ssm:ListInstanceAssociations",
          "ssm:DescribeAssociation",
          "ssm:UpdateInstanceAssociationStatus",
          "ssm:PutComplianceItems",
        ],
        [
          `arn:aws:ec2:ap-southeast-7:${ACCOUNT}:instance/*`,
          `arn:aws:ssm:ap-southeast-7:${ACCOUNT}:association/*`,
          `arn:aws:ssm:ap-southeast-7:${ACCOUNT}:document/code-server-dev-apply-host-files`,
        ],
      ],
      [
        "AgentReadsApplyDocument",
        ["ssm:GetDocument", "ssm:DescribeDocument"],
        `arn:aws:ssm:ap-southeast-7:${ACCOUNT}:document/code-server-dev-apply-host-files`,
      ],
      ["AgentReceivesCommands", expect.arrayContaining(["ec2messages:GetMessages", "ec2messages:SendReply"]), "*"],
      ["AgentOpensSessions", expect.arrayContaining(["ssmmessages:OpenDataChannel", "ssmmessages:OpenControlChannel"]), "*"],
      ["AgentChecksSessionLogGroup", "logs:DescribeLogGroups", "*"],
    ]);
  });

  it("uses the fleet key only through Secrets Manager and S3, and directly only for its own sessions' data keys", () => {
    const key = policies.get("fleet-key")!.Statement as ProviderBlock[];
    expect(key).toEqual([
      {
        Sid: "HostUsesFleetKeyThroughServices",
        Effect: "Allow",
        Action: ["kms:Decrypt", "kms:GenerateDataKey"],
        Resource: keyArn,
        Condition: {
          StringEquals: { "kms:ViaService": ["secretsmanager.ap-southeast-7.amazonaws.com", "s3.ap-southeast-7.amazonaws.com"] },
        },
      },
      {
        Sid: "HostDecryptsItsSessionKeys",
        Effect: "Allow",
        Action: "kms:Decrypt",
        Resource: keyArn,
        Condition: { StringEquals: { "kms:EncryptionContext:aws:ssm:TargetId": instanceId } },
      },
    ]);
    const kms = statements.filter((st) => [st.Action].flat().some((a: string) => a.startsWith("kms:")));
    expect(kms.every((st) => st.Condition !== undefined)).toBe(true);
  });

  it('uses Resource "*" only for actions that have no resource scope', () => {
    const wildcard = statements.filter((s) => s.Resource === "*").map((s) => s.Sid);
    expect(wildcard.sort()).toEqual([
      "AgentChecksSessionLogGroup",
      "AgentOpensSessions",
      "AgentReceivesCommands",
      "FindDataVolume",
      "PublishFleetMetrics",
    ]);
    // ec2messages:DeleteMessage removes a delivered Run Command message from the agent's queue: no data.
    expect(statements.flatMap((s) => [s.Action].flat())).not.toContainEqual(
      expect.stringMatching(/^(s3|ec2|secretsmanager|logs|kms|ssm|backup):Delete|^s3:\*|^iam:/),
    );
  });

  it("grants no ssm: action on \"*\": the agent's calls are scoped to the account's instances, associations and the apply document", () => {
    const onEverything = statements.filter((s) => [s.Resource].flat().includes("*"));
    const ssmOnEverything = onEverything.flatMap((s) => [s.Action].flat()).filter((a: string) => a.startsWith("ssm:"));
    expect(ssmOnEverything).toEqual([]);
    const ssmActions = statements.flatMap((s) => [s.Action].flat()).filter((a: string) => a.startsWith("ssm:"));
    expect(ssmActions.length).toBeGreaterThanOrEqual(7);
  });

  it("publishes metrics only to the fleet's two namespaces, matched exactly (no prefix that another environment shares)", () => {
    expect(sid("PublishFleetMetrics")?.Condition).toEqual({
      StringEquals: { "cloudwatch:namespace": ["code-server/dev", "code-server/dev/containers"] },
    });
    const conditions = JSON.stringify(statements.map((s) => s.Condition ?? {}));
    expect(conditions).not.toMatch(/StringLike[^}]*cloudwatch:namespace/);
  });

  it("reads this fleet's secrets and writes only password secrets", () => {
    expect(sid("ReadFleetSecrets")?.Resource).toBe(`arn:aws:secretsmanager:ap-southeast-7:${ACCOUNT}:secret:code-server/dev/*`);
    expect(sid("FillMissingPasswords")).toMatchObject({
      Action: "secretsmanager:PutSecretValue",
      Resource: `arn:aws:secretsmanager:ap-southeast-7:${ACCOUNT}:secret:code-server/dev/*/password-??????`,
    });
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
