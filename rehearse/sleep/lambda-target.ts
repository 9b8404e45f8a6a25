/**
 * The wake group's Lambda target, as the load balancer invokes it: a small HTTP server on
 * loopback that the ALB stand-in forwards a sleeping developer's requests to. Each request
 * becomes the event ALB sends a Lambda target (multi-value headers off), the wake handler
 * answers it, and its answer becomes the HTTP response ALB returns.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { AlbResponse } from "../../src/lambdas/wake/page";
import type { AlbEvent } from "../../src/lambdas/wake/request";

/** The request line and headers of one HTTP request, and its body. */
export interface HttpRequest {
  readonly method: string;
  /** The request target: path and query, as received. */
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: Buffer;
}

/** Bytes ALB passes as text; anything else goes base64-encoded. */
const isText = (body: Buffer) => body.length === 0 || /^[\t\n\r\x20-\x7e]*$/.test(body.toString("latin1"));

/**
 * The ALB event of a request: the query split into parameters with their values still
 * URL-encoded (ALB does not decode them), headers in lower case with the last value of a repeated
 * one, the body as text or base64.
 */
export function albEventOf(request: HttpRequest, targetGroupArn: string): AlbEvent {
  const [path, query] = request.url.split(/\?(.*)/s, 2);
  const queryStringParameters: Record<string, string> = {};
  for (const pair of (query ?? "").split("&").filter(Boolean)) {
    const [key, value = ""] = pair.split(/=(.*)/s, 2);
    queryStringParameters[key] = value;
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value[value.length - 1] : value;
  }
  const text = isText(request.body);
  return {
    requestContext: { elb: { targetGroupArn } },
    httpMethod: request.method,
    path,
    queryStringParameters,
    headers,
    body: text ? request.body.toString("utf8") : request.body.toString("base64"),
    isBase64Encoded: !text,
  };
}

/** Writes a Lambda target's answer as ALB does: its status, its headers, its body. */
export function writeAlbResponse(response: AlbResponse, res: ServerResponse): void {
  const body = Buffer.from(response.body, response.isBase64Encoded ? "base64" : "utf8");
  res.writeHead(response.statusCode, { ...response.headers, "content-length": String(body.length) });
  res.end(body);
}

/** The Lambda target listening on 127.0.0.1 at an ephemeral port, and its invocations so far. */
export class LambdaTarget {
  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly counted: { invocations: number },
  ) {}

  /** How many requests the function has answered. */
  get invocations(): number {
    return this.counted.invocations;
  }

  static async start(targetGroupArn: string, handler: (event: AlbEvent) => Promise<AlbResponse>): Promise<LambdaTarget> {
    const counted = { invocations: 0 };
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        counted.invocations++;
        const event = albEventOf(
          { method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers, body: Buffer.concat(chunks) },
          targetGroupArn,
        );
        handler(event)
          .then((response) => writeAlbResponse(response, res))
          .catch(() => {
            // ALB answers 502 when the function itself fails.
            res.writeHead(502, { "content-type": "text/plain" });
            res.end("502 Bad Gateway\n");
          });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    return new LambdaTarget(server, (server.address() as AddressInfo).port, counted);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
