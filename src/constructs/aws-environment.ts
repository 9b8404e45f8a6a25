/**
 * The stack's partition, region and account, and the one way this project builds ARNs (what
 * aws-cdk-lib offers as `Stack.of(this).account` and `formatArn`). Layers find it with
 * `AwsEnvironment.of(this)`.
 *
 * The account id is read from the ARN of a resource the stack creates (the fleet key), never
 * looked up: a `data "aws_caller_identity"` would need AWS credentials at plan time, and the plan
 * must be computable offline. It is known after the key exists, which is
 * all a policy needs.
 */
import { Fn, TerraformStack } from "cdktf";
import { Construct, type IConstruct } from "constructs";
import { checkPattern } from "./validation";

/** AWS partition of a region: the first element of every ARN. */
export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}

export interface ArnParts {
  readonly partition: string;
  /** e.g. `secretsmanager`. */
  readonly service: string;
  /** Empty for global services (IAM) and for resources without a region. */
  readonly region: string;
  /** Empty where the ARN has none (S3 objects, public snapshots); `aws` for AWS-managed policies. */
  readonly account: string;
  /** Everything after the fifth colon, e.g. `secret:code-server/dev/*` or `role/name`. */
  readonly resource: string;
}

/** `arn:<partition>:<service>:<region>:<account>:<resource>`. */
export function formatArn(parts: ArnParts): string {
  return `arn:${parts.partition}:${parts.service}:${parts.region}:${parts.account}:${parts.resource}`;
}

export interface AwsEnvironmentProps {
  /** The region every regional resource of the stack lives in. */
  readonly region: string;
  /**
   * An ARN of a resource the stack creates in the account (a token such as the fleet key's ARN);
   * the account id is its fifth field. Exactly one of `accountOf` and `account` is given.
   * @default - `account`
   */
  readonly accountOf?: string;
  /**
   * The 12-digit account id, when it is known at synth time (tests).
   * @default - read from `accountOf`
   */
  readonly account?: string;
}

export class AwsEnvironment extends Construct {
  /** The id it has in its stack, where `of` finds it. */
  static readonly ID = "aws-environment";

  /** The AwsEnvironment of `scope`'s stack. */
  static of(scope: IConstruct): AwsEnvironment {
    const stack = TerraformStack.of(scope);
    const found = stack.node.tryFindChild(AwsEnvironment.ID);
    if (!(found instanceof AwsEnvironment)) {
      throw new Error(
        `${scope.node.path} needs the stack's account and region, but stack ${stack.node.path} has no AwsEnvironment: create one (new AwsEnvironment(stack, {...})) before its layers`,
      );
    }
    return found;
  }

  readonly partition: string;
  readonly region: string;
  /** The account id: a literal, or a Terraform expression that reads it from an ARN. */
  readonly account: string;

  constructor(stack: TerraformStack, props: AwsEnvironmentProps) {
    super(stack, AwsEnvironment.ID);
    checkPattern(this, "region", props.region, /^[a-z]{2}(-gov)?-[a-z]+-\d$/, "an AWS region code such as ap-southeast-7");
    if ((props.account === undefined) === (props.accountOf === undefined)) {
      throw new Error(`AwsEnvironment ${this.node.path}: give exactly one of account and accountOf`);
    }
    if (props.account !== undefined) checkPattern(this, "account", props.account, /^\d{12}$/, "a 12-digit AWS account id");
    this.region = props.region;
    this.partition = partitionOf(props.region);
    this.account = props.account ?? Fn.element(Fn.split(":", props.accountOf ?? ""), 4);
  }

  /** An ARN in this partition; region and account default to the stack's. */
  arn(parts: Pick<ArnParts, "service" | "resource"> & Partial<Pick<ArnParts, "region" | "account">>): string {
    return formatArn({ partition: this.partition, region: this.region, account: this.account, ...parts });
  }

  /** `arn:<partition>:iam::<account>:root`: the account as a principal (IAM policies then decide). */
  accountRootArn(account: string = this.account): string {
    return this.arn({ service: "iam", region: "", account, resource: "root" });
  }

  /**
   * The endpoint name a service uses in this region, as the `kms:ViaService` condition key spells it
   * (`secretsmanager.ap-southeast-7.amazonaws.com`; `.amazonaws.com.cn` in China).
   */
  serviceEndpoint(service: string): string {
    return `${service}.${this.region}.${this.partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com"}`;
  }

  /** An AWS-managed IAM policy, e.g. `service-role/AWSBackupServiceRolePolicyForBackup`. */
  managedPolicyArn(name: string): string {
    return this.arn({ service: "iam", region: "", account: "aws", resource: `policy/${name}` });
  }
}

/** Session Manager's channels, which the SSM agent opens for a session (a host's, or ECS Exec's in a task); they have no resource type. */
export const SESSION_CHANNEL_ACTIONS = [
  "ssmmessages:CreateControlChannel",
  "ssmmessages:CreateDataChannel",
  "ssmmessages:OpenControlChannel",
  "ssmmessages:OpenDataChannel",
];
