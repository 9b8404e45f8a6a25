/**
 * A check: a name that says what it proves, and a function that returns a one-line detail on
 * success and throws (with what it saw) on failure. Adding a check is adding one `check(...)` to
 * a list in this directory (checks/index.ts orders the lists).
 */
import type { Rehearsal } from "../rehearsal";

export interface Check {
  readonly name: string;
  /** The checks after it cannot run when it fails (the engine, the first apply...). */
  readonly essential: boolean;
  readonly run: (r: Rehearsal) => Promise<string>;
}

export function check(name: string, run: (r: Rehearsal) => string | Promise<string>, options: { essential?: boolean } = {}): Check {
  return { name, run: async (r) => run(r), essential: options.essential ?? false };
}

/** Fails the check with the message unless the condition holds. */
export function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** The last lines of a script's output, for a failure message. */
export function tail(text: string, lines = 12): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}

/**
 * How an apply.sh run split its time, from its log's timestamps (1 s resolution): bringing the
 * containers to their state (setup included) and then the extension installs, which fail here
 * without Open VSX and succeed once on EC2.
 */
export function applyPhases(output: string): { rollOutSeconds: number; extensionSeconds: number } | undefined {
  const at = (line: string | undefined) => (line ? Date.parse(line.slice(0, 20)) / 1000 : NaN);
  const lines = output.split("\n").filter((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ apply\.sh: /.test(l));
  const start = at(lines[0]);
  const rolledOut = at(lines.filter((l) => / is healthy$/.test(l)).pop());
  const end = at(lines[lines.length - 1]);
  if ([start, rolledOut, end].some(Number.isNaN)) return undefined;
  return { rollOutSeconds: rolledOut - start, extensionSeconds: end - rolledOut };
}
