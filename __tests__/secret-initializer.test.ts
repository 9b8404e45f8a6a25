/**
 * SecretInitializer: a function allowed exactly to check and fill the fleet's secrets (and to have
 * Secrets Manager use the key for them), run by an invocation whose input is the secrets' ARNs,
 * and no secret value anywhere Terraform looks. In the environment's stack, both outputs carry its
 * ZIP; a small stack holding it plans offline (test:plans compares the HCL's plan with the JSON's
 * and shows that a change of the list of secrets runs the function again).
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "cdktf";
import { buildStack } from "../src/app";
import { exportDeployment } from "../src/export/deployment";
import { lambdaLogGroupName } from "../src/constructs/node-lambda";
import { SecretInitializer, secretInitializerName } from "../src/constructs/secret-initializer";
import { changeSummaryOf, plannedChangesOf } from "../src/terraform/plan-against-state";
import type { TerraformJson } from "../src/terraform/plan-json";
import { defaultFleet, PROJECT_ROOT } from "./helpers/fleet";
import { parseDocument } from "./helpers/hcl-object";
import { ACCOUNT, refToOnly, standIns, synthLayer } from "./helpers/layer";
import { CODE, codeReference, exportProbe, initializerOf, probeStack, REGION } from "./helpers/secret-initializer-probe";
import { only, resources } from "./helpers/synth";
import { offlineWorkdir, terraformOrSkip, type Workdir } from "./helpers/terraform";

/** The probe fleet's secret prefix, and the pattern of its secrets' ARNs. */
const FLEET_SECRETS_NAME = "code-server/probe/";
const FLEET_SECRETS = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${FLEET_SECRETS_NAME}*`;

describe("the construct", () => {
  const { json, config } = synthLayer((scope) => {
    standIns.aws(scope, REGION);
    initializerOf(scope, ["dev2", "dev1", "dev3"], standIns.key(scope));
  });
  /** `${aws_secretsmanager_secret.<x>.arn}` of the secret named for `developer`. */
  const arnOf = (developer: string) => {
    const found = resources(config, "aws_secretsmanager_secret").find(([, s]) => s.name === `code-server/probe/${developer}-password`);
    return `\${aws_secretsmanager_secret.${found![0]}.arn}`;
  };
  const arns = ["dev1", "dev2", "dev3"].map(arnOf);

  it("allows the function exactly DescribeSecret and PutSecretValue on the fleet's secrets, and the key only through Secrets Manager for them", () => {
    const { Statement } = parseDocument(only(config, "aws_iam_role_policy").policy as string);
    // Every secret the function fills lies under the fleet's secret prefix, which the pattern names.
    for (const name of ["dev1-password", "oidc-client-secret"])
      expect(`code-server/probe/${name}`.startsWith(FLEET_SECRETS_NAME)).toBe(true);
    expect(Statement).toEqual([
      {
        Sid: "WritesItsOwnLogGroup",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: `${refToOnly(config, "aws_cloudwatch_log_group", "arn")}:*`,
      },
      {
        Sid: "ChecksAndFillsPasswordSecrets",
        Effect: "Allow",
        Action: ["secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue"],
        Resource: FLEET_SECRETS,
      },
      {
        Sid: "EncryptsPasswordsThroughSecretsManager",
        Effect: "Allow",
        Action: ["kms:GenerateDataKey", "kms:Decrypt"],
        Resource: refToOnly(config, "aws_kms_key", "arn"),
        Condition: {
          StringEquals: { "kms:ViaService": `secretsmanager.${REGION}.amazonaws.com` },
          StringLike: { "kms:EncryptionContext:SecretARN": FLEET_SECRETS },
        },
      },
    ]);
  });

  it("runs the secret-initializer handler, named after the fleet, logging where a key policy can name before it exists", () => {
    expect(secretInitializerName({ namePrefix: "code-server-probe" })).toBe("code-server-probe-secret-initializer");
    expect(lambdaLogGroupName(secretInitializerName({ namePrefix: "code-server-probe" }))).toBe(
      only(config, "aws_cloudwatch_log_group").name,
    );
    expect(only(config, "aws_lambda_function")).toMatchObject({
      function_name: "code-server-probe-secret-initializer",
      filename: CODE.path,
      source_code_hash: CODE.sha256Base64,
    });
  });

  it("invokes the function with the secrets' ARNs in construct order, again when its code changes", () => {
    const invocation = only(config, "aws_lambda_invocation");
    expect(invocation.function_name).toBe(refToOnly(config, "aws_lambda_function", "function_name"));
    expect(parseDocument(invocation.input as string)).toEqual({ secretArns: arns });
    expect(invocation.triggers).toEqual({ code: CODE.sha256Base64 });
    // Run on create and replace only (CREATE_ONLY, the default): never on destroy.
    expect(invocation.lifecycle_scope).toBeUndefined();
  });

  it("puts no secret value anywhere: no secret version, no value argument, no ephemeral resource, no environment", () => {
    expect(Object.keys(config.resource ?? {}).sort()).toEqual([
      "aws_cloudwatch_log_group",
      "aws_iam_role",
      "aws_iam_role_policy",
      "aws_kms_key",
      "aws_lambda_function",
      "aws_lambda_invocation",
      "aws_secretsmanager_secret",
    ]);
    expect(config.ephemeral).toBeUndefined();
    expect(config.data).toBeUndefined();
    expect(json).not.toMatch(/secret_string|secret_binary|GetSecretValue|GetRandomPassword/);
    expect(only(config, "aws_lambda_function").environment).toBeUndefined();
  });

  it("refuses an empty list of secrets", () => {
    expect(() => synthLayer((scope) => initializerOf(scope, [], standIns.key(scope)))).toThrow(
      /^SecretInitializer .*\/secret-initializer: secrets has 0 entries; at least 1 are needed/,
    );
  });
});

describe("in the environment's stack", () => {
  const outdir = mkdtempSync(join(tmpdir(), "secret-initializer-"));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));
  const fleet = defaultFleet();
  const app = new App({ outdir: join(outdir, "cdktf.out") });
  const { stack } = buildStack(fleet, app);
  new SecretInitializer(stack, "secret-initializer", {
    fleet,
    secrets: [...stack.secrets.developerSecrets.values()].map((secrets) => secrets.password),
    key: stack.secrets.key,
    logRetentionDays: stack.inputs.logRetentionDays,
  });
  app.synth();
  const stackDir = join(outdir, "cdktf.out", "stacks", stack.node.id);

  it("has readable addresses", () => {
    expect(stack.terraformAddresses()).toEqual(
      expect.arrayContaining([
        "aws_lambda_function.secret-initializer_lambda_function",
        "aws_lambda_invocation.secret-initializer_run",
        "aws_iam_role.secret-initializer_lambda_role",
        "aws_cloudwatch_log_group.secret-initializer_lambda_logs",
      ]),
    );
  });

  it("lists every developer's password secret and no API key", () => {
    const synthesized = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8")) as TerraformJson;
    const { secretArns } = parseDocument(only(synthesized, "aws_lambda_invocation").input as string);
    expect(secretArns).toHaveLength(fleet.developers.length);
    for (const arn of secretArns as string[]) expect(arn).toMatch(/^\$\{aws_secretsmanager_secret\.secrets_[a-z0-9-]+-password\.arn\}$/);
  });

  it("exports the ZIP beside main.tf, at the path and with the hash main.tf names, as synth wrote it", async () => {
    const target = join(outdir, "deployment");
    const exported = await exportDeployment(stack, target, { projectRoot: PROJECT_ROOT });
    expect(exported.files.map((f) => f.path)).toContain(`terraform/${CODE.path}`);
    const mainTf = readFileSync(join(target, "terraform", "main.tf"), "utf8");
    expect(mainTf).toMatch(new RegExp(`\n {2}filename += "${CODE.path}"\n`));
    expect(mainTf).toContain(` = "${CODE.sha256Base64}"\n  timeout`);
    const exportedZip = readFileSync(join(target, "terraform", CODE.path));
    expect(exportedZip.equals(readFileSync(join(stackDir, CODE.path)))).toBe(true);
    expect(exportedZip.equals(Buffer.from(CODE.zip))).toBe(true);
  });
});

const terraform = terraformOrSkip();
const maybe = terraform ? describe : describe.skip;

maybe("offline terraform of a small stack holding it", () => {
  const out = mkdtempSync(join(tmpdir(), "secret-initializer-tf-"));
  const probe = probeStack(join(out, "cdktf.out"), ["dev1", "dev2"]);
  const hclDir = exportProbe(probe.stack, probe.config, join(out, "deployment"));
  let json: Workdir;
  let hcl: Workdir;

  beforeAll(() => {
    json = offlineWorkdir(terraform!, probe.stackDir);
    hcl = offlineWorkdir(terraform!, hclDir);
  });

  afterAll(() => {
    json?.dispose();
    hcl?.dispose();
    rmSync(out, { recursive: true, force: true });
  });

  it.each([
    ["synthesized stack", () => [probe.stackDir, "cdk.tf.json"]],
    ["HCL export", () => [hclDir, "main.tf"]],
  ])("the %s holds the ZIP where the function's filename points, with the hash it names", (_name, where) => {
    const [dir, file] = where();
    const { filename, hash } = codeReference(dir, file);
    expect(filename).toBe(CODE.path);
    expect(
      createHash("sha256")
        .update(readFileSync(join(dir, filename)))
        .digest("base64"),
    ).toBe(hash);
  });

  it("initialises, validates and plans the JSON offline, only creating", () => {
    json.run(["init", "-input=false", "-no-color"]);
    json.shareProvider();
    expect(json.run(["validate", "-no-color"]).output).toContain("The configuration is valid");
    const { output } = json.run(["plan", "-json", "-refresh=false", "-input=false", "-no-color"]);
    const changes = plannedChangesOf(output);
    expect(new Set([...changes.values()].map((c) => c.action))).toEqual(new Set(["create"]));
    expect([...changes.keys()]).toEqual(
      expect.arrayContaining(["aws_lambda_function.secret-initializer_lambda_function", "aws_lambda_invocation.secret-initializer_run"]),
    );
    expect(changeSummaryOf(output)).toEqual({ add: 8, change: 0, remove: 0 });
    expect(output).not.toMatch(/secret_string/);
  });

  it("initialises and validates the HCL export, fmt-clean (test:plans plans it against the JSON)", () => {
    hcl.run(["init", "-input=false", "-no-color"]);
    hcl.shareProvider();
    expect(hcl.run(["validate", "-no-color"]).output).toContain("The configuration is valid");
    expect(hcl.run(["fmt", "-check", "-no-color", "main.tf"]).status).toBe(0);
  });
});
