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
