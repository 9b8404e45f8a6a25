/**
 * The parts of an ALB Lambda-target request the wake function reads, and the developer its host
 * names. Only what a client sends reaches here: nothing in it is trusted beyond its shape.
 */
import { DEVELOPER_NAME } from "../sleep-wake/routes";

/** An ALB Lambda-target event (multi-value headers off). */
export interface AlbEvent {
  readonly requestContext?: { readonly elb?: { readonly targetGroupArn?: string } };
  readonly httpMethod?: string;
  readonly path?: string;
  readonly queryStringParameters?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
}

export interface WakeRequest {
  readonly method: string;
  /** The Host header in lower case, without a port. */
  readonly host: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The path alone (same-site, as `location` has it). */
  readonly path: string;
  /** Path and query to send the browser back to: always on this site. */
  readonly location: string;
  /**
   * A person opening the address: a GET or HEAD that is no websocket upgrade (an open workbench
   * reconnecting does not wake anyone) and, from a browser that says so, a page navigation (a
   * service worker's update check or a script's fetch does not either).
   */
  readonly visit: boolean;
}

/**
 * A same-site path: one leading slash (`//host` and `/\host` would leave the site), and nothing
 * that is not printable ASCII (ALB hands over the path as received).
 */
function safePath(path: string | undefined): string {
  if (!path || !/^\/[\x21-\x7e]*$/.test(path)) return "/";
  return `/${path.replace(/^[/\\]+/, "").replace(/\\/g, "%5C")}`;
}

/** The query as ALB received it (its values are still URL-encoded). */
function queryOf(query: Readonly<Record<string, string>> | undefined): string {
  const pairs = Object.entries(query ?? {}).filter(([k, v]) => /^[\x21-\x7e]*$/.test(k + v));
  return pairs.length === 0 ? "" : `?${pairs.map(([k, v]) => (v === "" ? k : `${k}=${v}`)).join("&")}`;
}

export function requestOf(event: AlbEvent): WakeRequest {
  const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
  const method = (event.httpMethod ?? "").toUpperCase();
  const path = safePath(event.path);
  return {
    method,
    host: (headers.host ?? "").toLowerCase().replace(/:\d+$/, "").replace(/\.$/, ""),
    headers,
    path,
    location: `${path}${queryOf(event.queryStringParameters)}`,
    visit:
      (method === "GET" || method === "HEAD") &&
      headers.upgrade === undefined &&
      [undefined, "navigate"].includes(headers["sec-fetch-mode"]),
  };
}

/** The developer a host names (`<name>.<domain>`), or undefined for any other host. */
export function developerOf(host: string, domain: string): string | undefined {
  const suffix = `.${domain}`;
  if (!host.endsWith(suffix)) return undefined;
  const name = host.slice(0, -suffix.length);
  return DEVELOPER_NAME.test(name) ? name : undefined;
}
