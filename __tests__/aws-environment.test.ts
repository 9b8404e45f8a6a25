/**
 * AwsEnvironment: the stack's one account id (read from an ARN the stack creates, so planning
 * needs no AWS call) and the one way ARNs are built, in the partition of the stack's region.
 */
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { TerraformOutput, TerraformStack, Testing } from "cdktf";
import { AwsEnvironment, type AwsEnvironmentProps, formatArn, partitionOf } from "../src/constructs/aws-environment";
import { synthLayer } from "./helpers/layer";

const environment = (props: AwsEnvironmentProps) => {
  let found!: AwsEnvironment;
  Testing.synthScope((scope) => {
    new AwsEnvironment(TerraformStack.of(scope), props);
    found = AwsEnvironment.of(scope);
  });
  return found;
};

describe("ARNs", () => {
  const aws = environment({ region: "ap-southeast-7", account: "123456789012" });

  it("default to the stack's partition, region and account", () => {
    expect(aws.arn({ service: "logs", resource: "log-group:/aws/ec2/code-server/*" })).toBe(
      "arn:aws:logs:ap-southeast-7:123456789012:log-group:/aws/ec2/code-server/*",
    );
  });

  it("leave out region or account where the ARN has none", () => {
    expect(aws.arn({ service: "ec2", account: "", resource: "snapshot/*" })).toBe("arn:aws:ec2:ap-southeast-7::snapshot/*");
    expect(aws.accountRootArn()).toBe("arn:aws:iam::123456789012:root");
    expect(aws.accountRootArn("114774131450")).toBe("arn:aws:iam::114774131450:root");
    expect(aws.managedPolicyArn("AmazonSSMManagedInstanceCore")).toBe("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore");
  });

  it("use the partition of the region", () => {
    expect(environment({ region: "cn-north-1", account: "123456789012" }).managedPolicyArn("p")).toBe("arn:aws-cn:iam::aws:policy/p");
    expect(partitionOf("us-gov-west-1")).toBe("aws-us-gov");
    expect(formatArn({ partition: "aws", service: "s3", region: "", account: "", resource: "bucket" })).toBe("arn:aws:s3:::bucket");
  });
});

describe("account", () => {
  it("is read from an ARN the stack creates, as a Terraform expression: no data source, no AWS call", () => {
    const { config } = synthLayer((scope) => {
      const key = new KmsKey(scope, "key", {});
      const aws = new AwsEnvironment(TerraformStack.of(scope), { region: "ap-southeast-7", accountOf: key.arn });
      new TerraformOutput(scope, "account", { value: aws.account });
    });
    const [keyName] = Object.keys(config.resource.aws_kms_key);
    expect(Object.values<{ value: string }>(config.output)[0].value).toBe(`\${element(split(":", aws_kms_key.${keyName}.arn), 4)}`);
    expect(config.data).toBeUndefined();
  });
});

describe("props validation", () => {
  test.each<[AwsEnvironmentProps, RegExp]>([
    [
      { region: "Asia Pacific", account: "123456789012" },
      /^AwsEnvironment stack\/aws-environment: region "Asia Pacific" is not an AWS region code such as ap-southeast-7$/,
    ],
    [
      { region: "ap-southeast-7", account: "1234" },
      /^AwsEnvironment stack\/aws-environment: account "1234" is not a 12-digit AWS account id$/,
    ],
    [{ region: "ap-southeast-7" }, /^AwsEnvironment stack\/aws-environment: give exactly one of account and accountOf$/],
  ])("refuses %j", (props, message) => {
    expect(() => environment(props)).toThrow(message);
  });
});
