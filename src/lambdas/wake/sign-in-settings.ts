/**
 * The wake function's sign-in settings (variable SIGN_IN, set only when the fleet signs in with
 * OpenID Connect) and where it reads each developer's gate from. The variable names secrets and
 * parameters, never holds one; the names of a developer's are templates with `{developer}`.
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { GetParameterCommand, ParameterNotFound, SSMClient } from "@aws-sdk/client-ssm";
import type { Binding } from "../../identity/gate/config";
import { isLoopback } from "../../identity/gate/loopback";
import { DEVELOPER_PLACEHOLDER } from "../../naming";

export interface SignInSettings {
  readonly issuer: URL;
  readonly clientId: string;
  /** Name or ARN of the fleet's client secret. */
  readonly clientSecretId: string;
  /** Name of a developer's cookie key secret. */
  readonly cookieKeyId: (developer: string) => string;
  /** Name of the SSM parameter that holds a developer's binding. */
  readonly bindingName: (developer: string) => string;
  /** @default - the ID token's own lifetime */
  readonly maxSessionSeconds?: number;
}

/** Where the function reads a developer's gate from: Secrets Manager and SSM Parameter Store. */
export interface GateStore {
  /** A secret's value; throws when it cannot be read. */
  secret(id: string): Promise<string>;
  /** A developer's binding; undefined when the fleet has no such developer. */
  binding(name: string): Promise<Binding | undefined>;
}

type Fields = Record<string, unknown>;

/** Collects what is wrong with each field of SIGN_IN, so that one message names them all. */
class FieldReader {
  readonly problems: string[] = [];
  constructor(private readonly json: Fields) {}

  text(field: string, what: string, test: (value: string) => boolean = (v) => v.trim() !== ""): string {
    const value = this.json[field];
    if (typeof value !== "string" || !test(value)) this.problems.push(`SIGN_IN.${field} must be ${what}`);
    return typeof value === "string" ? value : "";
  }
}

const isTemplate = (text: string) => text.includes(DEVELOPER_PLACEHOLDER);
/** HTTPS, or plain HTTP on loopback (the tests' provider), as the gate accepts an issuer. */
const isIssuer = (text: string) => {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  return url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url.hostname));
};

/** The settings in `env.SIGN_IN`, undefined without it; an error naming each wrong field. */
export function loadSignIn(env: Readonly<Record<string, string | undefined>>): SignInSettings | undefined {
  const text = env.SIGN_IN;
  if (text === undefined || text === "") return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error("SIGN_IN is not JSON: it must be the fleet's sign-in settings as the deployment writes them");
  }
  const fields = new FieldReader(json !== null && typeof json === "object" ? (json as Fields) : {});
  const issuer = fields.text("issuer", "the provider's issuer, an https:// URL", isIssuer);
  const clientId = fields.text("clientId", "the client id registered at the provider");
  const clientSecretId = fields.text("clientSecretId", "the name of the fleet's client secret");
  const cookieKeyId = fields.text(
    "cookieKeyId",
    `the cookie key secrets' name with ${DEVELOPER_PLACEHOLDER} for the developer's name`,
    isTemplate,
  );
  const bindingName = fields.text(
    "bindingName",
    `the binding parameters' name with ${DEVELOPER_PLACEHOLDER} for the developer's name`,
    isTemplate,
  );
  const max = (json as Fields | null)?.maxSessionSeconds;
  if (max !== undefined && !(Number.isInteger(max) && (max as number) >= 60))
    fields.problems.push("SIGN_IN.maxSessionSeconds must be a whole number of seconds, at least 60");
  if (fields.problems.length > 0) throw new Error(`the function's environment is wrong:\n  ${fields.problems.join("\n  ")}`);
  const fill = (name: string) => (developer: string) => name.replaceAll(DEVELOPER_PLACEHOLDER, developer);
  return {
    issuer: new URL(issuer),
    clientId,
    clientSecretId,
    cookieKeyId: fill(cookieKeyId),
    bindingName: fill(bindingName),
    ...(max === undefined ? {} : { maxSessionSeconds: max as number }),
  };
}

/** A binding as the parameter holds it (`{"email": ...}` or `{"sub": ...}`), emails compared in lower case. */
export function bindingOf(name: string, text: string): Binding {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const { email, sub } = (json ?? {}) as Fields;
  if (typeof email === "string" && email.includes("@")) return { email: email.toLowerCase() };
  if (typeof sub === "string" && sub.trim() !== "") return { sub };
  throw new Error(`the parameter ${name} must hold {"email": ...} or {"sub": ...}: redeploy to rewrite it`);
}

/** Secrets Manager and Parameter Store in the function's region. */
export function awsGateStore(ssm: SSMClient = new SSMClient({}), secrets = new SecretsManagerClient({})): GateStore {
  return {
    async secret(id) {
      const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: id }));
      if (SecretString === undefined) throw new Error(`the secret ${id} holds no text`);
      return SecretString;
    },
    async binding(name) {
      try {
        const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name }));
        return Parameter?.Value === undefined ? undefined : bindingOf(name, Parameter.Value);
      } catch (err) {
        if (err instanceof ParameterNotFound) return undefined;
        throw err;
      }
    },
  };
}
