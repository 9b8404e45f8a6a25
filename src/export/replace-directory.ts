/**
 * Writes a directory tree so that readers see either the old tree or the new one, never a
 * half-written mix: the new tree is built beside the target and swapped in by rename. A failure
 * while building leaves the old tree exactly as it was.
 */
import { existsSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export async function replaceDirectory(
  target: string,
  build: (staging: string) => void | Promise<void>,
  /** Called with the old and new trees before the swap, to carry over what must survive (e.g. `.terraform`). */
  carryOver?: (previous: string, next: string) => void,
): Promise<void> {
  const parent = dirname(target);
  const staging = mkdtempSync(join(parent, `.${basename(target)}.new-`));
  try {
    await build(staging);
    if (existsSync(target)) carryOver?.(target, staging);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  if (!existsSync(target)) {
    renameSync(staging, target);
    return;
  }
  const previous = `${staging.replace(/\.new-/, ".old-")}`;
  renameSync(target, previous);
  try {
    renameSync(staging, target);
  } catch (err) {
    renameSync(previous, target);
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  rmSync(previous, { recursive: true, force: true });
}

/**
 * A carry-over that keeps Terraform's working files (`.terraform/`, `.terraform.lock.hcl`) of
 * each directory matched by `dirs` (relative paths), so a new synth does not force a new init.
 */
export function keepTerraformWorkdirs(dirs: (root: string) => string[]) {
  return (previous: string, next: string) => {
    for (const dir of dirs(previous)) {
      for (const entry of [".terraform", ".terraform.lock.hcl"]) {
        const from = join(previous, dir, entry);
        const to = join(next, dir, entry);
        if (existsSync(from) && existsSync(dirname(to)) && !existsSync(to)) renameSync(from, to);
      }
    }
  };
}
