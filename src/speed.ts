/**
 * cdktf records a full stack trace for every token it creates, only to say where a token came
 * from if it later fails to resolve. With the source maps tsx enables, that bookkeeping is about
 * a third of a synth. The command-line app turns it off; set CDKTF_STACK_TRACES=1 to keep it
 * when debugging a token error.
 */
// The module object itself (not an import namespace, whose bindings are read-only).
// eslint-disable-next-line @typescript-eslint/no-require-imports -- an ES import would give a read-only copy
import stackTrace = require("cdktf/lib/tokens/private/stack-trace");

export function skipTokenStackTraces(env: NodeJS.ProcessEnv = process.env): void {
  if (env.CDKTF_STACK_TRACES === "1") return;
  process.setSourceMapsEnabled(false);
  // cdktf 0.21.0 (pinned) calls this through its module exports object, so replacing it there
  // reaches every caller.
  stackTrace.captureStackTrace = () => [];
}
