/**
 * Small helpers for the few Terraform expressions cdktf's typed API cannot spell: conditions on
 * an empty-string variable (cdktf renders a bare "" operand as `undefined`) and attributes of
 * resources created with `count`.
 */
import type { IConstruct } from "constructs";
import { Fn, Op, TerraformDataSource, TerraformResource, TerraformStack, Token, conditional, rawString, ref } from "cdktf";

/** `<value> == ""`. */
export function isEmptyString(value: unknown) {
  return Op.eq(value, rawString(""));
}

/** `cond ? 1 : 0`, for a resource that exists only when `cond` holds. */
export function countWhen(cond: unknown): number {
  return Token.asNumber(conditional(cond, 1, 0));
}

/** The Terraform address of a resource or data source, e.g. `data.aws_ssm_parameter.ubuntu`. */
export function address(element: TerraformResource | TerraformDataSource): string {
  const prefix = element instanceof TerraformDataSource ? "data." : "";
  return `${prefix}${element.terraformResourceType}.${element.friendlyUniqueId}`;
}

/** `one(<counted element>[*].<attribute>)`: the attribute when the element exists, else null. */
export function oneOf(element: TerraformResource | TerraformDataSource, attribute: string): string {
  return Token.asString(Fn.one(ref(`${address(element)}[*].${attribute}`, TerraformStack.of(element))));
}

/**
 * `<counted element>[0].<attribute>`, for use only inside a resource with the same count (its
 * body is not evaluated when the count is 0).
 */
export function first(element: TerraformResource | TerraformDataSource, attribute: string): string {
  return Token.asString(ref(`${address(element)}[0].${attribute}`, TerraformStack.of(element)));
}

/** `cond ? whenTrue : whenFalse` as a string. */
export function choose(cond: unknown, whenTrue: unknown, whenFalse: unknown): string {
  return Token.asString(conditional(cond, whenTrue, whenFalse));
}

/** A raw Terraform expression (for `for` expressions and the like), resolved in `scope`'s stack. */
export function expression(scope: IConstruct, hcl: string) {
  return ref(hcl, TerraformStack.of(scope));
}

/**
 * Terraform reads `${` and `%{` in any string as template syntax; host files and user_data are
 * shell and YAML that use both literally. `$${` and `%%{` are Terraform's escapes for them.
 */
export function escapeTemplate(text: string): string {
  // Replacement functions, because `$$` in a replacement string means a single `$`.
  return text.replace(/\$\{/g, () => "$${").replace(/%\{/g, () => "%%{");
}

/** A string token as cdktf writes it into text, and what Terraform would read in the rest as its own. */
const STRING_TOKEN = /\$\{TfToken\[[a-zA-Z0-9:._-]+\]\}/g;
const TEMPLATE_SEQUENCE = /[$%]\{/;

/**
 * `document` as JSON text whose strings may hold references, which Terraform interpolates: for
 * the documents the AWS provider compares as JSON (policies, dashboards, container definitions)
 * and that every developer adds to. cdktf resolves such a string in time linear in its length;
 * a `jsonencode()` of the object takes its size times its depth, twice over (a second and a half
 * of a 250-developer synth). A `${` or `%{` of the document's own would be read by Terraform as
 * an interpolation or a directive, so it is refused: use `Fn.jsonencode` for such a document.
 */
export function jsonWithReferences(what: string, document: unknown): string {
  const text = JSON.stringify(document);
  const own = TEMPLATE_SEQUENCE.exec(text.replace(STRING_TOKEN, ""));
  if (own)
    throw new Error(`${what} holds "${own[0]}" of its own, which Terraform would read as a template sequence: write it with Fn.jsonencode`);
  return text;
}
