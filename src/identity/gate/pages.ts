/**
 * The few pages the gate answers itself: plain HTML, no script, no outside resource, never cached.
 * Everything shown that came from outside (a name, an error code) is escaped.
 */
import type { ServerResponse } from "node:http";

export const SIGN_OUT_PATH = "/oauth2/sign-out";

const HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
};

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** `body` is HTML whose outside values the caller escaped. */
export function sendPage(
  res: ServerResponse,
  status: number,
  title: string,
  body: string,
  extraHeaders: Record<string, string | string[]> = {},
): void {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>
`;
  res.writeHead(status, { ...HEADERS, ...extraHeaders, "content-length": Buffer.byteLength(html) });
  res.end(html);
}

const signOutLink = `<p><a href="${SIGN_OUT_PATH}">Sign out</a>, then sign in again with the account this workspace belongs to.</p>`;

export function wrongIdentityPage(res: ServerResponse, who: string): void {
  const body = `<p>You are signed in as <strong>${escapeHtml(who)}</strong>, and this workspace belongs to someone else.</p>\n${signOutLink}`;
  sendPage(res, 403, "Not your workspace", body);
}

export function unverifiedEmailPage(res: ServerResponse, who: string, sub: string): void {
  const body = `<p>You are signed in as <strong>${escapeHtml(who)}</strong>, but your identity provider has not verified this email address, so it cannot admit you here.</p>
<p>Verify the address with your identity provider, or ask an operator to bind this workspace to your account's subject identifier: <code>${escapeHtml(sub)}</code> (<code>sub:</code> in the roster).</p>\n${signOutLink}`;
  sendPage(res, 403, "Email address not verified", body);
}

export function signInFailedPage(res: ServerResponse, reason: string): void {
  const body = `<p>The sign-in could not be completed (${escapeHtml(reason)}).</p>\n<p><a href="/">Start again</a>.</p>`;
  sendPage(res, 400, "Sign-in failed", body);
}

export function signedOutPage(res: ServerResponse): void {
  sendPage(res, 200, "Signed out", `<p>You are signed out of this workspace.</p>\n<p><a href="/">Sign in again</a>.</p>`);
}

export function notSetUpPage(res: ServerResponse): void {
  const body = `<p>Sign-in with the identity provider is not set up for this workspace yet: its client secret has not been stored.</p>
<p>Ask an operator to store it (<code>set-oidc-client-secret.sh</code>) and restart the workspace.</p>`;
  sendPage(res, 503, "Sign-in not set up yet", body);
}
