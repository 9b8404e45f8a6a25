/**
 * The typed view-model the templates render from. Every value a template prints is computed
 * here from the Fleet and the shared names in `naming.ts`, so templates hold layout, not facts.
 */
import { posix } from "node:path";
import {
  BACKUP_SELECTION_TAG,
  oidcClientSecretName,
  CODER_UID,
  CONTAINER_PORT,
  DATA_DEVICE_NAME,
  DATA_MOUNT,
  FLEET_ENV_KEYS,
  HEALTH_PATH,
  TERRAFORM_ADDRESSES,
  backupPlanName,
  containerName,
  developerBridgeName,
  developerConfigTemplate,
  developerGateKeyAddress,
  developerKeptAddresses,
  hostInstanceName,
  hostPaths,
  isolationChains,
  DEVELOPER_BRIDGE_PREFIX,
  logGroupNames,
  maintenanceNames,
  metricNames,
  secretName,
  terraformAddress,
} from "../naming";
import { minutesOfDay, runningHost, WEEKDAYS, type Developer, type Fleet } from "../roster";
import { DEBIAN_ARCHITECTURE } from "../roster/instance-types";
import { DNS_LABEL } from "../roster/schema";
import { SECRET_PLACEHOLDER } from "../secret-placeholder";
import { codeServerListenArgs } from "../identity/gate-deployment";
import { codeServerPort, gateConfigTemplate, gateContainerName, hostGated, hostGateView } from "../identity/host-gate";

/**
 * Paths inside the code-server container. The whole home is the developer's directory
 * on the data volume; the workspace and code-server's user-data dir (settings, extensions) are
 * inside it, where code-server keeps them by default.
 */
export const CONTAINER_HOME = "/home/coder";
export const CONTAINER_WORKSPACE = `${CONTAINER_HOME}/workspace`;
/** Where the developer's root-owned code-server config is mounted, read-only, outside the home. */
export const CONTAINER_CONFIG_FILE = "/etc/code-server/config.yaml";

/** Before the home moved onto the data volume, these two were its only persistent parts. */
export const LEGACY_LAYOUT = { workspace: "workspace", userData: "config" } as const;
/** Where the legacy user-data dir goes in the home: code-server's default user-data dir. */
export const HOME_USER_DATA_DIR = ".local/share/code-server";

/**
 * Tasks (processes and threads) per container: a fork bomb or a runaway build stops there instead
 * of exhausting the host's PIDs. code-server, its extension hosts, language servers, terminals and
 * a parallel build use a few hundred.
 */
export const PIDS_LIMIT = 4096;

/**
 * The container's root file system is read-only: it would otherwise grow on the host's root disk,
 * which dockerd, the SSM agent and the logs need. What code-server and the tools a developer runs
 * write outside the home goes to these memory file systems, each limited to this share of the
 * developer's memory limit and counted against it: a runaway /tmp fills that developer's own
 * memory, never a disk.
 */
export const WRITABLE_TMPFS = ["/tmp", "/var/tmp"] as const;
export const TMPFS_SHARE_OF_MEMORY_LIMIT = 1 / 4;

/**
 * Free space below which an apply starts no work (it changes nothing and leaves the containers
 * running), MiB: on the data volume, room for a recreated container's code-server to start and a
 * new home to be seeded; on the root disk, for an image pull, the scripts' state and the logs.
 */
export const MIN_FREE_MIB = { data: 512, root: 2048 } as const;

/** Open files per container. */
export const NOFILE_LIMIT = 64000;
/** cpu_shares weight of one reserved vCPU. */
export const CPU_SHARES_PER_VCPU = 1024;
/** Generated passwords: longer than the minimum of 16; letters, digits and symbols. */
export const PASSWORD_LENGTH = 32;
/** Symbols in generated passwords: none that need quoting in a shell, YAML or a URL form. */
export const PASSWORD_ALPHABET = "A-Za-z0-9!#%*+,.:=?@^_~-";
/**
 * What the host accepts as an API key: the characters of `sk-ant-...` keys and base64, nothing
 * that could break out of the env file's single quotes. set-api-key.sh enforces the same rule.
 */
export const API_KEY_PATTERN = "^[A-Za-z0-9._~+/=-]+$";

/**
 * Compose interpolation of the host scripts' ROOT_PREFIX (apply.sh passes it to compose). Unset
 * or empty on the host, so the file names the real paths under Docker Compose v2 unchanged.
 */
export const COMPOSE_ROOT_PREFIX = "${ROOT_PREFIX:-}";

/** Where dockerd's messages land (rsyslog rule) for the CloudWatch agent to tail. */
export const DOCKERD_LOG_FILE = "/var/log/dockerd.log";
export const SYSLOG_FILE = "/var/log/syslog";

const mib = (n: number) => `${n}m`;

function developerView(fleet: Fleet, developer: Developer) {
  const dataDir = `${DATA_MOUNT}/${developer.name}`;
  const homeDir = `${dataDir}/home`;
  return {
    name: developer.name,
    /** Compose service and container name. */
    service: containerName(developer),
    port: developer.port,
    hostname: developer.hostname,
    cpuLimit: developer.cpuLimit,
    cpuShares: Math.max(2, Math.round(developer.cpus * CPU_SHARES_PER_VCPU)),
    memLimit: mib(developer.memoryLimitMiB),
    memReservation: mib(developer.memoryMiB),
    // exec: builds run what they compile there (go test, node-gyp); nosuid and nodev are Docker's defaults.
    /** `<path>:<tmpfs options>` of each writable memory file system (the root file system is read-only). */
    tmpfs: WRITABLE_TMPFS.map(
      (path) => `${path}:size=${mib(Math.floor(developer.memoryLimitMiB * TMPFS_SHARE_OF_MEMORY_LIMIT))},mode=1777,exec,nosuid,nodev`,
    ),
    /** Compose network key: one bridge network per developer. */
    network: `net-${developer.name}`,
    /** Linux name of the network's bridge, which the isolation rules match. */
    bridgeName: developerBridgeName(developer),
    logGroup: logGroupNames(fleet).container(developer),
    /** `<data mount>/<name>`: root-owned, never mounted into a container. */
    dataDir,
    /** `<dataDir>/home`: the container's whole home, owned by the container's user. */
    homeDir,
    workspaceDir: `${homeDir}/${posix.basename(CONTAINER_WORKSPACE)}`,
    /** Where the workspace and the user-data dir lived before the home moved onto the data volume. */
    legacyWorkspaceDir: `${dataDir}/${LEGACY_LAYOUT.workspace}`,
    legacyUserDataDir: `${dataDir}/${LEGACY_LAYOUT.userData}`,
    /** Host path of the developer's code-server config: root-owned, mounted read-only. */
    codeServerConfigFile: `${hostPaths(fleet).codeServerConfigDir}/${developer.name}.yaml`,
    /** Host-file path (relative) of the code-server config apply.sh installs as codeServerConfigFile. */
    configTemplate: developerConfigTemplate(developer),
    /** The root-only 0600 env file holding the password hash and the API key. */
    envFile: `${hostPaths(fleet).secretsDir}/${developer.name}.env`,
    passwordSecret: secretName(fleet, developer, "password"),
    apiKeySecret: secretName(fleet, developer, "anthropic-api-key"),
    /** Terraform addresses of the resources that outlive a removal (readd-developer.sh imports them). */
    keptAddresses: developerKeptAddresses(developer),
    /** The sign-in gate's cookie key (OpenID Connect fleets only), and its Terraform address. */
    gateCookieKeySecret: secretName(fleet, developer, "gate-cookie-key"),
    gateCookieKeyAddress: developerGateKeyAddress(developer),
    /** Every extension, space-separated for a bash word list (ids are validated: no spaces, no quotes). */
    extensionList: developer.extensions.join(" "),
    /** The sign-in gate's container, its root-only directory, and the host file of its configuration (used only when the host is gated). */
    gateService: gateContainerName(developer),
    gateDir: `${hostPaths(fleet).gateDir}/${developer.name}`,
    gateConfigTemplate: gateConfigTemplate(developer),
  };
}

export function fleetView(fleet: Fleet) {
  const paths = hostPaths(fleet);
  const logs = logGroupNames(fleet);
  const deviceName = DATA_DEVICE_NAME;
  return {
    project: fleet.project,
    environment: fleet.environment,
    namePrefix: fleet.namePrefix,
    region: fleet.region,
    domain: fleet.domain,
    image: `${fleet.codeServer.image}:${fleet.codeServer.tag}`,
    debArch: DEBIAN_ARCHITECTURE[runningHost(fleet).architecture],
    hostInstanceName: hostInstanceName(fleet),
    /** Terraform addresses the restore runbook prints. */
    terraform: {
      dataVolume: terraformAddress(TERRAFORM_ADDRESSES.dataVolume),
      dataVolumeAttachment: terraformAddress(TERRAFORM_ADDRESSES.dataVolumeAttachment),
    },
    /** The tag (and its value) the backup plan selects the data volume by; restore.sh moves it to the restored volume. */
    backupSelection: { tag: BACKUP_SELECTION_TAG, value: backupPlanName(fleet) },
    dataDeviceName: deviceName,
    // Xen kernels rename /dev/sdX attachments to /dev/xvdX.
    xenDataDeviceName: deviceName.replace(/^\/dev\/sd/, "/dev/xvd"),
    dataMount: DATA_MOUNT,
    dataFsLabel: posix.basename(DATA_MOUNT).slice(0, 16),
    coderUid: CODER_UID,
    containerPort: CONTAINER_PORT,
    /** Whether the roster sleeps when idle (publish-metrics.sh then publishes Active). */
    sleep: fleet.sleep !== undefined,
    /** code-server's own port inside its container (behind the gate or not): what activity.sh asks and counts connections to. */
    codeServerPort: codeServerPort(fleet, CONTAINER_PORT),
    /** code-server's command line before the workspace: where it listens and how it checks who comes in. */
    codeServerArgs: codeServerListenArgs(hostGated(fleet) ? fleet.auth : { type: "password" }),
    /** code-server's own health endpoint, inside its container (behind the gate when there is one). */
    healthUrl: `http://localhost:${codeServerPort(fleet, CONTAINER_PORT)}${HEALTH_PATH}`,
    /** The sign-in gate in front of each code-server, or false (code-server's password). */
    gate: hostGateView(fleet),
    containerHome: CONTAINER_HOME,
    containerWorkspace: CONTAINER_WORKSPACE,
    containerConfigFile: CONTAINER_CONFIG_FILE,
    /** The legacy user-data dir's place in the home. */
    homeUserDataDir: HOME_USER_DATA_DIR,
    pidsLimit: PIDS_LIMIT,
    /** An apply refuses to start below this much free space, MiB. */
    minFreeMiB: MIN_FREE_MIB,
    /** Prefix of every developer bridge's name (iptables matches `<prefix>+`). */
    bridgePrefix: DEVELOPER_BRIDGE_PREFIX,
    isolationChains: isolationChains(fleet),
    /** Prefix of every host path in the compose file: the scripts' ROOT_PREFIX, empty on the host. */
    composeRootPrefix: COMPOSE_ROOT_PREFIX,
    nofile: NOFILE_LIMIT,
    paths,
    logGroups: { system: logs.system, docker: logs.docker },
    metrics: metricNames(fleet),
    fleetEnvKeys: FLEET_ENV_KEYS,
    /** The keys every host script may read, for shellcheck-visible defaults. */
    fleetEnvKeyList: Object.values(FLEET_ENV_KEYS),
    fleetEnvKeyNames: Object.values(FLEET_ENV_KEYS).join(" "),
    composeFile: `${paths.root}/docker/docker-compose.yml`,
    systemd: {
      metricsService: `${fleet.project}-metrics.service`,
      metricsTimer: `${fleet.project}-metrics.timer`,
      diskUsageService: `${fleet.project}-disk-usage.service`,
      diskUsageTimer: `${fleet.project}-disk-usage.timer`,
      dockerDropIn: `${fleet.project}-data-mount.conf`,
      /** docker.service's drop-in that requires the isolation unit: no dockerd without the rules. */
      dockerIsolationDropIn: `${fleet.project}-isolation.conf`,
      isolationService: `${fleet.project}-isolation.service`,
    },
    sysctlFile: `90-${fleet.project}.conf`,
    rsyslogFile: `30-${fleet.project}-dockerd.conf`,
    logrotateFile: `${fleet.project}-dockerd`,
    dockerdLogFile: DOCKERD_LOG_FILE,
    passwordLength: PASSWORD_LENGTH,
    passwordAlphabet: PASSWORD_ALPHABET,
    apiKeyPattern: API_KEY_PATTERN,
    /** What the deployment stores in a secret only an operator can fill (no key: apply.sh skips it). */
    secretPlaceholder: SECRET_PLACEHOLDER,
    /** What a developer name looks like (apply.sh archives only such directories). */
    dnsLabelPattern: DNS_LABEL.source,
    developers: fleet.developers.map((d) => developerView(fleet, d)),
  };
}

/** What wake.sh and sleep.sh know beyond the fleet: the alarms that sleep with the host, and the schedule. */
export interface PowerView {
  /** Names of the alarms whose actions are off while the host sleeps. */
  readonly sleepingAlarms: readonly string[];
  /** The roster's schedule, or false without one. */
  readonly schedule:
    | false
    | {
        readonly timezone: string;
        /** ISO 8601 weekday numbers (1 is Monday), space-separated for a bash array. */
        readonly isoDays: string;
        readonly dayNames: string;
        readonly start: string;
        readonly stop: string;
        /** Minutes after midnight. */
        readonly startMinute: number;
        readonly stopMinute: number;
      };
}

export function powerView(fleet: Fleet, sleepingAlarmNames: readonly string[]): PowerView {
  const { schedule } = fleet;
  return {
    sleepingAlarms: sleepingAlarmNames,
    schedule: schedule
      ? {
          timezone: schedule.timezone,
          isoDays: schedule.days.map((d) => WEEKDAYS.indexOf(d) + 1).join(" "),
          dayNames: schedule.days.join(", "),
          start: schedule.start,
          stop: schedule.stop,
          startMinute: minutesOfDay(schedule.start),
          stopMinute: minutesOfDay(schedule.stop),
        }
      : false,
  };
}

/** What the ECS platform's operator scripts know: the cluster, the homes, their backups and the maintenance task. */
export interface EcsOperatorView {
  /** The cluster of the developers' services, each named after its developer. */
  readonly cluster: string;
  /** Whether the roster lets operators open a shell in a task (ECS Exec). */
  readonly exec: boolean;
  /** The container of a developer's task that serves code-server (shell.sh opens its shell there). */
  readonly container: string;
  /** The homes' file system's Name tag. */
  readonly homesName: string;
  /** The backup vault, and the role AWS Backup restores with. */
  readonly backupVault: string;
  readonly backupRole: string;
  readonly maintenance: ReturnType<typeof maintenanceNames>;
}

/** What the operator scripts render from: the fleet's names, the platforms that run, the power view. */
export interface OperatorView extends PowerView {
  readonly project: string;
  readonly environment: string;
  readonly namePrefix: string;
  readonly region: string;
  readonly domain: string;
  readonly developers: readonly DeveloperView[];
  /** The platform that serves the developers, and which run (both, during a migration). */
  readonly platform: {
    readonly serving: "host" | "ecs";
    readonly hostRuns: boolean;
    readonly ecsRuns: boolean;
    /** A migration runs both: the scripts act on both platforms. */
    readonly both: boolean;
  };
  readonly hostInstanceName: string;
  readonly paths: ReturnType<typeof hostPaths>;
  readonly terraform: FleetView["terraform"];
  readonly backupSelection: FleetView["backupSelection"];
  readonly fleetEnvKeys: typeof FLEET_ENV_KEYS;
  readonly passwordLength: number;
  readonly passwordAlphabet: string;
  readonly apiKeyPattern: string;
  readonly dnsLabelPattern: string;
  /** The ECS side, or false when ECS does not run. */
  readonly ecs: false | EcsOperatorView;
  /** The identity provider developers sign in at (auth.type oidc), or false with code-server's password. */
  readonly oidcIssuer: false | string;
  /** The identity provider's client secret (set-oidc-client-secret.sh), or false with code-server's password. */
  readonly oidcClientSecret: false | string;
  /**
   * Where code-server's password is in use: with OpenID Connect the gate signs developers in on the
   * platform that serves, and only a host kept beside ECS (a migration) still uses the password.
   */
  readonly passwords: { readonly host: boolean; readonly ecs: boolean; readonly inUse: boolean };
  /** Whether the host runs a sign-in gate in front of each code-server (OpenID Connect on the host platform). */
  readonly hostGate: boolean;
}

/** The operator scripts' view: none of it needs a running host, so an ECS-only roster renders too. */
export function operatorView(fleet: Fleet, sleepingAlarmNames: readonly string[]): OperatorView {
  const hostRuns = fleet.host !== undefined;
  const ecsRuns = fleet.ecs !== undefined;
  return {
    ...powerView(fleet, sleepingAlarmNames),
    project: fleet.project,
    environment: fleet.environment,
    namePrefix: fleet.namePrefix,
    region: fleet.region,
    domain: fleet.domain,
    developers: fleet.developers.map((d) => developerView(fleet, d)),
    platform: { serving: fleet.platform, hostRuns, ecsRuns, both: hostRuns && ecsRuns },
    hostInstanceName: hostInstanceName(fleet),
    paths: hostPaths(fleet),
    terraform: {
      dataVolume: terraformAddress(TERRAFORM_ADDRESSES.dataVolume),
      dataVolumeAttachment: terraformAddress(TERRAFORM_ADDRESSES.dataVolumeAttachment),
    },
    backupSelection: { tag: BACKUP_SELECTION_TAG, value: backupPlanName(fleet) },
    fleetEnvKeys: FLEET_ENV_KEYS,
    passwordLength: PASSWORD_LENGTH,
    passwordAlphabet: PASSWORD_ALPHABET,
    apiKeyPattern: API_KEY_PATTERN,
    dnsLabelPattern: DNS_LABEL.source,
    oidcIssuer: fleet.auth.type === "oidc" ? fleet.auth.issuer : false,
    oidcClientSecret: fleet.auth.type === "oidc" ? oidcClientSecretName(fleet) : false,
    passwords: {
      host: hostRuns && !hostGated(fleet),
      ecs: ecsRuns && fleet.auth.type === "password",
      inUse: (hostRuns && !hostGated(fleet)) || fleet.auth.type === "password",
    },
    hostGate: hostGated(fleet),
    ecs: fleet.ecs
      ? {
          // The names the ECS platform and the backup layer give them (a test holds them to the stack).
          cluster: fleet.namePrefix,
          exec: fleet.ecs.exec,
          container: "code-server",
          homesName: `${fleet.namePrefix}-homes`,
          backupVault: fleet.namePrefix,
          backupRole: `${fleet.namePrefix}-backup`,
          maintenance: maintenanceNames(fleet),
        }
      : false,
  };
}

/** What the templates read of a developer. */
export type DeveloperView = Readonly<ReturnType<typeof developerView>>;
/** What the templates read of the fleet. */
export type FleetView = Readonly<ReturnType<typeof fleetView>>;
