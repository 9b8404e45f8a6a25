/**
 * The gate's two pure judgements: whether a signed-in identity is the developer's, and where a
 * sign-in may return to. No I/O, so they are tested on their own.
 */
import type { Binding } from "./config";

/** What the gate keeps of the provider's ID token. */
export interface Identity {
  readonly sub: string;
  readonly email?: string;
  /** The provider's `email_verified`; only the JSON value `true` counts. */
  readonly emailVerified: boolean;
}

export type Verdict = "allow" | "wrong-identity" | "unverified-email";

/**
 * The developer's binding decides: `sub` when it is given (a provider never reassigns it), else
 * the email, which counts only when the provider says it verified it (anyone can type an
 * unverified address into a self-service profile).
 */
export function decide(identity: Identity, binding: Binding): Verdict {
  if (binding.sub !== undefined) return identity.sub === binding.sub ? "allow" : "wrong-identity";
  if (identity.email === undefined || identity.email.toLowerCase() !== binding.email) return "wrong-identity";
  return identity.emailVerified ? "allow" : "unverified-email";
}

/** How a person is named to themselves and in the logs: their email, else their subject. */
export function nameOf(identity: Identity): string {
  return identity.email ?? `sub ${identity.sub}`;
}

/**
 * Where a sign-in started at `target` (the request target as received) may come back to: a path
 * on the developer's own origin, else `/`. A target that resolves elsewhere (`//evil.example/`,
 * `/\evil.example/`, an absolute URL, `/.//evil.example/`) or into the gate's own paths returns to `/`.
 */
export function returnPath(target: string, publicUrl: URL, gatePrefix: string): string {
  if (!URL.canParse(target, publicUrl)) return "/";
  const url = new URL(target, publicUrl);
  if (url.origin !== publicUrl.origin) return "/";
  // A Location of `//host/...` would be read as another host.
  if (url.pathname.startsWith("//") || url.pathname.startsWith(gatePrefix)) return "/";
  return `${url.pathname}${url.search}`;
}
