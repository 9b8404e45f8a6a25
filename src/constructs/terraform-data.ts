/**
 * Terraform's built-in `terraform_data` resource: a value kept in state. cdktf has one
 * (`DataResource`), but it checks the Terraform version by running `terraform version` in every
 * synth, which makes synth slower and fail on a machine without Terraform; this one only renders.
 */
import { TerraformResource, type TerraformResourceLifecycle } from "cdktf";
import { anyToHclTerraform, anyToTerraform, hashMapper, hashMapperHcl } from "cdktf/lib/runtime";
import type { Construct } from "constructs";

export interface TerraformDataProps {
  /** The value stored in state (and copied to `output` on apply): a map of plain values. */
  readonly input: Readonly<Record<string, string | number | boolean>>;
  /** Lifecycle meta-arguments, e.g. `ignoreChanges: ["input"]` to keep the first value. */
  readonly lifecycle?: TerraformResourceLifecycle;
}

export class TerraformData extends TerraformResource {
  static readonly tfResourceType = "terraform_data";
  private readonly inputValue: TerraformDataProps["input"];

  constructor(scope: Construct, id: string, props: TerraformDataProps) {
    super(scope, id, {
      terraformResourceType: TerraformData.tfResourceType,
      terraformGeneratorMetadata: { providerName: "terraform" },
      lifecycle: props.lifecycle,
    });
    this.inputValue = props.input;
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    return { input: hashMapper(anyToTerraform)(this.inputValue) };
  }

  protected override synthesizeHclAttributes(): Record<string, unknown> {
    return { input: hashMapperHcl(anyToHclTerraform)(this.inputValue) };
  }
}
