/**
 * Forwarding to code-server with node's own http and net modules. A request goes over a
 * keep-alive connection (no new TCP handshake per request) and streams both ways; a websocket
 * upgrade becomes a byte tunnel after the gate has written the request head, so code-server
 * answers the handshake itself (its Origin check included) and frames pass untouched. Both sides
 * run without Nagle's algorithm, which would hold back the workbench's small frames.
 *
 * Why not a proxy library: node-http-proxy has had no release since 2020, and its maintained fork
 * (http-proxy-3) requires node 22 and pulls in a redirect follower the gate has no use for; what
 * the gate needs of one is the few lines below.
 */
import { Agent, request, type IncomingMessage, type ServerResponse } from "node:http";
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import { pipeline } from "node:stream";
import { forwardedHeaders, returnedHeaders } from "./headers";

export interface Upstream {
  readonly host: string;
  readonly port: number;
}

const BAD_GATEWAY = "code-server is not answering; if it was just started, try again in a moment.\n";

/** Longest a timer may wait (setTimeout's limit, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

function ignore(): void {}

export class Forwarder {
  private readonly agent: Agent;

  constructor(private readonly upstream: Upstream) {
    this.agent = new Agent({ keepAlive: true, noDelay: true });
  }

  /** Streams `req` to code-server and its answer back; 502 when code-server cannot be reached. */
  http(req: IncomingMessage, res: ServerResponse, onError: (err: Error) => void): void {
    const { host, port } = this.upstream;
    const headers = forwardedHeaders(req.headers, false);
    const forwarded = request({ host, port, method: req.method, path: req.url, headers, agent: this.agent });
    forwarded.on("response", (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, returnedHeaders(answer.headers));
      pipeline(answer, res, ignore);
    });
    // A browser that leaves stops the work it asked for.
    res.on("close", () => res.writableFinished || forwarded.destroy());
    forwarded.on("error", (err) => {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      onError(err);
      res.writeHead(502, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }).end(BAD_GATEWAY);
    });
    pipeline(req, forwarded, ignore);
  }

  /**
   * Tunnels an upgrade to code-server; the tunnel is cut at `endsAt` (seconds since the epoch),
   * when the session that opened it ends.
   */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, endsAt: number, onError: (err: Error) => void): void {
    const tunnel = connect({ host: this.upstream.host, port: this.upstream.port, noDelay: true });
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (const [name, value] of Object.entries(forwardedHeaders(req.headers, true))) {
      for (const one of [value].flat()) lines.push(`${name}: ${one}`);
    }
    tunnel.write(`${lines.join("\r\n")}\r\n\r\n`);
    if (head.length > 0) tunnel.write(head);
    let answered = false;
    tunnel.once("data", () => (answered = true));
    const close = () => {
      tunnel.destroy();
      socket.destroy();
    };
    tunnel.on("error", (err) => {
      if (answered) return close();
      onError(err);
      socket.end(
        `HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: ${BAD_GATEWAY.length}\r\nConnection: close\r\n\r\n${BAD_GATEWAY}`,
      );
      tunnel.destroy();
    });
    socket.on("error", close);
    tunnel.on("close", () => answered && socket.destroy());
    socket.on("close", () => tunnel.destroy());
    tunnel.pipe(socket);
    socket.pipe(tunnel);
    const timer = setTimeout(close, Math.min(MAX_TIMER_MS, Math.max(0, endsAt * 1000 - Date.now())));
    socket.on("close", () => clearTimeout(timer));
  }
}
