/**
 * The export formats its HCL itself (src/export/hcl-format.ts) instead of loading Terraform's
 * formatter on every synth; here Terraform's own formatter (hclwrite, through @cdktf/hcl-tools)
 * is the judge, on whole stacks with every kind of value the writer emits.
 */
import { format } from "@cdktf/hcl-tools";
import { parse } from "@cdktf/hcl2json";
import { App } from "cdktf";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stackProps } from "../src/app";
import { hclSources } from "../src/export/hcl";
import { formatHcl } from "../src/export/hcl-format";
import { DevEnvironmentStack, stackId } from "../src/stacks/dev-environment-stack";
import type { TerraformJson } from "../src/terraform/plan-json";
import { defaultFleet, editedFleet } from "./helpers/fleet";

const outdir = mkdtempSync(join(tmpdir(), "hcl-format-"));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const rosters = {
  "the default roster": defaultFleet(),
  "an S3 backend, extra extensions, a Graviton host and the WAF": editedFleet((r) => {
    r.state = { backend: "s3", bucket: "acme-tfstate" };
    r.host.instanceType = "m7g.4xlarge";
    r.developers[0].extensions = ["rust-lang.rust-analyzer@0.3.2593"];
    r.waf = { enabled: true };
  }),
};

describe.each(Object.entries(rosters))("the HCL export of %s", (name, fleet) => {
  const app = new App({ outdir: join(outdir, name.replace(/\W+/g, "-")) });
  const stack = new DevEnvironmentStack(app, stackId(fleet), stackProps(fleet));
  app.synth();
  // As synth exports it: the values from the synthesized configuration, the blocks from the typed form.
  const synthesized = JSON.parse(readFileSync(join(app.outdir, "stacks", stack.node.id, "cdk.tf.json"), "utf8")) as TerraformJson;
  const sources = hclSources(stack, { synthesized });

  it("says what the stack resolved again says: the same blocks, attributes and values (map keys may come in another order)", async () => {
    const resolved = hclSources(stack);
    for (const file of Object.keys(sources) as (keyof typeof sources)[]) {
      const [fast, slow] = await Promise.all([parse(file, sources[file]), parse(file, resolved[file])]);
      expect([file, fast]).toEqual([file, slow]);
    }
  });

  it.each(Object.keys(sources) as (keyof typeof sources)[])("formats %s exactly as terraform fmt does", async (file) => {
    const expected = await format(sources[file]);
    const actual = formatHcl(sources[file]);
    if (actual !== expected) {
      const [a, b] = [actual.split("\n"), expected.split("\n")];
      const line = a.findIndex((l, i) => l !== b[i]);
      expect({ line: line + 1, text: a[line] }).toEqual({ line: line + 1, text: b[line] });
    }
    expect(actual).toBe(expected);
  });
});

describe("formatHcl", () => {
  it("aligns the = of consecutive attributes and indents two spaces a level, leaving heredocs alone", async () => {
    const source =
      'resource "x" "y" {\na = 1\nlonger_name = "b"\ncontent = <<EOT\n  kept as is\nEOT\ntags = {\nName = "n"\n}\nblock {\nk = {a = 1, b = [ 2,3 ]}\n}\n}\n';
    expect(formatHcl(source)).toBe(await format(source));
    expect(formatHcl(source)).toBe(
      'resource "x" "y" {\n  a           = 1\n  longer_name = "b"\n  content     = <<EOT\n  kept as is\nEOT\n  tags = {\n    Name = "n"\n  }\n  block {\n    k = { a = 1, b = [2, 3] }\n  }\n}\n',
    );
  });
});
