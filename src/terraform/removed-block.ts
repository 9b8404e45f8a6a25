/**
 * Terraform's `removed` block with `destroy = false` (Terraform >= 1.7): the resource at `from`
 * leaves the configuration and the state, and stays in AWS. cdktf has no construct for it.
 */
import { TerraformElement } from "cdktf";
import type { Construct } from "constructs";

export class RemovedBlock extends TerraformElement {
  constructor(
    scope: Construct,
    id: string,
    /** The resource's address, `<type>.<name>`. */
    readonly from: string,
  ) {
    super(scope, id);
  }

  override toTerraform(): { removed: { from: string; lifecycle: { destroy: false } }[] } {
    return { removed: [{ from: this.from, lifecycle: { destroy: false } }] };
  }

  override toHclTerraform(): Record<string, unknown> {
    return this.toTerraform();
  }
}
