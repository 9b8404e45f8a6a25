/**
 * cdktf records a full stack trace for every token it creates, only to say where a token came
 * from if it later fails to resolve. With the source maps tsx enables, that bookkeeping is about
 * a third of a synth. The command-line app turns it off; set CDKTF_STACK_TRACES=1 to keep it
 * when debugging a token error.
 */
// The module object itself (not an import namespace, whose bindings are read-only).
// eslint-disable-next-line @typescript-eslint/no-require-imports -- an ES import would give a read-only copy
import stackTrace = require("cdktf/lib/tokens/private/stack-trace");
import { TerraformStack } from "cdktf";
import { resolvePlainValuesDirectly } from "./resolve-plain";

export function skipTokenStackTraces(env: NodeJS.ProcessEnv = process.env): void {
  if (env.CDKTF_STACK_TRACES === "1") return;
  process.setSourceMapsEnabled(false);
  // cdktf 0.21.0 (pinned) calls this through its module exports object, so replacing it there
  // reaches every caller.
  stackTrace.captureStackTrace = () => [];
}

/**
 * cdktf resolves every element of a stack twice per synth: once "preparing", only to discover
 * references to other stacks, then again to write it. An app of one stack has none, so the first
 * pass (a fifth of the app step) is skipped; the written configuration is byte-identical
 * (cli.test.ts compares it with CDKTF_STACK_TRACES=1, which keeps cdktf's own path).
 */
export function skipCrossStackPreparation(stack: TerraformStack, env: NodeJS.ProcessEnv = process.env): void {
  if (env.CDKTF_STACK_TRACES === "1") return;
  const stacks = stack.node.root.node.findAll().filter((c) => TerraformStack.isStack(c));
  if (stacks.length !== 1) return;
  stack.prepareStack = () => void stack.ensureBackendExists();
}

/**
 * What every command-line entry point that synthesizes runs first: the process-wide changes, no
 * token stack traces and plain values resolved directly (resolve-plain.ts). `CDKTF_STACK_TRACES=1`
 * leaves cdktf unmodified.
 */
export function speedUpSynthesis(env: NodeJS.ProcessEnv = process.env): void {
  skipTokenStackTraces(env);
  resolvePlainValuesDirectly(env);
}
