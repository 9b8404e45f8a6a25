/**
 * Compute layer: the host's IAM role (least privilege), the EC2 host, its root volume and the
 * separate data volume that holds every workspace, and EC2 auto-recovery.
 *
 * Nothing here depends on who is in the roster: adding a developer never replaces or updates
 * the instance, its user_data or the data volume (DESIGN.md invariant 1).
 */
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { DataAwsSsmParameter } from "@cdktf/provider-aws/lib/data-aws-ssm-parameter";
import { EbsVolume } from "@cdktf/provider-aws/lib/ebs-volume";
import { IamInstanceProfile } from "@cdktf/provider-aws/lib/iam-instance-profile";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { Instance } from "@cdktf/provider-aws/lib/instance";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import type { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { VolumeAttachment } from "@cdktf/provider-aws/lib/volume-attachment";
import { Fn, type IResolvable } from "cdktf";
import { Construct } from "constructs";
import { DATA_DEVICE_NAME, TERRAFORM_ADDRESSES, hostInstanceName, logGroupNames, metricNames, partitionOf, secretPrefix } from "../naming";
import type { Fleet } from "../roster";
import { DEBIAN_ARCHITECTURE } from "../roster/instance-types";
import { choose, countWhen, escapeTemplate, isEmptyString, oneOf } from "./expressions";
import { accountIdOf } from "./key-policy";

/** SPEC 2.1: 50 GB gp3 boot disk. */
export const ROOT_VOLUME_GB = 50;
/** Tag the backup plan's selection also records on the data volume. */
export const BACKUP_TAG = { key: "backup-plan", value: (fleet: Fleet) => `${fleet.namePrefix}-daily` };

export interface ComputeLayerProps {
  readonly fleet: Fleet;
  readonly subnet: Subnet;
  readonly securityGroup: SecurityGroup;
  /** Encrypts the root and data volumes. */
  readonly key: KmsKey;
  /** AMI id; empty: Canonical's current Ubuntu 22.04 for the host's architecture, looked up at plan time. */
  readonly amiId: string;
  readonly dataVolumeSizeGb: number;
  readonly terminationProtection: IResolvable | boolean;
  /** The roster-independent bootstrap (renderBootstrap). */
  readonly userData: string;
  /** SNS topic the auto-recovery alarm also notifies. */
  readonly alarmTopicArn: string;
}

export class ComputeLayer extends Construct {
  readonly role: IamRole;
  readonly instance: Instance;
  readonly dataVolume: EbsVolume;
  readonly dataVolumeAttachment: VolumeAttachment;
  readonly recoveryAlarm: CloudwatchMetricAlarm;

  constructor(scope: Construct, id: string, props: ComputeLayerProps) {
    super(scope, id);
    const { fleet, key } = props;
    const partition = partitionOf(fleet.region);
    const account = accountIdOf(key.arn);
    const zone = fleet.availabilityZones[0];

    this.role = new IamRole(this, "role", {
      name: `${fleet.namePrefix}-host`,
      description: `Instance role of the ${fleet.namePrefix} code-server host`,
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
    });
    // Session Manager (shell access without SSH) and the SSM association that applies host files.
    new IamRolePolicyAttachment(this, "ssm-core", {
      role: this.role.name,
      policyArn: `arn:${partition}:iam::aws:policy/AmazonSSMManagedInstanceCore`,
    });

    const secretArn = (suffix: string) =>
      `arn:${partition}:secretsmanager:${fleet.region}:${account}:secret:${secretPrefix(fleet)}${suffix}`;
    const logGroupArn = `arn:${partition}:logs:${fleet.region}:${account}:log-group:${logGroupNames(fleet).base}/*`;
    const policies: Record<string, object[]> = {
      secrets: [
        {
          Sid: "ReadFleetSecrets",
          Effect: "Allow",
          Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
          Resource: secretArn("*"),
        },
        // Only passwords are written by the host (generated on first use); API keys are set by operators.
        { Sid: "FillMissingPasswords", Effect: "Allow", Action: "secretsmanager:PutSecretValue", Resource: secretArn("*/password-??????") },
        { Sid: "UseFleetKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: key.arn },
      ],
      telemetry: [
        {
          Sid: "WriteFleetLogs",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
          Resource: [logGroupArn, `${logGroupArn}:log-stream:*`],
        },
        {
          // PutMetricData has no resource type; the namespace condition is the scope.
          Sid: "PublishFleetMetrics",
          Effect: "Allow",
          Action: "cloudwatch:PutMetricData",
          Resource: "*",
          Condition: { StringLike: { "cloudwatch:namespace": `${metricNames(fleet).hostNamespace}*` } },
        },
      ],
    };

    this.dataVolume = new EbsVolume(this, "data", {
      availabilityZone: zone,
      size: props.dataVolumeSizeGb,
      type: "gp3",
      encrypted: true,
      kmsKeyId: key.arn,
      tags: { Name: `${fleet.namePrefix}-data`, [BACKUP_TAG.key]: BACKUP_TAG.value(fleet) },
      // Every workspace lives here: a deploy must never destroy it (invariant 2).
      lifecycle: { preventDestroy: true },
    });
    this.dataVolume.overrideLogicalId(TERRAFORM_ADDRESSES.dataVolume.name);
    const volumeArn = `arn:${partition}:ec2:${fleet.region}:${account}:volume/${this.dataVolume.id}`;
    const snapshotArn = `arn:${partition}:ec2:${fleet.region}::snapshot/*`;
    policies.snapshots = [
      { Sid: "SnapshotDataVolume", Effect: "Allow", Action: "ec2:CreateSnapshot", Resource: [volumeArn, snapshotArn] },
      {
        Sid: "TagNewSnapshots",
        Effect: "Allow",
        Action: "ec2:CreateTags",
        Resource: snapshotArn,
        Condition: { StringEquals: { "ec2:CreateAction": "CreateSnapshot" } },
      },
      // Describe calls cannot be scoped to resources.
      { Sid: "FindDataVolume", Effect: "Allow", Action: ["ec2:DescribeVolumes", "ec2:DescribeSnapshots"], Resource: "*" },
    ];
    for (const [name, statements] of Object.entries(policies)) {
      new IamRolePolicy(this, `policy-${name}`, {
        name,
        role: this.role.id,
        policy: Fn.jsonencode({ Version: "2012-10-17", Statement: statements }),
      });
    }
    const profile = new IamInstanceProfile(this, "profile", { name: `${fleet.namePrefix}-host`, role: this.role.name });

    const lookUpAmi = isEmptyString(props.amiId);
    const ubuntu = new DataAwsSsmParameter(this, "ubuntu-ami", {
      count: countWhen(lookUpAmi),
      name: `/aws/service/canonical/ubuntu/server/22.04/stable/current/${DEBIAN_ARCHITECTURE[fleet.host.architecture]}/hvm/ebs-gp2/ami-id`,
    });

    this.instance = new Instance(this, "host", {
      ami: choose(lookUpAmi, oneOf(ubuntu, "insecure_value"), props.amiId),
      instanceType: fleet.host.instanceType,
      subnetId: props.subnet.id,
      vpcSecurityGroupIds: [props.securityGroup.id],
      associatePublicIpAddress: true,
      iamInstanceProfile: profile.name,
      monitoring: true,
      ebsOptimized: true,
      disableApiTermination: props.terminationProtection,
      creditSpecification: fleet.host.burstable ? { cpuCredits: "unlimited" } : undefined,
      metadataOptions: {
        httpEndpoint: "enabled",
        httpTokens: "required",
        // Containers sit one network hop further: they cannot reach the role's credentials.
        httpPutResponseHopLimit: 1,
      },
      rootBlockDevice: {
        volumeSize: ROOT_VOLUME_GB,
        volumeType: "gp3",
        encrypted: true,
        kmsKeyId: key.arn,
        deleteOnTermination: true,
      },
      userData: escapeTemplate(props.userData),
      tags: { Name: hostInstanceName(fleet) },
      // A new Ubuntu image must never replace the running host.
      lifecycle: { ignoreChanges: ["ami"] },
    });
    this.instance.overrideLogicalId(TERRAFORM_ADDRESSES.instance.name);

    this.dataVolumeAttachment = new VolumeAttachment(this, "data-attachment", {
      deviceName: DATA_DEVICE_NAME,
      volumeId: this.dataVolume.id,
      instanceId: this.instance.id,
      // Detach only from a stopped host, so the filesystem is clean.
      stopInstanceBeforeDetaching: true,
    });
    this.dataVolumeAttachment.overrideLogicalId(TERRAFORM_ADDRESSES.dataVolumeAttachment.name);

    this.recoveryAlarm = new CloudwatchMetricAlarm(this, "auto-recovery", {
      alarmName: `${fleet.namePrefix}-host-auto-recovery`,
      alarmDescription: "The host failed its system status check: EC2 recovers it onto healthy hardware (same id, volumes and IP).",
      namespace: "AWS/EC2",
      metricName: "StatusCheckFailed_System",
      dimensions: { InstanceId: this.instance.id },
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 2,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      alarmActions: [`arn:${partition}:automate:${fleet.region}:ec2:recover`, props.alarmTopicArn],
      okActions: [props.alarmTopicArn],
    });
  }
}
