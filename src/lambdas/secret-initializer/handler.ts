/**
 * Gives each password secret it is handed that has no value yet (no AWSCURRENT version) a random
 * password, and leaves every other secret as it is. Terraform invokes it once at apply time
 * (`aws_lambda_invocation`), after the secrets exist and before anything reads them, so that a
 * container that gets its password injected from Secrets Manager can start on the first deploy
 * with no operator step, while Terraform itself never holds a value (not in its configuration,
 * plan or state) and the plan needs no AWS call.
 *
 * It returns counts and logs secret ARNs and counts, never a value.
 *
 * The password comes from Node's CSPRNG (`crypto.randomInt`, unbiased), not from Secrets Manager's
 * GetRandomPassword: that call cannot be limited to any resource (its permission is on `*`), it
 * sends the value over the network once more, and this way the password has exactly the length,
 * alphabet and rule of the ones the host generates and `rotate-password.sh` makes.
 */
import { randomBytes, randomInt } from "node:crypto";
import { SECRET_PLACEHOLDER } from "../../secret-placeholder";
import { DescribeSecretCommand, PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

/** As the host's generator: longer than code-server's minimum of 16. */
export const PASSWORD_LENGTH = 32;
/** As the host's generator: symbols that need no quoting in a shell, YAML or a URL form. */
export const PASSWORD_SYMBOLS = "!#%*+,.:=?@^_~-";
const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const DIGITS = "0123456789";
export const PASSWORD_ALPHABET = `${LETTERS}${DIGITS}${PASSWORD_SYMBOLS}`;

/**
 * The version id (ClientRequestToken) of every first value. Secrets Manager refuses a second,
 * different value under an existing version id, so when two runs race to fill one secret, the
 * later one fails instead of replacing a password the other may already have handed out.
 */
export const INITIAL_VERSION_ID = "code-server-fleet-initial-password";

/** How many secrets are worked on at once: well inside Secrets Manager's request rates. */
const CONCURRENCY = 5;

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

export interface InitializerEvent {
  /** ARNs of the secrets that must have a value: a random password each. */
  readonly secretArns: readonly string[];
  /**
   * ARNs of secrets that must have a value before a task can start, which only an operator can
   * give (the Anthropic API keys): until then they hold API_KEY_PLACEHOLDER.
   */
  readonly placeholderArns?: readonly string[];
  /** ARNs of secrets that must hold a random key (the sign-in gate's cookie keys): KEY_BYTES random bytes as base64. */
  readonly keyArns?: readonly string[];
}

/** Bytes of a generated key: what the gate needs at least for its cookies. */
export const KEY_BYTES = 32;

/** A random key as the gate reads it: base64 of KEY_BYTES bytes from Node's CSPRNG. */
export function generateKey(): string {
  return randomBytes(KEY_BYTES).toString("base64");
}

/** What an API key or client secret holds until an operator sets it (set-api-key.sh): no key, and no secret. */
export const API_KEY_PLACEHOLDER = SECRET_PLACEHOLDER;

export interface InitializerResult {
  /** Secrets that had no value and now have a generated one. */
  readonly filled: number;
  /** Secrets that already had a value and were left as they were. */
  readonly alreadySet: number;
}

type Outcome = keyof InitializerResult;

/** A random password of the host's length and alphabet, with at least one letter, digit and symbol. */
export function generatePassword(): string {
  for (;;) {
    const password = Array.from({ length: PASSWORD_LENGTH }, () => PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)]).join("");
    if (/[A-Za-z]/.test(password) && /[0-9]/.test(password) && /[^A-Za-z0-9]/.test(password)) return password;
  }
}

/** The event's ARNs, each with what fills it when empty, or an error that says what is wrong with the event. */
export function secretArnsOf(event: unknown): readonly { arn: string; value: () => string }[] {
  const given = event as Partial<InitializerEvent> | null;
  const passwords = given?.secretArns;
  const placeholders = given?.placeholderArns ?? [];
  const keys = given?.keyArns ?? [];
  if (!Array.isArray(passwords) || !Array.isArray(placeholders) || !Array.isArray(keys)) {
    throw new Error(
      'the event must be {"secretArns": [<secret ARN>, ...], "placeholderArns": [...], "keyArns": [...]} (the last two optional)',
    );
  }
  const arns = [...passwords, ...placeholders, ...keys] as unknown[];
  const bad = arns.filter((arn) => typeof arn !== "string" || !SECRET_ARN.test(arn));
  if (bad.length > 0) throw new Error(`not Secrets Manager secret ARNs: ${bad.map((arn) => JSON.stringify(arn)).join(", ")}`);
  const repeated = arns.filter((arn, i) => arns.indexOf(arn) !== i);
  if (repeated.length > 0) throw new Error(`secret ARNs given more than once: ${[...new Set(repeated)].join(", ")}`);
  return [
    ...(passwords as string[]).map((arn) => ({ arn, value: generatePassword })),
    ...(placeholders as string[]).map((arn) => ({ arn, value: () => API_KEY_PLACEHOLDER })),
    ...(keys as string[]).map((arn) => ({ arn, value: generateKey })),
  ];
}

/** What went wrong with one secret: its ARN and the error's name and message (AWS messages carry no secret values). */
function problem(arn: string, err: unknown): Error {
  if (err instanceof Error && err.name === "ResourceNotFoundException") {
    return new Error(`${arn} does not exist: create it (terraform apply) or remove it from the list`);
  }
  return new Error(`${arn}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
}

async function initializeOne(client: SecretsManagerClient, { arn, value }: { arn: string; value: () => string }): Promise<Outcome> {
  const described = await client.send(new DescribeSecretCommand({ SecretId: arn })).catch((err: unknown) => {
    throw problem(arn, err);
  });
  if (described.DeletedDate) {
    throw new Error(`${arn} is scheduled for deletion: restore it (aws secretsmanager restore-secret --secret-id ${arn}) first`);
  }
  const stages = Object.values(described.VersionIdsToStages ?? {}).flat();
  if (stages.includes("AWSCURRENT")) return "alreadySet";
  try {
    await client.send(new PutSecretValueCommand({ SecretId: arn, SecretString: value(), ClientRequestToken: INITIAL_VERSION_ID }));
  } catch (err) {
    // Another run filled it between our two calls (see INITIAL_VERSION_ID): its value stands.
    if (err instanceof Error && err.name === "ResourceExistsException") return "alreadySet";
    throw problem(arn, err);
  }
  console.log(`filled ${arn}: it had no value`);
  return "filled";
}

/**
 * Fills every secret of the event that has no value; fails, after doing what it can, naming each
 * secret it could not check or fill.
 */
export async function initializeSecrets(client: SecretsManagerClient, event: unknown): Promise<InitializerResult> {
  const secrets = secretArnsOf(event);
  const result = { filled: 0, alreadySet: 0 };
  const problems: string[] = [];
  for (let start = 0; start < secrets.length; start += CONCURRENCY) {
    const outcomes = await Promise.allSettled(secrets.slice(start, start + CONCURRENCY).map((secret) => initializeOne(client, secret)));
    for (const outcome of outcomes) {
      if (outcome.status === "fulfilled") result[outcome.value]++;
      else problems.push(outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason));
    }
  }
  console.log(`${result.filled} secrets filled, ${result.alreadySet} already had a value, ${problems.length} failed`);
  if (problems.length > 0)
    throw new Error(`${problems.length} of ${secrets.length} secrets could not be initialized:\n${problems.join("\n")}`);
  return result;
}

const client = new SecretsManagerClient({});

export const handler = (event: unknown): Promise<InitializerResult> => initializeSecrets(client, event);
