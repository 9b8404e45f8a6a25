/**
 * The sign-in gate: a small reverse proxy that stands in front of one developer's code-server
 * and admits only that developer's identity at their company's OpenID Connect provider.
 *
 *   node gate.js --config /etc/gate/gate.json        (or GATE_CONFIG=/etc/gate/gate.json node gate.js)
 *
 * Where it runs: beside code-server, in the same network namespace (a second container sharing
 * the developer container's network on the host, a second container of the same task on ECS).
 * It listens on the port the load balancer targets; code-server listens on loopback only with
 * `--auth none`, so the only way into code-server from outside the namespace is through the gate.
 * code-server cannot take an identity from a header, which is why the gate forwards nothing about
 * the person and code-server trusts nobody but its loopback.
 *
 * What it does (server.ts has the routes): sign-in with the authorization code flow, PKCE, `state`
 * and `nonce` (oidc.ts, openid-client); a session in an encrypted cookie (cookies.ts, jose); the
 * verdict on the identity (identity.ts); forwarding of requests and websockets (proxy.ts); one
 * log line per decision on stdout (log.ts).
 *
 * A session ends when the provider's ID token does, or at `maxSessionSeconds` if that comes
 * first, and the websockets it opened are cut at that moment: otherwise an open workbench tab
 * would outlive an account the company has disabled. The gate never refreshes a session on its
 * own (no refresh token is kept): with providers whose ID tokens live an hour, the workbench
 * loses its connection hourly and a reload signs in again, silently while the provider's own
 * session lasts.
 *
 * State is the two cookies, plus, in memory, the `state` values of completed sign-ins (for ten
 * minutes, to refuse a replay), the sessions signed out before their end (so a copied cookie
 * dies with its sign-out) and a few already-decrypted sessions. A restart forgets these: it loses
 * sign-ins in flight, and a copy of a signed-out cookie works again until its session's end.
 *
 * Configuration (config.ts), a JSON file:
 *
 *   { "issuer": "https://login.example.com", "clientId": "code-server-fleet",
 *     "clientSecretFile": "/run/gate/client-secret", "cookieKeyFile": "/run/gate/cookie-key",
 *     "publicUrl": "https://dev1.example.com", "identity": { "email": "alice@example.com" },
 *     "upstream": "http://127.0.0.1:8080", "listenPort": 8443, "maxSessionSeconds": 43200 }
 *
 * The two secret files must not be open to other users (0600 or 0640); the cookie key is base64
 * of at least 32 random bytes (`openssl rand -base64 32`). The provider must have the redirect
 * URI `<publicUrl>/oauth2/callback` and, where it supports RP-initiated logout, the post-logout
 * URI `<publicUrl>/oauth2/signed-out`.
 *
 * Packaging (../gate-bundle.ts): `npm run build:gate -- --out <file>` writes the gate and its
 * libraries as one self-contained JavaScript file, run as it is by the pinned official Node image
 * (GATE_NODE_IMAGE): nothing to install or build on the host. `npm run bench:gate` measures the
 * latency it adds.
 */
import { parseCommandLine } from "../../command-line";
import { CONFIG_EXIT_CODE, CONFIG_VARIABLE, ConfigError, configFromEnvironment, loadConfig, type GateConfig } from "./config";
import { CookieSealer } from "./cookies";
import { decisionLog, eventLog } from "./log";
import { RelyingParty } from "./oidc";
import { Gate } from "./server";

const USAGE = `usage: node gate.js --config <file>     (or set GATE_CONFIG=<file>, or GATE_CONFIG_JSON to the JSON itself)
Runs the sign-in gate in front of one developer's code-server, as the JSON file <file> configures it.`;
/** How long a stopping gate lets open requests finish before it exits. */
const STOP_GRACE_MS = 3000;

function configuration(argv: readonly string[]): GateConfig {
  const parsed = parseCommandLine<{ config?: string }>(argv, { config: { type: "string" } }, USAGE);
  if ("exit" in parsed) process.exit(parsed.exit);
  const path = parsed.values.config ?? process.env.GATE_CONFIG;
  const inline = process.env[CONFIG_VARIABLE] !== undefined;
  if (!path && !inline) {
    console.error(`gate: no configuration: give --config <file>, or set GATE_CONFIG to a file or ${CONFIG_VARIABLE} to the JSON\n${USAGE}`);
    process.exit(CONFIG_EXIT_CODE);
  }
  try {
    return path ? loadConfig(path) : configFromEnvironment();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`gate: refusing to start, ${path ?? CONFIG_VARIABLE} is not usable:\n${err.problems.map((p) => `  - ${p}`).join("\n")}`);
    process.exit(CONFIG_EXIT_CODE);
  }
}

async function main(): Promise<void> {
  const config = configuration(process.argv.slice(2));
  const sealer = await CookieSealer.create(config.cookieKey, config.publicUrl, config.issuer);
  const relyingParty = new RelyingParty(config);
  const server = new Gate({ config, sealer, relyingParty, log: decisionLog() }).server();
  server.on("error", (err: NodeJS.ErrnoException) => {
    console.error(`gate: cannot listen on port ${config.listenPort}: ${err.code ?? err.message}`);
    process.exit(1);
  });
  server.listen(config.listenPort, () => {
    const { issuer, clientId, publicUrl, binding, upstream, listenPort, maxSessionSeconds } = config;
    eventLog("listening", {
      port: listenPort,
      publicUrl: publicUrl.origin,
      issuer: issuer.href,
      clientId,
      binding,
      upstream,
      maxSessionSeconds,
    });
  });
  if (relyingParty.configured) {
    relyingParty.configuration().then(
      () => eventLog("discovered", { issuer: config.issuer.href }),
      (err: Error) => eventLog("discovery-failed", { issuer: config.issuer.href, reason: err.message, retry: "at the next sign-in" }),
    );
  } else {
    eventLog("not-configured", {
      reason: "the client secret is not set: sign-in answers 503 until an operator stores it and restarts the gate",
    });
  }
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      eventLog("stopping", { signal });
      server.close(() => process.exit(0));
      setTimeout(() => process.exit(0), STOP_GRACE_MS).unref();
    });
  }
}

main().catch((err: unknown) => {
  console.error(`gate: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
