/**
 * What the gate removes from a request before code-server sees it: its own cookies (code-server,
 * and any server a developer runs behind code-server's /proxy/, must never receive a session to
 * replay) and every header that looks like an identity asserted by a proxy. code-server reads no
 * such header today; a developer's own app behind /proxy/ might, and only a header that did not
 * come from the browser could be trusted, so none passes. Also the hop-by-hop headers of RFC 9110,
 * which belong to one connection and not to the next.
 */
import type { IncomingHttpHeaders } from "node:http";

export const SESSION_COOKIE = "__Host-gate-session";
export const LOGIN_COOKIE = "__Host-gate-login";

/** oauth2-proxy's, ALB authenticate-oidc's (x-amzn-oidc-*), Apache's and common home-made names. */
const IDENTITY_HEADER =
  /^(x-forwarded-(user|email|preferred-username|groups|access-token)|x-auth-request-.*|x-amzn-oidc-.*|x-remote-.*|remote-user|x-user|x-email)$/;

/** Transfer-Encoding stays: node frames the forwarded body by it. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer", "upgrade"]);

export function isIdentityHeader(name: string): boolean {
  return IDENTITY_HEADER.test(name.toLowerCase());
}

/** The Cookie header without the gate's own cookies; undefined when nothing else is left. */
export function withoutGateCookies(header: string): string | undefined {
  const kept = header.split(";").filter((pair) => {
    const name = pair.split("=", 1)[0].trim();
    return name !== SESSION_COOKIE && name !== LOGIN_COOKIE;
  });
  const joined = kept.join(";").trim();
  return joined === "" ? undefined : joined;
}

/** Names listed in Connection are hop-by-hop too. */
function connectionTokens(headers: IncomingHttpHeaders): Set<string> {
  const listed = headers.connection?.split(",").map((token) => token.trim().toLowerCase()) ?? [];
  return new Set(listed.filter((token) => token !== "" && token !== "upgrade"));
}

/**
 * The headers to forward to code-server. An upgrade keeps Connection: upgrade and Upgrade (they
 * are the request); any other request loses them with the rest of the hop-by-hop headers.
 */
export function forwardedHeaders(headers: IncomingHttpHeaders, upgrade: boolean): Record<string, string | string[]> {
  const dropped = connectionTokens(headers);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || isIdentityHeader(name) || dropped.has(name)) continue;
    if (HOP_BY_HOP.has(name) && !(upgrade && (name === "connection" || name === "upgrade"))) continue;
    if (name === "cookie") {
      const cookie = withoutGateCookies(value as string);
      if (cookie !== undefined) out.cookie = cookie;
      continue;
    }
    out[name] = value;
  }
  if (upgrade) out.connection = "Upgrade";
  return out;
}

/** The response headers to pass back to the browser: all but hop-by-hop. */
export function returnedHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const dropped = connectionTokens(headers);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !dropped.has(name)) out[name] = value;
  }
  return out;
}
