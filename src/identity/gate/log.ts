/**
 * One JSON line on stdout per decision: what was decided, for whom, on which method and path. The
 * query string is never logged (the callback's carries the code and state), nor any header, cookie
 * or token; a path is cut at 200 characters.
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
  | "upstream-error";

export interface LogFields {
  readonly who?: string;
  readonly reason?: string;
}

export type DecisionLog = (decision: Decision, req: IncomingMessage, fields?: LogFields) => void;

function pathOf(req: IncomingMessage): string {
  const target = req.url ?? "";
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
