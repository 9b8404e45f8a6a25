/**
 * The containers of a developer's ECS task, as the task definition's `container_definitions`: a
 * `prepare-home` container that seeds a new home from the image's skeleton, makes the workspace
 * and installs the pinned extensions into the home, then exits; then `code-server`, which starts
 * once it has (`COMPLETE`: an extension that cannot be fetched only leaves it missing, as on the
 * host, where the next apply retries; here the next start does).
 *
 * What guards the developer comes from the task definition, which nothing in the task can write:
 * `--auth password` on the command line, the password and the API key injected by ECS from
 * Secrets Manager (`secrets`, by ARN: no value in the definition), `CODE_SERVER_CONFIG=/dev/null`
 * so that no config file in the home is read (code-server reads an empty file as no settings),
 * user 1000, no Linux capabilities, a read-only root file system (the home on EFS and /tmp on the
 * task's storage are the only writable places), and an init process that reaps what the
 * developer's terminals leave behind.
 */
import { CODE_SERVER_PORT_BEHIND_GATE, codeServerListenArgs } from "../../identity/gate-deployment";
import { CONTAINER_PORT, HEALTH_PATH } from "../../naming";
import type { Developer, Fleet } from "../../roster";
import { CONTAINER_HOME, CONTAINER_WORKSPACE, NOFILE_LIMIT } from "../../render/view-model";
import { activityContainer, ACTIVITY_CONTAINER } from "./activity";
import { GATE_CONTAINER, GATE_SYSTEM_CONTROLS, gateContainers, type GateRefs, type LogSettings } from "./gate-containers";

/** The container that serves the developer, and the one that prepares its home first. */
export const CODE_SERVER_CONTAINER = "code-server";
export const PREPARE_CONTAINER = "prepare-home";
/** The task's volumes: the home on EFS and a scratch /tmp on the task's own storage. */
export const HOME_VOLUME = "home";
export const TMP_VOLUME = "tmp";
/** The uid:gid of `coder` in the image, which owns every home. */
export const TASK_USER = "1000:1000";
/** code-server's config file: empty, so nothing in the home can change how it runs. */
export const NO_CONFIG_FILE = "/dev/null";

/** What the containers are given by reference: ARNs and names only the stack knows. */
export interface ContainerRefs {
  /** The developer's log group. */
  readonly logGroup: string;
  /** ARNs of the developer's password and Anthropic API key secrets. */
  readonly passwordSecretArn: string;
  readonly apiKeySecretArn: string;
  /** The sign-in gate's bundle and secrets, when the fleet signs in with OpenID Connect. */
  readonly gate?: GateRefs;
}

/** The task's mounts: the home, and a writable /tmp beside a read-only root. */
const MOUNT_POINTS = [
  { sourceVolume: HOME_VOLUME, containerPath: CONTAINER_HOME, readOnly: false },
  { sourceVolume: TMP_VOLUME, containerPath: "/tmp", readOnly: false },
];

/** Where each container of the task logs: the developer's log group, under the container's stream prefix. */
function logSettings(fleet: Fleet, refs: ContainerRefs): LogSettings {
  return (streamPrefix) => ({
    logConfiguration: {
      logDriver: "awslogs",
      options: {
        "awslogs-group": refs.logGroup,
        "awslogs-region": fleet.region,
        "awslogs-stream-prefix": streamPrefix,
        // A slow CloudWatch never stalls code-server's output.
        mode: "non-blocking",
        "max-buffer-size": "4m",
      },
    },
  });
}

/** What both code-server containers share: image, user, mounts, no capabilities, a read-only root, the log group. */
function commonSettings(fleet: Fleet, refs: ContainerRefs, streamPrefix: string) {
  return {
    image: `${fleet.codeServer.image}:${fleet.codeServer.tag}`,
    user: TASK_USER,
    readonlyRootFilesystem: true,
    mountPoints: MOUNT_POINTS,
    linuxParameters: { capabilities: { add: [], drop: ["ALL"] }, initProcessEnabled: true },
    ulimits: [{ name: "nofile", softLimit: NOFILE_LIMIT, hardLimit: NOFILE_LIMIT }],
    // Behind the gate, every container sets the task's port rule alike (the last one started would win).
    ...(fleet.auth.type === "oidc" ? { systemControls: GATE_SYSTEM_CONTROLS } : {}),
    ...logSettings(fleet, refs)(streamPrefix),
  };
}

/**
 * The shell script of `prepare-home`: a new home gets the image's skeleton (.bashrc, .profile) and
 * never loses a file it has (`cp -n`); the workspace exists; each extension is installed as the
 * roster pins it, and those that cannot be are named, never failing the task.
 */
export function prepareHomeScript(developer: Developer): string {
  const specs = developer.extensions.map((spec) => `'${spec}'`).join(" ");
  return [
    'cp -Rn /etc/skel/. "$HOME"/',
    `mkdir -p '${CONTAINER_WORKSPACE}'`,
    "failed=''",
    `for spec in ${specs}; do`,
    '  code-server --install-extension "$spec" || failed="$failed $spec"',
    "done",
    'if [ -n "$failed" ]; then echo "extensions not installed, retried at the next start:$failed" >&2; fi',
  ].join("\n");
}

/**
 * The `prepare-home` and `code-server` containers of `developer`'s task; with OpenID Connect,
 * code-server behind the sign-in gate's two containers.
 */
export function containerDefinitions(fleet: Fleet, developer: Developer, refs: ContainerRefs): object[] {
  const behindGate = fleet.auth.type === "oidc";
  if (behindGate && !refs.gate)
    throw new Error(`the task of ${developer.name} signs in through the gate, but no gate bundle or secrets were given`);
  const port = behindGate ? CODE_SERVER_PORT_BEHIND_GATE : CONTAINER_PORT;
  const environment = [{ name: "CODE_SERVER_CONFIG", value: NO_CONFIG_FILE }];
  const prepare = {
    name: PREPARE_CONTAINER,
    ...commonSettings(fleet, refs, PREPARE_CONTAINER),
    essential: false,
    entryPoint: ["/bin/sh", "-c"],
    command: [prepareHomeScript(developer)],
    environment: [...environment, { name: "HOME", value: CONTAINER_HOME }],
  };
  const apiKey = (name: string) => ({ name, valueFrom: refs.apiKeySecretArn });
  const codeServer = {
    name: CODE_SERVER_CONTAINER,
    ...commonSettings(fleet, refs, CODE_SERVER_CONTAINER),
    essential: true,
    // code-server itself, without the image's entrypoint: its fixuid and sudo serve a root container.
    entryPoint: ["/usr/bin/code-server"],
    command: [...codeServerListenArgs(fleet.auth), CONTAINER_WORKSPACE],
    ...(behindGate ? {} : { portMappings: [{ containerPort: CONTAINER_PORT, hostPort: CONTAINER_PORT, protocol: "tcp" }] }),
    environment: [...environment, { name: "PROXY_DOMAIN", value: developer.hostname }],
    // The Claude extension reads ANTHROPIC_API_KEY; CLAUDE_API_KEY is kept for older tools.
    secrets: [
      apiKey("ANTHROPIC_API_KEY"),
      apiKey("CLAUDE_API_KEY"),
      ...(behindGate ? [] : [{ name: "PASSWORD", valueFrom: refs.passwordSecretArn }]),
    ],
    dependsOn: [{ containerName: PREPARE_CONTAINER, condition: "COMPLETE" }],
    healthCheck: {
      command: ["CMD-SHELL", `curl -fsS -o /dev/null http://localhost:${port}${HEALTH_PATH} || exit 1`],
      interval: 30,
      timeout: 10,
      retries: 3,
      startPeriod: 60,
    },
  };
  // Sleep when idle: the activity container reports whether the developer is active, each minute.
  const activity = fleet.sleep
    ? [
        activityContainer(fleet, developer, {
          image: codeServer.image,
          user: TASK_USER,
          logs: logSettings(fleet, refs)(ACTIVITY_CONTAINER),
          codeServerPort: port,
          measured: CODE_SERVER_CONTAINER,
        }),
      ]
    : [];
  return [prepare, codeServer, ...(refs.gate ? gateContainers(fleet, developer, refs.gate, logSettings(fleet, refs)) : []), ...activity];
}

/** The container the load balancer sends the developer's requests to: the gate when there is one. */
export function servingContainer(fleet: Pick<Fleet, "auth">): string {
  return fleet.auth.type === "oidc" ? GATE_CONTAINER : CODE_SERVER_CONTAINER;
}
