/**
 * With a company sign-in (auth.type oidc), a sleeping developer's address wakes them for their own
 * identity only. The developer's gate sleeps with them, so the wake function signs the visitor in
 * as the gate does, with the gate's own parts: openid-client for the relying party (PKCE, `state`,
 * `nonce`, the ID token's signature and claims), the gate's cookies sealed with the developer's
 * cookie key, and the gate's judgement of who may enter. The session it starts is therefore the one
 * the gate admits once the developer is awake: one sign-in, not two.
 *
 * A stranger learns nothing and starts nothing: without the developer's session every request is
 * sent to the provider (or refused), before any state is read or any compute started.
 */
import type { Binding } from "../../identity/gate/config";
import { clearCookie, CookieSealer, type Session } from "../../identity/gate/cookies";
import { SESSION_COOKIE } from "../../identity/gate/headers";
import { decide, nameOf, returnPath } from "../../identity/gate/identity";
import { CALLBACK_PATH, RelyingParty, SIGNED_OUT_PATH } from "../../identity/gate/oidc";
import {
  notSetUp,
  SIGN_OUT_PATH,
  signedOut,
  signInFailed,
  signInUnavailable,
  unverifiedEmail,
  wrongIdentity,
} from "../../identity/gate/pages";
import { errorReason, SpentStates } from "../../identity/gate/sign-in-state";
import { SECRET_PLACEHOLDER } from "../../secret-placeholder";
import { gatePage, notFound, type AlbResponse, moved, unauthenticated } from "./page";
import type { WakeRequest } from "./request";
import type { GateStore, SignInSettings } from "./sign-in-settings";

const GATE_PREFIX = "/oauth2/";
/** How long a developer's secrets and binding are kept before they are read again. */
export const GATE_CACHE_MS = 300_000;

interface DeveloperGate {
  readonly publicUrl: URL;
  readonly binding: Binding;
  readonly sealer: CookieSealer;
  readonly relyingParty: RelyingParty;
  readonly loadedAt: number;
}

/** What a request gets: on to the wake, or an answer of the sign-in's own. */
export type Admission = "allowed" | AlbResponse;

/** The cookie key as the gate reads it: base64 of at least 32 random bytes. */
function cookieKeyOf(developer: string, text: string): Buffer {
  const key = Buffer.from(text.trim(), "base64");
  if (key.length < 32) throw new Error(`the gate cookie key of ${developer} holds no key yet (its gate has never run)`);
  return key;
}

export class SignIn {
  private readonly gates = new Map<string, Promise<DeveloperGate | undefined>>();
  private readonly spent = new SpentStates();

  constructor(
    private readonly settings: SignInSettings,
    private readonly store: GateStore,
    private readonly domain: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether `request` may wake `developer`, or what to answer instead. */
  async admit(developer: string, request: WakeRequest): Promise<Admission> {
    const gate = await this.gate(developer);
    if (!gate) return notFound();
    if (request.path.startsWith(GATE_PREFIX)) return this.gateRoute(gate, request);
    const opened = await gate.sealer.openSession(request.headers.cookie);
    if ("value" in opened) {
      const verdict = decide(opened.value, gate.binding);
      if (verdict === "allow") return "allowed";
      const who = nameOf(opened.value);
      return gatePage(verdict === "wrong-identity" ? wrongIdentity(who) : unverifiedEmail(who, opened.value.sub));
    }
    // Only a page load in a browser (a visit) can follow a redirect to the provider.
    if (!request.visit) return unauthenticated();
    return this.startSignIn(gate, request);
  }

  private async gateRoute(gate: DeveloperGate, request: WakeRequest): Promise<AlbResponse> {
    if (request.path === CALLBACK_PATH && request.method === "GET") return this.callback(gate, request);
    if (request.path === SIGNED_OUT_PATH && request.method === "GET") return gatePage(signedOut());
    if (request.path === SIGN_OUT_PATH) {
      const opened = await gate.sealer.openSession(request.headers.cookie);
      const location = await gate.relyingParty.signOutUrl("value" in opened ? opened.value.idTokenHint : undefined);
      return moved(location.href, clearCookie(SESSION_COOKIE));
    }
    return notFound();
  }

  private async startSignIn(gate: DeveloperGate, request: WakeRequest): Promise<AlbResponse> {
    if (!gate.relyingParty.configured) return gatePage(notSetUp());
    const challenge = RelyingParty.challenge();
    let location: URL;
    try {
      location = await gate.relyingParty.authorizationUrl(challenge);
    } catch {
      return gatePage(signInUnavailable());
    }
    const returnTo = returnPath(request.location, gate.publicUrl, GATE_PREFIX);
    return moved(location.href, await gate.sealer.loginCookie({ ...challenge, returnTo }));
  }

  /**
   * The provider's answer. An ALB answer without multi-value headers sets one cookie, the session:
   * the login cookie expires by itself, and its `state` is spent here and the code at the provider.
   */
  private async callback(gate: DeveloperGate, request: WakeRequest): Promise<AlbResponse> {
    const login = await gate.sealer.openLogin(request.headers.cookie);
    if (!("value" in login)) return gatePage(signInFailed(`no sign-in in progress (login cookie ${login.reason})`));
    const now = Math.floor(this.now() / 1000);
    if (!this.spent.spend(login.value.state, now)) return gatePage(signInFailed("this sign-in was already completed (state replayed)"));
    let signedIn;
    try {
      signedIn = await gate.relyingParty.signIn(new URL(request.location, gate.publicUrl.origin), login.value);
    } catch (err) {
      return gatePage(signInFailed(errorReason(err)));
    }
    const { maxSessionSeconds } = this.settings;
    const limit = maxSessionSeconds === undefined ? Infinity : now + maxSessionSeconds;
    const session: Session = { ...signedIn, expiresAt: Math.min(signedIn.expiresAt, limit), idTokenHint: signedIn.idToken };
    return moved(`${gate.publicUrl.origin}${login.value.returnTo}`, await gate.sealer.sessionCookie(session));
  }

  /** The developer's gate, read at most every GATE_CACHE_MS; a failed read is retried on the next request. */
  private gate(developer: string): Promise<DeveloperGate | undefined> {
    const cached = this.gates.get(developer);
    const load = async (): Promise<DeveloperGate | undefined> => {
      const known = await cached?.catch(() => undefined);
      if (known && this.now() - known.loadedAt < GATE_CACHE_MS) return known;
      return this.load(developer);
    };
    const loading = load();
    this.gates.set(developer, loading);
    loading.catch(() => this.gates.delete(developer));
    return loading;
  }

  private async load(developer: string): Promise<DeveloperGate | undefined> {
    const { settings, store } = this;
    const binding = await store.binding(settings.bindingName(developer));
    if (!binding) return undefined;
    const [clientSecret, cookieKey] = await Promise.all([
      store.secret(settings.clientSecretId),
      store.secret(settings.cookieKeyId(developer)),
    ]);
    const publicUrl = new URL(`https://${developer}.${this.domain}`);
    return {
      publicUrl,
      binding,
      sealer: await CookieSealer.create(cookieKeyOf(developer, cookieKey), publicUrl, settings.issuer),
      relyingParty: new RelyingParty({
        issuer: settings.issuer,
        clientId: settings.clientId,
        clientSecret: clientSecret === SECRET_PLACEHOLDER || clientSecret === "" ? undefined : clientSecret,
        publicUrl,
      }),
      loadedAt: this.now(),
    };
  }
}
