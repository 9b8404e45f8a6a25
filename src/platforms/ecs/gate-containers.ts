/**
 * The sign-in gate's two containers in a developer's ECS task, when the fleet signs in with OpenID
 * Connect (see src/identity/gate-deployment.ts for why the ports keep code-server behind it):
 *
 * - `gate-fetch` copies the gate's bundle from the fleet's ECS files bucket into a volume of the
 *   task, then exits: Fargate mounts no file from elsewhere, and the bundle is too large for the
 *   task definition. It runs the AWS CLI's official image, as root without a capability (it writes
 *   into the volume ECS creates root-owned), with the task role's read of that one object.
 * - `gate` runs the bundle with the pinned Node image once it is there: root with one capability,
 *   NET_BIND_SERVICE, so that it alone can take the privileged port the load balancer targets; a
 *   read-only root; its two secrets injected by ECS (`secrets`, by ARN) and its configuration in
 *   GATE_CONFIG_JSON. It is essential: when it stops, the task stops with everything the developer
 *   started, so nothing of theirs outlives it to take its port.
 */
import { GATE_NODE_IMAGE } from "../../identity/gate-bundle";
import { GATE_PORT, GATE_SECRET_VARIABLES, gateConfigJson, UNPRIVILEGED_PORT_START } from "../../identity/gate-deployment";
import type { Developer, Fleet } from "../../roster";

export const GATE_CONTAINER = "gate";
export const GATE_FETCH_CONTAINER = "gate-fetch";
/** The task volume the bundle is copied into, and where the gate reads it. */
export const GATE_VOLUME = "gate";
const GATE_DIR = "/gate";
/** The AWS CLI's official image, pinned to a release (by tag: no registry is reachable here to read a digest). */
export const AWS_CLI_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.32.9";

/**
 * Docker's default capabilities but NET_BIND_SERVICE: what the gate drops. Fargate can add no
 * capability but SYS_PTRACE, so the gate keeps this one by not dropping it.
 */
export const GATE_DROPPED_CAPABILITIES = [
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_RAW",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
];

/** The task's network namespace keeps ports below code-server's for processes with CAP_NET_BIND_SERVICE. */
export const GATE_SYSTEM_CONTROLS = [{ namespace: "net.ipv4.ip_unprivileged_port_start", value: String(UNPRIVILEGED_PORT_START) }];

/** What the gate's containers are given by reference. */
export interface GateRefs {
  /** `s3://<bucket>/<key>` of the gate's bundle. */
  readonly bundleUrl: string;
  /** ARN of the fleet's OpenID Connect client secret. */
  readonly clientSecretArn: string;
  /** ARN of the developer's cookie key. */
  readonly cookieKeyArn: string;
}

/** Where a container of the task logs: the developer's log group, under its own stream prefix. */
export type LogSettings = (streamPrefix: string) => object;

/** The `gate-fetch` and `gate` containers of `developer`'s task. */
export function gateContainers(fleet: Fleet, developer: Developer, refs: GateRefs, logs: LogSettings): object[] {
  if (fleet.auth.type !== "oidc") return [];
  const fetch = {
    name: GATE_FETCH_CONTAINER,
    image: AWS_CLI_IMAGE,
    essential: false,
    user: "0",
    readonlyRootFilesystem: true,
    command: ["s3", "cp", "--only-show-errors", refs.bundleUrl, `${GATE_DIR}/gate.js`],
    mountPoints: [{ sourceVolume: GATE_VOLUME, containerPath: GATE_DIR, readOnly: false }],
    linuxParameters: { capabilities: { add: [], drop: ["ALL"] }, initProcessEnabled: true },
    systemControls: GATE_SYSTEM_CONTROLS,
    ...logs(GATE_FETCH_CONTAINER),
  };
  const gate = {
    name: GATE_CONTAINER,
    image: GATE_NODE_IMAGE,
    essential: true,
    user: "0",
    readonlyRootFilesystem: true,
    entryPoint: ["node"],
    command: [`${GATE_DIR}/gate.js`],
    portMappings: [{ containerPort: GATE_PORT, hostPort: GATE_PORT, protocol: "tcp" }],
    environment: [{ name: "GATE_CONFIG_JSON", value: gateConfigJson(fleet.auth, developer, GATE_SECRET_VARIABLES) }],
    secrets: [
      { name: GATE_SECRET_VARIABLES.clientSecretEnv, valueFrom: refs.clientSecretArn },
      { name: GATE_SECRET_VARIABLES.cookieKeyEnv, valueFrom: refs.cookieKeyArn },
    ],
    mountPoints: [{ sourceVolume: GATE_VOLUME, containerPath: GATE_DIR, readOnly: true }],
    linuxParameters: { capabilities: { add: [], drop: GATE_DROPPED_CAPABILITIES }, initProcessEnabled: true },
    systemControls: GATE_SYSTEM_CONTROLS,
    dependsOn: [{ containerName: GATE_FETCH_CONTAINER, condition: "SUCCESS" }],
    ...logs(GATE_CONTAINER),
  };
  return [fetch, gate];
}
