/**
 * Writes a generated directory tree so that readers see either the old tree or the new one, never
 * a half-written mix: the new tree is built beside the target and swapped in by rename. A failure
 * while building leaves the old tree exactly as it was.
 *
 * Synth replaces only what it generates. Each tree records the files it generated in
 * `GENERATED_LIST`; everything else found in the old tree is the operator's (a terraform.tfvars,
 * `*_override.tf`, `.terraform/`, the lock file, state, a saved plan) and is moved into the new
 * tree before the swap. A tree written before the list existed keeps only what matches
 * `OPERATOR_FILES`.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Name of the list of generated files kept at the root of each generated tree. */
export const GENERATED_LIST = ".generated-files";

/** What an operator puts next to a Terraform configuration, for trees without a generated-files list. */
export const OPERATOR_FILES: readonly RegExp[] = [
  /^\.terraform$/,
  /^\.terraform\.lock\.hcl$/,
  /^terraform\.tfvars(\.json)?$/,
  /\.auto\.tfvars(\.json)?$/,
  /^(.+_)?override\.tf(\.json)?$/,
  /\.tfstate(\.backup)?$/,
  /^terraform\.tfstate\.d$/,
  /\.tfplan$/,
];

export interface ReplaceResult {
  /** Operator files carried over from the old tree, relative to it. */
  readonly kept: readonly string[];
  /**
   * Operator files at a path the new tree now generates: the generated file wins and the
   * operator's is kept beside it as `<path>.local`.
   */
  readonly displaced: readonly string[];
}

const GENERATED_HEADER = [
  "# Files this directory's generator wrote; the next synth replaces or removes exactly these.",
  "# Anything else here is yours and survives a synth.",
];

/** Every file (not directory) under `root`, as posix paths relative to it. */
function listFiles(root: string, prefix = ""): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(root, prefix), { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...listFiles(root, path));
    else files.push(path);
  }
  return files;
}

function readGeneratedList(root: string): Set<string> | undefined {
  const file = join(root, GENERATED_LIST);
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, "utf8").split("\n");
  return new Set(lines.filter((line) => line && !line.startsWith("#")));
}

interface CarriedOver extends ReplaceResult {
  /** Moves back what was carried over, for when the swap fails. */
  undo(): void;
}

/** Moves the operator's entries of `previous` into `next`; see the module comment. */
function carryOver(previous: string, next: string): CarriedOver {
  const generated = readGeneratedList(previous);
  const generatedDirs = new Set(
    [...(generated ?? [])].flatMap((file) =>
      file
        .split("/")
        .slice(0, -1)
        .map((_, i, parts) => parts.slice(0, i + 1).join("/")),
    ),
  );
  const isOperatorEntry = (path: string) =>
    generated ? !generated.has(path) && !generatedDirs.has(path) : OPERATOR_FILES.some((pattern) => pattern.test(basename(path)));
  const kept: string[] = [];
  const displaced: string[] = [];
  const moves: [from: string, to: string][] = [];
  const undo = () => {
    for (const [from, to] of moves.reverse()) renameSync(to, from);
  };

  const visit = (prefix: string) => {
    for (const entry of readdirSync(join(previous, prefix), { withFileTypes: true })) {
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (path === GENERATED_LIST) continue;
      if (!isOperatorEntry(path)) {
        if (entry.isDirectory()) visit(path);
        continue;
      }
      let to = join(next, path);
      if (existsSync(to)) {
        if (entry.isDirectory() && lstatSync(to).isDirectory()) {
          visit(path);
          continue;
        }
        to = `${to}.local`;
        displaced.push(path);
      }
      mkdirSync(dirname(to), { recursive: true });
      renameSync(join(previous, path), to);
      moves.push([join(previous, path), to]);
      kept.push(path);
    }
  };
  try {
    visit("");
  } catch (err) {
    undo();
    throw err;
  }
  return { kept, displaced, undo };
}

export async function replaceDirectory(target: string, build: (staging: string) => void | Promise<void>): Promise<ReplaceResult> {
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true });
  const staging = mkdtempSync(join(parent, `.${basename(target)}.new-`));
  try {
    await build(staging);
    const files = listFiles(staging).sort();
    writeFileSync(join(staging, GENERATED_LIST), [...GENERATED_HEADER, ...files, ""].join("\n"));
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  if (!existsSync(target)) {
    renameSync(staging, target);
    return { kept: [], displaced: [] };
  }
  let carried: CarriedOver;
  try {
    carried = carryOver(target, staging);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  const previous = `${staging.replace(/\.new-/, ".old-")}`;
  try {
    renameSync(target, previous);
  } catch (err) {
    carried.undo();
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  try {
    renameSync(staging, target);
  } catch (err) {
    renameSync(previous, target);
    carried.undo();
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  rmSync(previous, { recursive: true, force: true });
  return { kept: carried.kept, displaced: carried.displaced };
}
