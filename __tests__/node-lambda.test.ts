/**
 * NodeLambda: a project handler as a Lambda function on the pinned Node.js runtime (arm64), its code
 * the reproducible ZIP synth writes beside the configuration, with a role allowed exactly what the
 * caller lists plus writing its own encrypted log group, and bad props refused at synth.
 */
import "./helpers/quiet-aws-sdk";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { KmsKeyPolicy } from "@cdktf/provider-aws/lib/kms-key-policy";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { App, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { packageHandler } from "../src/lambdas/package";
import { StackFiles, lambdaPackagesOf } from "../src/constructs/stack-files";
import { NodeLambda, type NodeLambdaProps, type PolicyStatement } from "../src/constructs/node-lambda";
import type { TerraformJson } from "../src/terraform/plan-json";
import { parseDocument } from "./helpers/hcl-object";
import { refToOnly, standIns, synthLayer } from "./helpers/layer";
import { only } from "./helpers/synth";

const HANDLER = "secret-initializer";
const CODE = packageHandler({ handler: HANDLER });
const READS_BUCKET: PolicyStatement = { Sid: "ReadsTheBucket", Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::probe/*" };

/** Props of a probe function; the scope's key is made with the first. */
function props(scope: Construct, overrides: Partial<NodeLambdaProps> = {}): NodeLambdaProps {
  const key = scope.node.tryFindChild("key");
  return {
    handler: HANDLER,
    functionName: "fleet-probe",
    description: "A probe",
    statements: [READS_BUCKET],
    key: key instanceof KmsKey ? key : standIns.key(scope),
    logRetentionDays: 30,
    ...overrides,
  };
}

describe("the function", () => {
  const { config } = synthLayer((scope) => {
    const keyPolicy = new KmsKeyPolicy(scope, "key-policy", { keyId: "k", policy: "{}" });
    new NodeLambda(scope, "probe", { ...props(scope), environment: { MODE: "probe" }, logGroupDependsOn: [keyPolicy] });
  });
  const fn = only(config, "aws_lambda_function");
  const logGroupName = refToOnly(config, "aws_cloudwatch_log_group", "name");

  it("runs the handler's ZIP on Node.js 22, arm64, as index.handler", () => {
    expect(fn).toMatchObject({
      function_name: "fleet-probe",
      runtime: "nodejs22.x",
      architectures: ["arm64"],
      handler: "index.handler",
      filename: CODE.path,
      source_code_hash: CODE.sha256Base64,
      timeout: 60,
      memory_size: 256,
      role: refToOnly(config, "aws_iam_role", "arn"),
    });
  });

  it("logs to its own log group, and is created after its permissions and that group", () => {
    expect(fn.logging_config).toEqual({ log_format: "Text", log_group: logGroupName });
    const address = (type: string) => refToOnly(config, type, "id").slice(2, -4);
    expect(fn.depends_on).toEqual([address("aws_iam_role_policy"), address("aws_cloudwatch_log_group")]);
  });

  it("gets the environment it is given", () => {
    expect(fn.environment).toEqual({ variables: { MODE: "probe" } });
  });

  it("has an encrypted log group under /aws/lambda, kept when the function goes, created after what it waits for", () => {
    expect(only(config, "aws_cloudwatch_log_group")).toMatchObject({
      name: "/aws/lambda/fleet-probe",
      retention_in_days: 30,
      kms_key_id: refToOnly(config, "aws_kms_key", "arn"),
      skip_destroy: true,
      depends_on: [refToOnly(config, "aws_kms_key_policy", "id").slice(2, -4)],
    });
  });

  it("has a role only Lambda can assume, allowed its log streams and exactly the caller's statements", () => {
    expect(JSON.parse(only(config, "aws_iam_role").assume_role_policy as string)).toEqual({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
    });
    const policy = only(config, "aws_iam_role_policy");
    expect(policy.role).toBe(refToOnly(config, "aws_iam_role", "id"));
    expect(parseDocument(policy.policy as string)).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "WritesItsOwnLogGroup",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: `${refToOnly(config, "aws_cloudwatch_log_group", "arn")}:*`,
        },
        READS_BUCKET,
      ],
    });
  });
});

describe("defaults", () => {
  const { config } = synthLayer((scope) => new NodeLambda(scope, "probe", props(scope)));

  it("has no environment and no dependency of its log group unless given", () => {
    expect(only(config, "aws_lambda_function").environment).toBeUndefined();
    expect(only(config, "aws_cloudwatch_log_group").depends_on).toBeUndefined();
  });
});

describe("packages", () => {
  it("are made once per handler per stack, however many functions run one", () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), "node-lambda-")) });
    try {
      const stack = new TerraformStack(app, "probe");
      const make = jest.fn(() => CODE);
      expect(StackFiles.of(stack).packageOf(HANDLER, make)).toBe(CODE);
      expect(StackFiles.of(stack).packageOf(HANDLER, make)).toBe(CODE);
      expect(make).toHaveBeenCalledTimes(1);
      const first = new NodeLambda(stack, "one", props(stack, { functionName: "fleet-one" }));
      const second = new NodeLambda(stack, "two", props(stack, { functionName: "fleet-two" }));
      expect(lambdaPackagesOf(stack)).toEqual([CODE]);
      expect(first.codeSha256).toBe(second.codeSha256);
    } finally {
      rmSync(app.outdir, { recursive: true, force: true });
    }
  });

  it("are written by synth where the function's filename points, relative to the stack directory", () => {
    const outdir = mkdtempSync(join(tmpdir(), "node-lambda-"));
    try {
      const app = new App({ outdir });
      const stack = new TerraformStack(app, "probe");
      new AwsProvider(stack, "aws", { region: "ap-southeast-7" });
      new NodeLambda(stack, "fn", props(stack));
      app.synth();
      const stackDir = join(outdir, "stacks", "probe");
      const synthesized = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8")) as TerraformJson;
      const fn = only(synthesized, "aws_lambda_function") as { filename: string; source_code_hash: string };
      const written = readFileSync(join(stackDir, fn.filename));
      expect(written.equals(Buffer.from(CODE.zip))).toBe(true);
      expect(fn.source_code_hash).toBe(CODE.sha256Base64);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it("are none in a stack without a NodeLambda", () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), "node-lambda-")) });
    try {
      expect(lambdaPackagesOf(new TerraformStack(app, "empty"))).toEqual([]);
    } finally {
      rmSync(app.outdir, { recursive: true, force: true });
    }
  });
});

describe("bad props", () => {
  const build = (overrides: (scope: Construct) => Partial<NodeLambdaProps>) => () =>
    synthLayer((scope) => new NodeLambda(scope, "probe", props(scope, overrides(scope))));

  it.each<[string, (scope: Construct) => Partial<NodeLambdaProps>, string]>([
    [
      "a function name Lambda refuses",
      () => ({ functionName: "fleet probe" }),
      'functionName "fleet probe" is not 1 to 64 letters, digits, - and _ (a Lambda and IAM role name)',
    ],
    [
      "a retention CloudWatch Logs does not offer",
      () => ({ logRetentionDays: 10 }),
      "logRetentionDays 10 is not one of 1, 3, 5, 7, 14, 30",
    ],
    [
      "a timeout past Lambda's 15 minutes",
      () => ({ timeoutSeconds: 901 }),
      "timeoutSeconds 901 must be a whole number of seconds from 1 to 900",
    ],
    [
      "a variable Lambda reserves",
      () => ({ environment: { AWS_REGION: "us-east-1" } }),
      "environment sets AWS_REGION, which Lambda reserves for itself",
    ],
    ["a variable name Lambda refuses", () => ({ environment: { "MY-MODE": "x" } }), 'environment "MY-MODE" is not a variable name'],
    [
      "the construct's own Sid",
      () => ({ statements: [{ ...READS_BUCKET, Sid: "WritesItsOwnLogGroup" }] }),
      "statements repeat the Sid WritesItsOwnLogGroup",
    ],
    [
      "a Sid IAM refuses",
      () => ({ statements: [{ ...READS_BUCKET, Sid: "reads-bucket" }] }),
      'statements "reads-bucket" is not a Sid of letters and digits',
    ],
    [
      "a handler that does not exist",
      () => ({ handler: "no-such-handler" }),
      'Lambda handler "no-such-handler" has no src/lambdas/no-such-handler/handler.ts',
    ],
  ])("refuses %s, naming the construct and the value", (_name, overrides, message) => {
    expect(build(overrides)).toThrow(message);
  });

  it("names the construct that is wrong", () => {
    expect(build(() => ({ memoryMb: 64 }))).toThrow(/^NodeLambda .*\/probe: memoryMb 64 must be a whole number of MB from 128 to 10240$/);
  });
});
