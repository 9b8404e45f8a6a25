/**
 * The maintenance task of the homes: a task definition that operators run with `aws ecs run-task`
 * for one-off work on the whole file system (restore-home.sh swaps in a home AWS Backup restored,
 * migrate-homes.sh fills homes copied from the host, archive-home.sh archives a home), and the
 * role it runs as. It mounts the file system at /fs as root through an access point of its own,
 * rooted at `/`: it must move the root-owned directories AWS Backup restores into. The file
 * system's policy grants that access point, and root, to this role alone, and refuses root through
 * any other. The task reads and writes the archive bucket's `migration/` and `removed/` prefixes
 * (archive-home.sh archives a home there before its developer is removed), logs to a group of its
 * own, has no port and no load balancer, and deletes nothing on its own: a home it replaces is
 * moved aside, and only the operator's delete-home of an archived home deletes.
 *
 * It runs in the developers' subnets with the developers' security group (the operator scripts
 * copy a developer's service's network settings): that group admits nothing but the load
 * balancers on code-server's port, where this task listens on nothing, and lets out exactly what
 * the task needs: NFS to the homes, DNS, HTTPS to S3 and CloudWatch, and HTTP to Amazon Linux's
 * package repositories, which the image's yum reaches over HTTP (it installs tar, absent from the
 * image, before a migration). A group of its own with HTTPS alone could not install it.
 */
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { EcsTaskDefinition } from "@cdktf/provider-aws/lib/ecs-task-definition";
import { EfsAccessPoint } from "@cdktf/provider-aws/lib/efs-access-point";
import type { EfsFileSystem } from "@cdktf/provider-aws/lib/efs-file-system";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { Fn, type ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { AwsEnvironment } from "../../constructs/aws-environment";
import { maintenanceNames } from "../../naming";
import { renderMaintenanceProgram } from "../../render";
import type { EcsSpec, Fleet } from "../../roster";
import { check } from "../../constructs/validation";
import { HOME_MODE } from "./homes";
import { taskAssumeRolePolicy } from "./task-trust";

/**
 * The AWS CLI's own image, pinned by its version tag. A digest would pin it harder, but no
 * registry is reachable where this project is built to read one; pin the digest once one is at
 * hand (public.ecr.aws/aws-cli/aws-cli:2.31.23@sha256:...).
 */
export const MAINTENANCE_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.31.23";
/** Where the task mounts the homes' file system (its root: `/fs/home/<name>` is a developer's home). */
export const MAINTENANCE_MOUNT = "/fs";
/** The task's volume: the whole file system through the maintenance access point. */
const HOMES_VOLUME = "homes";
/**
 * Fargate's smallest size with room for tar, gzip and sha256sum over a large home: the task runs
 * for minutes, once in a while.
 */
const TASK_SIZE = { cpu: 1024, memoryMiB: 2048 } as const;
/**
 * Root keeps what moving and extracting other users' files takes (chown, reading and writing past
 * modes, keeping setuid bits and times) and yum's install; every other default capability goes.
 */
const DROPPED_CAPABILITIES = ["AUDIT_WRITE", "KILL", "MKNOD", "NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETPCAP", "SYS_CHROOT"];

/** Mounting the file system, writing and being root in it. */
const ROOT_MOUNT = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"];

export interface MaintenanceProps {
  /** The roster: the names, and the developers whose names must not meet the task's. */
  readonly fleet: Fleet;
  /** The roster's ECS settings: the task runs on the developers' architecture. */
  readonly ecs: EcsSpec;
  /** The homes' file system, mounted whole. */
  readonly fileSystem: EfsFileSystem;
  /** Encrypts the task's log group. */
  readonly key: KmsKey;
}

/** What only later layers make: the archive bucket, the key policy the log group waits for, the retention. */
export interface MaintenanceCompletion {
  /** The archive bucket (KMS-encrypted with `MaintenanceProps.key`): the task uses its `migration/` prefix. */
  readonly archiveBucket: { readonly arn: string; readonly id: string };
  /** The key policy that lets CloudWatch Logs use the key: the log group is created after it. */
  readonly keyPolicy: ITerraformDependable;
  /** Days the task's log records are kept (the fleet's log retention). */
  readonly logRetentionDays: number;
}

export class Maintenance extends Construct {
  /** The task's role, which ECS also starts it with (it pulls a public image and writes its log group). */
  readonly role: IamRole;
  /** The whole file system, as root: the file system's policy keeps it for `role` alone. */
  readonly accessPoint: EfsAccessPoint;
  private taskDefinition?: EcsTaskDefinition;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: MaintenanceProps,
  ) {
    super(scope, id);
    const { fleet } = props;
    const names = maintenanceNames(fleet);
    const clash = fleet.developers.find((d) => `${fleet.namePrefix}-${d.name}` === names.family);
    check(
      this,
      clash === undefined,
      () => `a developer named "${clash!.name}" would share the maintenance task's family and role (${names.family}): rename them`,
    );
    this.node.addValidation({
      validate: () =>
        this.taskDefinition ? [] : [`${this.node.path} was never completed: call complete() once the archive bucket exists`],
    });
    this.accessPoint = new EfsAccessPoint(this, "access-point", {
      fileSystemId: props.fileSystem.id,
      // No POSIX user: the task's own (root) is used, which the file system allows this role alone.
      rootDirectory: { path: "/" },
      tags: { Name: names.family },
    });
    this.role = new IamRole(this, "role", {
      name: names.role,
      description: `The maintenance task of ${fleet.namePrefix}: the homes' file system as root, the archive's migration prefix`,
      assumeRolePolicy: taskAssumeRolePolicy(AwsEnvironment.of(this).account),
    });
    new IamRolePolicy(this, "mount-policy", {
      name: "homes-as-root",
      role: this.role.id,
      policy: Fn.jsonencode({ Version: "2012-10-17", Statement: [this.mountStatement()] }),
    });
  }

  /**
   * For the file system's policy: this role, and no other, is granted root and mounts through the
   * maintenance access point; and root is refused through any other access point. (EFS evaluates
   * no principal condition key for NFS clients, so who else may use the access point follows from
   * the grants, as for the developers' access points: the policy grants it to this role alone.)
   */
  fileSystemStatements(fileSystemArn: string): object[] {
    const accessPoint = { "elasticfilesystem:AccessPointArn": this.accessPoint.arn };
    return [
      {
        Sid: "MaintenanceAccessPointAsRoot",
        Effect: "Allow",
        Principal: { AWS: this.role.arn },
        Action: ROOT_MOUNT,
        Resource: fileSystemArn,
        Condition: { StringEquals: accessPoint },
      },
      {
        Sid: "RootOnlyThroughMaintenanceAccessPoint",
        Effect: "Deny",
        Principal: { AWS: "*" },
        Action: "elasticfilesystem:ClientRootAccess",
        Resource: fileSystemArn,
        Condition: { StringNotEquals: accessPoint },
      },
    ];
  }

  /** Adds what needs the later layers: the log group, the archive and log grants, and the task definition. */
  complete(completion: MaintenanceCompletion): void {
    const { fleet } = this.props;
    const names = maintenanceNames(fleet);
    const logGroup = new CloudwatchLogGroup(this, "log-group", {
      name: names.logGroup,
      retentionInDays: completion.logRetentionDays,
      kmsKeyId: this.props.key.arn,
      // Records of what the task did outlive the environment until their retention ends.
      skipDestroy: true,
      dependsOn: [completion.keyPolicy],
    });
    new IamRolePolicy(this, "work-policy", {
      name: "migration-archive-and-logs",
      role: this.role.id,
      policy: Fn.jsonencode({
        Version: "2012-10-17",
        Statement: this.workStatements(completion.archiveBucket.arn, logGroup.arn),
      }),
    });
    this.taskDefinition = this.createTaskDefinition(completion.archiveBucket.id, logGroup.name);
  }

  /** Mount the file system, write and be root, through the maintenance access point only. */
  private mountStatement(): object {
    return {
      Sid: "HomesAsRootThroughMaintenanceAccessPoint",
      Effect: "Allow",
      Action: ROOT_MOUNT,
      Resource: this.props.fileSystem.arn,
      Condition: { StringEquals: { "elasticfilesystem:AccessPointArn": this.accessPoint.arn } },
    };
  }

  /** The archive's migration and removed-homes prefixes (KMS through S3, as the host writes archives), and the task's log group. */
  private workStatements(bucketArn: string, logGroupArn: string): object[] {
    const aws = AwsEnvironment.of(this);
    const { migrationPrefix, removedPrefix } = maintenanceNames(this.props.fleet);
    return [
      {
        Sid: "ReadAndWriteMigrationPrefix",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
        Resource: `${bucketArn}/${migrationPrefix}*`,
      },
      {
        // archive-home: a removed developer's home, where the host's apply puts theirs; read back to verify it. No delete.
        Sid: "WriteAndVerifyRemovedHomes",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
        Resource: `${bucketArn}/${removedPrefix}*`,
      },
      {
        Sid: "ArchiveKeyThroughS3",
        Effect: "Allow",
        Action: ["kms:GenerateDataKey", "kms:Decrypt"],
        Resource: this.props.key.arn,
        Condition: { StringEquals: { "kms:ViaService": aws.serviceEndpoint("s3") } },
      },
      {
        Sid: "WriteOwnLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: `${logGroupArn}:log-stream:*`,
      },
    ];
  }

  private createTaskDefinition(archiveBucket: string, logGroup: string): EcsTaskDefinition {
    const { fleet, ecs } = this.props;
    const names = maintenanceNames(fleet);
    return new EcsTaskDefinition(this, "task", {
      family: names.family,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: String(TASK_SIZE.cpu),
      memory: String(TASK_SIZE.memoryMiB),
      runtimePlatform: { cpuArchitecture: ecs.architecture === "arm64" ? "ARM64" : "X86_64", operatingSystemFamily: "LINUX" },
      executionRoleArn: this.role.arn,
      taskRoleArn: this.role.arn,
      // Plain JSON, as the developers' definitions: Terraform reads the bucket's interpolation in it,
      // and the program holds no "${" or "%{" of its own (maintenanceProgram checks).
      containerDefinitions: JSON.stringify([
        {
          name: names.container,
          image: MAINTENANCE_IMAGE,
          essential: true,
          user: "0:0",
          // The program is an argument of bash -c; the operator's command follows it as its arguments.
          entryPoint: ["/bin/bash", "-c", maintenanceProgram(fleet), names.container],
          command: ["help"],
          environment: [
            { name: "ARCHIVE_BUCKET", value: archiveBucket },
            { name: "AWS_REGION", value: fleet.region },
            { name: "AWS_DEFAULT_REGION", value: fleet.region },
          ],
          mountPoints: [{ sourceVolume: HOMES_VOLUME, containerPath: MAINTENANCE_MOUNT, readOnly: false }],
          linuxParameters: { initProcessEnabled: true, capabilities: { add: [], drop: DROPPED_CAPABILITIES } },
          logConfiguration: {
            logDriver: "awslogs",
            options: { "awslogs-group": logGroup, "awslogs-region": fleet.region, "awslogs-stream-prefix": names.container },
          },
        },
      ]),
      volume: [
        {
          name: HOMES_VOLUME,
          efsVolumeConfiguration: {
            fileSystemId: this.props.fileSystem.id,
            transitEncryption: "ENABLED",
            authorizationConfig: { accessPointId: this.accessPoint.id, iam: "ENABLED" },
          },
        },
      ],
    });
  }
}

/**
 * The task's program, rendered from the roster. It travels inside the task definition, where
 * Terraform would read `${` and `%{` as its own templates: the program must hold neither.
 */
export function maintenanceProgram(fleet: Fleet): string {
  const program = renderMaintenanceProgram(fleet, { mount: MAINTENANCE_MOUNT, homeMode: HOME_MODE });
  const marker = /\$\{|%\{/.exec(program);
  if (marker) throw new Error(`the maintenance program holds "${marker[0]}", which Terraform would read as a template: write it without`);
  return program;
}
