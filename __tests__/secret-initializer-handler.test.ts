/**
 * The secret initializer's handler, against a mocked Secrets Manager client: a secret without a
 * value gets a generated password, a secret with one is left alone, a secret it cannot find or
 * fill is an error naming it, and no value ever reaches a log line, the result or an error.
 */
import "./helpers/quiet-aws-sdk";
import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import {
  API_KEY_PLACEHOLDER,
  generatePassword,
  handler,
  INITIAL_VERSION_ID,
  initializeSecrets,
  PASSWORD_ALPHABET,
  PASSWORD_LENGTH,
  KEY_BYTES,
} from "../src/lambdas/secret-initializer/handler";
import { PASSWORD_ALPHABET as HOST_ALPHABET, PASSWORD_LENGTH as HOST_LENGTH } from "../src/render/view-model";

const sm = mockClient(SecretsManagerClient);
const arn = (name: string) => `arn:aws:secretsmanager:ap-southeast-7:123456789012:secret:code-server/dev/${name}-AbCdEf`;
const EMPTY = arn("dev1-password");
const SET = arn("dev2-password");
const PENDING_ONLY = arn("dev3-password");
const MISSING = arn("dev4-password");

const metadata = { $metadata: {} };
const described = (secret: string, stages: Record<string, string[]> | undefined, extra: Partial<DescribeSecretCommandOutput> = {}) =>
  sm.on(DescribeSecretCommand, { SecretId: secret }).resolves({ ARN: secret, VersionIdsToStages: stages, ...extra });

/** Everything the handler wrote to the console during the test. */
let logged: string[];

beforeEach(() => {
  sm.reset();
  sm.on(PutSecretValueCommand).resolves({ VersionId: INITIAL_VERSION_ID });
  sm.on(DescribeSecretCommand, { SecretId: MISSING }).rejects(
    new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", ...metadata }),
  );
  described(EMPTY, undefined);
  described(SET, { "v-1": ["AWSPREVIOUS"], "v-2": ["AWSCURRENT"] });
  described(PENDING_ONLY, { "v-1": ["AWSPENDING"] });
  logged = [];
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
  }
});

afterEach(() => jest.restoreAllMocks());

/** The values the handler stored, as the mock received them. */
const putValues = () => sm.commandCalls(PutSecretValueCommand).map((call) => call.args[0].input.SecretString as string);
const putSecrets = () => sm.commandCalls(PutSecretValueCommand).map((call) => call.args[0].input.SecretId);

describe("what it does to each secret", () => {
  it("gives a secret without a value a generated password, as the initial version", async () => {
    await expect(initializeSecrets(new SecretsManagerClient({}), { secretArns: [EMPTY] })).resolves.toEqual({ filled: 1, alreadySet: 0 });
    const [call] = sm.commandCalls(PutSecretValueCommand);
    expect(call.args[0].input).toEqual({ SecretId: EMPTY, SecretString: expect.any(String), ClientRequestToken: INITIAL_VERSION_ID });
    expect(call.args[0].input.SecretString).toHaveLength(PASSWORD_LENGTH);
  });

  it("leaves a secret that has a current value alone", async () => {
    await expect(initializeSecrets(new SecretsManagerClient({}), { secretArns: [SET] })).resolves.toEqual({ filled: 0, alreadySet: 1 });
    expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });

  it("counts only AWSCURRENT as a value: a version staged AWSPENDING alone is filled over", async () => {
    await initializeSecrets(new SecretsManagerClient({}), { secretArns: [PENDING_ONLY] });
    expect(putSecrets()).toEqual([PENDING_ONLY]);
  });

  it("treats a racing run's fill of the same secret (same initial version id) as a value, not a failure", async () => {
    sm.on(PutSecretValueCommand, { SecretId: EMPTY }).rejects(
      new ResourceExistsException({ message: "A resource with the ID you requested already exists.", ...metadata }),
    );
    await expect(initializeSecrets(new SecretsManagerClient({}), { secretArns: [EMPTY] })).resolves.toEqual({ filled: 0, alreadySet: 1 });
  });

  it("fills what it can, then fails naming each secret it could not check or fill, and why", async () => {
    const gone = arn("dev5-password");
    described(gone, undefined, { DeletedDate: new Date("2026-01-02T03:04:05Z") });
    const denied = arn("dev6-password");
    described(denied, {});
    sm.on(PutSecretValueCommand, { SecretId: denied }).rejects(
      new SecretsManagerServiceException({
        name: "AccessDeniedException",
        $fault: "client",
        message: "not authorized to perform kms:GenerateDataKey",
        ...metadata,
      }),
    );
    const run = initializeSecrets(new SecretsManagerClient({}), { secretArns: [EMPTY, MISSING, SET, gone, denied] });
    await expect(run).rejects.toThrow(
      [
        "3 of 5 secrets could not be initialized:",
        `${MISSING} does not exist: create it (terraform apply) or remove it from the list`,
        `${gone} is scheduled for deletion: restore it (aws secretsmanager restore-secret --secret-id ${gone}) first`,
        `${denied}: AccessDeniedException: not authorized to perform kms:GenerateDataKey`,
      ].join("\n"),
    );
    // The secret that could be filled was, before the failure.
    expect(putSecrets()).toEqual([EMPTY, denied]);
    expect(logged).toContain(`filled ${EMPTY}: it had no value`);
    expect(logged).toContain("1 secrets filled, 1 already had a value, 3 failed");
  });

  it("works on at most five secrets at once, and on every one of a long list", async () => {
    const many = Array.from({ length: 23 }, (_, i) => arn(`many${i}-password`));
    let inFlight = 0;
    let most = 0;
    sm.on(DescribeSecretCommand).callsFake(async ({ SecretId }: { SecretId: string }) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return { ARN: SecretId, VersionIdsToStages: {} };
    });
    await expect(initializeSecrets(new SecretsManagerClient({}), { secretArns: many })).resolves.toEqual({ filled: 23, alreadySet: 0 });
    expect(new Set(putSecrets())).toEqual(new Set(many));
    expect(most).toBe(5);
  });

  it("is what the exported Lambda handler runs", async () => {
    await expect(handler({ secretArns: [EMPTY, SET] })).resolves.toEqual({ filled: 1, alreadySet: 1 });
    expect(putSecrets()).toEqual([EMPTY]);
  });
});

describe("no secret value leaves it", () => {
  it("never logs, returns or throws a value it stored", async () => {
    const denied = arn("dev6-password");
    described(denied, {});
    // A failure after the value was generated: its error must not carry the value either.
    sm.on(PutSecretValueCommand, { SecretId: denied }).callsFake(({ SecretString }: { SecretString: string }) => {
      throw new SecretsManagerServiceException({
        name: "InternalServiceError",
        $fault: "server",
        message: `failed (${SecretString.length} characters)`,
        ...metadata,
      });
    });
    const arns = [EMPTY, PENDING_ONLY, SET, denied];
    const outcome = await handler({ secretArns: arns }).then(
      (result) => JSON.stringify(result),
      (err: Error) => `${err.message}\n${err.stack ?? ""}`,
    );
    const values = putValues();
    expect(values).toHaveLength(3);
    for (const text of [outcome, ...logged]) for (const value of values) expect(text).not.toContain(value);
    expect(logged.join("\n")).not.toMatch(/SecretString/);
  });

  it("returns counts and nothing else", async () => {
    const result = await handler({ secretArns: [EMPTY, SET] });
    expect(Object.keys(result).sort()).toEqual(["alreadySet", "filled"]);
    expect(Object.values(result).every((n) => typeof n === "number")).toBe(true);
  });
});

describe("the event", () => {
  it.each([
    [
      "no event",
      null,
      'the event must be {"secretArns": [<secret ARN>, ...], "placeholderArns": [...], "keyArns": [...]} (the last two optional)',
    ],
    [
      "no list",
      { secrets: [EMPTY] },
      'the event must be {"secretArns": [<secret ARN>, ...], "placeholderArns": [...], "keyArns": [...]} (the last two optional)',
    ],
    [
      "a name instead of an ARN",
      { secretArns: [EMPTY, "code-server/dev/dev1-password"] },
      'not Secrets Manager secret ARNs: "code-server/dev/dev1-password"',
    ],
    ["another service's ARN", { secretArns: ["arn:aws:ssm:ap-southeast-7:123456789012:parameter/x"] }, "not Secrets Manager secret ARNs:"],
    ["an ARN twice", { secretArns: [EMPTY, SET, EMPTY] }, `secret ARNs given more than once: ${EMPTY}`],
  ])("refuses %s, saying what is wrong, before any AWS call", async (_name, event, message) => {
    await expect(handler(event)).rejects.toThrow(message);
    expect(sm.calls()).toHaveLength(0);
  });

  it("accepts an empty list and does nothing", async () => {
    await expect(handler({ secretArns: [] })).resolves.toEqual({ filled: 0, alreadySet: 0 });
    expect(sm.calls()).toHaveLength(0);
  });
});

describe("the passwords", () => {
  const samples = Array.from({ length: 300 }, generatePassword);

  it("are the host's passwords: its length and alphabet", () => {
    expect(PASSWORD_LENGTH).toBe(HOST_LENGTH);
    // The host's alphabet is a tr set (ranges and literals); as a regex class it means the same.
    const host = new RegExp(`^[${HOST_ALPHABET}]$`);
    const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));
    expect(printable.filter((c) => host.test(c)).sort()).toEqual([...PASSWORD_ALPHABET].sort());
    for (const password of samples) expect(password).toMatch(new RegExp(`^[${HOST_ALPHABET}]{${HOST_LENGTH}}$`));
  });

  it("have a letter, a digit and a symbol, and do not repeat", () => {
    for (const password of samples) {
      expect(password).toMatch(/[A-Za-z]/);
      expect(password).toMatch(/[0-9]/);
      expect(password).toMatch(/[^A-Za-z0-9]/);
    }
    expect(new Set(samples).size).toBe(samples.length);
  });

  it("use every character of the alphabet", () => {
    expect(new Set(samples.join(""))).toEqual(new Set(PASSWORD_ALPHABET));
  });
});

describe("secrets only an operator can fill", () => {
  it("get the placeholder when they are empty, and keep their value when an operator set one", async () => {
    const key = arn("dev1-anthropic-api-key");
    const setKey = arn("dev2-anthropic-api-key");
    described(key, undefined);
    described(setKey, { "v-1": ["AWSCURRENT"] });
    await expect(initializeSecrets(new SecretsManagerClient({}), { secretArns: [EMPTY], placeholderArns: [key, setKey] })).resolves.toEqual(
      {
        filled: 2,
        alreadySet: 1,
      },
    );
    const puts = new Map(
      sm.commandCalls(PutSecretValueCommand).map((call) => [call.args[0].input.SecretId, call.args[0].input.SecretString]),
    );
    expect(puts.get(key)).toBe(API_KEY_PLACEHOLDER);
    expect(puts.get(EMPTY)).toMatch(new RegExp(`^.{${PASSWORD_LENGTH}}$`));
    expect(puts.has(setKey)).toBe(false);
  });
});

describe("keys", () => {
  it("get 32 random bytes as base64 when empty, a different key each, and keep a key that is there", async () => {
    const [first, second, kept] = ["dev1-gate-cookie-key", "dev2-gate-cookie-key", "dev3-gate-cookie-key"].map(arn);
    described(first, undefined);
    described(second, undefined);
    described(kept, { "v-1": ["AWSCURRENT"] });
    await expect(initializeSecrets(new SecretsManagerClient({}), { secretArns: [], keyArns: [first, second, kept] })).resolves.toEqual({
      filled: 2,
      alreadySet: 1,
    });
    const puts = new Map(
      sm.commandCalls(PutSecretValueCommand).map((call) => [call.args[0].input.SecretId, call.args[0].input.SecretString!]),
    );
    for (const key of [first, second]) expect(Buffer.from(puts.get(key)!, "base64")).toHaveLength(KEY_BYTES);
    expect(puts.get(first)).not.toBe(puts.get(second));
    expect(puts.has(kept)).toBe(false);
  });
});
