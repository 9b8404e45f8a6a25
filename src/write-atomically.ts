/**
 * Files written whole or not at all: caches in `.build/` that other processes (jest workers, a
 * second synth) may read while one is written, and files an operator's command replaces.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Writes `content` to `file` through a staging file renamed over it: a reader sees the old file
 * or the new one, never part of one, and a failed write leaves no staging file behind.
 */
export function writeFileAtomically(file: string, content: string | Uint8Array): void {
  const staging = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(staging, content);
    renameSync(staging, file);
  } finally {
    rmSync(staging, { force: true });
  }
}

/**
 * Keeps `content` as `dir/name` for later runs, and removes the other files of `dir` that
 * `sameKind` matches: earlier builds of the same thing, whose inputs can never match again.
 */
export function keepReplacingEarlier(dir: string, name: string, content: string | Uint8Array, sameKind: RegExp): void {
  mkdirSync(dir, { recursive: true });
  writeFileAtomically(join(dir, name), content);
  for (const old of readdirSync(dir)) if (sameKind.test(old) && old !== name) rmSync(join(dir, old), { force: true });
}
