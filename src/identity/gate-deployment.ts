/**
 * The sign-in gate in front of one developer's code-server, as both platforms deploy it: the gate
 * takes the port the load balancer targets and code-server moves behind it, to loopback, with
 * `--auth none`. What keeps anything from reaching code-server around the gate is the network
 * namespace the two share (a container joining the developer's on the host, the task's on ECS):
 *
 * - code-server listens on 127.0.0.1 only, so nothing outside the namespace can reach it;
 * - in the namespace, ports below UNPRIVILEGED_PORT_START need CAP_NET_BIND_SERVICE, which only the
 *   gate has: the gate's port is one of them, code-server's is the first above, so no process of
 *   the developer (no capabilities at all) can take the gate's port, even while the gate restarts.
 */
import { CONTAINER_PORT } from "../naming";
import type { Auth, Developer } from "../roster";

/** The gate listens where code-server listened: load balancer, target groups and rules stay as they are. */
export const GATE_PORT = CONTAINER_PORT;
/** code-server's port behind the gate, on loopback. */
export const CODE_SERVER_PORT_BEHIND_GATE = CONTAINER_PORT + 1;
/** `net.ipv4.ip_unprivileged_port_start` of the developer's network namespace: the gate's port is privileged, code-server's not. */
export const UNPRIVILEGED_PORT_START = CODE_SERVER_PORT_BEHIND_GATE;

/** Where the gate finds its two secrets: files the host writes, or variables ECS sets. */
export type GateSecrets =
  | { readonly clientSecretFile: string; readonly cookieKeyFile: string }
  | { readonly clientSecretEnv: string; readonly cookieKeyEnv: string };

/** The variables ECS gives the gate its secrets in. */
export const GATE_SECRET_VARIABLES = { clientSecretEnv: "GATE_CLIENT_SECRET", cookieKeyEnv: "GATE_COOKIE_KEY" } as const;

/** code-server's listening address and auth flags: its own password, or none behind the gate on loopback. */
export function codeServerListenArgs(auth: Auth): string[] {
  return auth.type === "oidc"
    ? ["--bind-addr", `127.0.0.1:${CODE_SERVER_PORT_BEHIND_GATE}`, "--auth", "none"]
    : ["--bind-addr", `0.0.0.0:${CONTAINER_PORT}`, "--auth", "password"];
}

/** The gate's configuration (src/identity/gate/config.ts) for `developer`, as JSON. */
export function gateConfigJson(auth: Extract<Auth, { type: "oidc" }>, developer: Developer, secrets: GateSecrets): string {
  if (!developer.identity) throw new Error(`developer ${developer.name} has no identity: the roster requires one with auth.type oidc`);
  return JSON.stringify({
    issuer: auth.issuer,
    clientId: auth.clientId,
    ...secrets,
    publicUrl: `https://${developer.hostname}`,
    identity: developer.identity,
    upstream: `http://127.0.0.1:${CODE_SERVER_PORT_BEHIND_GATE}`,
    listenPort: GATE_PORT,
    ...(auth.maxSessionSeconds !== undefined ? { maxSessionSeconds: auth.maxSessionSeconds } : {}),
  });
}
