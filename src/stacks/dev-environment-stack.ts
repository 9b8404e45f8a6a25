/**
 * One deployable environment of the code-server fleet: the composition of the layers in
 * src/modules, driven by a validated Fleet and the host files rendered from it (no file IO here). Everything that changes the shape of the plan comes
 * from the Fleet (synth time); per-environment values are Terraform variables (plan time).
 */
import { developerAlarmNames, TERRAFORM_ADDRESSES, terraformAddress } from "../naming";
import { RemovedBlock } from "../terraform/removed-block";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { LbTargetGroup } from "@cdktf/provider-aws/lib/lb-target-group";
import { LocalBackend, S3Backend, TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { AlbLayer } from "../constructs/alb";
import { ArtifactsLayer, type BuiltHostFile } from "../constructs/artifacts";
import { StackFiles } from "../constructs/stack-files";
import { gateFile } from "../identity/gate-bundle";
import { GATE_HOST_FILE, hostGated } from "../identity/host-gate";
import { AuditLayer } from "../constructs/audit";
import { AwsEnvironment } from "../constructs/aws-environment";
import { BackupLayer } from "../constructs/backup";
import { ComputeLayer } from "../constructs/compute";
import { EnvironmentInputs } from "../constructs/inputs";
import { KeyPolicy } from "../constructs/key-policy";
import { hostMonitoring } from "../constructs/host-monitoring";
import { lambdaLogGroupName } from "../constructs/node-lambda";
import { SecretInitializer, secretInitializerName } from "../constructs/secret-initializer";
import { ecsMonitoring } from "../platforms/ecs/ecs-monitoring";
import { EcsPlatform } from "../platforms/ecs/ecs-platform";
import { classifiedAlarms, MonitoringLayer } from "../constructs/monitoring";
import { NetworkLayer } from "../constructs/network";
import { Notifications } from "../constructs/notifications";
import { WorkingHours } from "../constructs/schedule";
import { SecretsLayer } from "../constructs/secrets";
import { sleepNames, SleepWhenIdle } from "../constructs/sleep";
import { WebAcl } from "../constructs/waf";
import type { RenderedFile } from "../rendered-file";
import type { EcsSpec, Fleet, SleepSpec } from "../roster";
import { ReadableAddressStack } from "./readable-addresses";

/** Tag every resource carries (provider default_tags). */
export const MANAGED_BY = "cdktf";

export interface DevEnvironmentStackProps {
  /** The validated roster: everything that shapes the plan. */
  readonly fleet: Fleet;
  /** The rendered host files (`renderHostFiles`), delivered to the host through S3 and SSM with their modes. */
  readonly hostFiles: readonly RenderedFile[];
  /** The script of the SSM document that delivers them (`renderApplyDocumentScript`). */
  readonly applyScript?: string;
  /** The roster-independent EC2 user_data (`renderBootstrap`). */
  readonly userData?: string;
}

/** The stack id of a fleet: `<project>-<environment>`, also the directory under cdktf.out/stacks. */
export function stackId(fleet: Fleet): string {
  return fleet.namePrefix;
}

/** Local state lives in the project root, never inside cdktf.out, which synth replaces. */
export function localStateFile(fleet: Fleet): string {
  return `terraform.${stackId(fleet)}.tfstate`;
}

/**
 * The stack of one fleet. Its Terraform addresses are the construct paths below it
 * (`ReadableAddressStack`), so the three a restore swaps stay `TERRAFORM_ADDRESSES` and every
 * other one reads like the roster: `aws_lb_target_group.alb_tg-dev1`.
 */
export class DevEnvironmentStack extends ReadableAddressStack {
  readonly fleet: Fleet;
  /** Partition, region, account (read from the fleet key's ARN) and the ARN helper of the layers. */
  readonly aws: AwsEnvironment;
  readonly inputs: EnvironmentInputs;
  readonly network: NetworkLayer;
  readonly secrets: SecretsLayer;
  readonly notifications: Notifications;
  /** The host's machine, when the host runs. */
  readonly compute?: ComputeLayer;
  readonly audit: AuditLayer;
  readonly alb: AlbLayer;
  /** The WAF web ACL on the ALB, when the roster switches it on. */
  readonly waf?: WebAcl;
  readonly monitoring: MonitoringLayer;
  readonly backup: BackupLayer;
  /** The host files' delivery, when the host runs. */
  readonly artifacts?: ArtifactsLayer;
  /** The ECS platform, when it runs. */
  readonly ecs?: EcsPlatform;
  /** Names of the alarms whose actions are off while the host sleeps (the schedule's, and sleep.sh's and wake.sh's). */
  readonly sleepingAlarmNames: readonly string[];
  /** The roster's working hours; absent when the roster has no schedule. */
  readonly schedule?: WorkingHours;
  /** Sleep when idle, when the roster has a `sleep` section. */
  readonly sleep?: SleepWhenIdle;

  constructor(scope: Construct, id: string, props: DevEnvironmentStackProps) {
    super(scope, id);
    const { fleet } = props;
    this.fleet = fleet;
    this.providerAndState();

    const inputs = (this.inputs = new EnvironmentInputs(this, "inputs"));
    this.network = new NetworkLayer(this, "network", {
      fleet,
      vpcCidr: inputs.vpcCidr,
      adminCidrs: inputs.adminCidrs,
      allowedCidrs: inputs.allowedCidrs,
      hostRuns: fleet.host !== undefined,
    });
    this.secrets = new SecretsLayer(this, "secrets", { fleet });
    const key = this.secrets.key;
    this.aws = new AwsEnvironment(this, { region: fleet.region, accountOf: key.arn });
    this.notifications = new Notifications(this, "notifications", { fleet, key, alarmEmails: inputs.alarmEmails });
    if (fleet.host) this.compute = this.hostCompute(props);
    else this.keepRetiredDataVolume();
    const keyPolicy = new KeyPolicy(this, "key-policy", {
      fleet,
      key,
      ...(this.compute ? { hostRoleArn: this.compute.role.arn, hostInstanceId: this.compute.instance.id } : {}),
      ...(fleet.ecs || fleet.sleep ? { lambdaLogGroupNames: this.lambdaLogGroupNames() } : {}),
    });
    this.audit = new AuditLayer(this, "audit", {
      fleet,
      key,
      keyPolicy: keyPolicy.policy,
      vpc: this.network.vpc,
      logRetentionDays: inputs.logRetentionDays,
    });
    this.alb = this.loadBalancer();
    if (fleet.sleep) this.sleep = this.sleepWhenIdle(fleet.sleep, keyPolicy, inputs);
    if (fleet.waf.enabled) {
      this.waf = new WebAcl(this, "waf", {
        fleet,
        loadBalancers: this.alb.watchedLoadBalancers(),
        rateLimitPer5Minutes: fleet.waf.rateLimitPer5Minutes,
        key,
        keyPolicy: keyPolicy.policy,
        logRetentionDays: inputs.logRetentionDays,
      });
    }
    // On ECS the tasks get their secrets injected: each must have a value before the first task starts.
    const initializer = fleet.ecs ? this.secretInitializer(keyPolicy, inputs) : undefined;
    if (fleet.ecs) this.ecs = this.ecsPlatform(fleet.ecs, inputs);
    this.monitoring = this.monitoringLayer(keyPolicy, inputs);
    this.backup = new BackupLayer(this, "backup", {
      fleet,
      key,
      hostRoleName: this.compute?.role.name,
      homesOnEfs: fleet.ecs !== undefined,
      serverAccessLogs: this.audit.serverAccessLogsFor("archive"),
      failureTopic: this.notifications.topic,
    });
    // ECS's services wait for their log groups, which the monitoring layer makes for every platform, and their secrets.
    this.ecs?.waitFor([...this.monitoring.platformLogGroups, ...(initializer ? [initializer.invocation] : [])], (name) => [
      this.monitoring.containerLogGroup(name),
    ]);
    // The maintenance task uses the archive bucket and logs with the key, both made after the platform.
    this.ecs?.maintenance.complete({
      archiveBucket: this.backup.archive.bucket,
      keyPolicy: keyPolicy.policy,
      logRetentionDays: inputs.logRetentionDays,
    });
    if (this.compute) this.artifacts = this.hostDelivery(props, this.compute);
    this.sleepingAlarmNames = classifiedAlarms(this)
      .filter((a) => a.sleepsWithHost)
      .map((a) => a.alarmName);
    this.schedule = this.workingHours();
    this.outputs();
  }

  /** The ALB in front of the developers, with its certificate, DNS records and routes. */
  private loadBalancer(): AlbLayer {
    const { fleet, inputs, network } = this;
    return new AlbLayer(this, "alb", {
      fleet,
      vpc: network.vpc,
      subnets: network.publicSubnets,
      securityGroup: network.albSecurityGroup,
      host: this.compute?.instance,
      ecs: fleet.ecs !== undefined,
      hostedZoneId: inputs.hostedZoneId,
      certificateArn: inputs.certificateArn,
      sslPolicy: inputs.sslPolicy,
      deletionProtection: inputs.albDeletionProtection,
      serverAccessLogs: this.audit.serverAccessLogsFor("alb-access-logs"),
    });
  }

  /** Log groups, alarms and the dashboard of the platform that runs, the load balancers and each developer. */
  private monitoringLayer(keyPolicy: KeyPolicy, inputs: EnvironmentInputs): MonitoringLayer {
    const { fleet } = this;
    return new MonitoringLayer(this, "monitoring", {
      fleet,
      key: this.secrets.key,
      keyPolicy: keyPolicy.policy,
      topic: this.notifications.topic,
      platform: this.compute ? hostMonitoring(fleet, this.compute.instance) : ecsMonitoring(fleet, this.ecs!.homes.fileSystem.id),
      loadBalancers: this.alb.watchedLoadBalancers(),
      ...(this.sleep ? { wakeTargetGroups: this.wakeTargetGroupsByAlarm() } : {}),
      routes: this.alb.servingRoutes(),
      logRetentionDays: inputs.logRetentionDays,
      budgetAmountUsd: inputs.budgetAmountUsd,
      alarmEmails: inputs.alarmEmails,
    });
  }

  /** The log groups of the fleet's Lambda functions, which the fleet key encrypts. */
  private lambdaLogGroupNames(): string[] {
    const { fleet } = this;
    const names = sleepNames(fleet);
    return [...(fleet.ecs ? [secretInitializerName(fleet)] : []), ...(fleet.sleep ? [names.wake, names.sleeper] : [])].map(
      lambdaLogGroupName,
    );
  }

  /** Sleep when idle: the wake behind each serving load balancer, the sleeper, the idle alarms. */
  private sleepWhenIdle(sleep: SleepSpec, keyPolicy: KeyPolicy, inputs: EnvironmentInputs): SleepWhenIdle {
    const { fleet } = this;
    const onHost = fleet.platform === "host" && this.compute;
    return new SleepWhenIdle(this, "sleep", {
      fleet,
      sleep,
      balancers: [...new Set(this.alb.servingBalancers.values())],
      ...(onHost ? { host: { instance: this.compute.instance, alarmNames: () => this.hostOwnSleepingAlarms() } } : {}),
      key: this.secrets.key,
      keyPolicy: keyPolicy.policy,
      logRetentionDays: inputs.logRetentionDays,
      topic: this.notifications.topic,
      ...(this.secrets.oidcClientSecret ? { clientSecret: this.secrets.oidcClientSecret } : {}),
    });
  }

  /** The alarms that sleep with the host but are no developer's own: the host's and the load balancer's. */
  private hostOwnSleepingAlarms(): string[] {
    const { fleet } = this;
    const developers = new Set(
      fleet.developers.flatMap((d) => Object.values(developerAlarmNames(d)).map((alarm) => `${fleet.namePrefix}-${alarm}`)),
    );
    return this.sleepingAlarmNames.filter((name) => !developers.has(name));
  }

  /** The wake target group of each watched load balancer that has one, by the suffix of its 5xx alarm. */
  private wakeTargetGroupsByAlarm(): Map<string, LbTargetGroup> {
    const sleep = this.sleep!;
    const balancers = [...new Set(this.alb.servingBalancers.values())];
    return new Map(
      [...this.alb.watchedLoadBalancers()].flatMap(([suffix, lb]) => {
        const index = balancers.findIndex((b) => b.loadBalancer === lb);
        return index < 0 ? [] : [[suffix, sleep.wakeTargetGroups[index]] as const];
      }),
    );
  }

  /** The provider, with the tags every resource carries, and where the state lives. */
  private providerAndState(): void {
    const { fleet } = this;
    new AwsProvider(this, "aws", {
      region: fleet.region,
      defaultTags: [{ tags: { project: fleet.project, environment: fleet.environment, "managed-by": MANAGED_BY } }],
    });
    if (fleet.state.backend === "s3") {
      const backend = new S3Backend(this, {
        bucket: fleet.state.bucket,
        key: fleet.state.key,
        region: fleet.state.region,
        encrypt: true,
      });
      // S3-native locking (Terraform >= 1.10); cdktf 0.21's S3Backend has no field for it.
      backend.addOverride("use_lockfile", true);
    } else {
      // Relative to cdktf.out/stacks/<id>, where Terraform runs: the project root.
      new LocalBackend(this, { path: `../../../${localStateFile(fleet)}` });
    }
  }

  /** The host platform's machine: its role, the instance and the data volume. */
  /**
   * Without a host, the data volume is out of the configuration, where prevent_destroy no longer
   * guards it: a deployment that had a host (a migration to ECS that retires it) would destroy the
   * volume and every home on it. A `removed` block makes Terraform forget it instead and leave it
   * in AWS; where there never was one, the block changes nothing.
   */
  private keepRetiredDataVolume(): void {
    new RemovedBlock(this, "retired-data-volume", terraformAddress(TERRAFORM_ADDRESSES.dataVolume));
  }

  private hostCompute(props: DevEnvironmentStackProps): ComputeLayer {
    const { fleet, inputs, network } = this;
    return new ComputeLayer(this, "compute", {
      fleet,
      subnet: network.hostSubnet,
      securityGroup: network.hostSecurityGroup!,
      key: this.secrets.key,
      amiId: inputs.amiId,
      dataVolumeSizeGb: inputs.dataVolumeSizeGb,
      terminationProtection: inputs.terminationProtection,
      userData: required(props.userData, "userData"),
      alarmTopicArn: this.notifications.topic.arn,
    });
  }

  /** The host files, delivered through S3 and applied on the host by the SSM association. */
  private hostDelivery(props: DevEnvironmentStackProps, compute: ComputeLayer): ArtifactsLayer {
    const { fleet } = this;
    return new ArtifactsLayer(this, "artifacts", {
      fleet,
      key: this.secrets.key,
      files: props.hostFiles,
      builtFiles: this.builtHostFiles(),
      applyScript: required(props.applyScript, "applyScript"),
      instance: compute.instance,
      hostRoleName: compute.role.name,
      dataVolumeId: compute.dataVolume.id,
      archiveBucketName: this.backup.archive.bucket.id,
      applyDependsOn: [compute.dataVolumeAttachment, ...this.monitoring.logGroups.values()],
      serverAccessLogs: this.audit.serverAccessLogsFor("host-files"),
      applyFailureTopic: this.notifications.topic,
    });
  }

  /** The sign-in gate's bundle, when the host runs a gate in front of each code-server. */
  private builtHostFiles(): BuiltHostFile[] {
    if (!hostGated(this.fleet)) return [];
    const gate = StackFiles.of(this).fileOf("gate", gateFile);
    return [{ path: GATE_HOST_FILE, sha256Hex: gate.sha256Hex, source: gate.path }];
  }

  /** Fills each empty password secret with a random password, and each empty API key secret with a placeholder. */
  private secretInitializer(keyPolicy: KeyPolicy, inputs: EnvironmentInputs): SecretInitializer {
    const secrets = [...this.secrets.developerSecrets.values()];
    return new SecretInitializer(this, "secret-initializer", {
      fleet: this.fleet,
      secrets: secrets.map((s) => s.password),
      placeholders: [...secrets.map((s) => s.apiKey), ...(this.secrets.oidcClientSecret ? [this.secrets.oidcClientSecret] : [])],
      keys: secrets.flatMap((s) => (s.gateCookieKey ? [s.gateCookieKey] : [])),
      key: this.secrets.key,
      logRetentionDays: inputs.logRetentionDays,
      logGroupDependsOn: [keyPolicy.policy],
    });
  }

  /** The ECS platform: the cluster, the homes on EFS, a service per developer on their target group. */
  private ecsPlatform(ecs: EcsSpec, inputs: EnvironmentInputs): EcsPlatform {
    const { fleet } = this;
    const routes = this.alb.ecsRoutes();
    return new EcsPlatform(this, "ecs", {
      fleet,
      ecs,
      vpc: this.network.vpc,
      vpcCidr: inputs.vpcCidr,
      publicSubnets: this.network.publicSubnets,
      albSecurityGroup: this.network.albSecurityGroup,
      key: this.secrets.key,
      secrets: this.secrets.developerSecrets,
      targetGroups: routes.targetGroups,
      listenerRules: routes.listenerRules,
      sessionLogGroupName: this.audit.sessionLogGroup.name,
      alarmTopic: this.notifications.topic,
      ...(this.secrets.oidcClientSecret
        ? { oidcClientSecret: this.secrets.oidcClientSecret, serverAccessLogs: this.audit.serverAccessLogsFor("ecs-files") }
        : {}),
    });
  }

  /**
   * The roster's working hours, when it has them. Keep this last among the layers: it reads every
   * alarm the layers above created, and refuses one that has not said whether it sleeps with the host.
   */
  private workingHours(): WorkingHours | undefined {
    const { fleet } = this;
    this.node.addValidation({
      validate: () => {
        const sleeping = classifiedAlarms(this).filter((a) => a.sleepsWithHost);
        const missed = sleeping.filter((a) => !this.sleepingAlarmNames.includes(a.alarmName));
        return missed.map(
          (a) =>
            `${a.constructPath} sleeps with the host but was created after the stack collected those alarms: create it in a layer above the schedule in DevEnvironmentStack`,
        );
      },
    });
    if (!fleet.schedule) return undefined;
    return new WorkingHours(this, "schedule", {
      fleet,
      schedule: fleet.schedule,
      instance: this.compute?.instance,
      ecsServices: this.ecs ? [...this.ecs.services.keys()] : undefined,
      volumeKeyArn: this.secrets.key.arn,
      sleepingAlarmNames: this.sleepingAlarmNames,
      alarmTopicArn: this.notifications.topic.arn,
      ...(this.sleep ? { sleeper: this.sleep.sleeper.function } : {}),
    });
  }

  private outputs(): void {
    const { fleet } = this;
    // Output names are what operators type (`terraform output -raw instance_id`): kept as given.
    const output = (id: string, value: unknown, description: string) =>
      new TerraformOutput(this, id, { value, description, staticId: true });
    output(
      "developer_urls",
      Object.fromEntries(fleet.developers.map((d) => [d.name, `https://${d.hostname}`])),
      "Each developer's code-server URL, by developer name.",
    );
    output(
      "secret_names",
      Object.fromEntries(
        [...this.secrets.developerSecrets].map(([developer, secrets]) => [
          developer,
          { password: secrets.password.name, anthropic_api_key: secrets.apiKey.name },
        ]),
      ),
      "Secrets Manager names of each developer's password and Anthropic API key (values are never in Terraform).",
    );
    output("alb_dns_name", this.alb.loadBalancer.dnsName, "DNS name of the ALB; the developer records alias to it.");
    if (this.compute && this.artifacts) {
      output("instance_id", this.compute.instance.id, "EC2 instance id of the code-server host (use it with SSM Session Manager).");
      output("data_volume_id", this.compute.dataVolume.id, "EBS volume id of the data volume holding every workspace.");
      output("artifact_bucket", this.artifacts.bucket.bucket.id, "S3 bucket holding the rendered host files and SSM apply output.");
    }
    if (this.ecs) {
      output(
        "ecs_cluster_name",
        this.ecs.cluster.name,
        "ECS cluster of the developers' services (one service per developer, named after them).",
      );
      output(
        "homes_file_system_id",
        this.ecs.homes.fileSystem.id,
        "EFS file system holding every developer's home, one access point each.",
      );
      output(
        "ecs_load_balancers",
        Object.fromEntries([...this.alb.ecsBalancers].map(([shard, b]) => [String(shard), b.loadBalancer.dnsName])),
        "DNS name of each ECS load balancer, by shard (listener-rule priorities 50·shard+1 to 50·shard+50).",
      );
    }
    output("archive_bucket", this.backup.archive.bucket.id, "S3 bucket where removed developers' workspaces are archived.");
    output("alb_access_log_bucket", this.alb.accessLogs.bucket.id, "S3 bucket receiving the ALB access logs.");
    output("alarm_topic_arn", this.notifications.topic.arn, "SNS topic every alarm notifies.");
    output("backup_vault_name", this.backup.vault.name, "AWS Backup vault with the data volume's recovery points.");
    output(
      "session_document_name",
      this.audit.sessionDocument.name,
      "Session Manager document with the fleet's session preferences (logged, KMS-encrypted): aws ssm start-session --target <instance_id> --document-name <this>.",
    );
    output(
      "s3_access_log_bucket",
      this.audit.accessLogs.bucket.id,
      "S3 bucket receiving the S3 server access logs of the fleet's other buckets.",
    );
    if (this.artifacts) output("host_files_hash", this.artifacts.contentHash, "sha256 of the host files manifest the host is brought to.");
    output(
      "dashboard_url",
      `https://${fleet.region}.console.aws.amazon.com/cloudwatch/home?region=${fleet.region}#dashboards:name=${fleet.namePrefix}`,
      "CloudWatch dashboard of the fleet.",
    );
  }
}

/** A prop the host platform needs, which a fleet with a host always gets (`stackProps`). */
function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`DevEnvironmentStack: the host runs, but ${name} was not given`);
  return value;
}
