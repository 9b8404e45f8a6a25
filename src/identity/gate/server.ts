/**
 * The gate's routes and decisions. Every request is one of:
 *
 * - `GET|HEAD /healthz` (exactly that path): to code-server without a session, for the load
 *   balancer's health check; it tells liveness and nothing else.
 * - `/oauth2/...`: the gate's own (callback, sign-out, signed-out page); code-server has no such path.
 * - anything else: the session cookie decides. The developer's identity is forwarded; another
 *   identity, or an email the provider has not verified, gets a 403 page; no session (none,
 *   expired, altered, another origin's or provider's) starts a sign-in when the request is a page
 *   navigation, and gets a bare 401 otherwise (a script or a websocket cannot follow a sign-in,
 *   and would overwrite the sign-in in flight of the page that can).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { GateConfig } from "./config";
import { clearCookie, type CookieSealer, type Session } from "./cookies";
import { LOGIN_COOKIE, SESSION_COOKIE } from "./headers";
import { decide, nameOf, returnPath, type Verdict } from "./identity";
import type { DecisionLog } from "./log";
import { CALLBACK_PATH, RelyingParty, SIGNED_OUT_PATH } from "./oidc";
import {
  notSetUpPage,
  sendPage,
  SIGN_OUT_PATH,
  signedOutPage,
  signInFailedPage,
  signInUnavailablePage,
  unverifiedEmailPage,
  wrongIdentityPage,
} from "./pages";
import { Forwarder } from "./proxy";
import { errorReason, SpentStates } from "./sign-in-state";

export const HEALTH_PATH = "/healthz";
const GATE_PREFIX = "/oauth2/";
/** Longer than any ALB idle timeout (at most 4000 s), so the load balancer, not the gate, closes idle connections. */
const KEEP_ALIVE_SECONDS = 4005;
const NO_STORE = { "cache-control": "no-store" };

export interface GateParts {
  readonly config: GateConfig;
  readonly sealer: CookieSealer;
  readonly relyingParty: RelyingParty;
  readonly log: DecisionLog;
}

/** The request target's path as received, before any decoding or normalisation. */
function rawPath(req: IncomingMessage): string {
  const target = req.url ?? "";
  return target.startsWith("/") ? target.split("?", 1)[0] : "";
}

/** A page load in a browser: the only request a redirect to the provider can help. */
function isNavigation(req: IncomingMessage): boolean {
  const mode = req.headers["sec-fetch-mode"];
  return (req.method === "GET" || req.method === "HEAD") && (mode === undefined || mode === "navigate");
}

export class Gate {
  private readonly forwarder: Forwarder;
  private readonly spent = new SpentStates();

  constructor(private readonly parts: GateParts) {
    this.forwarder = new Forwarder(parts.config.upstream);
  }

  /** The HTTP server; not yet listening. */
  server(): Server {
    const server = createServer({ noDelay: true }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => this.crash(req, res, err));
    });
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgrade(req, socket, head).catch(() => socket.destroy());
    });
    server.on("clientError", (_err, socket: Duplex) => socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"));
    server.keepAliveTimeout = KEEP_ALIVE_SECONDS * 1000;
    return server;
  }

  private crash(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    this.parts.log("error", req, { reason: errorReason(err) });
    if (!res.headersSent) sendPage(res, 500, "Gate error", "<p>Something went wrong in front of this workspace. Try again.</p>");
    else res.destroy();
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    this.forwarder.http(req, res, (err) => this.parts.log("upstream-error", req, { reason: err.message }));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = rawPath(req);
    if (path === HEALTH_PATH && (req.method === "GET" || req.method === "HEAD")) {
      this.parts.log("health", req);
      return this.forward(req, res);
    }
    if (path.startsWith(GATE_PREFIX)) return this.gateRoute(path, req, res);
    const opened = await this.parts.sealer.openSession(req.headers.cookie);
    if (!("value" in opened)) return this.signIn(req, res, opened.reason);
    const session = opened.value;
    const verdict = decide(session, this.parts.config.binding);
    this.parts.log(verdict, req, verdict === "unverified-email" ? { who: nameOf(session), sub: session.sub } : { who: nameOf(session) });
    if (verdict === "allow") return this.forward(req, res);
    return verdict === "wrong-identity" ? wrongIdentityPage(res, nameOf(session)) : unverifiedEmailPage(res, nameOf(session), session.sub);
  }

  private async gateRoute(path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (path === CALLBACK_PATH && req.method === "GET") return this.callback(req, res);
    if (path === SIGN_OUT_PATH && (req.method === "GET" || req.method === "POST")) return this.signOut(req, res);
    if (path === SIGNED_OUT_PATH && req.method === "GET") return signedOutPage(res);
    this.parts.log("not-found", req);
    sendPage(res, 404, "Not found", "<p>The gate has no such page.</p>");
  }

  /** No session: a navigation goes to the provider with a fresh challenge in the login cookie. */
  private async signIn(req: IncomingMessage, res: ServerResponse, reason: string): Promise<void> {
    if (!isNavigation(req)) {
      this.parts.log("unauthenticated", req, { reason: `session ${reason}` });
      res
        .writeHead(401, { ...NO_STORE, "content-type": "text/plain; charset=utf-8" })
        .end("Not signed in: open this workspace's address in a browser.\n");
      return;
    }
    if (!this.parts.relyingParty.configured) {
      this.parts.log("sign-in-refused", req, { reason: "the client secret is not set" });
      return notSetUpPage(res);
    }
    const challenge = RelyingParty.challenge();
    let location: URL;
    try {
      location = await this.parts.relyingParty.authorizationUrl(challenge);
    } catch (err) {
      this.parts.log("sign-in-refused", req, { reason: `identity provider unavailable: ${errorReason(err)}` });
      return signInUnavailablePage(res);
    }
    const returnTo = returnPath(req.url ?? "/", this.parts.config.publicUrl, GATE_PREFIX);
    const cookie = await this.parts.sealer.loginCookie({ ...challenge, returnTo });
    this.parts.log("sign-in", req, { reason: `session ${reason}` });
    res.writeHead(302, { ...NO_STORE, location: location.href, "set-cookie": cookie }).end();
  }

  private refuse(req: IncomingMessage, res: ServerResponse, reason: string): void {
    this.parts.log("sign-in-refused", req, { reason });
    signInFailedPage(res, reason);
  }

  /** The provider's answer: checked by openid-client against the login cookie's challenge, once. */
  private async callback(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { config, sealer, relyingParty } = this.parts;
    const login = await sealer.openLogin(req.headers.cookie);
    if (!("value" in login)) return this.refuse(req, res, `no sign-in in progress (login cookie ${login.reason})`);
    const now = Math.floor(Date.now() / 1000);
    if (!this.spent.spend(login.value.state, now)) return this.refuse(req, res, "this sign-in was already completed (state replayed)");
    const callbackUrl = new URL(req.url ?? CALLBACK_PATH, config.publicUrl.origin);
    let signedIn;
    try {
      signedIn = await relyingParty.signIn(callbackUrl, login.value);
    } catch (err) {
      return this.refuse(req, res, errorReason(err));
    }
    const limit = config.maxSessionSeconds === undefined ? Infinity : now + config.maxSessionSeconds;
    const session: Session = { ...signedIn, expiresAt: Math.min(signedIn.expiresAt, limit), idTokenHint: signedIn.idToken };
    const verdict: Verdict = decide(session, config.binding);
    this.parts.log("signed-in", req, { who: nameOf(session), verdict });
    const cookies = [await sealer.sessionCookie(session), clearCookie(LOGIN_COOKIE)];
    res.writeHead(302, { ...NO_STORE, location: `${config.publicUrl.origin}${login.value.returnTo}`, "set-cookie": cookies }).end();
  }

  private async signOut(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const opened = await this.parts.sealer.openSession(req.headers.cookie);
    const session = "value" in opened ? opened.value : undefined;
    if (session) this.parts.sealer.signOut(req.headers.cookie, session);
    const location = await this.parts.relyingParty.signOutUrl(session?.idTokenHint);
    this.parts.log("signed-out", req, session ? { who: nameOf(session) } : {});
    const cookies = [clearCookie(SESSION_COOKIE), clearCookie(LOGIN_COOKIE)];
    res.writeHead(302, { ...NO_STORE, location: location.href, "set-cookie": cookies }).end();
  }

  /** A websocket: only the developer's session opens one, and it lasts no longer than the session. */
  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const path = rawPath(req);
    const refuse = (status: string, decision: "unauthenticated" | Verdict | "not-found", fields = {}) => {
      this.parts.log(decision, req, fields);
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (path === HEALTH_PATH || path.startsWith(GATE_PREFIX)) return refuse("404 Not Found", "not-found");
    const opened = await this.parts.sealer.openSession(req.headers.cookie);
    if (!("value" in opened)) return refuse("401 Unauthorized", "unauthenticated", { reason: `session ${opened.reason}` });
    const verdict = decide(opened.value, this.parts.config.binding);
    if (verdict !== "allow") return refuse("403 Forbidden", verdict, { who: nameOf(opened.value) });
    this.parts.log("allow", req, { who: nameOf(opened.value) });
    this.forwarder.upgrade(req, socket, head, opened.value.expiresAt, (err) =>
      this.parts.log("upstream-error", req, { reason: err.message }),
    );
  }
}
