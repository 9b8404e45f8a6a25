/**
 * Compute layer: the host's IAM role (least privilege), the EC2 host, its root volume and the
 * separate data volume that holds every workspace, and EC2 auto-recovery.
 *
 * Nothing here depends on who is in the roster: adding a developer never replaces or updates
 * the instance, its user_data or the data volume.
 *
 * The host is guarded: `prevent_destroy` (termination protection does not stop Terraform, which
 * lifts it before it terminates), and a plan that would switch its architecture in place is
 * refused (see `architectureRecord`).
 */
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { DataAwsSsmParameter } from "@cdktf/provider-aws/lib/data-aws-ssm-parameter";
import { EbsVolume } from "@cdktf/provider-aws/lib/ebs-volume";
import { IamInstanceProfile } from "@cdktf/provider-aws/lib/iam-instance-profile";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { Instance } from "@cdktf/provider-aws/lib/instance";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import type { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { VolumeAttachment } from "@cdktf/provider-aws/lib/volume-attachment";
import { Fn, type IResolvable, Token } from "cdktf";
import { Construct } from "constructs";
import { hostGated } from "../identity/host-gate";
import {
  BACKUP_SELECTION_TAG,
  DATA_DEVICE_NAME,
  GUIDE_LINKS,
  TERRAFORM_ADDRESSES,
  applyDocumentName,
  backupPlanName,
  hostInstanceName,
  logGroupNames,
  metricNames,
  secretPrefix,
} from "../naming";
import { runningHost, type Fleet } from "../roster";
import { type Architecture, DEBIAN_ARCHITECTURE, familiesOf } from "../roster/instance-types";
import { AwsEnvironment, SESSION_CHANNEL_ACTIONS } from "./aws-environment";
import { address, choose, countWhen, escapeTemplate, expression, isEmptyString, oneOf } from "./expressions";
import { hostKeyStatements } from "./host-key-use";
import { TerraformData } from "./terraform-data";
import { VARIABLES } from "./inputs";
import { declareSleepsWithHost } from "./monitoring";
import { check, checkPattern, checkWholeRange } from "./validation";

/** The boot disk: 50 GB gp3. */
export const ROOT_VOLUME_GB = 50;
/** gp3 volume sizes, GiB. */
const GP3_SIZE_GIB = { min: 1, max: 16384 } as const;
/** EC2 refuses user_data above 16 KiB (before base64). */
export const MAX_USER_DATA_BYTES = 16 * 1024;

export interface ComputeLayerProps {
  /** The roster: instance type, architecture, the host's zone (the first). */
  readonly fleet: Fleet;
  /** The host's subnet, in the roster's first zone. */
  readonly subnet: Subnet;
  /** The host's security group. */
  readonly securityGroup: SecurityGroup;
  /** Encrypts the root and data volumes; the host role may use it. */
  readonly key: KmsKey;
  /**
   * AMI of the host (Ubuntu 22.04 of the host's architecture), or empty to look up Canonical's
   * current image in its public SSM parameter at plan time.
   * @default "" (look it up)
   */
  readonly amiId?: string;
  /**
   * Size of the data volume holding every workspace, in GiB (gp3: 1 to 16384). It can grow, never shrink.
   * @default 500
   */
  readonly dataVolumeSizeGb?: number;
  /**
   * EC2 termination protection on the host.
   * @default true
   */
  readonly terminationProtection?: IResolvable | boolean;
  /** The roster-independent bootstrap (`renderBootstrap`), at most 16 KiB. */
  readonly userData: string;
  /** SNS topic the auto-recovery alarm also notifies. */
  readonly alarmTopicArn: string;
}

/**
 * The instance's precondition: the recorded architecture is the roster's. Its message names both
 * and the way forward, because the plan stops on it. It depends on the architecture alone, so that
 * changing the type within one architecture changes nothing but the type.
 */
export function architecturePrecondition(record: TerraformData, fleet: Fleet) {
  const recorded = `${address(record)}.output.architecture`;
  const wanted: Architecture = runningHost(fleet).architecture;
  const other: Architecture = wanted === "x86_64" ? "arm64" : "x86_64";
  return {
    condition: expression(record, `${recorded} == "${wanted}"`),
    errorMessage:
      `The host was built for \${${recorded}}, and the roster's host.instanceType is ${wanted}. ` +
      `Changing the type in place would stop the host, and AWS would not start it again with its \${${recorded}} image: every developer would be down. ` +
      `To keep the host, choose a type of its architecture (${other}: ${familiesOf(other).join(", ")}). ` +
      `To move it to ${wanted}, replace it on purpose as ${GUIDE_LINKS.architectureChange} says.`,
  };
}

export class ComputeLayer extends Construct {
  readonly role: IamRole;
  readonly instance: Instance;
  /**
   * The architecture the host was built for, recorded at its creation and kept (changes to its
   * input are ignored): the instance's precondition compares it with the roster's, so a plan that
   * would switch the architecture in place fails instead of stopping the host for good.
   */
  readonly architectureRecord: TerraformData;
  readonly dataVolume: EbsVolume;
  readonly dataVolumeAttachment: VolumeAttachment;
  readonly recoveryAlarm: CloudwatchMetricAlarm;

  constructor(scope: Construct, id: string, props: ComputeLayerProps) {
    super(scope, id);
    const { fleet, key } = props;
    const { amiId, dataVolumeSizeGb } = this.checkProps(props);
    const aws = AwsEnvironment.of(this);
    const zone = fleet.availabilityZones[0];

    this.role = new IamRole(this, "role", {
      name: `${fleet.namePrefix}-host`,
      description: `Instance role of the ${fleet.namePrefix} code-server host`,
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
    });

    const policies: Record<string, object[]> = fleetStatements(fleet, aws);

    this.dataVolume = new EbsVolume(this, "data", {
      availabilityZone: zone,
      size: dataVolumeSizeGb,
      type: "gp3",
      encrypted: true,
      kmsKeyId: key.arn,
      // The backup plan selects the volume by this tag (restore.sh moves it to a restored volume).
      tags: { Name: `${fleet.namePrefix}-data`, [BACKUP_SELECTION_TAG]: backupPlanName(fleet) },
      // Every workspace lives here: a deploy must never destroy it.
      lifecycle: { preventDestroy: true },
    });
    this.dataVolume.overrideLogicalId(TERRAFORM_ADDRESSES.dataVolume.name);
    policies.snapshots = snapshotStatements(aws, this.dataVolume.id);
    policies["ssm-agent"] = ssmAgentStatements({
      applyDocumentArn: aws.arn({ service: "ssm", resource: `document/${applyDocumentName(fleet)}` }),
      instancesArn: aws.arn({ service: "ec2", resource: "instance/*" }),
      associationsArn: aws.arn({ service: "ssm", resource: "association/*" }),
    });
    const profile = new IamInstanceProfile(this, "profile", { name: `${fleet.namePrefix}-host`, role: this.role.name });

    const ami = this.hostImage(fleet, amiId);

    this.architectureRecord = new TerraformData(this, "host-architecture", {
      input: { architecture: runningHost(fleet).architecture },
      // Recorded once: a later roster's architecture must not overwrite what the host was built for.
      lifecycle: { ignoreChanges: ["input"] },
    });

    this.instance = this.hostInstance(props, ami, profile.name);

    // The host's use of the fleet key names the host itself (its own sessions' data keys).
    policies["fleet-key"] = hostKeyStatements({ aws, resource: key.arn, instanceId: this.instance.id });
    for (const [name, statements] of Object.entries(policies)) {
      new IamRolePolicy(this, `policy-${name}`, {
        name,
        role: this.role.id,
        policy: Fn.jsonencode({ Version: "2012-10-17", Statement: statements }),
      });
    }

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
      // EC2's recover action: the ARN's account field is "ec2".
      alarmActions: [aws.arn({ service: "automate", account: "ec2", resource: "recover" }), props.alarmTopicArn],
      okActions: [props.alarmTopicArn],
      // A scheduled host is stopped most nights: the status check has no data then, which is not a
      // failure. Read as passing, the alarm stays OK through the night (no OK e-mail every morning).
      treatMissingData: fleet.schedule ? "notBreaching" : undefined,
    });
    // Stays armed while the host sleeps: a host that boots onto failing hardware is recovered at once,
    // which an alarm silenced until after the warm-up could never do (actions run on state changes).
    declareSleepsWithHost(this.recoveryAlarm, false);
  }

  /** The props' problems, named, before anything is created. */
  private checkProps(props: ComputeLayerProps): { amiId: string; dataVolumeSizeGb: number } {
    const { fleet } = props;
    const amiId = props.amiId ?? "";
    const dataVolumeSizeGb = props.dataVolumeSizeGb ?? VARIABLES.data_volume_size_gb.default;
    checkWholeRange(this, "dataVolumeSizeGb", dataVolumeSizeGb, GP3_SIZE_GIB.min, GP3_SIZE_GIB.max, "GiB");
    if (amiId !== "") checkPattern(this, "amiId", amiId, /^ami-[0-9a-f]{8,17}$/, 'an AMI id such as ami-0123456789abcdef0, or ""');
    const userDataBytes = Buffer.byteLength(props.userData, "utf8");
    check(
      this,
      userDataBytes <= MAX_USER_DATA_BYTES,
      () => `userData is ${userDataBytes} bytes; EC2 accepts at most ${MAX_USER_DATA_BYTES}`,
    );
    check(this, fleet.availabilityZones.length > 0, () => "fleet.availabilityZones is empty; the host and its data volume need a zone");
    return { amiId, dataVolumeSizeGb };
  }

  /** The host's image: the given AMI, or Canonical's current Ubuntu for the host's architecture. */
  private hostImage(fleet: Fleet, amiId: string): string {
    // Canonical's public parameter: read at plan time, so only when no AMI is given (the plan stays offline otherwise).
    const ubuntuAmi = (count?: number) =>
      new DataAwsSsmParameter(this, "ubuntu-ami", {
        count,
        name: `/aws/service/canonical/ubuntu/server/22.04/stable/current/${DEBIAN_ARCHITECTURE[runningHost(fleet).architecture]}/hvm/ebs-gp2/ami-id`,
      });
    if (!Token.isUnresolved(amiId)) {
      // Known at synth time: look up only when it is empty, with no conditional data source.
      return amiId === "" ? ubuntuAmi().insecureValue : amiId;
    }
    const lookUp = isEmptyString(amiId);
    return choose(lookUp, oneOf(ubuntuAmi(countWhen(lookUp)), "insecure_value"), amiId);
  }

  /** The host: IMDSv2 only, encrypted root disk, never replaced by a new image or destroyed by a plan. */
  private hostInstance(props: ComputeLayerProps, ami: string, profileName: string): Instance {
    const { fleet, key } = props;
    const instance = new Instance(this, "host", {
      ami,
      instanceType: runningHost(fleet).instanceType,
      subnetId: props.subnet.id,
      vpcSecurityGroupIds: [props.securityGroup.id],
      associatePublicIpAddress: true,
      iamInstanceProfile: profileName,
      monitoring: true,
      ebsOptimized: true,
      disableApiTermination: props.terminationProtection ?? true,
      creditSpecification: runningHost(fleet).burstable ? { cpuCredits: "unlimited" } : undefined,
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
      lifecycle: {
        // A new Ubuntu image must never replace the running host.
        ignoreChanges: ["ami"],
        // Termination protection does not stop Terraform (the provider lifts it to terminate).
        preventDestroy: true,
        precondition: [architecturePrecondition(this.architectureRecord, fleet)],
        // Replacing the record on purpose (the operator guide's architecture change) replaces the host with it.
        // A plain address: Terraform JSON takes references here without ${}.
        replaceTriggeredBy: [address(this.architectureRecord)],
      },
    });
    instance.overrideLogicalId(TERRAFORM_ADDRESSES.instance.name);
    return instance;
  }
}

/** The host role's statements on the fleet's secrets, log groups and metrics. */
function fleetStatements(fleet: Fleet, aws: AwsEnvironment): Record<string, object[]> {
  const secretArn = (suffix: string) => aws.arn({ service: "secretsmanager", resource: `secret:${secretPrefix(fleet)}${suffix}` });
  const logGroupArn = aws.arn({ service: "logs", resource: `log-group:${logGroupNames(fleet).all}` });
  return {
    secrets: [
      {
        Sid: "ReadFleetSecrets",
        Effect: "Allow",
        Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        Resource: secretArn("*"),
      },
      // Only passwords and the gates' cookie keys are written by the host (generated on first use);
      // API keys and the client secret are set by operators.
      {
        Sid: "FillMissingPasswords",
        Effect: "Allow",
        Action: "secretsmanager:PutSecretValue",
        Resource: hostGated(fleet)
          ? [secretArn("*/password-??????"), secretArn("*/gate-cookie-key-??????")]
          : secretArn("*/password-??????"),
      },
    ],
    telemetry: [
      {
        Sid: "WriteFleetLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
        Resource: [logGroupArn, `${logGroupArn}:log-stream:*`],
      },
      {
        // PutMetricData has no resource type; the namespace condition is the scope, exactly the
        // fleet's two namespaces (a prefix would also admit another environment's, dev2 for dev).
        Sid: "PublishFleetMetrics",
        Effect: "Allow",
        Action: "cloudwatch:PutMetricData",
        Resource: "*",
        Condition: {
          StringEquals: { "cloudwatch:namespace": [metricNames(fleet).hostNamespace, metricNames(fleet).containerNamespace] },
        },
      },
    ],
  };
}

/** The host role's snapshots: of the data volume only, tagged as they are made. */
function snapshotStatements(aws: AwsEnvironment, volumeId: string): object[] {
  const volumeArn = aws.arn({ service: "ec2", resource: `volume/${volumeId}` });
  // Snapshot ARNs carry no account.
  const snapshotArn = aws.arn({ service: "ec2", account: "", resource: "snapshot/*" });
  return [
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
}

/** The resources the SSM agent's own calls name. */
export interface SsmAgentResources {
  /** The one document an association makes the agent fetch: the apply document. */
  readonly applyDocumentArn: string;
  /** The account's instances in the region (`instance/*`): the agent's calls name the node it runs on. */
  readonly instancesArn: string;
  /** The account's associations in the region (`association/*`): the agent describes its own. */
  readonly associationsArn: string;
}

/**
 * What the SSM agent needs, in place of AmazonSSMManagedInstanceCore (which also reads every SSM
 * parameter in the account, and serves Inventory, Patch Manager and Distributor, which this
 * fleet does not use). No ssm: action on "*".
 */
export function ssmAgentStatements(resources: SsmAgentResources): object[] {
  const { applyDocumentArn, instancesArn, associationsArn } = resources;
  return [
    {
      // Registration and heartbeat (PingStatus, which the operator scripts check), the host's own
      // associations and their status and compliance. IAM authorizes these against the calling node
      // (an instance), and the association and its document where the call names them. Scoped to the
      // account's instances, not the host's own ARN: a replaced host would run with the old ARN's
      // policy until Terraform updates it, and its agent could not register meanwhile.
      Sid: "AgentReportsItsOwnState",
      Effect: "Allow",
      Action: [
        "ssm:UpdateInstanceInformation",
        "ssm:ListInstanceAssociations",
        "ssm:DescribeAssociation",
        "ssm:UpdateInstanceAssociationStatus",
        "ssm:PutComplianceItems",
      ],
      Resource: [instancesArn, associationsArn, applyDocumentArn],
    },
    {
      // The apply association's document; Run Command and sessions deliver their documents in the message.
      Sid: "AgentReadsApplyDocument",
      Effect: "Allow",
      Action: ["ssm:GetDocument", "ssm:DescribeDocument"],
      Resource: applyDocumentArn,
    },
    {
      // Run Command (the operator scripts, the association's runs): message-delivery actions have no resource type.
      Sid: "AgentReceivesCommands",
      Effect: "Allow",
      Action: [
        "ec2messages:AcknowledgeMessage",
        "ec2messages:DeleteMessage",
        "ec2messages:FailMessage",
        "ec2messages:GetEndpoint",
        "ec2messages:GetMessages",
        "ec2messages:SendReply",
      ],
      Resource: "*",
    },
    {
      // Session Manager's channels: no resource type either.
      Sid: "AgentOpensSessions",
      Effect: "Allow",
      Action: SESSION_CHANNEL_ACTIONS,
      Resource: "*",
    },
    {
      // Before it streams a session to CloudWatch Logs the agent checks that the group is encrypted;
      // DescribeLogGroups lists names and settings only and has no useful resource scope.
      Sid: "AgentChecksSessionLogGroup",
      Effect: "Allow",
      Action: "logs:DescribeLogGroups",
      Resource: "*",
    },
  ];
}
