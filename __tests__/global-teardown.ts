/**
 * Fails the run when a test left a temp file or directory behind (every test cleans up after
 * itself), then removes the scratch directory either way.
 */
import { readdirSync, rmSync } from "node:fs";
import { SCRATCH_VARIABLE } from "./global-setup";

export default function globalTeardown(): void {
  const scratch = process.env[SCRATCH_VARIABLE];
  if (!scratch) return;
  const leftovers = readdirSync(scratch);
  rmSync(scratch, { recursive: true, force: true });
  if (leftovers.length > 0) {
    throw new Error(`tests left ${leftovers.length} temp entries behind (now removed): ${leftovers.sort().join(", ")}`);
  }
}
