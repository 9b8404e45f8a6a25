/**
 * The base roster of a review: a file, or the roster file as a git revision has it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { relative, resolve } from "node:path";

export interface RosterSource {
  /** How messages name it: a path, or `<revision>:<path>`. */
  readonly label: string;
  readonly text: string;
}

/** A base that cannot be read: the message says what to pass instead. */
export class BaseError extends Error {}

function git(args: string[], cwd: string) {
  return spawnSync("git", args, { cwd, encoding: "utf8" });
}

/**
 * `base` as a roster: an existing file is read as it is; anything else is a git revision
 * (`HEAD`, `main`, `origin/main~2`, a commit) whose version of `rosterFile` is read.
 */
export function readBaseRoster(base: string, rosterFile: string, cwd = process.cwd()): RosterSource {
  const asFile = resolve(cwd, base);
  if (existsSync(asFile)) {
    if (!statSync(asFile).isFile()) throw new BaseError(`--base ${base}: is a directory; pass a roster file or a git revision`);
    return { label: base, text: readFileSync(asFile, "utf8") };
  }
  const top = git(["rev-parse", "--show-toplevel"], cwd);
  if (top.error || top.status !== 0) {
    throw new BaseError(`--base ${base}: there is no such file, and ${cwd} is not in a git repository to read a revision from`);
  }
  const commit = git(["rev-parse", "--verify", "--quiet", `${base}^{commit}`], cwd);
  if (commit.status !== 0) {
    throw new BaseError(
      `--base ${base}: there is no such file, and git knows no revision "${base}" (try HEAD, a branch, a tag or a commit)`,
    );
  }
  const root = top.stdout.trim();
  const path = relative(root, resolve(cwd, rosterFile)).split("\\").join("/");
  if (path.startsWith("..")) {
    throw new BaseError(`--base ${base}: the roster ${rosterFile} is outside the repository ${root}; pass the base roster as a file`);
  }
  const shown = git(["show", `${commit.stdout.trim()}:${path}`], root);
  if (shown.status !== 0) throw new BaseError(`--base ${base}: ${path} does not exist at ${base}; pass the base roster as a file`);
  return { label: `${base}:${path}`, text: shown.stdout };
}
