/**
 * What guards a developer and the host from what runs in a container, on the real engine: the
 * home on the data volume, the limits, auth that nothing in the container can switch off, links in
 * the home that root never follows, and the isolation of the developer networks.
 */
import { randomBytes } from "node:crypto";
import { lookup } from "node:dns/promises";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { DATA_MOUNT, containerName, isolationChains } from "../../src/naming";
import { PIDS_LIMIT } from "../../src/render/view-model";
import { INTERNET_ADDRESS, INTERNET_GREETING, startInternet } from "../internet";
import { layout } from "../lib/layout";
import { run, runOk, sleep, type RunResult } from "../lib/run";
import { PROBE_FILE, PROBE_ID, WEBVIEW_FILE, WEBVIEW_REQUEST, probeVsixBase64 } from "../probe-extension";
import { startProxy } from "../proxy";
import type { Rehearsal } from "../rehearsal";
import { authNoneAttack, KILL_CODE_SERVER } from "./auth-none";
import { check, expect, tail } from "./check";

const ZERO_CAPS = "0000000000000000";

/** `key: value` lines of /proc/<pid>/status, for the keys asked for. */
function statusFields(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split("\n")
      .map((line) => /^(\w+):\s*(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2].trim()]),
  );
}

/** Runs a command in a developer's container as root (docker exec -u 0). */
function execAsRoot(r: Rehearsal, name: string, args: readonly string[]): Promise<RunResult> {
  return r.host.docker(["exec", "-u", "0", containerName({ name }), ...args]);
}

export const BEFORE_LOGIN = [
  check(
    "homes: each developer's whole home is on the data volume, seeded from the image and owned by coder, in a directory of root's",
    async (r) => {
      const problems: string[] = [];
      for (const { name } of r.host.fleet.developers) {
        const dir = r.host.path(`${DATA_MOUNT}/${name}`);
        const home = r.host.home(name);
        const d = statSync(dir);
        if (d.uid !== 0 || (d.mode & 0o777) !== 0o755)
          problems.push(`${DATA_MOUNT}/${name} is uid ${d.uid} mode ${(d.mode & 0o777).toString(8)}`);
        if (!existsSync(home)) {
          problems.push(`${name} has no ${DATA_MOUNT}/${name}/home`);
          continue;
        }
        const h = statSync(home);
        if (h.uid !== 1000 || h.gid !== 1000 || (h.mode & 0o777) !== 0o750) {
          problems.push(`${name}'s home is ${h.uid}:${h.gid} mode ${(h.mode & 0o777).toString(8)}`);
        }
        for (const seeded of [".bashrc", ".profile", "workspace"]) {
          if (!existsSync(join(home, seeded))) problems.push(`${name}'s home lacks ${seeded}`);
        }
        // Inside, /home/coder is that directory, not the image's.
        const marker = `.home-check-${randomBytes(3).toString("hex")}`;
        const touched = await r.host.exec(name, `touch ~/${marker} && stat -c '%U %a' ~`);
        if (touched.code !== 0 || !existsSync(join(home, marker)))
          problems.push(`${name}: a file made in ~ is not in the home on the data volume`);
        else rmSync(join(home, marker));
      }
      expect(problems.length === 0, problems.join("\n"));
      const seeds = (await r.host.docker(["ps", "-aq"])).stdout.trim().split("\n").filter(Boolean);
      expect(
        seeds.length === r.host.fleet.developers.length,
        `${seeds.length} containers exist, expected one per developer (a seed container left behind?)`,
      );
      return `${r.host.fleet.developers.length} homes at ${DATA_MOUNT}/<name>/home (1000:1000, 0750; the directory above root's, 0755), each with the image's .bashrc and .profile and a workspace; a file made in ~ inside lands there`;
    },
  ),

  check(
    "limits: every developer container runs with a PIDs limit, no capabilities and no new privileges; a raw socket and sudo are refused there, though the image allows both",
    async (r) => {
      const [{ name }] = r.host.fleet.developers;
      // The probe extension first, for the extension-host check once the browser has opened the workbench.
      const vsix = await probeVsixBase64();
      const installed = await r.host.exec(
        name,
        `rm -f ~/${PROBE_FILE} && echo ${vsix} | base64 -d > /tmp/probe.vsix && code-server --install-extension /tmp/probe.vsix && rm /tmp/probe.vsix`,
        120,
      );
      expect(installed.code === 0, `installing the probe extension failed: ${tail(installed.stdout + installed.stderr)}`);
      const problems: string[] = [];
      for (const developer of r.host.fleet.developers) {
        // cgroup v2 (Ubuntu 22.04) shows the container's own cgroup at /sys/fs/cgroup; v1 under pids/.
        const pids = await r.host.exec(developer.name, "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max");
        const fields = statusFields((await r.host.exec(developer.name, "cat /proc/1/status")).stdout);
        if (pids.stdout.trim() !== String(PIDS_LIMIT))
          problems.push(`${developer.name}: pids.max is ${pids.stdout.trim() || pids.stderr.trim()}`);
        for (const cap of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) {
          if (fields[cap] !== ZERO_CAPS) problems.push(`${developer.name}: ${cap} ${fields[cap]}`);
        }
        if (fields.NoNewPrivs !== "1") problems.push(`${developer.name}: NoNewPrivs ${fields.NoNewPrivs}`);
      }
      expect(problems.length === 0, problems.join("\n"));
      const rawSocket = [
        "perl",
        "-MSocket",
        "-e",
        'socket(my $s, PF_INET, SOCK_RAW, 1) or die "raw socket: $!\\n"; print "raw socket opened\\n"',
      ];
      const raw = await execAsRoot(r, name, rawSocket);
      expect(
        raw.code !== 0 && /Operation not permitted/.test(raw.stderr),
        `even root in ${containerName({ name })}: ${raw.stdout}${raw.stderr}`,
      );
      const sudo = await r.host.exec(name, "sudo -n id -u");
      expect(sudo.code !== 0 && /no new privileges/.test(sudo.stderr), `sudo in ${containerName({ name })}: ${sudo.stdout}${sudo.stderr}`);
      // The same image with Docker's defaults: sudo works for coder and root may open a raw socket.
      const image = `${r.host.fleet.codeServer.image}:${r.host.fleet.codeServer.tag}`;
      const plain = await r.host.docker([
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "sh",
        image,
        "-c",
        `sudo -n ${rawSocket.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ")}`,
      ]);
      expect(
        plain.code === 0 && plain.stdout.includes("raw socket opened"),
        `the image itself refuses sudo or a raw socket, so the refusals prove nothing: ${plain.stdout}${plain.stderr}`,
      );
      const logs = await r.host.docker(["logs", containerName({ name })]);
      const fixuid = `${logs.stdout}${logs.stderr}`.split("\n").find((l) => l.startsWith("fixuid:"));
      return `${r.host.fleet.developers.length} containers: pids.max ${PIDS_LIMIT}, every capability set empty, NoNewPrivs 1; in ${containerName({ name })} root's raw socket: "${raw.stderr.trim()}", coder's sudo: "${sudo.stderr.trim().split("\n")[0]}"; the same image with Docker's defaults: sudo and the raw socket work; the entrypoint goes on past fixuid ("${fixuid ?? "no fixuid line"}"); probe extension ${PROBE_ID} installed`;
    },
  ),
];

/** Where dev1 sends its probes, and the controls that prove each target answers the host. */
interface IsolationTargets {
  readonly hostAddress: string;
  readonly gateway: string;
  readonly otherAddress: string;
  readonly otherPort: number;
}

/** The machine's own address, as the ALB would reach the host: its first global IPv4 address not on a bridge of ours. */
async function hostAddress(): Promise<string> {
  const lines = (await runOk("ip", ["-4", "-o", "addr", "show", "scope", "global"])).stdout.split("\n");
  for (const line of lines) {
    const m = /^\d+:\s+(\S+)\s+inet\s+([\d.]+)\//.exec(line);
    if (m && !/^(docker0|br-|devnet-|veth|rh-inet)/.test(m[1])) return m[2];
  }
  throw new Error(`this machine has no global IPv4 address outside the rehearsal's bridges:\n${lines.join("\n")}`);
}

async function isolationTargets(r: Rehearsal): Promise<IsolationTargets> {
  const [from, other] = r.host.fleet.developers;
  const inspect = async (args: string[]) => JSON.parse((await r.host.docker(args)).stdout)[0];
  const own = await inspect(["inspect", containerName(from)]);
  const theirs = await inspect(["inspect", containerName(other)]);
  const ownNetwork = Object.values(own.NetworkSettings.Networks as Record<string, { Gateway: string }>)[0];
  const theirNetwork = Object.values(theirs.NetworkSettings.Networks as Record<string, { IPAddress: string }>)[0];
  return { hostAddress: await hostAddress(), gateway: ownNetwork.Gateway, otherAddress: theirNetwork.IPAddress, otherPort: other.port };
}

/** GET from inside a developer's container: curl's exit code (7: refused, 28: timed out) and the status it got. */
async function fromContainer(
  r: Rehearsal,
  name: string,
  url: string,
): Promise<{ code: number | null; status: string; error: string; body: string }> {
  const result = await r.host.exec(name, `curl -sS --connect-timeout 4 --max-time 8 -w '\\n%{http_code}' '${url}'`, 30);
  const lines = result.stdout.split("\n");
  return { code: result.code, status: lines.pop() ?? "", body: lines.join("\n"), error: result.stderr.trim() };
}

/** GET from the host itself. */
async function fromHost(url: string): Promise<string> {
  const result = await run("curl", ["-sS", "-o", "/dev/null", "--max-time", "8", "-w", "%{http_code}", url], { quiet: true });
  return result.code === 0 ? result.stdout : `curl exit ${result.code}: ${result.stderr.trim()}`;
}

/** A web server on every address of the host: one of "the host's own services". */
async function hostService(): Promise<{ server: Server; port: number }> {
  const server = createServer((_, res) => res.end("a service of the host\n"));
  await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/**
 * dev1's view of the world: each forbidden target refused (curl exit 7: the isolation rules reject
 * with a reset where Docker alone would let the connection through), DNS and the internet
 * answered. Traffic between two developer bridges meets Docker's own isolation chain as well,
 * which drops it (curl exit 28); a restarted dockerd puts that chain before DOCKER-USER, so there
 * either answer is a refusal. Throws with every deviation.
 */
export async function isolationProbes(r: Rehearsal, options: { full: boolean }): Promise<string> {
  await startInternet();
  const [from, other] = r.host.fleet.developers;
  const t = await isolationTargets(r);
  const { server, port } = await hostService();
  try {
    const forbidden: [string, string, "reset" | "reset or drop"][] = [
      [`${other.name}'s code-server at the host's address and port`, `http://${t.hostAddress}:${t.otherPort}/healthz`, "reset"],
      [`${other.name}'s code-server at the host's address on ${from.name}'s bridge`, `http://${t.gateway}:${t.otherPort}/healthz`, "reset"],
      [`${other.name}'s code-server at its container address`, `http://${t.otherAddress}:8080/healthz`, "reset or drop"],
      ...(options.full
        ? ([
            ["a service on the host, at its address", `http://${t.hostAddress}:${port}/`, "reset"],
            ["a service on the host, at its address on the bridge", `http://${t.gateway}:${port}/`, "reset"],
          ] as [string, string, "reset"][])
        : []),
    ];
    const problems: string[] = [];
    const outcomes: string[] = [];
    for (const [what, url, refusal] of forbidden) {
      const control = await fromHost(url);
      if (control !== "200")
        problems.push(`the host itself gets no 200 from ${what} (${url}): ${control}, so a refusal would prove nothing`);
      const probe = await fromContainer(r, from.name, url);
      // 7: connection refused (our reset); 28: no answer (Docker's isolation chain dropped it).
      const refused = probe.code === 7 || (refusal === "reset or drop" && probe.code === 28);
      if (!refused)
        problems.push(`${what} (${url}) from ${containerName(from)}: curl exit ${probe.code}, HTTP ${probe.status} ${probe.error}`);
      else outcomes.push(`${what}: ${probe.code === 7 ? "refused" : "dropped"}`);
    }
    const internet = await fromContainer(r, from.name, `http://${INTERNET_ADDRESS}/`);
    if (internet.code !== 0 || internet.body.trim() !== INTERNET_GREETING)
      problems.push(`the internet (${INTERNET_ADDRESS}) from ${containerName(from)}: curl exit ${internet.code} ${internet.error}`);
    else outcomes.push(`the internet (${INTERNET_ADDRESS}): HTTP ${internet.status}`);
    if (options.full) {
      const own = await r.host.exec(from.name, `getent hosts ${containerName(from)}`);
      if (own.code !== 0) problems.push(`Docker's resolver does not answer ${containerName(from)}: ${own.stderr}`);
      else outcomes.push(`Docker's resolver: ${containerName(from)} is ${own.stdout.trim().split(/\s+/)[0]}`);
      // A name of the outside world, when this machine's own resolver knows it: through Docker's resolver.
      const external = "deb.debian.org";
      const known = await lookup(external).then(
        () => true,
        () => false,
      );
      if (known) {
        const resolved = await r.host.exec(from.name, `getent hosts ${external}`);
        if (resolved.code !== 0) problems.push(`${external} does not resolve in ${containerName(from)}, though it does on the host`);
        else outcomes.push(`DNS: ${external} is ${resolved.stdout.trim().split(/\s+/)[0]}`);
      } else {
        outcomes.push(`DNS of outside names not tried: this machine does not resolve ${external}`);
      }
    }
    const chains = isolationChains(r.host.fleet);
    for (const [chain, target] of [
      ["INPUT", chains.input],
      ["DOCKER-USER", chains.forward],
    ]) {
      if ((await run("iptables", ["-C", chain, "-j", target])).code !== 0) problems.push(`${chain} does not jump to ${target}`);
    }
    expect(problems.length === 0, problems.join("\n"));
    return outcomes.join("; ");
  } finally {
    server.close();
  }
}

export const AFTER_LOGIN = [
  check(
    "extension host: the workbench's extension host runs an extension in a container without capabilities or new privileges",
    async (r) => {
      expect(r.workbench, "no workbench: the browser-login check failed");
      const [{ name }] = r.host.fleet.developers;
      let probe: RunResult | undefined;
      for (let i = 0; i < 60; i++) {
        probe = await r.host.exec(name, `cat ~/${PROBE_FILE}`);
        if (probe.code === 0) break;
        await sleep(1000);
      }
      expect(probe?.code === 0, `the probe extension never wrote ~/${PROBE_FILE}: it did not activate in the workbench's extension host`);
      const report = JSON.parse(probe.stdout) as { pid: number; argv: string[]; status: Record<string, string> };
      expect(report.argv.join(" ").includes("extensionHost"), `the probe ran in ${report.argv.join(" ")}, not an extension host`);
      expect(
        report.status.CapEff === ZERO_CAPS && report.status.NoNewPrivs === "1",
        `the extension host runs with ${JSON.stringify(report.status)}`,
      );
      return `${PROBE_ID} activated in the extension host (pid ${report.pid}, ${report.argv.find((a) => a.includes("extensionHost"))}): CapEff ${report.status.CapEff}, NoNewPrivs ${report.status.NoNewPrivs}`;
    },
  ),

  check(
    "anti-framing: the HTTPS listener sends X-Frame-Options SAMEORIGIN; under it the workbench loads and an extension's webview (code-server's own iframes) runs; a page of another origin can frame the login only without it",
    async (r) => {
      const [developer] = r.host.fleet.developers;
      const listener = r.host.roster.responseHeaders;
      const value = listener["X-Frame-Options"];
      expect(value === "SAMEORIGIN", `the synthesized HTTPS listener sends X-Frame-Options ${String(value)}, not SAMEORIGIN`);
      const browser = await r.browser();
      const login = browser.url(developer.hostname, "/login");
      // First without the header: is the login frameable from elsewhere, so that its refusal below is the header's doing?
      const { "X-Frame-Options": _, ...withoutIt } = listener;
      await startProxy(r.domain, r.host.roster.routes, r.ports, withoutIt);
      const before = await browser.frameElsewhere(login);
      await startProxy(r.domain, r.host.roster.routes, r.ports, listener);
      try {
        const answer = await r.get(developer.name, "/login");
        expect(
          answer.headers["x-frame-options"] === value,
          `the answer carries X-Frame-Options ${String(answer.headers["x-frame-options"])}`,
        );
        const requested = await r.host.exec(developer.name, `rm -f ~/${WEBVIEW_FILE} && touch ~/${WEBVIEW_REQUEST}`);
        expect(requested.code === 0, `cannot ask the probe for its webview: ${requested.stderr}`);
        const { page } = await browser.openWorkbench(developer.hostname, await r.host.password(developer.name));
        let posted: RunResult | undefined;
        try {
          for (let i = 0; i < 90; i++) {
            posted = await r.host.exec(developer.name, `cat ~/${WEBVIEW_FILE}`);
            if (posted.code === 0) break;
            await sleep(1000);
          }
        } finally {
          await page.close();
        }
        expect(
          posted?.code === 0,
          `the probe's webview never posted its message under X-Frame-Options ${value}: its iframe did not load or run`,
        );
        const message = JSON.parse(posted.stdout) as { loaded: boolean; framed: boolean; origin: string };
        expect(message.loaded && message.framed, `the webview reported ${posted.stdout}`);
        const after = await browser.frameElsewhere(login);
        expect(before.shown, "without X-Frame-Options a page of another origin could not frame the login either: the check shows nothing");
        expect(!after.shown && after.refusal, `with X-Frame-Options ${value}, a page of another origin still shows the login in a frame`);
        return `the HTTPS listener sends X-Frame-Options: ${value}; the workbench loaded and the probe's webview ran in its iframe (origin ${message.origin}); a page of another origin framed the login without the header and no longer can with it: "${after.refusal}"`;
      } finally {
        await r.host.exec(developer.name, `rm -f ~/${WEBVIEW_REQUEST}`);
        await startProxy(r.domain, r.host.roster.routes, r.ports, listener);
      }
    },
  ),

  check(
    "auth: with auth: none written from inside the container into every config file code-server could read, and code-server killed and restarted by Docker, the password is still required",
    async (r) => {
      const developer = r.host.fleet.developers[2];
      const service = containerName(developer);
      const inspect = async () =>
        JSON.parse((await r.host.docker(["inspect", service])).stdout)[0] as { RestartCount: number; State: { StartedAt: string } };
      return authNoneAttack({
        exec: (script) => r.host.exec(developer.name, script),
        restartAfterKill: async () => {
          const before = await inspect();
          // dumb-init exits with code-server and Docker restarts the container.
          await r.host.exec(developer.name, KILL_CODE_SERVER);
          let after = await inspect();
          for (let i = 0; i < 120 && after.RestartCount === before.RestartCount; i++) {
            await sleep(500);
            after = await inspect();
          }
          expect(after.RestartCount > before.RestartCount, `${service} was not restarted by Docker (RestartCount ${after.RestartCount})`);
          await r.host.waitHealthy(developer.name);
          return `${service} restarted by Docker (RestartCount ${before.RestartCount} -> ${after.RestartCount})`;
        },
        get: (path) => r.get(developer.name, path),
        login: (password) => r.login(developer.name, password),
        password: () => r.host.password(developer.name),
      });
    },
  ),

  check(
    "isolation: from dev1's container, dev2's code-server (at the host's address and port and at its container address) and a service of the host are refused; DNS and the internet answer",
    async (r) => {
      return isolationProbes(r, { full: true });
    },
  ),

  check(
    "links: links a developer plants in the home, pointing at a host file, are never followed by root on the next apply (a password rotation that rewrites the developer's secrets)",
    async (r) => {
      const developer = r.host.fleet.developers[4];
      // A stand-in for /etc/shadow of the host's path namespace: the real one must not be at stake here.
      const canary = join(layout.host, "canary", "shadow");
      mkdirSync(join(canary, ".."), { recursive: true });
      const content = `root:$6$${randomBytes(8).toString("hex")}:19000:0:99999:7:::\n`;
      writeFileSync(canary, content);
      chmodSync(canary, 0o600);
      // Access and modification times in the past, the change time now: under relatime, as here, a
      // read then moves the access time. Checked once, so that an unread canary means something.
      const old = new Date("2000-01-01T00:00:00Z");
      utimesSync(canary, old, old);
      readFileSync(canary);
      expect(
        statSync(canary).atimeMs > old.getTime(),
        `reading ${canary} does not move its access time here (noatime?): a read through a link could not be seen`,
      );
      utimesSync(canary, old, old);
      const before = statSync(canary);
      const links = [
        "~/.local/share/code-server/config.yaml",
        "~/.config/code-server/config.yaml",
        "~/workspace/.vscode/settings.json",
        "~/.gitconfig",
      ];
      const planted = await r.host.exec(
        developer.name,
        links.map((l) => `mkdir -p "$(dirname ${l})" && ln -sfn '${canary}' ${l}`).join(" && "),
      );
      expect(planted.code === 0, `planting the links failed: ${planted.stderr}`);
      const containerBefore = await r.host.container(developer.name);
      await r.host.setPassword(developer.name, `Links-${randomBytes(9).toString("base64url").replace(/[-_]/g, "x")}7!`);
      const result = await r.host.apply();
      expect(result.code === 0, `the apply exited ${result.code}:\n${tail(result.stderr)}`);
      const containerAfter = await r.host.container(developer.name);
      expect(
        containerAfter?.id !== containerBefore?.id,
        `${containerName(developer)} was not recreated: the apply did not write the developer's secrets`,
      );
      const problems: string[] = [];
      const after = statSync(canary);
      if (after.atimeMs !== before.atimeMs) problems.push(`${canary} was read (its access time moved to ${after.atime.toISOString()})`);
      if (after.mtimeMs !== before.mtimeMs || after.mode !== before.mode || after.uid !== before.uid || after.gid !== before.gid) {
        problems.push(`${canary} was written, chmodded or chowned`);
      }
      if (readFileSync(canary, "utf8") !== content) problems.push(`${canary}'s content changed`);
      for (const link of links) {
        const onHost = join(r.host.home(developer.name), link.slice(2));
        if (!lstatSync(onHost, { throwIfNoEntry: false })?.isSymbolicLink() || readlinkSync(onHost) !== canary)
          problems.push(`${link} is no longer the planted link`);
      }
      expect(problems.length === 0, `root followed or replaced links in ${developer.name}'s home:\n${problems.join("\n")}`);
      return `${links.join(", ")} -> ${canary}; after the rotation's apply (${containerName(developer)} recreated) the file is unread and unchanged and every link is as planted`;
    },
  ),
];
