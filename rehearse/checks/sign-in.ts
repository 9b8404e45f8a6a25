/**
 * Sign-in through the company's identity provider, on the host: the roster switched to
 * `auth.type: oidc` puts a sign-in gate in front of every code-server. A real OpenID provider
 * (rehearse/provider.ts) stands outside the host; the operator stores its client secret with the
 * rendered script; the browser signs in there as a developer's user; and the roster switched back
 * to passwords restores code-server's own login. Runs before the main host, on a host of its own
 * with two developers (each switch rolls every developer's containers one at a time).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CONTAINER_PORT, containerName, hostPaths, secretName } from "../../src/naming";
import { CODE_SERVER_PORT_BEHIND_GATE, UNPRIVILEGED_PORT_START } from "../../src/identity/gate-deployment";
import { GATE_NODE_IMAGE, GATE_NODE_VERSION } from "../../src/identity/gate-bundle";
import { gateContainerName } from "../../src/identity/host-gate";
import { dockerCli, removeContainersAndNetworks } from "../engine";
import { ensureGateNodeImage } from "../image";
import { layout } from "../lib/layout";
import { run, runOk, sleep, type RunResult } from "../lib/run";
import { IdentityProvider, PROVIDER_CLIENT_ID, PROVIDER_ISSUER } from "../provider";
import { proxyRequest } from "../proxy";
import type { Rehearsal } from "../rehearsal";
import type { RenderedRoster, RosterEdit } from "../rosters";
import { check, expect, tail } from "./check";

/** The provider's users the two developers are bound to, by email. */
const USERS = ["alice", "bob"] as const;
const emailOf = (user: string) => `${user}@example.com`;
const SESSION_COOKIE = "__Host-gate-session";

/** What the leg's checks share: the provider, the secret stored, the two rosters and the apply that switched to oidc. */
interface SignInLeg {
  readonly provider: IdentityProvider;
  readonly clientSecret: string;
  readonly passwordRoster: RenderedRoster;
  readonly oidcRoster: RenderedRoster;
  /** Whether the leg's host runs the password roster (its first apply passed). */
  created?: boolean;
  /** What set-oidc-client-secret.sh printed, and the apply that switched to oidc. */
  stored?: RunResult;
  apply?: RunResult;
}
let leg: SignInLeg | undefined;

function started(): SignInLeg {
  expect(leg, "the sign-in leg did not start: the provider is not running (see the first sign-in check)");
  return leg;
}

function switched(): Required<SignInLeg> {
  const current = started();
  expect(current.apply?.code === 0, "the host was not switched to auth.type oidc (see the switch check)");
  return current as Required<SignInLeg>;
}

const gateName = (name: string) => gateContainerName({ name });
/** A developer's gate directory on the host, which apply.sh writes: configuration, client secret, cookie key. */
const gateDir = (r: Rehearsal, name: string) => r.host.path(`${hostPaths(r.host.fleet).gateDir}/${name}`);

const twoDevelopers: RosterEdit = (roster) => {
  roster.developers = roster.developers.slice(0, USERS.length);
};
/** The two developers signing in through the rehearsal's provider: the first is alice, the second bob. */
const withProvider: RosterEdit = (roster) => {
  twoDevelopers(roster);
  roster.auth = { type: "oidc", issuer: PROVIDER_ISSUER, clientId: PROVIDER_CLIENT_ID };
  roster.developers.forEach((developer, i) => (developer.email = emailOf(USERS[i])));
};

/** What the checks read of `docker inspect`. */
interface Inspected {
  readonly Id: string;
  readonly Args: string[];
  readonly Config: { readonly Image: string; readonly User: string };
  readonly State: { readonly Status: string };
  readonly HostConfig: {
    readonly CapDrop: string[] | null;
    readonly CapAdd: string[] | null;
    readonly ReadonlyRootfs: boolean;
    readonly Sysctls: Record<string, string> | null;
    readonly SecurityOpt: string[] | null;
    readonly PortBindings: Record<string, { HostPort: string }[]> | null;
    readonly NetworkMode: string;
  };
  readonly NetworkSettings: { readonly Networks: Record<string, { readonly IPAddress: string }> };
}

/** `docker inspect` of a container, parsed. */
async function inspect(r: Rehearsal, container: string): Promise<Inspected> {
  const result = await r.host.docker(["inspect", container]);
  expect(result.code === 0, `${container} does not exist: ${result.stderr.trim()}`);
  return (JSON.parse(result.stdout) as Inspected[])[0];
}

/** What differs from the gate's contract on the host, for one developer. */
async function gateContractProblems(r: Rehearsal, name: string, port: number): Promise<string[]> {
  const gate = await inspect(r, gateName(name));
  const codeServer = await inspect(r, containerName({ name }));
  const host = gate.HostConfig;
  const problems: string[] = [];
  const expectField = (what: string, actual: unknown, wanted: unknown) => {
    if (JSON.stringify(actual) !== JSON.stringify(wanted))
      problems.push(`${what} is ${JSON.stringify(actual)}, not ${JSON.stringify(wanted)}`);
  };
  expectField(`${gateName(name)} image`, gate.Config.Image, GATE_NODE_IMAGE);
  if (!/^0(:0)?$/.test(gate.Config.User)) problems.push(`${gateName(name)} runs as user ${gate.Config.User}, not root`);
  expectField(`${gateName(name)} cap_drop`, host.CapDrop, ["ALL"]);
  expectField(`${gateName(name)} cap_add`, host.CapAdd, ["NET_BIND_SERVICE"]);
  expectField(`${gateName(name)} read_only`, host.ReadonlyRootfs, true);
  expectField(`${gateName(name)} sysctls`, host.Sysctls, { "net.ipv4.ip_unprivileged_port_start": String(UNPRIVILEGED_PORT_START) });
  if (!(host.SecurityOpt ?? []).some((o) => /^no-new-privileges(:true)?$/.test(o)))
    problems.push(`${gateName(name)} lacks no-new-privileges (${JSON.stringify(host.SecurityOpt)})`);
  const published = (host.PortBindings?.[`${CONTAINER_PORT}/tcp`] ?? []).map((b) => Number(b.HostPort));
  if (!published.includes(port))
    problems.push(`${gateName(name)} does not publish ${port} -> ${CONTAINER_PORT} (${JSON.stringify(host.PortBindings)})`);
  expectField(`${containerName({ name })} network_mode`, codeServer.HostConfig.NetworkMode, `container:${gate.Id}`);
  const args = codeServer.Args.join(" ");
  if (!args.includes(`--bind-addr 127.0.0.1:${CODE_SERVER_PORT_BEHIND_GATE}`) || !args.includes("--auth none"))
    problems.push(`${containerName({ name })} runs with ${args}, not --bind-addr 127.0.0.1:${CODE_SERVER_PORT_BEHIND_GATE} --auth none`);
  if (gate.State.Status !== "running") problems.push(`${gateName(name)} is ${gate.State.Status}`);
  return problems;
}

/** The gate's JSON log line about `path` (a path of its own: the gate logs paths without their query), once it is there. */
async function gateLog(r: Rehearsal, name: string, path: string): Promise<Record<string, string> | undefined> {
  // The gate may write the line just after its answer.
  for (let attempt = 0; attempt < 10; attempt++) {
    const logs = await r.host.docker(["logs", gateName(name)]);
    const entry = logs.stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, string>)
      .find((e) => e.path === path);
    if (entry) return entry;
    await sleep(300);
  }
  return undefined;
}

/** A request for a path of its own at a developer's URL with a session cookie; the answer and the gate's log line about it. */
async function withCookie(r: Rehearsal, name: string, cookie: string) {
  const path = `/rehearsal-${randomBytes(6).toString("hex")}`;
  const response = await proxyRequest("https", r.hostname(name), path, r.ports, { headers: { cookie: `${SESSION_COOKIE}=${cookie}` } });
  return { response, logged: await gateLog(r, name, path) };
}

/** curl from a container's namespace or from the host: its exit code (7 refused, 28 no answer) and the status. */
async function curl(r: Rehearsal, where: { container?: string }, url: string): Promise<{ code: number | null; status: string }> {
  const args = ["-sS", "-o", "/dev/null", "--connect-timeout", "4", "--max-time", "8", "-w", "%{http_code}", url];
  const result = where.container
    ? await r.host.docker(["exec", where.container, "curl", ...args], 30)
    : await run("curl", args, { quiet: true });
  return { code: result.code, status: result.stdout.trim() };
}

export const SIGN_IN = [
  check(
    `sign-in: the gate's pinned image ${GATE_NODE_IMAGE} is built offline, shaped like the official one, and the provider answers at ${PROVIDER_ISSUER}`,
    async (r) => {
      const image = await ensureGateNodeImage();
      // As the official image: root by default, its entrypoint hands a script file to node.
      const probe = await runOk(dockerCli, [
        "run",
        "--rm",
        "--ulimit",
        "nofile=1024:1024",
        "--entrypoint",
        "sh",
        GATE_NODE_IMAGE,
        "-c",
        "id -u; node --version; echo 'console.log(process.version)' > /tmp/v.js; docker-entrypoint.sh /tmp/v.js",
      ]);
      const [uid, version, viaEntrypoint] = probe.stdout.trim().split("\n");
      expect(uid === "0", `the image runs as uid ${uid}, not root as the official one`);
      expect(
        version === `v${GATE_NODE_VERSION}` && viaEntrypoint === version,
        `node says ${version} (through the entrypoint ${viaEntrypoint}), not v${GATE_NODE_VERSION}`,
      );
      const clientSecret = `rehearsal-${randomBytes(18).toString("base64url")}`;
      const passwordRoster = await r.roster("sign-in-password", twoDevelopers);
      const oidcRoster = await r.roster("sign-in-oidc", withProvider);
      const urls = oidcRoster.fleet.developers.map((d) => `https://${d.hostname}${r.ports.https === 443 ? "" : `:${r.ports.https}`}`);
      leg = { provider: await IdentityProvider.start(clientSecret, urls), clientSecret, passwordRoster, oidcRoster };
      return `${GATE_NODE_IMAGE} holds Node ${version} (${image.built ? `built in ${image.seconds.toFixed(0)}s` : "cached"}); oidc-provider at ${PROVIDER_ISSUER} with client ${PROVIDER_CLIENT_ID} and ${urls.length} redirect URIs`;
    },
  ),

  check("sign-in: a host of its own with two developers signing in with passwords, as the main host will", async (r) => {
    const current = started();
    await removeContainersAndNetworks();
    await r.host.create(current.passwordRoster);
    await r.deploy(current.passwordRoster);
    const result = await r.host.apply();
    expect(result.code === 0, `the first apply exited ${result.code}:\n${tail(result.stderr)}`);
    const [developer] = r.host.fleet.developers;
    const login = await r.login(developer.name, await r.host.password(developer.name));
    if (!login.accepted) throw new Error(`${developer.hostname} refused ${developer.name}'s password: ${login.message}`);
    current.created = true;
    return `${r.host.fleet.developers.map((d) => d.name).join(" and ")} applied in ${result.seconds.toFixed(1)}s; ${developer.hostname} accepts ${developer.name}'s password`;
  }),

  check(
    "sign-in: the roster switched to auth.type oidc, the client secret stored with set-oidc-client-secret.sh, the apply puts a gate in front of every code-server",
    async (r) => {
      const current = started();
      expect(current.created, "the leg's host was not created (see the check before)");
      await r.deploy(current.oidcRoster);
      const script = join(layout.render, current.oidcRoster.variant, "deployment", "scripts", "set-oidc-client-secret.sh");
      const stored = await run("bash", [script], { env: r.host.env(), input: `${current.clientSecret}\n`, quiet: true });
      current.stored = stored;
      expect(stored.code === 0, `set-oidc-client-secret.sh exited ${stored.code}:\n${tail(stored.stderr)}`);
      current.apply = await r.host.apply();
      r.report.timings.signInSwitchSeconds = Number(current.apply.seconds.toFixed(1));
      expect(current.apply.code === 0, `apply.sh exited ${current.apply.code}:\n${tail(current.apply.stderr)}`);
      const problems: string[] = [];
      for (const developer of r.host.fleet.developers) {
        await r.host.waitHealthy(developer.name).catch((err: Error) => problems.push(err.message));
        problems.push(...(await gateContractProblems(r, developer.name, developer.port)));
      }
      expect(problems.length === 0, problems.join("\n"));
      return `${stored.stderr.trim().split("\n").pop()}; apply took ${current.apply.seconds.toFixed(1)}s; ${r.host.fleet.developers.length} gates (${GATE_NODE_IMAGE}, root with NET_BIND_SERVICE alone, read-only, no-new-privileges, ports below ${UNPRIVILEGED_PORT_START} privileged) publish the developers' ports, each code-server in its gate's network on 127.0.0.1:${CODE_SERVER_PORT_BEHIND_GATE} with --auth none, healthy`;
    },
  ),

  check("sign-in: the browser signs in at the provider as dev1's user and the workbench loads over its websocket", async (r) => {
    switched();
    const [developer] = r.host.fleet.developers;
    const browser = await r.browser();
    const signedIn = await browser.signIn(developer.hostname, USERS[0], true);
    try {
      expect(
        signedIn.status === 200,
        `${developer.hostname} answered ${signedIn.status} after the sign-in as ${USERS[0]}: ${signedIn.text}`,
      );
      return `signed in at ${PROVIDER_ISSUER} as ${USERS[0]}: ${browser.url(developer.hostname)} rendered the workbench, its websocket received ${signedIn.websocketFrames()} frames`;
    } finally {
      await signedIn.page.close();
    }
  }),

  check("sign-in: dev2's identity at dev1's URL gets 403, naming who signed in", async (r) => {
    switched();
    const [first] = r.host.fleet.developers;
    const browser = await r.browser();
    const signedIn = await browser.signIn(first.hostname, USERS[1], false);
    try {
      expect(signedIn.status === 403, `${first.hostname} answered ${signedIn.status} to ${USERS[1]}: ${signedIn.text}`);
      expect(signedIn.text.includes(emailOf(USERS[1])), `the 403 page does not name ${emailOf(USERS[1])}: ${signedIn.text}`);
      return `${first.hostname} to ${USERS[1]}: 403 "${signedIn.text.replace(/\s+/g, " ").trim()}"`;
    } finally {
      await signedIn.page.close();
    }
  }),

  check(
    "sign-in: a session cookie sealed with another key, and an expired one, are refused; one sealed with the gate's key is admitted",
    async (r) => {
      const current = switched();
      const [developer] = r.host.fleet.developers;
      const keyFile = join(gateDir(r, developer.name), "cookie-key");
      const otherKey = join(layout.root, "provider", "other-cookie-key");
      mkdirSync(join(layout.root, "provider"), { recursive: true });
      writeFileSync(otherKey, randomBytes(32).toString("base64"), { mode: 0o600 });
      const sealed = (key: string, expiresIn: number) =>
        current.provider.sessionCookie({
          keyFile: key,
          publicUrl: `https://${developer.hostname}`,
          sub: USERS[0],
          email: emailOf(USERS[0]),
          expiresIn,
        });
      const admitted = await withCookie(r, developer.name, await sealed(keyFile, 600));
      expect(
        admitted.logged?.decision === "allow",
        `a cookie sealed with the gate's key was not admitted (the control): ${admitted.response.status}, ${JSON.stringify(admitted.logged)}`,
      );
      const outcomes = [`sealed with the gate's key: ${admitted.response.status}, "${admitted.logged.decision}"`];
      for (const [what, cookie, reason] of [
        ["sealed with another key", await sealed(otherKey, 600), "session invalid"],
        ["expired a minute ago", await sealed(keyFile, -60), "session expired"],
      ]) {
        const { response, logged } = await withCookie(r, developer.name, cookie);
        const location = String(response.headers.location ?? "");
        expect(
          response.status === 302 && location.startsWith(`${PROVIDER_ISSUER}/`) && logged?.reason === reason,
          `a cookie ${what}: ${response.status} to ${location}, logged ${JSON.stringify(logged)} (expected a sign-in, "${reason}")`,
        );
        outcomes.push(`${what}: ${response.status} to the provider, "${logged.reason}"`);
      }
      return outcomes.join("; ");
    },
  ),

  check(
    "sign-in: code-server cannot be reached around the gate: from another developer's container, from the host at its address, nor at the published port",
    async (r) => {
      switched();
      const [first, second] = r.host.fleet.developers;
      const gate = await inspect(r, gateName(first.name));
      const address = Object.values(gate.NetworkSettings.Networks)[0].IPAddress;
      // The control: in the gate's own network namespace, code-server answers on loopback.
      const inside = await r.host.docker([
        "exec",
        gateName(first.name),
        "node",
        "-e",
        `fetch("http://127.0.0.1:${CODE_SERVER_PORT_BEHIND_GATE}/healthz").then((r) => console.log(r.status))`,
      ]);
      expect(
        inside.stdout.trim() === "200",
        `code-server does not answer in its own namespace (the control): ${inside.stdout}${inside.stderr}`,
      );
      const problems: string[] = [];
      const outcomes: string[] = [];
      for (const [what, where, url] of [
        [
          `from ${containerName(second)}`,
          { container: containerName(second) },
          `http://${address}:${CODE_SERVER_PORT_BEHIND_GATE}/healthz`,
        ],
        ["from the host at the container's address", {}, `http://${address}:${CODE_SERVER_PORT_BEHIND_GATE}/healthz`],
      ] as const) {
        const probe = await curl(r, where, url);
        if (probe.code === 7 || probe.code === 28) outcomes.push(`${what} (${url}): ${probe.code === 7 ? "refused" : "no answer"}`);
        else problems.push(`${what} (${url}): curl exit ${probe.code}, HTTP ${probe.status}`);
      }
      const path = `/rehearsal-${randomBytes(6).toString("hex")}`;
      const published = await run(
        "curl",
        ["-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", `http://127.0.0.1:${first.port}${path}`],
        { quiet: true },
      );
      const [status, location = ""] = published.stdout.trim().split(" ");
      const logged = await gateLog(r, first.name, path);
      if (status !== "302" || !location.startsWith(`${PROVIDER_ISSUER}/`) || logged?.decision !== "sign-in")
        problems.push(
          `the published port ${first.port} answered ${published.stdout.trim()} ${published.stderr.trim()}, gate log ${JSON.stringify(logged)}: not the gate's sign-in`,
        );
      else outcomes.push(`the published port ${first.port}: the gate's sign-in (302 to the provider)`);
      expect(problems.length === 0, problems.join("\n"));
      return `code-server answers 200 on 127.0.0.1:${CODE_SERVER_PORT_BEHIND_GATE} inside its gate's namespace (the control); ${outcomes.join("; ")}`;
    },
  ),

  check(
    "sign-in: no client secret or cookie key in the rendered files, the compose file, docker inspect of the gate, or the apply's logs",
    async (r) => {
      const current = switched();
      const fleet = r.host.fleet;
      const secrets: [string, string][] = [["the client secret", current.clientSecret]];
      for (const developer of fleet.developers.slice(0, 2)) {
        const id = secretName(fleet, developer, "gate-cookie-key");
        const value = (
          await r.host.awsOk(["secretsmanager", "get-secret-value", "--secret-id", id, "--query", "SecretString", "--output", "text"])
        ).trim();
        secrets.push([`${developer.name}'s cookie key`, value]);
      }
      // The control: the gate's files hold exactly these values, so looking for them elsewhere means something.
      const [first] = fleet.developers;
      const dir = gateDir(r, first.name);
      expect(
        readFileSync(join(dir, "client-secret"), "utf8").trim() === current.clientSecret,
        `${dir}/client-secret does not hold the stored client secret`,
      );
      expect(
        readFileSync(join(dir, "cookie-key"), "utf8").trim() === secrets[1][1],
        `${dir}/cookie-key does not hold ${first.name}'s cookie key`,
      );
      const texts: [string, string][] = [
        ["set-oidc-client-secret.sh's output", `${current.stored.stdout}\n${current.stored.stderr}`],
        ["the apply's output", `${current.apply.stdout}\n${current.apply.stderr}`],
        ["the host's syslog", readFileSync(join(r.host.state, "syslog"), "utf8")],
      ];
      for (const developer of fleet.developers.slice(0, 2)) {
        texts.push([`docker inspect ${gateName(developer.name)}`, (await r.host.docker(["inspect", gateName(developer.name)])).stdout]);
        const logs = await r.host.docker(["logs", gateName(developer.name)]);
        texts.push([`docker logs ${gateName(developer.name)}`, logs.stdout + logs.stderr]);
      }
      const dirs = [join(layout.render, current.oidcRoster.variant), r.host.path(hostPaths(fleet).root)];
      const found: string[] = [];
      for (const [what, value] of secrets) {
        for (const [where, text] of texts) if (text.includes(value)) found.push(`${what} in ${where}`);
        const grep = await run("grep", ["-rlF", "--", value, ...dirs], { quiet: true });
        for (const file of grep.stdout.trim().split("\n").filter(Boolean)) found.push(`${what} in ${file}`);
      }
      expect(found.length === 0, `secret values found:\n${found.join("\n")}`);
      const files = readdirSync(dirs[0], { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
      return `${secrets.length} values (the client secret, ${secrets.length - 1} cookie keys), held by ${dir}, appear in none of: ${files} rendered files, the host files with the compose file, ${texts.map(([where]) => where).join(", ")}`;
    },
  ),

  check(
    "sign-in: the roster switched back to auth.type password removes the gates and restores code-server's password login",
    async (r) => {
      const current = started();
      try {
        expect(current.created, "the leg's host was not created (see the first checks)");
        await r.deploy(current.passwordRoster);
        const result = await r.host.apply();
        r.report.timings.signInSwitchBackSeconds = Number(result.seconds.toFixed(1));
        expect(result.code === 0, `apply.sh exited ${result.code}:\n${tail(result.stderr)}`);
        const left = (await r.host.docker(["ps", "-a", "--format", "{{.Names}}", "--filter", "name=^gate-"])).stdout.trim();
        expect(left === "", `gate containers left after the switch back: ${left.split("\n").join(", ")}`);
        const [developer] = r.host.fleet.developers;
        for (const { name } of r.host.fleet.developers) await r.host.waitHealthy(name);
        const wrong = await r.login(developer.name, `wrong-${randomBytes(4).toString("hex")}`);
        const right = await r.login(developer.name, await r.host.password(developer.name));
        expect(
          !wrong.accepted && right.accepted,
          `after the switch back ${developer.hostname} ${right.accepted ? "accepted a wrong password" : `refused its password: ${right.message}`}`,
        );
        return `apply took ${result.seconds.toFixed(1)}s; no gate left; ${developer.hostname} asks for a password again, accepts ${developer.name}'s and refuses a wrong one ("${wrong.accepted ? "" : wrong.message}")`;
      } finally {
        await current.provider.stop();
        leg = undefined;
      }
    },
  ),
];
