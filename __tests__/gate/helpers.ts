/**
 * What the gate's tests drive it with: plain HTTP requests (node's http, so a request target is
 * sent exactly as written), a cookie jar per site, child processes for the gate's bundle and the
 * provider fixture, and code-server's stand-in, which echoes what reached it.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { WebSocketServer } from "ws";
import { PROJECT_ROOT } from "../helpers/fleet";

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** `method path` at `base` (an origin), with `headers` and `body`; the path is sent as it is. */
export function send(base: string, path: string, headers: Record<string, string> = {}, method = "GET", body?: string): Promise<Reply> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

export interface SetCookie {
  readonly name: string;
  readonly value: string;
  /** Attribute names in lower case, with their values (`""` for flags). */
  readonly attributes: ReadonlyMap<string, string>;
}

export function setCookies(reply: Reply): SetCookie[] {
  return (reply.headers["set-cookie"] ?? []).map((line) => {
    const [pair, ...rest] = line.split(";");
    const at = pair.indexOf("=");
    const attributes = new Map(
      rest.map((attribute) => {
        const [name, ...value] = attribute.trim().split("=");
        return [name.toLowerCase(), value.join("=")] as const;
      }),
    );
    return { name: pair.slice(0, at).trim(), value: pair.slice(at + 1).trim(), attributes };
  });
}

/** The cookies a browser would hold for one site (path and expiry aside: a removal deletes). */
export class Jar {
  readonly cookies = new Map<string, string>();

  take(reply: Reply): Reply {
    for (const cookie of setCookies(reply)) {
      if (cookie.value === "" || cookie.attributes.get("max-age") === "0") this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
    return reply;
  }

  header(): Record<string, string> {
    if (this.cookies.size === 0) return {};
    return { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ") };
  }

  copy(): Jar {
    const jar = new Jar();
    for (const [name, value] of this.cookies) jar.cookies.set(name, value);
    return jar;
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Running {
  readonly child: ChildProcess;
  /** Every line printed on stdout so far. */
  readonly lines: string[];
  readonly stderr: () => string;
  stop(): Promise<void>;
}

/** `node <args>` in the project root; resolves once a stdout line matches `ready`. */
export function start(args: readonly string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<Running> {
  const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
  const lines: string[] = [];
  let stderr = "";
  let partial = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const running: Running = {
    child,
    lines,
    stderr: () => stderr,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
  return new Promise((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const complete = text.split("\n");
      partial = complete.pop()!;
      lines.push(...complete);
      if (complete.some((line) => ready.test(line))) resolve(running);
    });
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}:\n${stderr}`)));
  });
}

/** The gate's bundle, built by the documented build step into `file`. */
export function buildGate(file: string): void {
  const built = spawnSync(process.execPath, [join("tools", "launch.js"), "src/identity/build-gate.ts", "--out", file], {
    cwd: PROJECT_ROOT,
    encoding: "utf8",
  });
  if (built.status !== 0) throw new Error(`build:gate failed:\n${built.stdout}${built.stderr}`);
}

export interface Seen {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/** code-server's stand-in: answers every request with what it received; echoes websocket messages. */
export class Upstream {
  readonly seen: Seen[] = [];
  readonly server: Server;
  private readonly sockets: WebSocketServer;

  constructor() {
    this.server = createServer((req: IncomingMessage, res) => {
      this.seen.push({ url: req.url!, headers: req.headers });
      const body = req.url === "/healthz" ? { status: "alive" } : { upstream: true, url: req.url };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
    this.sockets = new WebSocketServer({ server: this.server });
    this.sockets.on("connection", (socket, req) => {
      this.seen.push({ url: req.url!, headers: req.headers });
      socket.on("message", (data, binary) => socket.send(data, { binary }));
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const client of this.sockets.clients) client.terminate();
    await new Promise((resolve) => this.sockets.close(resolve));
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
