/**
 * One JSON line on stdout per decision: what was decided, for whom, on which method and path. The
 * query string is never logged (the callback's carries the code and state), nor any header, cookie
 * or token; a path is cut at 200 characters. JSON.stringify escapes control characters, so a
 * request cannot forge a line.
 */
import type { IncomingMessage } from "node:http";

export type Decision =
  | "allow"
  | "health"
  | "sign-in"
  | "unauthenticated"
  | "wrong-identity"
  | "unverified-email"
  | "signed-in"
  | "sign-in-refused"
  | "signed-out"
  | "not-found"
  | "upstream-error"
  | "error";

export interface LogFields {
  readonly who?: string;
  /** The subject identifier, when an unverified email refuses the person: what an operator binds them by instead. */
  readonly sub?: string;
  /** Whether a new session is the developer's (on `signed-in`). */
  readonly verdict?: string;
  readonly reason?: string;
}

export type DecisionLog = (decision: Decision, req: IncomingMessage, fields?: LogFields) => void;

/** The request target's path; of an absolute-form target (`http://host/path`), its path alone. */
function pathOf(req: IncomingMessage): string {
  const target = req.url ?? "";
  if (!target.startsWith("/") && URL.canParse(target)) return new URL(target).pathname.slice(0, 200);
  const query = target.indexOf("?");
  return (query < 0 ? target : target.slice(0, query)).slice(0, 200);
}

export function decisionLog(write: (line: string) => void = (line) => process.stdout.write(line)): DecisionLog {
  return (decision, req, fields = {}) => {
    const entry = { time: new Date().toISOString(), decision, ...fields, method: req.method, path: pathOf(req) };
    write(`${JSON.stringify(entry)}\n`);
  };
}

/** A line about the gate itself (start, discovery), same format. */
export function eventLog(
  event: string,
  fields: Record<string, unknown>,
  write: (line: string) => void = (line) => process.stdout.write(line),
): void {
  write(`${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`);
}
