/**
 * How developers sign in, across fields: with OpenID Connect every developer is bound to one
 * identity at the provider (their `sub`, or their verified `email`), and no two developers to the
 * same one, so that each URL admits exactly one person and nobody signs in at two URLs by mistake.
 * The gate runs beside each code-server on the platform that serves; a host kept beside ECS during a
 * migration keeps code-server's password.
 */
import type { Auth, Identity, Problem } from "./model";
import { INVALID } from "./parts";
import type { DeveloperParts, RawRoster, RosterParts } from "./schema";

/** The roster's `auth` as the Fleet holds it. */
export function authOf(raw: RawRoster["auth"]): Auth {
  if (raw.type === "password") return { type: "password" };
  return {
    type: "oidc",
    issuer: raw.issuer,
    clientId: raw.clientId,
    ...(raw.maxSessionHours !== undefined ? { maxSessionSeconds: Math.round(raw.maxSessionHours * 3600) } : {}),
  };
}

/** Whom the gate admits for a developer: the subject identifier wins, since it never changes. */
export function identityOf(d: { email?: string; sub?: string }): Identity | undefined {
  if (d.sub !== undefined) return { sub: d.sub };
  if (d.email !== undefined) return { email: d.email.toLowerCase() };
  return undefined;
}

const who = (d: DeveloperParts, i: number) => (d.name === INVALID ? `developers[${i}]` : `developer "${d.name}"`);

/** Every developer has an identity when the roster signs in with OpenID Connect, each their own. */
export function authProblems(parts: RosterParts): Problem[] {
  const auth = parts.top.auth;
  if (auth === INVALID || auth.type !== "oidc") return [];
  const problems: Problem[] = [];
  const seen = new Map<string, number>();
  parts.developers.forEach((d, i) => {
    if (d.email === INVALID || d.sub === INVALID) return;
    const identity = identityOf({ email: d.email, sub: d.sub });
    if (!identity) {
      problems.push({
        path: ["developers", i],
        message: `${who(d, i)} has no email or sub: with auth.type oidc each developer signs in as one person at ${auth.issuer}; add email: <their address at the provider> (or sub: <their subject identifier>)`,
      });
      return;
    }
    const key = "sub" in identity ? `sub ${identity.sub}` : `email ${identity.email}`;
    const earlier = seen.get(key);
    if (earlier === undefined) seen.set(key, i);
    else {
      problems.push({
        path: ["developers", i, "sub" in identity ? "sub" : "email"],
        message: `${who(d, i)} has the same ${key} as ${who(parts.developers[earlier], earlier)}: one person, one environment; correct one of the two`,
      });
    }
  });
  return problems;
}
