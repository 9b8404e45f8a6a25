/**
 * A change of how developers sign in (code-server's password, or a provider and client): Terraform
 * shows it as new task definitions or new host files, the reviewer needs it said plainly, with what it costs the
 * developers and what an operator must do before anyone can sign in again.
 */
import { SET_OIDC_CLIENT_SECRET_SCRIPT } from "../naming";
import type { Auth, Fleet } from "../roster";

export interface SignInChange {
  readonly from: Auth;
  readonly to: Auth;
  /** The platform that serves after the change. */
  readonly platform: Fleet["platform"];
}

/** The change from `base`'s sign-in to `current`'s, or undefined when developers sign in as before. */
export function signInChangeOf(base: Fleet, current: Fleet): SignInChange | undefined {
  const same =
    base.auth.type === current.auth.type &&
    (base.auth.type === "password" ||
      (current.auth.type === "oidc" && base.auth.issuer === current.auth.issuer && base.auth.clientId === current.auth.clientId));
  return same ? undefined : { from: base.auth, to: current.auth, platform: current.platform };
}

const described = (auth: Auth) =>
  auth.type === "password" ? "code-server's password" : `OpenID Connect at ${auth.issuer} (client ${auth.clientId})`;

/** The review's sentence on the change. */
export function signInChangeNotice({ from, to, platform }: SignInChange): string {
  const secret =
    to.type === "oidc"
      ? ` Nobody can sign in until an operator stores the client secret of ${to.clientId}: scripts/${SET_OIDC_CLIENT_SECRET_SCRIPT}.`
      : " Each developer needs their password again (scripts/show-password.sh).";
  return `! Sign-in change: developers sign in with ${described(from)} today and with ${described(to)} after the apply. Every developer's environment restarts (${platform === "host" ? "their containers on the host" : "their ECS task"}; homes are untouched) and everyone signs in again.${secret}`;
}
