/**
 * The sign-in gate on the EC2 host, as the host files render it (see gate-deployment.ts for the
 * ports): per developer a container `gate-<name>` that owns the developer's network namespace (their
 * bridge, their published port, and `net.ipv4.ip_unprivileged_port_start` above the gate's port),
 * and the developer's code-server container joins that namespace. The gate owns it, not code-server,
 * because code-server is what a developer can crash or restart: a container that restarts while
 * another has joined it would leave the other in a namespace nobody reaches.
 *
 * apply.sh writes each gate's directory, `<etc>/gate/<name>/` (root, 0700): the configuration
 * (rendered here, no secret) and the two secret files (0600) it reads from Secrets Manager, the
 * fleet's client secret and the developer's cookie key, which it generates when the secret has none.
 * The gate's bundle is a host file like the scripts, synced from S3 and checked against the manifest.
 */
import { hostPaths, oidcClientSecretName } from "../naming";
import type { Developer, Fleet } from "../roster";
import { GATE_NODE_IMAGE } from "./gate-bundle";
import { CODE_SERVER_PORT_BEHIND_GATE, gateConfigJson, UNPRIVILEGED_PORT_START } from "./gate-deployment";

/** The bundle's path among the host files (under the host root, beside the scripts). */
export const GATE_HOST_FILE = "gate/gate.js";
/** Inside the gate's container: its directory (read-only) and the bundle (read-only). */
export const GATE_CONTAINER_DIR = "/run/gate";
export const GATE_CONTAINER_BUNDLE = "/opt/gate/gate.js";
/** The gate's memory limit and tasks: a proxy of one developer's traffic. */
export const GATE_MEMORY_LIMIT = "256m";
export const GATE_PIDS_LIMIT = 64;

/** Whether the host runs a gate in front of each code-server: OpenID Connect on the platform that serves. */
export function hostGated(fleet: Pick<Fleet, "auth" | "platform">): boolean {
  // A host kept beside ECS during a migration serves nobody through the load balancer: it keeps the password.
  return fleet.auth.type === "oidc" && fleet.platform === "host";
}

/** The gate's configuration for `developer` on the host: the secrets are files in its directory. */
export function hostGateConfig(fleet: Fleet, developer: Developer): string {
  if (fleet.auth.type !== "oidc") throw new Error("the gate needs auth.type oidc");
  return `${gateConfigJson(fleet.auth, developer, {
    clientSecretFile: `${GATE_CONTAINER_DIR}/client-secret`,
    cookieKeyFile: `${GATE_CONTAINER_DIR}/cookie-key`,
  })}\n`;
}

/** Host-file path (relative) of `developer`'s rendered gate configuration, which apply.sh installs in the gate's directory. */
export function gateConfigTemplate(developer: Pick<Developer, "name">): string {
  return `gate/${developer.name}.json`;
}

/** Compose service and container name of `developer`'s gate. */
export function gateContainerName(developer: Pick<Developer, "name">): string {
  return `gate-${developer.name}`;
}

/** What the host files say about the gate: false without one. */
export type HostGateView =
  | false
  | {
      readonly image: string;
      /** Host path of the bundle, which the gate's container mounts read-only. */
      readonly bundle: string;
      readonly containerBundle: string;
      readonly containerDir: string;
      /** Root-owned directory of the gates' directories. */
      readonly dir: string;
      readonly memLimit: string;
      readonly pidsLimit: number;
      readonly unprivilegedPortStart: number;
      /** The fleet's client secret at the provider (set-oidc-client-secret.sh stores it). */
      readonly clientSecret: string;
    };

export function hostGateView(fleet: Fleet): HostGateView {
  if (!hostGated(fleet)) return false;
  const paths = hostPaths(fleet);
  return {
    image: GATE_NODE_IMAGE,
    bundle: `${paths.root}/${GATE_HOST_FILE}`,
    containerBundle: GATE_CONTAINER_BUNDLE,
    containerDir: GATE_CONTAINER_DIR,
    dir: paths.gateDir,
    memLimit: GATE_MEMORY_LIMIT,
    pidsLimit: GATE_PIDS_LIMIT,
    unprivilegedPortStart: UNPRIVILEGED_PORT_START,
    clientSecret: oidcClientSecretName(fleet),
  };
}

/** code-server's port inside its container: behind the gate on loopback, or its own. */
export function codeServerPort(fleet: Pick<Fleet, "auth" | "platform">, ownPort: number): number {
  return hostGated(fleet) ? CODE_SERVER_PORT_BEHIND_GATE : ownPort;
}
