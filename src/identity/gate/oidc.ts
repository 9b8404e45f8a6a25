/**
 * The relying party, all of it openid-client's (certified by the OpenID Foundation): discovery
 * from the issuer, the authorization URL with PKCE (S256), `state` and `nonce`, and the code
 * exchange, which checks `state`, the `iss` of the response, the ID token's signature, issuer,
 * audience, expiry and nonce, and userinfo when the ID token carries no email. Nothing here
 * parses a token.
 *
 * - Signatures are verified against the issuer's JWKS (enableNonRepudiationChecks). TLS to the
 *   token endpoint would already vouch for the token; verifying also refuses `alg: none`, any
 *   algorithm the issuer does not advertise, and a token altered anywhere on the way.
 * - Discovery runs at start-up in the background and again whenever it failed: a provider that is
 *   down when the gate starts delays sign-ins, not the gate, and sessions already open need no
 *   provider at all.
 * - Plain http:// to the provider is allowed only on loopback (the tests' provider); the
 *   configuration refuses it anywhere else.
 */
import * as client from "openid-client";
import type { GateConfig } from "./config";
import { isLoopback } from "./loopback";
import type { Identity } from "./identity";

/** Where the provider sends the browser back with a code; registered at the provider. */
export const CALLBACK_PATH = "/oauth2/callback";
/** The gate's page after sign-out; registered at the provider as a post-logout redirect URI. */
export const SIGNED_OUT_PATH = "/oauth2/signed-out";
const SCOPE = "openid email";
const TIMEOUT_SECONDS = 10;

/** A new sign-in's secrets, kept in the login cookie until the provider sends the browser back. */
export interface Challenge {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

export interface SignedIn extends Identity {
  /** The ID token's `exp`, in seconds since the epoch. */
  readonly expiresAt: number;
  readonly idToken: string;
}

/**
 * Client authentication at the token endpoint as the provider advertises it: client_secret_basic
 * (the OpenID Connect default) unless only client_secret_post is offered.
 */
function clientAuthentication(secret: string): client.ClientAuth {
  const basic = client.ClientSecretBasic(secret);
  const post = client.ClientSecretPost(secret);
  return (as, metadata, body, headers) => {
    const offered = as.token_endpoint_auth_methods_supported;
    const useBasic = !offered || offered.includes("client_secret_basic") || !offered.includes("client_secret_post");
    return (useBasic ? basic : post)(as, metadata, body, headers);
  };
}

export class RelyingParty {
  private discovered?: Promise<client.Configuration>;

  constructor(private readonly config: Pick<GateConfig, "issuer" | "clientId" | "clientSecret" | "publicUrl">) {}

  /** Whether the provider's client secret is there: until an operator stores it, nobody can sign in. */
  get configured(): boolean {
    return this.config.clientSecret !== undefined;
  }

  /** The provider's configuration, discovered once; a failed discovery is retried on the next call. */
  configuration(): Promise<client.Configuration> {
    this.discovered ??= this.discover().catch((err: unknown) => {
      this.discovered = undefined;
      throw err;
    });
    return this.discovered;
  }

  private async discover(): Promise<client.Configuration> {
    const { issuer, clientId, clientSecret } = this.config;
    if (clientSecret === undefined) throw new Error("the client secret is not set");
    const execute = [client.enableNonRepudiationChecks];
    if (issuer.protocol === "http:" && isLoopback(issuer.hostname)) execute.push(client.allowInsecureRequests);
    const options = { execute, timeout: TIMEOUT_SECONDS };
    return client.discovery(issuer, clientId, { client_secret: clientSecret }, clientAuthentication(clientSecret), options);
  }

  /** Fresh random `state`, `nonce` and PKCE verifier (openid-client's generators). */
  static challenge(): Challenge {
    return { state: client.randomState(), nonce: client.randomNonce(), codeVerifier: client.randomPKCECodeVerifier() };
  }

  async authorizationUrl(challenge: Challenge): Promise<URL> {
    const configuration = await this.configuration();
    return client.buildAuthorizationUrl(configuration, {
      redirect_uri: new URL(CALLBACK_PATH, this.config.publicUrl).href,
      scope: SCOPE,
      state: challenge.state,
      nonce: challenge.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(challenge.codeVerifier),
      code_challenge_method: "S256",
    });
  }

  /** The identity in the provider's answer at `callbackUrl`, checked against `challenge`; throws otherwise. */
  async signIn(callbackUrl: URL, challenge: Challenge): Promise<SignedIn> {
    const configuration = await this.configuration();
    const tokens = await client.authorizationCodeGrant(configuration, callbackUrl, {
      pkceCodeVerifier: challenge.codeVerifier,
      expectedState: challenge.state,
      expectedNonce: challenge.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims()!;
    // A provider may keep scope claims out of the ID token when it also issues an access token
    // (OpenID Connect Core 5.4); userinfo then has them, for the same subject (checked).
    const source =
      claims.email === undefined && configuration.serverMetadata().userinfo_endpoint
        ? await client.fetchUserInfo(configuration, tokens.access_token, claims.sub)
        : claims;
    return {
      sub: claims.sub,
      email: typeof source.email === "string" ? source.email : undefined,
      emailVerified: source.email_verified === true,
      expiresAt: claims.exp,
      idToken: tokens.id_token!,
    };
  }

  /**
   * Where sign-out sends the browser: the provider's end_session_endpoint when it advertises one
   * (RP-Initiated Logout), back to the gate's signed-out page; else straight to that page.
   */
  async signOutUrl(idTokenHint: string | undefined): Promise<URL> {
    const signedOut = new URL(SIGNED_OUT_PATH, this.config.publicUrl);
    let configuration: client.Configuration;
    try {
      configuration = await this.configuration();
    } catch {
      return signedOut;
    }
    if (!configuration.serverMetadata().end_session_endpoint) return signedOut;
    const parameters: Record<string, string> = { client_id: this.config.clientId, post_logout_redirect_uri: signedOut.href };
    if (idTokenHint) parameters.id_token_hint = idTokenHint;
    return client.buildEndSessionUrl(configuration, parameters);
  }
}
