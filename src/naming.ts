/**
 * Names and paths that both the Terraform layers and the host-side files must agree on.
 * One source of truth: layers and templates import these instead of spelling them again.
 */

/**
 * The names of a fleet that every other name derives from; a roster's Fleet has them. Declared
 * here, not taken from the roster, so that the roster can use these names without a circle.
 */
export interface FleetNames {
  readonly project: string;
  readonly environment: string;
  /** `<project>-<environment>`. */
  readonly namePrefix: string;
}

/** What names a developer's resources: their name and their port (a slot); a roster's Developer has them. */
export interface DeveloperSlot {
  readonly name: string;
  readonly port: number;
}

/** Mount point of the data volume on the host. */
export const DATA_MOUNT = "/mnt/ebs-data";
/** uid:gid of the `coder` user inside the code-server image; workspace directories are owned by it. */
export const CODER_UID = 1000;
/** Device name the data volume is attached as; on Nitro it appears as NVMe and the host finds it by volume id. */
export const DATA_DEVICE_NAME = "/dev/sdf";
/** Port code-server listens on inside every container. */
export const CONTAINER_PORT = 8080;
/** Health endpoint: answers 200 without auth. */
export const HEALTH_PATH = "/healthz";

/** Where the host keeps the rendered host files, the per-deploy environment and the secret files. */
export function hostPaths(fleet: FleetNames) {
  const etc = `/etc/${fleet.project}`;
  const state = `/var/lib/${fleet.project}`;
  return {
    /** Rendered host files, synced from S3 by every apply. */
    root: `/opt/${fleet.project}`,
    /** Deploy-time values (volume id, bucket names, region) written by the SSM document. */
    fleetEnv: `${etc}/fleet.env`,
    /** Per-developer env files holding the password hash and the API key: mode 0600 in a 0700 directory, root-owned. */
    secretsDir: `${etc}/secrets`,
    /**
     * Per-developer code-server config files (no secret: the hash is in the env file), root-owned
     * and mounted read-only into the container, so nothing in it can change what code-server reads.
     */
    codeServerConfigDir: `${etc}/code-server`,
    /** The sign-in gates' directories (OpenID Connect): per developer its configuration and two 0600 secret files, root-owned. */
    gateDir: `${etc}/gate`,
    /** The host scripts' state: the apply lock, the roll-out's pending recreations, metric samples. */
    stateDir: state,
    /** flock(1) file of every apply, start and stop, and of the SSM document's sync and swap. */
    applyLock: `${state}/apply.lock`,
  } as const;
}

/**
 * Linux name of a developer's bridge network: `devnet-<port>`. The port is the developer's
 * stable slot and short (an interface name holds at most 15 characters, a developer name up to
 * 28), so the name is unique, stable and fits. The isolation rules match every developer
 * bridge by the prefix (`devnet-+`), which no other interface on the host carries.
 */
export const DEVELOPER_BRIDGE_PREFIX = "devnet-";
export function developerBridgeName(developer: Pick<DeveloperSlot, "port">): string {
  return `${DEVELOPER_BRIDGE_PREFIX}${developer.port}`;
}

/**
 * iptables chains that isolate the developer networks: `forward` (jumped to from DOCKER-USER)
 * for traffic a developer container sends through the host, `input` (jumped to from INPUT) for
 * traffic it sends to the host itself. At most 28 characters, iptables' limit: the project name
 * has at most 16.
 */
export function isolationChains(fleet: Pick<FleetNames, "project">) {
  return { forward: `${fleet.project}-isolate-fwd`, input: `${fleet.project}-isolate-in` } as const;
}

/** CloudWatch Logs groups; their names carry the project. */
export function logGroupNames(fleet: FleetNames) {
  const base = `/aws/ec2/${fleet.project}`;
  return {
    base,
    /** Every group of the fleet, as an ARN pattern's resource part matches them. */
    all: `${base}/*`,
    system: `${base}/system`,
    docker: `${base}/docker`,
    container: (developer: Pick<DeveloperSlot, "name">) => `${base}/containers/${developer.name}`,
    /** Session Manager transcripts: the SSM agent writes them with the host's role. */
    sessions: `${base}/sessions`,
    /**
     * VPC flow logs. Outside `all` on purpose: the host writes every group under `all`, and it must
     * not be able to write records of its own traffic.
     */
    flowLogs: `/aws/vpc/${fleet.project}/flow-logs`,
    /** The WAF's request log (roster waf.enabled): WAF delivers only to groups named aws-waf-logs-*. */
    waf: `aws-waf-logs-${fleet.namePrefix}`,
  } as const;
}

/**
 * The ECS platform's maintenance task, which operators run for one-off work on the homes' file
 * system (restore-home.sh, migrate-homes.sh, archive-home.sh): names the stack and the operator scripts share. A
 * developer named `maintenance` would share its family and role name; the platform refuses one.
 */
export function maintenanceNames(fleet: FleetNames) {
  return {
    family: `${fleet.namePrefix}-maintenance`,
    role: `${fleet.namePrefix}-maintenance`,
    container: "maintenance",
    logGroup: `${logGroupNames(fleet).base}/maintenance`,
    /** Key prefix in the archive bucket of the homes copied from the host. */
    migrationPrefix: "migration/",
    /** Key prefix in the archive bucket of removed developers' homes: `<prefix><name>/<UTC time>.tar.gz`, as the host's apply writes them. */
    removedPrefix: "removed/",
  } as const;
}

/** The SSM Command document the apply association runs. */
export function applyDocumentName(fleet: Pick<FleetNames, "namePrefix">): string {
  return `${fleet.namePrefix}-apply-host-files`;
}

/**
 * The fleet's Session Manager document (preferences: logging and KMS encryption). Operators open
 * sessions with it: `aws ssm start-session --document-name <this>`.
 */
export function sessionDocumentName(fleet: Pick<FleetNames, "namePrefix">): string {
  return `${fleet.namePrefix}-session`;
}

export type SecretKind = "password" | "anthropic-api-key" | "gate-cookie-key";

/** `<project>/<environment>/<developer>/<kind>`: predictable, so scripts can find a developer's secrets. */
export function secretName(fleet: FleetNames, developer: Pick<DeveloperSlot, "name">, kind: SecretKind): string {
  return `${secretPrefix(fleet)}${developer.name}/${kind}`;
}

/**
 * `<project>/<environment>/oidc-client-secret`: the identity provider's client secret, one for the
 * fleet. No developer's secret can have this name: theirs have a `/` after the developer's name.
 */
export function oidcClientSecretName(fleet: FleetNames): string {
  return `${secretPrefix(fleet)}oidc-client-secret`;
}

/** Stands for a developer's name in a name template a function fills in at run time. */
export const DEVELOPER_PLACEHOLDER = "{developer}";

/**
 * `/<project>/<environment>/<name>/sign-in`: the SSM parameter that names whom a developer's address
 * admits (their email or subject, no secret), read by the wake function with a company sign-in.
 */
export function signInBindingName(fleet: FleetNames, developer: Pick<DeveloperSlot, "name">): string {
  return `/${secretPrefix(fleet)}${developer.name}/sign-in`;
}

export function secretPrefix(fleet: FleetNames): string {
  return `${fleet.project}/${fleet.environment}/`;
}

/** Custom metrics: the CloudWatch agent's host metrics and the per-container metrics timer. */
export function metricNames(fleet: FleetNames) {
  const namespace = `${fleet.project}/${fleet.environment}`;
  return {
    /** Host metrics from the CloudWatch agent, dimensioned by InstanceId (and path for disk). */
    hostNamespace: namespace,
    memoryUsedPercent: "mem_used_percent",
    diskUsedPercent: "disk_used_percent",
    /** Per-container metrics published by the host's metrics timer, dimensioned by Developer. */
    containerNamespace: `${namespace}/containers`,
    containerCpuPercent: "ContainerCpuPercent",
    containerMemoryPercent: "ContainerMemoryPercent",
    containerRestarts: "ContainerRestarts",
    containerHealthy: "ContainerHealthy",
    /** Percent of the data volume a developer's directory uses, every 15 minutes (publish-disk-usage.sh). */
    dataVolumeSharePercent: "DataVolumeSharePercent",
    /** With sleep when idle: 1 in a minute the developer was active, 0 in one they were not (no sample while stopped). */
    active: "Active",
    developerDimension: "Developer",
  } as const;
}

/** Target group name `<project>-<environment>-<developer>`; the roster keeps it within 32 characters. */
export function targetGroupName(fleet: Pick<FleetNames, "namePrefix">, developer: Pick<DeveloperSlot, "name">): string {
  return `${fleet.namePrefix}-${developer.name}`;
}

/** Compose service and container name of a developer (`code-server-<name>`). */
export function containerName(developer: Pick<DeveloperSlot, "name">): string {
  return `code-server-${developer.name}`;
}

/**
 * Deploy-time values the host cannot get from the roster (they exist only after apply). The
 * SSM document writes them as KEY=value lines to `hostPaths().fleetEnv` before every apply;
 * host scripts source that file. No secret is ever among them.
 */
export const FLEET_ENV_KEYS = {
  region: "AWS_REGION",
  dataVolumeId: "DATA_VOLUME_ID",
  artifactBucket: "ARTIFACT_BUCKET",
  archiveBucket: "ARCHIVE_BUCKET",
  hostFilesHash: "HOST_FILES_HASH",
} as const;

/** S3 key prefix of the rendered host files in the artifact bucket; the host role reads only this. */
export const HOST_FILES_PREFIX = "host-files/";
/** `sha256sum` manifest uploaded beside the host files; its own hash is what the SSM association passes the host. */
export const HOST_FILES_MANIFEST = "MANIFEST.sha256";
/** `<octal mode> <path>` per host file, listed in the manifest: S3 keeps no file modes, so they travel here. */
export const HOST_FILES_MODES = "MANIFEST.modes";
/**
 * Parameters of the SSM document that applies the host files: exactly the deploy-time values,
 * each written to `hostPaths().fleetEnv` as the `FLEET_ENV_KEYS` variable of the same name.
 */
export type ApplyDocumentParameter = keyof typeof FLEET_ENV_KEYS;
export const APPLY_DOCUMENT_PARAMETERS = Object.keys(FLEET_ENV_KEYS) as readonly ApplyDocumentParameter[];

/** `Name` tag of the EC2 host; operator scripts find the instance by it. */
export function hostInstanceName(fleet: FleetNames): string {
  return `${fleet.namePrefix}-host`;
}

/** Name of the AWS Backup plan of the data volume; the volume carries it as its `BACKUP_SELECTION_TAG`. */
export function backupPlanName(fleet: Pick<FleetNames, "namePrefix">): string {
  return `${fleet.namePrefix}-data-volume`;
}

/**
 * The tag the backup plan selects the data volume by (its value is `backupPlanName`): whichever
 * volume carries it is backed up, so a restored volume takes it over and the detached one gives
 * it up (restore.sh does both).
 */
export const BACKUP_SELECTION_TAG = "backup-plan";

/**
 * Terraform addresses of the resources a restore swaps. The compute layer pins these logical
 * ids so the runbook's `terraform state rm` / `import` commands are the same for every fleet.
 */
export const TERRAFORM_ADDRESSES = {
  instance: { type: "aws_instance", name: "host" },
  dataVolume: { type: "aws_ebs_volume", name: "data_volume" },
  dataVolumeAttachment: { type: "aws_volume_attachment", name: "data_volume" },
} as const;

export function terraformAddress(resource: { readonly type: string; readonly name: string }): string {
  return `${resource.type}.${resource.name}`;
}

/**
 * A path or name as a construct id, which may hold only letters, digits and `-`: every run of
 * other characters becomes one `-`. Lossy (`ab-1` and `ab--1` give the same id), which is why the
 * roster refuses two developers whose ids would meet (`developerConstructIds`).
 */
export function constructIdOf(text: string): string {
  return text.replace(/[^A-Za-z0-9]+/g, "-");
}

/** Construct id of a rendered host file's S3 object (its Terraform address follows from it). */
export function hostFileId(path: string): string {
  return `file-${constructIdOf(path)}`;
}

/** Path of a developer's code-server config template among the host files. */
export function developerConfigTemplate(developer: Pick<DeveloperSlot, "name">): string {
  return `config/${developer.name}/config.yaml.tmpl`;
}

/** Construct id of a CloudWatch alarm, from its name without the fleet's prefix. */
export function alarmConstructId(name: string): string {
  return `alarm-${name}`;
}

/** A developer's alarms, named without the fleet's prefix (`<project>-<environment>-` goes before each). */
export function developerAlarmNames(developer: Pick<DeveloperSlot, "name">) {
  return {
    unhealthy: `${developer.name}-unhealthy`,
    restarts: `${developer.name}-restarts`,
    diskShare: `${developer.name}-disk-share`,
    notRunning: `${developer.name}-not-running`,
    taskCpu: `${developer.name}-task-cpu`,
    taskMemory: `${developer.name}-task-memory`,
    /** With sleep when idle: in ALARM once the developer has been idle for their idleMinutes (notifies nobody). */
    idle: `idle-${developer.name}`,
  } as const;
}

/**
 * Construct ids of every resource a developer has, by the layer that creates it. The layers
 * create them under these ids and the roster refuses two developers whose ids would meet in one
 * layer, so the check and the stack cannot drift apart. Resource names in AWS (target group,
 * secrets, log group, alarms) carry the developer's name verbatim, so only the ids can meet.
 */
export function developerConstructIds(developer: Pick<DeveloperSlot, "name">) {
  const name = developer.name;
  const alarms = developerAlarmNames(developer);
  const secrets: Record<SecretKind, string> = {
    password: `${name}-password`,
    "anthropic-api-key": `${name}-anthropic-api-key`,
    "gate-cookie-key": `${name}-gate-cookie-key`,
  };
  return {
    alb: { targetGroup: `tg-${name}`, targetGroupAttachment: `tg-${name}-host`, listenerRule: `rule-${name}`, dnsRecord: `dns-${name}` },
    artifacts: { configTemplate: hostFileId(developerConfigTemplate(developer)) },
    monitoring: {
      logGroup: `log-container-${name}`,
      unhealthyAlarm: alarmConstructId(alarms.unhealthy),
      restartsAlarm: alarmConstructId(alarms.restarts),
      diskShareAlarm: alarmConstructId(alarms.diskShare),
      notRunningAlarm: alarmConstructId(alarms.notRunning),
      taskCpuAlarm: alarmConstructId(alarms.taskCpu),
      taskMemoryAlarm: alarmConstructId(alarms.taskMemory),
    },
    secrets,
    /** The ECS platform's resources of the developer (the access point in its homes, the rest beside them). */
    ecsHomes: { accessPoint: `home-${name}` },
    ecs: {
      taskRole: `task-role-${name}`,
      taskRolePolicy: `task-role-${name}-policy`,
      taskDefinition: `task-${name}`,
      service: `service-${name}`,
    },
    /** The working hours' schedules of the developer's ECS service. */
    schedule: { start: `${name}-start`, stop: `${name}-stop` },
  } as const;
}

/**
 * Terraform addresses of a developer's resources that outlive the developer's removal: the two
 * secrets stay restorable for their recovery window, the log group is kept (skip_destroy). Adding
 * the developer back imports them (scripts/readd-developer.sh prints the commands). They follow
 * from the construct ids in the secrets and monitoring layers; a test holds them to the stack.
 */
export function developerKeptAddresses(developer: Pick<DeveloperSlot, "name">) {
  const ids = developerConstructIds(developer);
  return {
    passwordSecret: `aws_secretsmanager_secret.secrets_${ids.secrets.password}`,
    apiKeySecret: `aws_secretsmanager_secret.secrets_${ids.secrets["anthropic-api-key"]}`,
    logGroup: `aws_cloudwatch_log_group.monitoring_${ids.monitoring.logGroup}`,
  } as const;
}

/**
 * Terraform address of the developer's sign-in gate's cookie key, which exists only when the fleet
 * signs in with OpenID Connect and outlives a removal like the other secrets.
 */
export function developerGateKeyAddress(developer: Pick<DeveloperSlot, "name">): string {
  return `aws_secretsmanager_secret.secrets_${developerConstructIds(developer).secrets["gate-cookie-key"]}`;
}

/**
 * Procedures of the operator guide that messages send the operator to (Terraform's refusals and
 * notifications, the review, the cost report), as the guide's path and the heading's anchor. A test
 * holds the guide to them, and to every other link into docs/ that a message names.
 */
export const GUIDE_LINKS = {
  architectureChange: "docs/operator-guide.md#change-the-hosts-architecture",
  hostReplacement: "docs/operator-guide.md#replace-the-host",
  retire: "docs/operator-guide.md#retire-the-environment",
  regionMove: "docs/operator-guide.md#move-to-another-region",
  readdDeveloper: "docs/operator-guide.md#add-a-removed-developer-back",
  removeDeveloper: "docs/operator-guide.md#remove-a-developer",
  secretsRotation: "docs/operator-guide.md#secrets-and-rotation",
  backups: "docs/operator-guide.md#backups-and-restore",
  troubleshooting: "docs/operator-guide.md#troubleshooting",
} as const;

/** The operator script that stores the identity provider's client secret (read from stdin, never argv). */
export const SET_OIDC_CLIENT_SECRET_SCRIPT = "set-oidc-client-secret.sh";
