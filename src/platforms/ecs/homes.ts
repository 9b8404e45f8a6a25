/**
 * The developers' homes on ECS: one encrypted EFS file system that a deploy never destroys, a mount
 * target in each task subnet behind a security group that admits NFS from the developers' tasks
 * only, and per developer an access point that roots them in `/home/<name>` as uid 1000. Two
 * policies keep one developer out of another's home: the file system's own (every mount uses TLS
 * and an access point, nobody mounts as root) and each task role's (its own access point alone).
 */
import { EfsAccessPoint } from "@cdktf/provider-aws/lib/efs-access-point";
import { EfsFileSystem } from "@cdktf/provider-aws/lib/efs-file-system";
import { EfsFileSystemPolicy } from "@cdktf/provider-aws/lib/efs-file-system-policy";
import { EfsMountTarget } from "@cdktf/provider-aws/lib/efs-mount-target";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import type { Subnet } from "@cdktf/provider-aws/lib/subnet";
import type { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { Construct } from "constructs";
import { jsonWithReferences } from "../../constructs/expressions";
import { BACKUP_SELECTION_TAG, backupPlanName, CODER_UID, developerConstructIds } from "../../naming";
import type { Developer, Fleet } from "../../roster";

/** NFS, the only protocol of EFS. */
export const NFS_PORT = 2049;
/** Each home is created with this mode: its owner reads and writes, nobody else enters. */
export const HOME_MODE = "750";

export interface HomesProps {
  /** The roster: an access point per developer, in `/home/<name>`. */
  readonly fleet: Fleet;
  readonly vpc: Vpc;
  /** The subnets the tasks run in: a mount target in each. */
  readonly subnets: readonly Subnet[];
  /** Encrypts the file system. */
  readonly key: KmsKey;
}

export class Homes extends Construct {
  readonly fileSystem: EfsFileSystem;
  /** Admits NFS from `allowFrom`; the mount targets sit in it. */
  readonly securityGroup: SecurityGroup;
  /** Keyed by developer name. */
  readonly accessPoints: ReadonlyMap<string, EfsAccessPoint>;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: HomesProps,
  ) {
    super(scope, id);
    const { fleet } = props;
    this.fileSystem = new EfsFileSystem(this, "file-system", {
      encrypted: true,
      kmsKeyId: props.key.arn,
      throughputMode: "elastic",
      performanceMode: "generalPurpose",
      // The backup plan selects the file system by this tag, as it selects the host's data volume.
      tags: { Name: `${fleet.namePrefix}-homes`, [BACKUP_SELECTION_TAG]: backupPlanName(fleet) },
      // Every home lives here: a deploy must never destroy it.
      lifecycle: { preventDestroy: true },
    });
    this.securityGroup = new SecurityGroup(this, "mount-targets", {
      name: `${fleet.namePrefix}-homes`,
      description: `EFS mount targets of ${fleet.namePrefix}: NFS from the developers' tasks only`,
      vpcId: props.vpc.id,
      tags: { Name: `${fleet.namePrefix}-homes` },
    });
    props.subnets.forEach((subnet, index) => {
      new EfsMountTarget(this, `mount-target-${index}`, {
        fileSystemId: this.fileSystem.id,
        subnetId: subnet.id,
        securityGroups: [this.securityGroup.id],
      });
    });
    this.accessPoints = new Map(fleet.developers.map((d) => [d.name, this.accessPoint(d)]));
  }

  /** NFS into the mount targets from `securityGroupId` (the developers' tasks). */
  allowFrom(securityGroupId: string): void {
    new VpcSecurityGroupIngressRule(this, "nfs-from-tasks", {
      securityGroupId: this.securityGroup.id,
      description: "NFS from the developers' tasks",
      ipProtocol: "tcp",
      fromPort: NFS_PORT,
      toPort: NFS_PORT,
      referencedSecurityGroupId: securityGroupId,
    });
  }

  /**
   * The file system's policy: TLS and an access point for every mount; then `more(fileSystemArn)`,
   * the statements of what else uses the file system (the maintenance task's, which keeps root to
   * itself). It grants no developer anything: each task role's own policy allows its access point
   * (EFS admits a mount that either policy allows). A statement per developer here would outgrow
   * the 20,000 characters EFS accepts at about 40 developers; this policy stays the same size.
   */
  protect(more: (fileSystemArn: string) => readonly object[] = () => []): EfsFileSystemPolicy {
    const fileSystemArn = this.fileSystem.arn;
    return new EfsFileSystemPolicy(this, "policy", {
      fileSystemId: this.fileSystem.id,
      // Checked by EFS when applied: a policy that would lock out the mount targets is refused.
      bypassPolicyLockoutSafetyCheck: false,
      policy: jsonWithReferences("the homes' file system policy", {
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "TlsOnly",
            Effect: "Deny",
            Principal: { AWS: "*" },
            Action: "*",
            Resource: fileSystemArn,
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
          {
            Sid: "AccessPointsOnly",
            Effect: "Deny",
            Principal: { AWS: "*" },
            Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
            Resource: fileSystemArn,
            Condition: { Null: { "elasticfilesystem:AccessPointArn": "true" } },
          },
          ...more(fileSystemArn),
        ],
      }),
    });
  }

  /** `/home/<name>` as the developer's root, created owned by uid 1000 with HOME_MODE; every access as uid 1000. */
  private accessPoint(developer: Developer): EfsAccessPoint {
    const owner = { ownerUid: CODER_UID, ownerGid: CODER_UID, permissions: HOME_MODE };
    return new EfsAccessPoint(this, developerConstructIds(developer).ecsHomes.accessPoint, {
      fileSystemId: this.fileSystem.id,
      posixUser: { uid: CODER_UID, gid: CODER_UID },
      rootDirectory: { path: `/home/${developer.name}`, creationInfo: owner },
      tags: { Name: `${this.props.fleet.namePrefix}-${developer.name}`, developer: developer.name },
    });
  }
}
