/**
 * What a sign-in's callback keeps and says, wherever it is answered (the gate, or the wake
 * function while the gate sleeps): the `state`s already spent, and an error in safe words.
 */
import { LOGIN_SECONDS } from "./cookies";

/**
 * An error of openid-client said in its own words and its cause's (library constants such as
 * `unexpected JWT "aud" (audience) claim value`), with the provider's error code; never the
 * cause's details, which hold claims and response bodies.
 */
export function errorReason(err: unknown): string {
  const { message, cause, error } = err as { message?: string; cause?: unknown; error?: unknown };
  const detail = cause instanceof Error && cause.message !== message ? `: ${cause.message}` : "";
  const code = typeof error === "string" ? ` (${error})` : "";
  return `${message ?? "unknown error"}${detail}${code}`.slice(0, 300);
}

/** States of sign-ins already completed, until their login cookie could no longer be presented. */
export class SpentStates {
  private readonly spent = new Map<string, number>();

  /** False if `state` was spent already; records it otherwise. */
  spend(state: string, now: number): boolean {
    if (this.spent.has(state)) return false;
    for (const [old, until] of this.spent) {
      if (until > now && this.spent.size < 10000) break;
      this.spent.delete(old);
    }
    this.spent.set(state, now + LOGIN_SECONDS);
    return true;
  }
}
