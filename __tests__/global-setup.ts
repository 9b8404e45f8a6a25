/**
 * Every temp file or directory a test run makes goes into one scratch directory (TMPDIR), which
 * global-teardown.ts checks for leftovers and removes: a run leaves nothing behind in /tmp.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const SCRATCH_VARIABLE = "FLEET_TEST_SCRATCH";

export default function globalSetup(): void {
  const scratch = mkdtempSync(join(tmpdir(), "fleet-tests-"));
  process.env[SCRATCH_VARIABLE] = scratch;
  process.env.TMPDIR = scratch;
}
