/**
 * Gives each password secret a first value at apply time, with no value ever in Terraform's
 * configuration, plan or state, and no AWS call at plan time: a Lambda function
 * (src/lambdas/secret-initializer) that fills every listed secret that has no value with a random
 * password and leaves the others alone, run by `aws_lambda_invocation` once the secrets exist, and
 * again whenever the list of secrets or the function's code changes.
 *
 * Whatever reads the passwords (a container that gets its password injected) must depend on
 * `invocation`, so that it starts only once every password has a value.
 */
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { LambdaInvocation } from "@cdktf/provider-aws/lib/lambda-invocation";
import type { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import type { ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { type FleetNames, secretPrefix } from "../naming";
import { AwsEnvironment } from "./aws-environment";
import { jsonWithReferences } from "./expressions";
import { NodeLambda, type PolicyStatement } from "./node-lambda";
import { checkMinCount } from "./validation";

/** The function's name (also its role's); its log group is `lambdaLogGroupName` of it. */
export function secretInitializerName(fleet: Pick<FleetNames, "namePrefix">): string {
  return `${fleet.namePrefix}-secret-initializer`;
}

export interface SecretInitializerProps {
  /** The roster's names: the function is named after its prefix; every secret it fills lies under its secret prefix. */
  readonly fleet: FleetNames;
  /** The password secrets that must have a value before anything reads them: a random password each. */
  readonly secrets: readonly SecretsmanagerSecret[];
  /**
   * Secrets only an operator can fill (the API keys) that must still have a value before a task
   * reads them: the placeholder `not-set` until then.
   * @default - none
   */
  readonly placeholders?: readonly SecretsmanagerSecret[];
  /**
   * Secrets that must hold a random key (the sign-in gate's cookie keys): 32 random bytes as base64 when empty.
   * @default - none
   */
  readonly keys?: readonly SecretsmanagerSecret[];
  /** The key the secrets are encrypted with; it encrypts the function's log group too. */
  readonly key: KmsKey;
  /** Days the function's logs are kept (one of CloudWatch Logs' retention values, or a variable). */
  readonly logRetentionDays: number;
  /**
   * What the function's log group must wait for: the key policy that lets CloudWatch Logs use the key for it.
   * @default - nothing
   */
  readonly logGroupDependsOn?: readonly ITerraformDependable[];
}

export class SecretInitializer extends Construct {
  readonly lambda: NodeLambda;
  /** Done once every listed secret has a value: what reads the secrets depends on it. */
  readonly invocation: LambdaInvocation;

  constructor(scope: Construct, id: string, props: SecretInitializerProps) {
    super(scope, id);
    checkMinCount(this, "secrets", props.secrets, 1, "an initializer of no secrets would do nothing");
    // In construct-path order: the function's input, and so its re-runs, do not follow the roster's order.
    const arnsOf = (secrets: readonly SecretsmanagerSecret[]) =>
      [...secrets].sort((a, b) => (a.node.path < b.node.path ? -1 : 1)).map((secret) => secret.arn);
    const secretArns = arnsOf(props.secrets);
    const placeholderArns = arnsOf(props.placeholders ?? []);
    const keyArns = arnsOf(props.keys ?? []);

    this.lambda = new NodeLambda(this, "lambda", {
      handler: "secret-initializer",
      functionName: secretInitializerName(props.fleet),
      description: "Gives each code-server password secret without a value a random one; leaves the others alone",
      statements: this.statements(props.fleet, props.key),
      key: props.key,
      logRetentionDays: props.logRetentionDays,
      logGroupDependsOn: props.logGroupDependsOn,
    });
    this.invocation = new LambdaInvocation(this, "run", {
      functionName: this.lambda.function.functionName,
      // Lists that are empty are left out, so the input (and the run) of a fleet without them is what it was.
      // Text with the keys in the order jsonencode() sorts them in: the same input, byte for byte,
      // as when it was written with jsonencode, so the change of spelling runs nothing again.
      input: jsonWithReferences("the secret initializer's input", {
        ...(keyArns.length > 0 ? { keyArns } : {}),
        ...(placeholderArns.length > 0 ? { placeholderArns } : {}),
        secretArns,
      }),
      // A change of input (the list of secrets) replaces the invocation, so runs it again; so does new code.
      triggers: { code: this.lambda.codeSha256 },
    });
  }

  /**
   * Exactly what the handler calls, on the fleet's secrets (whose names all start with its secret
   * prefix), and the key only as Secrets Manager uses it for them. One pattern, not a list of every
   * secret: a role's inline policies may hold 10,240 characters, which a list of three secrets a
   * developer outgrows at about 24 developers. The handler fills only the secrets its input names.
   */
  private statements(fleet: FleetNames, key: KmsKey): PolicyStatement[] {
    const aws = AwsEnvironment.of(this);
    const fleetSecrets = aws.arn({ service: "secretsmanager", resource: `secret:${secretPrefix(fleet)}*` });
    return [
      {
        Sid: "ChecksAndFillsPasswordSecrets",
        Effect: "Allow",
        Action: ["secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue"],
        Resource: fleetSecrets,
      },
      {
        // GenerateDataKey encrypts a new value. Decrypt is what Secrets Manager calls when a put
        // repeats an existing version id (an SDK retry, or a second run racing the first), to
        // compare the values; it cannot read a value with it, having no GetSecretValue.
        Sid: "EncryptsPasswordsThroughSecretsManager",
        Effect: "Allow",
        Action: ["kms:GenerateDataKey", "kms:Decrypt"],
        Resource: key.arn,
        Condition: {
          StringEquals: { "kms:ViaService": aws.serviceEndpoint("secretsmanager") },
          StringLike: { "kms:EncryptionContext:SecretARN": fleetSecrets },
        },
      },
    ];
  }
}
