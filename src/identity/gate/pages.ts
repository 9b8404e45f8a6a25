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

/** A page the gate (or the wake function, for a sleeping workspace) answers with. */
export interface GatePage {
  readonly status: number;
  readonly title: string;
  /** HTML whose outside values the builder escaped. */
  readonly body: string;
}

/** The whole document of `page`. */
export function pageHtml({ title, body }: Pick<GatePage, "title" | "body">): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>
`;
}

/** The headers of every page: never cached, never framed, nothing loaded from elsewhere. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = HEADERS;

/** `body` is HTML whose outside values the caller escaped. */
export function sendPage(
  res: ServerResponse,
  status: number,
  title: string,
  body: string,
  extraHeaders: Record<string, string | string[]> = {},
): void {
  const html = pageHtml({ title, body });
  res.writeHead(status, { ...HEADERS, ...extraHeaders, "content-length": Buffer.byteLength(html) });
  res.end(html);
}

const send = (res: ServerResponse, page: GatePage): void => sendPage(res, page.status, page.title, page.body);

const signOutLink = `<p><a href="${SIGN_OUT_PATH}">Sign out</a>, then sign in again with the account this workspace belongs to.</p>`;

export const wrongIdentity = (who: string): GatePage => ({
  status: 403,
  title: "Not your workspace",
  body: `<p>You are signed in as <strong>${escapeHtml(who)}</strong>, and this workspace belongs to someone else.</p>\n${signOutLink}`,
});

export const unverifiedEmail = (who: string, sub: string): GatePage => ({
  status: 403,
  title: "Email address not verified",
  body: `<p>You are signed in as <strong>${escapeHtml(who)}</strong>, but your identity provider has not verified this email address, so it cannot admit you here.</p>
<p>Verify the address with your identity provider, or ask an operator to bind this workspace to your account's subject identifier: <code>${escapeHtml(sub)}</code> (<code>sub:</code> in the roster).</p>\n${signOutLink}`,
});

export const signInFailed = (reason: string): GatePage => ({
  status: 400,
  title: "Sign-in failed",
  body: `<p>The sign-in could not be completed (${escapeHtml(reason)}).</p>\n<p><a href="/">Start again</a>.</p>`,
});

export const signedOut = (): GatePage => ({
  status: 200,
  title: "Signed out",
  body: `<p>You are signed out of this workspace.</p>\n<p><a href="/">Sign in again</a>.</p>`,
});

export const notSetUp = (): GatePage => ({
  status: 503,
  title: "Sign-in not set up yet",
  body: `<p>Sign-in with the identity provider is not set up for this workspace yet: its client secret has not been stored.</p>
<p>Ask an operator to store it (<code>set-oidc-client-secret.sh</code>) and restart the workspace.</p>`,
});

export const signInUnavailable = (): GatePage => ({
  status: 503,
  title: "Sign-in unavailable",
  body: "<p>The identity provider cannot be reached. Try again in a moment.</p>",
});

export const wrongIdentityPage = (res: ServerResponse, who: string): void => send(res, wrongIdentity(who));
export const unverifiedEmailPage = (res: ServerResponse, who: string, sub: string): void => send(res, unverifiedEmail(who, sub));
export const signInFailedPage = (res: ServerResponse, reason: string): void => send(res, signInFailed(reason));
export const signedOutPage = (res: ServerResponse): void => send(res, signedOut());
export const notSetUpPage = (res: ServerResponse): void => send(res, notSetUp());
export const signInUnavailablePage = (res: ServerResponse): void => send(res, signInUnavailable());
