/**
 * The ECS platform: an ECS cluster on Fargate with Container Insights, and per developer a
 * service of one task, its task definition and a task role of its own; their homes on EFS
 * (`Homes`). A developer is the unit of start, stop, update and failure: rolling one service
 * never touches another's task, and no task can reach another's (the shared task security group
 * admits the load balancer alone).
 *
 * Tasks run in the public subnets with a public address each, or in private subnets behind one
 * NAT gateway (`ecs.network`). Secrets reach the containers through the task definition's
 * `secrets`, by ARN, read by the execution role: no value is in the definition or in state.
 */
import { EcsCluster } from "@cdktf/provider-aws/lib/ecs-cluster";
import { EcsClusterCapacityProviders } from "@cdktf/provider-aws/lib/ecs-cluster-capacity-providers";
import { EcsService } from "@cdktf/provider-aws/lib/ecs-service";
import { EcsTaskDefinition } from "@cdktf/provider-aws/lib/ecs-task-definition";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { LbListenerRule } from "@cdktf/provider-aws/lib/lb-listener-rule";
import type { LbTargetGroup } from "@cdktf/provider-aws/lib/lb-target-group";
import type { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import type { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import type { Subnet } from "@cdktf/provider-aws/lib/subnet";
import type { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { Fn, type ITerraformDependable } from "cdktf";
import { dependable } from "cdktf/lib/tfExpression";
import { Construct } from "constructs";
import { AwsEnvironment, SESSION_CHANNEL_ACTIONS } from "../../constructs/aws-environment";
import { notifyOnEvent } from "../../constructs/event-notification";
import { jsonWithReferences } from "../../constructs/expressions";
import type { ServerAccessLogTarget } from "../../constructs/private-bucket";
import type { DeveloperSecrets } from "../../constructs/secrets";
import { entryOf, PropsError } from "../../constructs/validation";
import { CONTAINER_PORT, developerConstructIds, logGroupNames, secretPrefix } from "../../naming";
import type { Developer, EcsSpec, Fleet } from "../../roster";
import { containerDefinitions, HOME_VOLUME, servingContainer, TMP_VOLUME } from "./containers";
import { GATE_VOLUME, type GateRefs } from "./gate-containers";
import { GateFiles } from "./gate-files";
import { Homes, NFS_PORT } from "./homes";
import { Maintenance } from "./maintenance";
import { taskAssumeRolePolicy } from "./task-trust";
import { PrivateSubnets } from "./private-subnets";

/**
 * Seconds a new task has before its target's health checks count: it installs the pinned
 * extensions into the home first, then code-server starts.
 */
export const HEALTH_CHECK_GRACE_SECONDS = 300;

export interface EcsPlatformProps {
  /** The roster: a service per developer, sized by its Fargate size. */
  readonly fleet: Fleet;
  /** The roster's ECS settings. */
  readonly ecs: EcsSpec;
  readonly vpc: Vpc;
  /** The VPC's CIDR block: the resolver the tasks ask is its base address + 2. */
  readonly vpcCidr: string;
  /** The public subnets, in the roster's zones: the tasks' (public network) or the NAT gateway's (private). */
  readonly publicSubnets: readonly Subnet[];
  /** The load balancers' security group: the only source the tasks admit. */
  readonly albSecurityGroup: SecurityGroup;
  /** Encrypts the homes and the sessions of ECS Exec. */
  readonly key: KmsKey;
  /** Each developer's password and API key secrets (and the gate's cookie key with OpenID Connect), by developer name. */
  readonly secrets: ReadonlyMap<string, DeveloperSecrets>;
  /**
   * The identity provider's client secret, when the fleet signs in with OpenID Connect.
   * @default - none: code-server's own password
   */
  readonly oidcClientSecret?: SecretsmanagerSecret;
  /**
   * Where S3 delivers the access logs of the fleet's ECS files bucket (the gate's bundle), made with OpenID Connect.
   * @default - none; required with OpenID Connect
   */
  readonly serverAccessLogs?: ServerAccessLogTarget;
  /** Each developer's target group (type ip), by developer name. */
  readonly targetGroups: ReadonlyMap<string, LbTargetGroup>;
  /** Each developer's listener rule: a service registers with its target group only once a rule uses it. */
  readonly listenerRules: ReadonlyMap<string, LbListenerRule>;
  /** The log group ECS Exec sessions are written to (the fleet's session log group). */
  readonly sessionLogGroupName: string;
  /** The topic told when a service's deployment fails (and rolls back). */
  readonly alarmTopic: SnsTopic;
}

export class EcsPlatform extends Construct {
  readonly cluster: EcsCluster;
  readonly homes: Homes;
  /** The developers' tasks: in from the load balancers on code-server's port alone. */
  readonly taskSecurityGroup: SecurityGroup;
  /** Pulls nothing private: writes the developers' logs and reads their secrets for ECS. */
  readonly executionRole: IamRole;
  /** Keyed by developer name. */
  readonly services: ReadonlyMap<string, EcsService>;
  /** The task operators run for one-off work on the homes; the stack completes it (`Maintenance.complete`). */
  readonly maintenance: Maintenance;
  /** The sign-in gate's bundle, when the fleet signs in with OpenID Connect. */
  readonly gateFiles?: GateFiles;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: EcsPlatformProps,
  ) {
    super(scope, id);
    const { fleet, ecs } = props;
    const subnets =
      ecs.network === "private"
        ? new PrivateSubnets(this, "private", { fleet, vpc: props.vpc, vpcCidr: props.vpcCidr, publicSubnets: props.publicSubnets }).subnets
        : props.publicSubnets;
    this.cluster = this.createCluster();
    this.homes = new Homes(this, "homes", { fleet, vpc: props.vpc, subnets, key: props.key });
    this.taskSecurityGroup = this.taskRules();
    this.homes.allowFrom(this.taskSecurityGroup.id);
    this.executionRole = this.createExecutionRole();
    if (fleet.auth.type === "oidc") {
      if (!props.oidcClientSecret || !props.serverAccessLogs) {
        throw new PropsError(this, "oidcClientSecret and serverAccessLogs are required when the fleet signs in with OpenID Connect");
      }
      this.gateFiles = new GateFiles(this, "gate-files", { fleet, key: props.key, serverAccessLogs: props.serverAccessLogs });
    }
    const grants = fleet.developers.map((d) => ({ developer: d, role: this.taskRole(d) }));
    this.maintenance = new Maintenance(this, "maintenance", { fleet, ecs, fileSystem: this.homes.fileSystem, key: props.key });
    const policy = this.homes.protect((arn) => this.maintenance.fileSystemStatements(arn));
    this.services = new Map(grants.map(({ developer, role }) => [developer.name, this.service(developer, role, subnets, policy)]));
    this.notifyFailedDeployments();
  }

  /**
   * The services start their first tasks only after what they need exists: `shared` (the
   * passwords' initializer, the platform's log groups) and each developer's `own` (their log
   * group). Made after the services, so added to them here. Each service names only its own
   * developer's resources: a dependency on every developer's would grow the configuration with
   * the square of the roster.
   */
  waitFor(shared: readonly ITerraformDependable[], own: (developer: string) => readonly ITerraformDependable[]): void {
    for (const [name, service] of this.services) {
      service.dependsOn = [...(service.dependsOn ?? []), ...[...shared, ...own(name)].map((d) => dependable(d))];
    }
  }

  /** A deployment ECS gave up and rolled back reaches the alarm topic. */
  private notifyFailedDeployments(): void {
    const { fleet, alarmTopic } = this.props;
    notifyOnEvent(this, "deployment-failed", {
      name: `${fleet.namePrefix}-deployment-failed`,
      description: `A developer's service in ${fleet.namePrefix} failed to deploy and rolled back.`,
      eventPattern: {
        source: ["aws.ecs"],
        "detail-type": ["ECS Deployment State Change"],
        detail: { eventName: ["SERVICE_DEPLOYMENT_FAILED"], clusterArn: [this.cluster.arn] },
      },
      topic: alarmTopic,
      inputPaths: { service: "$.resources", reason: "$.detail.reason", time: "$.time" },
      message: `${fleet.namePrefix}: the deployment of <service> failed at <time> (<reason>); ECS rolled it back to the last task that ran. Its events are in the ECS console.`,
    });
  }

  /** The cluster: Fargate, Container Insights, and ECS Exec's sessions logged and encrypted. */
  private createCluster(): EcsCluster {
    const { fleet, key } = this.props;
    const cluster = new EcsCluster(this, "cluster", {
      name: fleet.namePrefix,
      setting: [{ name: "containerInsights", value: "enabled" }],
      configuration: {
        executeCommandConfiguration: {
          kmsKeyId: key.arn,
          logging: "OVERRIDE",
          logConfiguration: { cloudWatchLogGroupName: this.props.sessionLogGroupName, cloudWatchEncryptionEnabled: true },
        },
      },
    });
    new EcsClusterCapacityProviders(this, "capacity-providers", {
      clusterName: cluster.name,
      capacityProviders: ["FARGATE"],
      defaultCapacityProviderStrategy: [{ capacityProvider: "FARGATE", weight: 1 }],
    });
    return cluster;
  }

  /**
   * The developers' security group: code-server's port from the load balancers, and out only to
   * the internet over HTTPS and HTTP, to the homes over NFS and to the VPC's resolver. No rule
   * admits another task.
   */
  private taskRules(): SecurityGroup {
    const { fleet, albSecurityGroup, vpc, vpcCidr } = this.props;
    const tasks = new SecurityGroup(this, "tasks", {
      name: `${fleet.namePrefix}-developers`,
      description: `Developers' tasks of ${fleet.namePrefix}: code-server from the load balancers only`,
      vpcId: vpc.id,
      tags: { Name: `${fleet.namePrefix}-developers` },
    });
    const port = { ipProtocol: "tcp", fromPort: CONTAINER_PORT, toPort: CONTAINER_PORT };
    new VpcSecurityGroupEgressRule(this, "alb-out-tasks", {
      securityGroupId: albSecurityGroup.id,
      description: "To the developers' code-server",
      ...port,
      referencedSecurityGroupId: tasks.id,
    });
    new VpcSecurityGroupIngressRule(this, "tasks-in-alb", {
      securityGroupId: tasks.id,
      description: "code-server, from the load balancers only",
      ...port,
      referencedSecurityGroupId: albSecurityGroup.id,
    });
    const out = (
      ruleId: string,
      description: string,
      ipProtocol: string,
      portNumber: number,
      to: { cidrIpv4?: string; referencedSecurityGroupId?: string },
    ) =>
      new VpcSecurityGroupEgressRule(this, `tasks-out-${ruleId}`, {
        securityGroupId: tasks.id,
        description,
        ipProtocol,
        fromPort: portNumber,
        toPort: portNumber,
        ...to,
      });
    out("https", "HTTPS: Anthropic's API, Open VSX, git over HTTPS, AWS APIs", "tcp", 443, { cidrIpv4: "0.0.0.0/0" });
    out("http", "HTTP: package mirrors", "tcp", 80, { cidrIpv4: "0.0.0.0/0" });
    out("nfs", "NFS to the homes' mount targets", "tcp", NFS_PORT, { referencedSecurityGroupId: this.homes.securityGroup.id });
    for (const protocol of ["udp", "tcp"]) {
      out(`dns-${protocol}`, `DNS (${protocol.toUpperCase()}) to the VPC resolver`, protocol, 53, {
        cidrIpv4: `${Fn.cidrhost(vpcCidr, 2)}/32`,
      });
    }
    return tasks;
  }

  /** What ECS itself needs to start a developer's task: write the developer's logs, read their secrets. */
  private createExecutionRole(): IamRole {
    const { fleet, key } = this.props;
    const aws = AwsEnvironment.of(this);
    const role = new IamRole(this, "execution-role", {
      name: `${fleet.namePrefix}-ecs-execution`,
      description: `Starts the ${fleet.namePrefix} developers' tasks: their logs and secrets`,
      assumeRolePolicy: taskAssumeRolePolicy(aws.account),
    });
    const logGroups = aws.arn({ service: "logs", resource: `log-group:${logGroupNames(fleet).container({ name: "*" })}` });
    new IamRolePolicy(this, "execution-role-policy", {
      name: "start-developer-tasks",
      role: role.id,
      policy: Fn.jsonencode({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "WriteDeveloperLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: `${logGroups}:log-stream:*`,
          },
          {
            Sid: "ReadDeveloperSecrets",
            Effect: "Allow",
            Action: "secretsmanager:GetSecretValue",
            Resource: aws.arn({ service: "secretsmanager", resource: `secret:${secretPrefix(fleet)}*` }),
          },
          {
            Sid: "DecryptSecretsThroughSecretsManager",
            Effect: "Allow",
            Action: "kms:Decrypt",
            Resource: key.arn,
            Condition: { StringEquals: { "kms:ViaService": `secretsmanager.${fleet.region}.amazonaws.com` } },
          },
        ],
      }),
    });
    return role;
  }

  /** The developer's task role: their home through their access point, and ECS Exec's channels when it is on. */
  private taskRole(developer: Developer): IamRole {
    const { fleet, ecs, key } = this.props;
    const aws = AwsEnvironment.of(this);
    const ids = developerConstructIds(developer).ecs;
    const role = new IamRole(this, ids.taskRole, {
      name: `${fleet.namePrefix}-${developer.name}`,
      description: `The task of ${developer.name} in ${fleet.namePrefix}: their home, nothing else`,
      assumeRolePolicy: taskAssumeRolePolicy(aws.account),
      tags: { developer: developer.name },
    });
    const accessPoint = entryOf(this, "accessPoints", this.homes.accessPoints, developer.name);
    const statements: object[] = [
      {
        Sid: "MountOwnHome",
        Effect: "Allow",
        Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
        Resource: this.homes.fileSystem.arn,
        Condition: { StringEquals: { "elasticfilesystem:AccessPointArn": accessPoint.arn } },
      },
    ];
    if (ecs.exec) statements.push(...execStatements(key.arn, this.props.sessionLogGroupName, aws));
    if (this.gateFiles) statements.push(...this.gateFiles.readStatements());
    new IamRolePolicy(this, ids.taskRolePolicy, {
      name: "own-home",
      role: role.id,
      policy: jsonWithReferences(`the task role policy of ${developer.name}`, { Version: "2012-10-17", Statement: statements }),
    });
    return role;
  }

  /** The gate's bundle and secrets for `developer`'s task, when the fleet signs in with OpenID Connect. */
  private gateRefs(developer: Developer, secrets: DeveloperSecrets): GateRefs | undefined {
    if (!this.gateFiles) return undefined;
    if (!secrets.gateCookieKey)
      throw new PropsError(this, `secrets of ${developer.name} have no gate cookie key, which OpenID Connect needs`);
    return {
      bundleUrl: this.gateFiles.bundleUrl,
      clientSecretArn: this.props.oidcClientSecret!.arn,
      cookieKeyArn: secrets.gateCookieKey.arn,
    };
  }

  /** The developer's task definition and the service that keeps one task of it running. */
  private service(developer: Developer, taskRole: IamRole, subnets: readonly Subnet[], homesPolicy: ITerraformDependable): EcsService {
    const { props } = this;
    const { fleet, ecs } = props;
    const ids = developerConstructIds(developer).ecs;
    const secrets = entryOf(this, "secrets", props.secrets, developer.name);
    const size = developer.fargate!;
    const taskDefinition = new EcsTaskDefinition(this, ids.taskDefinition, {
      family: `${fleet.namePrefix}-${developer.name}`,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: String(size.cpu),
      memory: String(size.memoryMiB),
      runtimePlatform: { cpuArchitecture: ecs.architecture === "arm64" ? "ARM64" : "X86_64", operatingSystemFamily: "LINUX" },
      executionRoleArn: this.executionRole.arn,
      taskRoleArn: taskRole.arn,
      // JSON with the secrets' ARNs as interpolations (jsonencode would have Terraform rewrite the
      // shell script).
      containerDefinitions: jsonWithReferences(
        `the containers of ${developer.name}`,
        containerDefinitions(fleet, developer, {
          logGroup: logGroupNames(fleet).container(developer),
          passwordSecretArn: secrets.password.arn,
          apiKeySecretArn: secrets.apiKey.arn,
          gate: this.gateRefs(developer, secrets),
        }),
      ),
      volume: [
        {
          name: HOME_VOLUME,
          efsVolumeConfiguration: {
            fileSystemId: this.homes.fileSystem.id,
            transitEncryption: "ENABLED",
            authorizationConfig: {
              accessPointId: entryOf(this, "accessPoints", this.homes.accessPoints, developer.name).id,
              iam: "ENABLED",
            },
          },
        },
        { name: TMP_VOLUME },
        ...(this.gateFiles ? [{ name: GATE_VOLUME }] : []),
      ],
      tags: { developer: developer.name },
    });
    return new EcsService(this, ids.service, {
      name: developer.name,
      cluster: this.cluster.arn,
      taskDefinition: taskDefinition.arn,
      desiredCount: 1,
      launchType: "FARGATE",
      platformVersion: "LATEST",
      // One home, one task: the old task stops before the new one starts.
      deploymentMinimumHealthyPercent: 0,
      deploymentMaximumPercent: 100,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      networkConfiguration: {
        subnets: subnets.map((s) => s.id),
        securityGroups: [this.taskSecurityGroup.id],
        assignPublicIp: ecs.network === "public",
      },
      loadBalancer: [
        {
          targetGroupArn: entryOf(this, "targetGroups", props.targetGroups, developer.name).arn,
          containerName: servingContainer(fleet),
          containerPort: CONTAINER_PORT,
        },
      ],
      healthCheckGracePeriodSeconds: HEALTH_CHECK_GRACE_SECONDS,
      enableExecuteCommand: ecs.exec,
      propagateTags: "SERVICE",
      enableEcsManagedTags: true,
      waitForSteadyState: false,
      tags: { developer: developer.name },
      dependsOn: [entryOf(this, "listenerRules", props.listenerRules, developer.name), homesPolicy],
      // The schedule and sleep set the number of tasks while the environment runs; the next apply must not undo them.
      lifecycle: { ignoreChanges: ["desired_count"] },
    });
  }
}

/** What ECS Exec needs in the task: its channels, the session log group, and the key that encrypts sessions. */
function execStatements(keyArn: string, sessionLogGroupName: string, aws: AwsEnvironment): object[] {
  const group = aws.arn({ service: "logs", resource: `log-group:${sessionLogGroupName}` });
  return [
    {
      // Session channels have no resource type.
      Sid: "ExecChannels",
      Effect: "Allow",
      Action: SESSION_CHANNEL_ACTIONS,
      Resource: "*",
    },
    { Sid: "ExecLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${group}:log-stream:*` },
    // The agent checks that the group is encrypted; DescribeLogGroups has no useful resource scope.
    { Sid: "ExecFindsLogGroup", Effect: "Allow", Action: "logs:DescribeLogGroups", Resource: "*" },
    { Sid: "ExecDecryptsSession", Effect: "Allow", Action: "kms:Decrypt", Resource: keyArn },
  ];
}
