/**
 * The command-line handling every entry point shares (synth, review, cost, bench, rehearse):
 * node's parseArgs, strict, plus `--help`/`-h`; a parse error prints its message and the usage
 * and ends with exit 2, `--help` prints the usage and ends with exit 0.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Where a command prints its usage: stdout for --help, stderr with an error. */
export interface UsagePrinter {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const CONSOLE: UsagePrinter = { out: (text) => console.log(text), err: (text) => console.error(text) };

/**
 * The option values of `argv`, typed as the caller declares them (`T`), or the exit code when the
 * command has nothing more to do.
 */
export function parseCommandLine<T extends object>(
  argv: readonly string[],
  options: NonNullable<ParseArgsConfig["options"]>,
  usage: string,
  print: UsagePrinter = CONSOLE,
): { readonly values: T } | { readonly exit: number } {
  let values: T & { help?: boolean };
  try {
    values = parseArgs({ args: [...argv], options: { ...options, help: { type: "boolean", short: "h" } }, strict: true }).values as T & {
      help?: boolean;
    };
  } catch (err) {
    print.err(`${(err as Error).message}\n${usage}`);
    return { exit: 2 };
  }
  if (values.help) {
    print.out(usage);
    return { exit: 0 };
  }
  return { values };
}
