/**
 * A `moved` block to one instance of a resource with `for_each`, for a resource that gained
 * `for_each` under the same name: Terraform then keeps the deployed object instead of destroying
 * it and creating it again. cdktf's own `moveFromId` can only name the whole resource.
 */
import { TerraformElement, type TerraformResource } from "cdktf";
import type { Construct } from "constructs";
import { address } from "./expressions";

export class MovedToInstance extends TerraformElement {
  /**
   * @param from the address the object had, e.g. `aws_x.name` before `for_each`
   * @param to the resource that now has `for_each`
   * @param key the `for_each` key the object now has
   */
  constructor(
    scope: Construct,
    id: string,
    private readonly from: string,
    private readonly to: TerraformResource,
    private readonly key: string,
  ) {
    super(scope, id);
  }

  private block() {
    return { from: this.from, to: `${address(this.to)}[${JSON.stringify(this.key)}]` };
  }

  override toTerraform(): object {
    return { moved: [this.block()] };
  }

  override toHclTerraform(): object {
    return { moved: [this.block()] };
  }
}
