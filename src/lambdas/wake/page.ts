/**
 * What the wake function answers: ALB Lambda-target responses, and the one small page a visitor
 * sees while a developer sleeps or starts. The page is self-contained (no script, no external
 * resource; it reloads itself) and names only the developer, whose host name DNS already shows.
 */
import { escapeHtml, type GatePage, PAGE_HEADERS, pageHtml } from "../../identity/gate/pages";

/** An ALB Lambda target's response (multi-value headers off). */
export interface AlbResponse {
  readonly statusCode: number;
  readonly statusDescription: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly isBase64Encoded: false;
}

/** Seconds between the page's reloads, and what a refused request is told to wait. */
export const RELOAD_SECONDS = 5;
export const RETRY_AFTER_SECONDS = 10;

const REASONS: Record<number, string> = {
  200: "OK",
  302: "Found",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  503: "Service Unavailable",
};

function respond(statusCode: number, headers: Record<string, string>, body: string): AlbResponse {
  return {
    statusCode,
    statusDescription: `${statusCode} ${REASONS[statusCode]}`,
    headers: { "cache-control": "no-store", "x-content-type-options": "nosniff", ...headers },
    body,
    isBase64Encoded: false,
  };
}

/** The answer for a host that is no developer's, and for anything else not ours: no detail. */
export function notFound(): AlbResponse {
  return respond(404, { "content-type": "text/plain; charset=utf-8" }, "Not found");
}

/** Sends the browser to the same path and query, which the developer's own target now serves. */
export function redirect(location: string): AlbResponse {
  return respond(302, { location, "content-type": "text/plain; charset=utf-8" }, "Your environment is ready");
}

/** The gate's own page (sign-in failed, not your workspace, ...), as the gate would show it. */
export function gatePage(gate: GatePage): AlbResponse {
  return respond(gate.status, { ...PAGE_HEADERS }, pageHtml(gate));
}

/** Sends the browser to `location` (the provider, or back from it), setting one cookie. */
export function moved(location: string, cookie: string): AlbResponse {
  return respond(302, { location, "set-cookie": cookie, "content-type": "text/plain; charset=utf-8" }, "");
}

/** No session, and a request a sign-in cannot help (a script, a websocket). */
export function unauthenticated(): AlbResponse {
  return respond(401, { "content-type": "text/plain; charset=utf-8" }, "Not signed in: open this workspace's address in a browser.\n");
}

export interface PageOptions {
  /** The developer's name. */
  readonly developer: string;
  /** One line: what is happening. */
  readonly message: string;
  /** Whether the page reloads itself (while something starts). */
  readonly reload: boolean;
  /** 200, or 503 for a request that was not served (not a GET or HEAD, or a failed start). @default 200 */
  readonly status?: 200 | 503;
}

/** The wake page. */
export function page({ developer, message, reload, status = 200 }: PageOptions): AlbResponse {
  const refresh = reload ? `<meta http-equiv="refresh" content="${RELOAD_SECONDS}">` : "";
  const body = [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    refresh,
    `<title>${escapeHtml(developer)}: ${escapeHtml(message)}</title>`,
    "<style>body{font-family:system-ui,sans-serif;max-width:36em;margin:20vh auto;padding:0 1em;color:#222}</style>",
    `</head><body><h1>${escapeHtml(developer)}</h1><p>${escapeHtml(message)}</p></body></html>`,
  ].join("\n");
  const headers: Record<string, string> = {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
  };
  if (status === 503) headers["retry-after"] = String(RETRY_AFTER_SECONDS);
  return respond(status, headers, body);
}
