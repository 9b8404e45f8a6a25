/**
 * A Lambda function whose code is a TypeScript handler of this project (`src/lambdas/<name>/handler.ts`),
 * bundled and zipped at synth time (src/lambdas/package.ts) into the synthesized stack directory;
 * the HCL export writes the same ZIP beside its main.tf (stack-files.ts). The function has
 * its own role, allowed exactly what the caller lists plus writing to its own log group, which the
 * construct creates (encrypted, with a retention) so that Lambda never creates an unencrypted one.
 */
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import type { ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { BUNDLE_FILE, NODE_MAJOR, packageHandler } from "../lambdas/package";
import { jsonWithReferences } from "./expressions";
import { LOG_RETENTION_DAYS } from "./inputs";
import { StackFiles } from "./stack-files";
import { check, checkMaxLength, checkOneOf, checkPattern, checkWholeRange } from "./validation";

/** One statement of an IAM policy, as IAM's JSON spells it. */
export interface PolicyStatement {
  /** Letters and digits; unique within the function's policy. */
  readonly Sid: string;
  readonly Effect: "Allow" | "Deny";
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  /** @default - no condition */
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

export interface NodeLambdaProps {
  /** The handler: the directory under `src/lambdas` whose `handler.ts` exports `handler`. */
  readonly handler: string;
  /** The function's name, also its role's and (under `/aws/lambda/`) its log group's. */
  readonly functionName: string;
  /** What the function is for, shown in the console. */
  readonly description: string;
  /** What the function may do besides writing its logs. */
  readonly statements: readonly PolicyStatement[];
  /** Encrypts the log group. Its key policy must let CloudWatch Logs use it for that group. */
  readonly key: KmsKey;
  /** Days the logs are kept: one of CloudWatch Logs' retention values (or a Terraform variable). */
  readonly logRetentionDays: number;
  /**
   * What the log group must wait for, such as the key policy that lets CloudWatch Logs use the key.
   * @default - nothing
   */
  readonly logGroupDependsOn?: readonly ITerraformDependable[];
  /**
   * Environment variables: settings only, never a secret (they are plain in the configuration and state).
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Seconds a run may take, 1 to 900.
   * @default 60
   */
  readonly timeoutSeconds?: number;
  /**
   * Memory in MB, 128 to 10240 (CPU grows with it).
   * @default 256
   */
  readonly memoryMb?: number;
  /**
   * Concurrent runs the function keeps for itself and never exceeds (Lambda's reserved concurrency).
   * @default - none: it shares the account's unreserved concurrency
   */
  readonly reservedConcurrency?: number;
}

/** Variables Lambda sets itself and refuses in a function's configuration. */
const RESERVED_VARIABLES = new Set([
  "_HANDLER",
  "_X_AMZN_TRACE_ID",
  "AWS_ACCESS_KEY",
  "AWS_ACCESS_KEY_ID",
  "AWS_DEFAULT_REGION",
  "AWS_EXECUTION_ENV",
  "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
  "AWS_LAMBDA_FUNCTION_NAME",
  "AWS_LAMBDA_FUNCTION_VERSION",
  "AWS_LAMBDA_INITIALIZATION_TYPE",
  "AWS_LAMBDA_LOG_GROUP_NAME",
  "AWS_LAMBDA_LOG_STREAM_NAME",
  "AWS_LAMBDA_RUNTIME_API",
  "AWS_REGION",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "LAMBDA_RUNTIME_DIR",
  "LAMBDA_TASK_ROOT",
]);

/**
 * The log group of the function named `functionName`: where Lambda would put it, known before the
 * group exists (a key policy that lets CloudWatch Logs encrypt it names it, and the group waits for that policy).
 */
export function lambdaLogGroupName(functionName: string): string {
  return `/aws/lambda/${functionName}`;
}

/** The Sid of the statement every function gets. */
const LOGS_SID = "WritesItsOwnLogGroup";

export class NodeLambda extends Construct {
  readonly function: LambdaFunction;
  readonly role: IamRole;
  readonly logGroup: CloudwatchLogGroup;
  /** Base64 SHA-256 of the code's ZIP (the function's `source_code_hash`): changes exactly when the code does. */
  readonly codeSha256: string;

  constructor(scope: Construct, id: string, props: NodeLambdaProps) {
    super(scope, id);
    this.checkProps(props);
    const code = StackFiles.of(this).packageOf(props.handler, () => packageHandler({ handler: props.handler }));
    this.codeSha256 = code.sha256Base64;

    this.logGroup = new CloudwatchLogGroup(this, "logs", {
      name: lambdaLogGroupName(props.functionName),
      retentionInDays: props.logRetentionDays,
      kmsKeyId: props.key.arn,
      // Removing the function keeps its logs until retention expires them (no data lost on deploy).
      skipDestroy: true,
      dependsOn: props.logGroupDependsOn ? [...props.logGroupDependsOn] : undefined,
    });
    this.role = new IamRole(this, "role", {
      name: props.functionName,
      description: `Role of the ${props.functionName} Lambda function`,
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
    });
    const policy = new IamRolePolicy(this, "policy", {
      name: props.functionName,
      role: this.role.id,
      // Text: the secret initializer's statements name every developer's secrets.
      policy: jsonWithReferences(`the policy of ${props.functionName}`, {
        Version: "2012-10-17",
        Statement: [this.logsStatement(), ...props.statements],
      }),
    });
    this.function = new LambdaFunction(this, "function", {
      functionName: props.functionName,
      description: props.description,
      role: this.role.arn,
      runtime: `nodejs${NODE_MAJOR}.x`,
      architectures: ["arm64"],
      handler: `${BUNDLE_FILE.replace(/\.js$/, "")}.handler`,
      filename: code.path,
      sourceCodeHash: code.sha256Base64,
      timeout: props.timeoutSeconds ?? 60,
      memorySize: props.memoryMb ?? 256,
      ...(props.reservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrency }),
      environment: props.environment ? { variables: { ...props.environment } } : undefined,
      loggingConfig: { logFormat: "Text", logGroup: this.logGroup.name },
      // Created once its permissions exist: its first run must not meet a role that cannot act yet.
      dependsOn: [policy, this.logGroup],
    });
  }

  private logsStatement(): PolicyStatement {
    // Not logs:CreateLogGroup: the group exists, encrypted; the function must not make another.
    return {
      Sid: LOGS_SID,
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      // The form Lambda's own execution-role policies use: the group's streams.
      Resource: `${this.logGroup.arn}:*`,
    };
  }

  private checkProps(props: NodeLambdaProps): void {
    checkPattern(
      this,
      "functionName",
      props.functionName,
      /^[A-Za-z0-9_-]{1,64}$/,
      "1 to 64 letters, digits, - and _ (a Lambda and IAM role name)",
    );
    checkMaxLength(this, "description", props.description, 256, "Lambda's limit");
    checkOneOf(this, "logRetentionDays", props.logRetentionDays, LOG_RETENTION_DAYS);
    checkWholeRange(this, "timeoutSeconds", props.timeoutSeconds ?? 60, 1, 900, "seconds");
    checkWholeRange(this, "memoryMb", props.memoryMb ?? 256, 128, 10240, "MB");
    if (props.reservedConcurrency !== undefined) checkWholeRange(this, "reservedConcurrency", props.reservedConcurrency, 1, 1000, "runs");
    const sids = [LOGS_SID, ...props.statements.map((s) => s.Sid)];
    for (const sid of sids) checkPattern(this, "statements", sid, /^[A-Za-z0-9]+$/, "a Sid of letters and digits");
    const repeated = sids.filter((sid, i) => sids.indexOf(sid) !== i);
    check(this, repeated.length === 0, () => `statements repeat the Sid ${repeated.join(", ")} (${LOGS_SID} is the construct's own)`);
    for (const name of Object.keys(props.environment ?? {})) {
      checkPattern(this, "environment", name, /^[A-Za-z][A-Za-z0-9_]*$/, "a variable name (a letter, then letters, digits and _)");
      check(this, !RESERVED_VARIABLES.has(name), () => `environment sets ${name}, which Lambda reserves for itself`);
    }
  }
}
