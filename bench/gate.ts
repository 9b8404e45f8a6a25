/**
 * `npm run bench:gate`: the latency the sign-in gate adds, measured side by side. The same client
 * asks code-server's stand-in for the same small file directly and through the gate (the bundle
 * the host runs, in its own node process, with a valid session cookie), in interleaved blocks
 * over keep-alive connections as the load balancer's are; then does the same with websocket
 * round trips. Prints the medians and the median added latency against the target.
 *
 *   npm run bench:gate [-- --requests 2000]
 *
 * The gate is pointed at a provider that is not there: a request with a session never needs one
 * (its discovery failure is logged once, off the measured path).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket, { WebSocketServer } from "ws";
import { parseCommandLine } from "../src/command-line";
import { bundleGate } from "../src/identity/gate-bundle";
import { CookieSealer } from "../src/identity/gate/cookies";

const TARGET_ADDED_MS = 2;
const BLOCK = 100;
/** About the size of one of the workbench's smaller static files. */
const BODY = Buffer.alloc(4096, "x");

const USAGE = `usage: npm run bench:gate [-- --requests <n>]
  --requests <n>   requests (and websocket round trips) each way, direct and through the gate (default: 2000)`;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function listen(server: ReturnType<typeof createServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** Milliseconds for one GET of `/static/file.js` at `port`, body read to the end. */
function timedGet(port: number, agent: Agent, cookie: string): Promise<number> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/static/file.js", agent, headers: { cookie } }, (res) => {
      let length = 0;
      res.on("data", (chunk: Buffer) => (length += chunk.length));
      res.on("end", () => {
        if (res.statusCode !== 200 || length !== BODY.length)
          reject(new Error(`port ${port} answered ${res.statusCode} with ${length} bytes`));
        else resolve(Number(process.hrtime.bigint() - start) / 1e6);
      });
    });
    req.on("error", reject);
    req.end();
  });
}

function openSocket(port: number, cookie: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { cookie } });
    socket.once("open", () => resolve(socket));
    socket.once("error", reject);
    socket.once("unexpected-response", (_req, res) => reject(new Error(`websocket refused: ${res.statusCode}`)));
  });
}

function timedEcho(socket: WebSocket, message: Buffer): Promise<number> {
  const start = process.hrtime.bigint();
  return new Promise((resolve) => {
    socket.once("message", () => resolve(Number(process.hrtime.bigint() - start) / 1e6));
    socket.send(message);
  });
}

/** Interleaved blocks of `measure` on each side, after a warm-up block each. */
async function sideBySide(count: number, direct: () => Promise<number>, gated: () => Promise<number>): Promise<[number[], number[]]> {
  const samples: [number[], number[]] = [[], []];
  for (let i = 0; i < BLOCK; i++) {
    await direct();
    await gated();
  }
  for (let done = 0; done < count; done += BLOCK) {
    for (const [side, measure] of [direct, gated].entries()) {
      for (let i = 0; i < Math.min(BLOCK, count - done); i++) samples[side].push(await measure());
    }
  }
  return samples;
}

function report(label: string, [direct, gated]: [number[], number[]]): number {
  const row = (name: string, values: number[]) =>
    console.log(
      `  ${name.padEnd(16)} median ${median(values).toFixed(3)} ms   p90 ${percentile(values, 90).toFixed(3)} ms   p99 ${percentile(values, 99).toFixed(3)} ms`,
    );
  console.log(`${label} (${direct.length} each way)`);
  row("direct", direct);
  row("through the gate", gated);
  const added = median(gated) - median(direct);
  console.log(`  added at the median: ${added.toFixed(3)} ms\n`);
  return added;
}

async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The gate's bundle and configuration in `work`, with a session cookie for its developer. */
async function prepareGate(work: string, upstreamPort: number, gatePort: number): Promise<string> {
  const key = randomBytes(32);
  writeFileSync(join(work, "cookie-key"), key.toString("base64"), { mode: 0o600 });
  writeFileSync(join(work, "client-secret"), "unused", { mode: 0o600 });
  const config = {
    issuer: "http://127.0.0.1:9",
    clientId: "bench",
    clientSecretFile: join(work, "client-secret"),
    cookieKeyFile: join(work, "cookie-key"),
    publicUrl: "https://dev1.example.com",
    identity: { email: "alice@example.com" },
    upstream: `http://127.0.0.1:${upstreamPort}`,
    listenPort: gatePort,
  };
  writeFileSync(join(work, "gate.json"), JSON.stringify(config));
  writeFileSync(join(work, "gate.js"), bundleGate());
  const sealer = await CookieSealer.create(key, new URL(config.publicUrl), new URL(config.issuer));
  const expiresAt = Math.floor(Date.now() / 1000) + 3600;
  const setCookie = await sealer.sessionCookie({ sub: "alice", email: "alice@example.com", emailVerified: true, expiresAt });
  return setCookie.split(";")[0];
}

async function waitForPort(port: number, agent: Agent, cookie: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await timedGet(port, agent, cookie);
      return;
    } catch (err) {
      if (attempt > 100) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function main(): Promise<void> {
  const parsed = parseCommandLine<{ requests: string }>(process.argv.slice(2), { requests: { type: "string", default: "2000" } }, USAGE);
  if ("exit" in parsed) process.exit(parsed.exit);
  const count = Number(parsed.values.requests);
  if (!Number.isInteger(count) || count < 1) {
    console.error(`--requests must be a whole number >= 1 (got ${parsed.values.requests})`);
    process.exit(2);
  }
  const upstream = createServer((_req, res) => res.writeHead(200, { "content-type": "text/javascript" }).end(BODY));
  const sockets = new WebSocketServer({ server: upstream });
  sockets.on("connection", (socket) => socket.on("message", (data, binary) => socket.send(data, { binary })));
  const upstreamPort = await listen(upstream);
  const gatePort = await freePort();
  const work = mkdtempSync(join(tmpdir(), "bench-gate-"));
  const cookie = await prepareGate(work, upstreamPort, gatePort);
  const gate = spawn(process.execPath, [join(work, "gate.js"), "--config", join(work, "gate.json")], { stdio: "ignore" });
  const agents = [new Agent({ keepAlive: true, maxSockets: 1 }), new Agent({ keepAlive: true, maxSockets: 1 })];
  try {
    await waitForPort(gatePort, agents[1], cookie);
    console.log(`sign-in gate, node ${process.version}, blocks of ${BLOCK} interleaved after a warm-up block each\n`);
    const http = await sideBySide(
      count,
      () => timedGet(upstreamPort, agents[0], cookie),
      () => timedGet(gatePort, agents[1], cookie),
    );
    const addedHttp = report(`GET of a ${BODY.length}-byte file, keep-alive`, http);
    const [direct, gated] = [await openSocket(upstreamPort, cookie), await openSocket(gatePort, cookie)];
    const frame = Buffer.alloc(256, "y");
    const ws = await sideBySide(
      count,
      () => timedEcho(direct, frame),
      () => timedEcho(gated, frame),
    );
    const addedWs = report(`websocket round trip of a ${frame.length}-byte frame`, ws);
    direct.close();
    gated.close();
    const verdict = (added: number) => (added <= TARGET_ADDED_MS ? "met" : "MISSED");
    console.log(`added latency at the median: HTTP ${addedHttp.toFixed(3)} ms, websocket ${addedWs.toFixed(3)} ms`);
    console.log(`(target <= ${TARGET_ADDED_MS} ms: HTTP ${verdict(addedHttp)}, websocket ${verdict(addedWs)})`);
  } finally {
    gate.kill();
    for (const agent of agents) agent.destroy();
    for (const client of sockets.clients) client.terminate();
    upstream.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:gate: ${(err as Error).message}`);
  process.exit(1);
});
