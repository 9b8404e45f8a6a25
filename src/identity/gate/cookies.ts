/**
 * The gate's two cookies, both compact JWEs (jose) with `dir` key management and A256GCM:
 *
 * - the session (`__Host-gate-session`): who signed in, until when, and the ID token as a
 *   logout hint;
 * - the sign-in in flight (`__Host-gate-login`, ten minutes): `state`, `nonce`, the PKCE
 *   verifier and the path to return to.
 *
 * AES-GCM is authenticated encryption: a cookie that decrypts was written by a holder of the key
 * and not altered since (one bit changed fails the tag), and its content stays unreadable to the
 * browser and to anything logging headers. A JWS inside the JWE would add a second check with
 * the same secret and nothing more. Each cookie has its own key, derived from the configured one
 * with HKDF (so neither can be passed off as the other), and names the developer's origin as its
 * audience and the provider as its issuer, which jose checks with the expiry on every request.
 * `__Host-` makes the browser keep each cookie to the exact host that set it, over HTTPS, for `/`.
 *
 * jose draws a fresh random 96-bit IV for every cookie; a gate seals two per sign-in, far below
 * the 2^32 messages one GCM key allows with random IVs. Rotating the key file (and restarting the
 * gate) ends every session: each browser signs in again, silently while its provider session lasts.
 */
import { hkdfSync, webcrypto } from "node:crypto";
import { parseCookie, stringifySetCookie } from "cookie";
import { EncryptJWT, errors, jwtDecrypt, type JWTPayload } from "jose";
import { LOGIN_COOKIE, SESSION_COOKIE } from "./headers";
import type { Identity } from "./identity";

/** How long a sign-in may take at the provider. */
export const LOGIN_SECONDS = 600;
/** Browsers keep cookies up to 4096 bytes; a session that would exceed this drops its logout hint. */
const MAX_COOKIE_BYTES = 4000;
/** Sessions kept opened: one developer has a browser or two, each with one session cookie. */
const OPENED_SESSIONS = 32;
/** Signed-out sessions remembered (each until it would have expired). */
const SIGNED_OUT_SESSIONS = 1000;

export interface Session extends Identity {
  /** Seconds since the epoch. */
  readonly expiresAt: number;
  /** The ID token, passed to the provider's end_session_endpoint at sign-out. @default undefined */
  readonly idTokenHint?: string;
}

export interface Login {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly returnTo: string;
}

/** A cookie that opened, or why none did (for the log line). */
export type Opened<T> = { readonly value: T } | { readonly reason: "none" | "expired" | "invalid" | "signed out" | `wrong ${string}` };

const ALGORITHMS = { keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256GCM"] };

async function deriveKey(master: Buffer, purpose: string): Promise<webcrypto.CryptoKey> {
  const bytes = Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), `code-server gate ${purpose} cookie`, 32));
  return webcrypto.subtle.importKey("raw", bytes, "AES-GCM", false, ["encrypt", "decrypt"]);
}

function why(err: unknown): "expired" | "invalid" | `wrong ${string}` {
  if (err instanceof errors.JWTExpired) return "expired";
  if (err instanceof errors.JWTClaimValidationFailed) return `wrong ${err.claim}`;
  return "invalid";
}

/** Seals and opens the gate's cookies for one origin and one provider. */
export class CookieSealer {
  /**
   * Sessions already opened, by the exact cookie text: the workbench sends one cookie with every
   * request, and decrypting it each time was most of the gate's added latency. Only a cookie that
   * opened is kept, so a hit needs that exact text; expiry is checked on every hit.
   */
  private readonly opened = new Map<string, Session>();
  /**
   * Sessions signed out before their end, by cookie text, until that end: a copy of the cookie
   * taken before sign-out opens nothing afterwards (while this process runs).
   */
  private readonly signedOut = new Map<string, number>();

  private constructor(
    private readonly keys: { readonly session: webcrypto.CryptoKey; readonly login: webcrypto.CryptoKey },
    private readonly audience: string,
    private readonly issuer: string,
  ) {}

  static async create(master: Buffer, publicUrl: URL, issuer: URL): Promise<CookieSealer> {
    const keys = { session: await deriveKey(master, "session"), login: await deriveKey(master, "login") };
    return new CookieSealer(keys, publicUrl.origin, issuer.href);
  }

  private seal(key: webcrypto.CryptoKey, claims: JWTPayload, expiresAt: number): Promise<string> {
    return new EncryptJWT(claims)
      .setProtectedHeader({ alg: "dir", enc: "A256GCM" })
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setIssuedAt()
      .setExpirationTime(expiresAt)
      .encrypt(key);
  }

  private async open(key: webcrypto.CryptoKey, token: string | undefined): Promise<Opened<JWTPayload>> {
    if (!token) return { reason: "none" };
    try {
      const { payload } = await jwtDecrypt(token, key, {
        ...ALGORITHMS,
        issuer: this.issuer,
        audience: this.audience,
        requiredClaims: ["exp", "iat"],
      });
      return { value: payload };
    } catch (err) {
      return { reason: why(err) };
    }
  }

  /** The Set-Cookie header of a session; without its logout hint if the cookie would grow too large. */
  async sessionCookie(session: Session): Promise<string> {
    const claims = { sub: session.sub, email: session.email, ev: session.emailVerified };
    const maxAge = Math.max(0, session.expiresAt - Math.floor(Date.now() / 1000));
    let value = await this.seal(this.keys.session, { ...claims, idt: session.idTokenHint }, session.expiresAt);
    if (value.length > MAX_COOKIE_BYTES) value = await this.seal(this.keys.session, claims, session.expiresAt);
    return setCookie(SESSION_COOKIE, value, maxAge);
  }

  async openSession(cookieHeader: string | undefined): Promise<Opened<Session>> {
    const token = cookieHeader ? parseCookie(cookieHeader)[SESSION_COOKIE] : undefined;
    if (token && this.signedOut.has(token)) return { reason: "signed out" };
    const known = token && this.opened.get(token);
    if (known) {
      if (known.expiresAt > Math.floor(Date.now() / 1000)) return { value: known };
      this.opened.delete(token);
      return { reason: "expired" };
    }
    const opened = await this.open(this.keys.session, token);
    if (!("value" in opened)) return opened;
    const { sub, email, ev, idt, exp } = opened.value;
    if (typeof sub !== "string" || (email !== undefined && typeof email !== "string")) return { reason: "invalid" };
    const session = { sub, email, emailVerified: ev === true, expiresAt: exp!, idTokenHint: typeof idt === "string" ? idt : undefined };
    if (this.opened.size >= OPENED_SESSIONS) this.opened.delete(this.opened.keys().next().value!);
    this.opened.set(token!, session);
    return { value: session };
  }

  /** Ends the session in `cookieHeader` for this gate, whoever still holds its cookie. */
  signOut(cookieHeader: string | undefined, session: Session): void {
    const token = cookieHeader && parseCookie(cookieHeader)[SESSION_COOKIE];
    if (!token) return;
    this.opened.delete(token);
    const now = Math.floor(Date.now() / 1000);
    for (const [old, until] of this.signedOut) {
      if (until > now && this.signedOut.size < SIGNED_OUT_SESSIONS) break;
      this.signedOut.delete(old);
    }
    this.signedOut.set(token, session.expiresAt);
  }

  async loginCookie(login: Login): Promise<string> {
    const claims = { st: login.state, n: login.nonce, v: login.codeVerifier, r: login.returnTo };
    return setCookie(LOGIN_COOKIE, await this.seal(this.keys.login, claims, Math.floor(Date.now() / 1000) + LOGIN_SECONDS), LOGIN_SECONDS);
  }

  async openLogin(cookieHeader: string | undefined): Promise<Opened<Login>> {
    const opened = await this.open(this.keys.login, cookieHeader ? parseCookie(cookieHeader)[LOGIN_COOKIE] : undefined);
    if (!("value" in opened)) return opened;
    const { st, n, v, r } = opened.value;
    if (typeof st !== "string" || typeof n !== "string" || typeof v !== "string" || typeof r !== "string") return { reason: "invalid" };
    return { value: { state: st, nonce: n, codeVerifier: v, returnTo: r } };
  }
}

export function setCookie(name: string, value: string, maxAge: number): string {
  return stringifySetCookie({ name, value, maxAge, path: "/", secure: true, httpOnly: true, sameSite: "lax" });
}

/** The Set-Cookie header that removes cookie `name`. */
export function clearCookie(name: string): string {
  return setCookie(name, "", 0);
}
