/**
 * For one describe block: a roster synthesized (and, unless told otherwise, exported) once into a
 * scratch directory, and the offline Terraform working directories of its JSON and of its HCL
 * export, each with terraform.tfvars.example as `test.tfvars`; all disposed of after the block.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { synthInto } from "../../src/app";
import { exportDeployment } from "../../src/export/deployment";
import type { Fleet } from "../../src/roster";
import { PROJECT_ROOT } from "./fleet";
import { offlineWorkdir, type Workdir } from "./terraform";

export interface OfflineSynthesis {
  /** The synthesized JSON's working directory (set once the block's beforeAll ran). */
  readonly json: Workdir;
  /** The HCL export's working directory (none with `{ hcl: false }`). */
  readonly hcl: Workdir;
}

export function offlineSynthesis(terraform: string, fleet: () => Fleet, { hcl = true } = {}): OfflineSynthesis {
  const out = mkdtempSync(join(tmpdir(), "synth-"));
  const tfvars = { "test.tfvars": readFileSync(join(PROJECT_ROOT, "terraform.tfvars.example"), "utf8") };
  const dirs: { json?: Workdir; hcl?: Workdir } = {};
  beforeAll(async () => {
    const { stack, stackDir } = synthInto(fleet(), join(out, "cdktf.out"));
    dirs.json = offlineWorkdir(terraform, stackDir, tfvars);
    if (!hcl) return;
    await exportDeployment(stack, join(out, "deployment"), { projectRoot: PROJECT_ROOT });
    dirs.hcl = offlineWorkdir(terraform, join(out, "deployment", "terraform"), tfvars);
  });
  afterAll(() => {
    dirs.json?.dispose();
    dirs.hcl?.dispose();
    rmSync(out, { recursive: true, force: true });
  });
  return {
    get json() {
      return dirs.json!;
    },
    get hcl() {
      return dirs.hcl!;
    },
  };
}
