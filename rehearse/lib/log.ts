/** Progress on stdout, and everything (commands, their output) in `.rehearsal/rehearsal.log`. */
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { layout } from "./layout";

const started = Date.now();

export function elapsedSeconds(): number {
  return (Date.now() - started) / 1000;
}

function stamp(): string {
  return `${elapsedSeconds().toFixed(1).padStart(6)}s`;
}

/** Appends to the log file only. */
export function record(text: string): void {
  mkdirSync(dirname(layout.log), { recursive: true });
  appendFileSync(layout.log, text.endsWith("\n") ? text : `${text}\n`);
}

/** A progress line on stdout and in the log. */
export function say(message: string): void {
  const line = `[${stamp()}] ${message}`;
  console.log(line);
  record(line);
}
