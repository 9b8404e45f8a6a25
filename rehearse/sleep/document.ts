/**
 * An SSM Command document as SSM Run Command treats it before its agent runs anything: each
 * parameter checked against its allowed values and pattern (or given its default), then
 * substituted into the `aws:runShellScript` step's lines. The rehearsal's stand-in runs the
 * fleet's synthesized document this way; the document's unit test does too.
 */
import type { TerraformJson } from "../../src/terraform/plan-json";

interface DocumentParameter {
  readonly allowedValues?: readonly string[];
  readonly allowedPattern?: string;
  readonly default?: string;
}

export interface CommandDocument {
  readonly parameters: Readonly<Record<string, DocumentParameter>>;
  readonly mainSteps: readonly { readonly action: string; readonly inputs: { readonly runCommand: readonly string[] } }[];
}

/** The shell script SSM's agent would run for `values`, or why SSM refuses them. */
export function commandScript(
  document: CommandDocument,
  values: Record<string, string[] | undefined>,
): { script: string } | { refused: string } {
  const unknown = Object.keys(values).filter((name) => !(name in document.parameters));
  if (unknown.length > 0) return { refused: `${unknown.join(", ")} is no parameter of the document` };
  const resolved: Record<string, string> = {};
  for (const [name, parameter] of Object.entries(document.parameters)) {
    const value = values[name]?.[0] ?? parameter.default;
    if (value === undefined) return { refused: `${name} is required` };
    if (parameter.allowedValues && !parameter.allowedValues.includes(value)) return { refused: `${name} is not an allowed value` };
    if (parameter.allowedPattern && !new RegExp(parameter.allowedPattern).test(value))
      return { refused: `${name} does not match the pattern` };
    resolved[name] = value;
  }
  const steps = document.mainSteps.filter((step) => step.action === "aws:runShellScript");
  if (steps.length !== 1) return { refused: "the document has no single aws:runShellScript step" };
  const script = steps[0].inputs.runCommand
    .map((line) => line.replace(/\{\{ *(\w+) *\}\}/g, (_, name: string) => resolved[name] ?? ""))
    .join("\n");
  return { script };
}

/** The synthesized stack's SSM document named `name`: its content. */
export function documentOf(config: TerraformJson, name: string): CommandDocument {
  const found = Object.values(config.resource?.aws_ssm_document ?? {}).find((d) => (d as { name?: string }).name === name) as
    { content: string } | undefined;
  if (!found) throw new Error(`the synthesized stack has no SSM document ${name}`);
  return JSON.parse(found.content) as CommandDocument;
}
