/**
 * Readable, stable Terraform addresses. cdktf names an element after its construct path plus
 * an 8-character hash of it (`alb_tg-dev1_3F2A90C1`); a stack built on this class names it
 * after the path alone, joined with `_`: the construct `alb/tg-dev1` becomes
 * `aws_lb_target_group.alb_tg-dev1`, whatever else the stack holds.
 *
 * Construct ids may use letters, digits and `-` only. `_` then appears only between path
 * segments, so two different paths can never give one name: the mapping is unique by
 * construction. Synth still checks every address of the stack (logical-id overrides included)
 * and fails naming both construct paths if two ever meet.
 *
 * Addresses are a compatibility contract: renaming a construct renames its resource, which
 * Terraform would destroy and re-create. A rename ships with `moved` blocks.
 */
import {
  TerraformDataSource,
  TerraformElement,
  TerraformLocal,
  TerraformOutput,
  TerraformResource,
  TerraformStack,
  TerraformVariable,
} from "cdktf";
import type { Node } from "constructs";

/** What a construct id below the stack may contain. */
export const CONSTRUCT_ID = /^[A-Za-z0-9-]+$/;
/** Terraform's rule for a name: a letter or `_` first, then letters, digits, `_` and `-`. */
const TERRAFORM_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** The address of an element as Terraform spells it, or undefined for elements without one (backends, providers). */
export function terraformAddressOf(element: TerraformElement): string | undefined {
  const name = element.friendlyUniqueId;
  if (element instanceof TerraformDataSource) return `data.${element.terraformResourceType}.${name}`;
  if (element instanceof TerraformResource) return `${element.terraformResourceType}.${name}`;
  if (element instanceof TerraformVariable) return `var.${name}`;
  if (element instanceof TerraformOutput) return `output.${name}`;
  if (element instanceof TerraformLocal) return `local.${name}`;
  return undefined;
}

export abstract class ReadableAddressStack extends TerraformStack {
  constructor(...args: ConstructorParameters<typeof TerraformStack>) {
    super(...args);
    this.node.addValidation({ validate: () => this.addressProblems() });
  }

  /** Every address of the stack, sorted: resources, data sources, variables, outputs, locals. */
  terraformAddresses(): string[] {
    return this.elements()
      .map(([address]) => address)
      .sort();
  }

  protected override allocateLogicalId(element: TerraformElement | Node): string {
    const node = TerraformElement.isTerraformElement(element) ? element.node : element;
    const below = node.scopes.slice(node.scopes.indexOf(this) + 1);
    for (const scope of below) {
      if (!CONSTRUCT_ID.test(scope.node.id)) {
        throw new Error(
          `construct id ${JSON.stringify(scope.node.id)} at ${scope.node.path} cannot be part of a Terraform address: use letters, digits and '-' only ('_' joins the path)`,
        );
      }
    }
    const name = below.map((scope) => scope.node.id).join("_");
    if (!/^[A-Za-z]/.test(name)) {
      throw new Error(`${node.path} would be named ${JSON.stringify(name)}; a Terraform name starts with a letter`);
    }
    return name;
  }

  private elements(): [address: string, path: string][] {
    return this.node
      .findAll()
      .filter((c): c is TerraformElement => c instanceof TerraformElement)
      .flatMap((element) => {
        const address = terraformAddressOf(element);
        return address === undefined ? [] : [[address, element.node.path] as [string, string]];
      });
  }

  private addressProblems(): string[] {
    const problems: string[] = [];
    const seen = new Map<string, string>();
    for (const [address, path] of this.elements()) {
      const name = address.slice(address.lastIndexOf(".") + 1);
      if (!TERRAFORM_NAME.test(name)) problems.push(`${path} has the Terraform name ${JSON.stringify(name)}, which Terraform refuses`);
      const other = seen.get(address);
      if (other !== undefined) {
        problems.push(
          `${other} and ${path} both have the Terraform address ${address}: rename one construct id (or its logical-id override)`,
        );
      }
      seen.set(address, path);
    }
    return problems;
  }
}
