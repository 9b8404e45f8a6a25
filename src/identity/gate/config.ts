/**
 * The gate's configuration: JSON that names where its two secrets are rather than holding them.
 * On the host it is a file the host writes (its path on the command line or in GATE_CONFIG) that
 * names two secret files, so that neither argv nor the environment of the gate's process carries
 * a secret. On ECS, which hands secrets to a container only as environment variables, it is the
 * variable GATE_CONFIG_JSON naming two variables; the gate reads them once and removes them from
 * its environment before it serves anything. Everything is checked before the gate listens; a bad
 * value stops it with a message that names the field and what to write instead.
 */
import { readFileSync, statSync } from "node:fs";
import { isAbsolute } from "node:path";
import { z } from "zod";
import { SECRET_PLACEHOLDER } from "../../secret-placeholder";
import { isLoopback } from "./loopback";

export { isLoopback };

/** Whom the gate admits: the provider's `sub` when given (it never changes), else the verified `email`. */
export interface Binding {
  readonly email?: string;
  readonly sub?: string;
}

/**
 * What the client secret holds until an operator stores the provider's (the deployment creates it
 * with this value so that a task can start): the gate then says that sign-in is not set up yet.
 */
export const CLIENT_SECRET_PLACEHOLDER = SECRET_PLACEHOLDER;

export interface GateConfig {
  /** The provider's issuer identifier (discovery starts at `<issuer>/.well-known/openid-configuration`). */
  readonly issuer: URL;
  readonly clientId: string;
  /** Undefined while it holds CLIENT_SECRET_PLACEHOLDER: sign-in is not set up yet. */
  readonly clientSecret?: string;
  /** At least 32 random bytes; the cookie keys are derived from it. */
  readonly cookieKey: Buffer;
  /** The developer's own origin (`https://dev1.example.com`): redirect URI, cookie audience, return paths. */
  readonly publicUrl: URL;
  readonly binding: Binding;
  /** code-server, on loopback. */
  readonly upstream: { readonly host: string; readonly port: number };
  readonly listenPort: number;
  /** Upper bound of a session, in seconds; the ID token's own expiry always applies. @default undefined */
  readonly maxSessionSeconds?: number;
}

/** Exit status of a gate that refuses its configuration. */
export const CONFIG_EXIT_CODE = 2;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"));
  }
}

const httpsUrl = (what: string) =>
  z
    .string()
    .refine((text) => URL.canParse(text), `must be an absolute URL (${what})`)
    .transform((text) => new URL(text))
    .refine((url) => url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url.hostname)), {
      message: "must use https:// (plain http:// is accepted only on a loopback address, for tests)",
    })
    .refine((url) => !url.search && !url.hash && !url.username && !url.password, "must have no query, fragment or credentials");

const absolutePath = z.string().refine((path) => isAbsolute(path), "must be an absolute path to a file");
const variableName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "must be the name of an environment variable, e.g. GATE_CLIENT_SECRET");

/** Whether exactly one of two fields is given: the two ways to name one secret. */
const exactlyOne = (a: string, b: string) => (config: Record<string, unknown>) => (config[a] === undefined) !== (config[b] === undefined);
/** Run the check above even when other fields are wrong, so that one pass lists every problem. */
const isObject = (payload: { value: unknown }) => payload.value !== null && typeof payload.value === "object";

const fileSchema = z
  .object({
    issuer: httpsUrl("the provider's issuer, e.g. https://login.example.com"),
    clientId: z.string().trim().min(1, "must be the client id registered at the provider"),
    clientSecretFile: absolutePath.optional(),
    clientSecretEnv: variableName.optional(),
    cookieKeyFile: absolutePath.optional(),
    cookieKeyEnv: variableName.optional(),
    publicUrl: httpsUrl("the developer's own URL, e.g. https://dev1.example.com").refine(
      (url) => url.pathname === "/",
      "must be an origin only (https://dev1.example.com), without a path",
    ),
    identity: z
      .object({
        email: z.email("must be an email address").optional(),
        sub: z.string().trim().min(1, "must be the provider's subject identifier").optional(),
      })
      .strict()
      .refine((binding) => binding.email !== undefined || binding.sub !== undefined, "must give the developer's email or sub"),
    upstream: z
      .string()
      .refine((text) => URL.canParse(text), "must be code-server's address, e.g. http://127.0.0.1:8080")
      .transform((text) => new URL(text))
      .refine((url) => url.protocol === "http:" && isLoopback(url.hostname) && url.port !== "" && url.pathname === "/", {
        message: "must be http://<loopback address>:<port> (code-server runs with --auth none and must listen on loopback only)",
      }),
    listenPort: z.int("must be a whole number").min(1, "must be a port (1-65535)").max(65535, "must be a port (1-65535)"),
    maxSessionSeconds: z.int("must be a whole number of seconds").min(60, "must be at least 60 seconds").optional(),
  })
  .strict()
  .refine(exactlyOne("clientSecretFile", "clientSecretEnv"), {
    message: "give exactly one of clientSecretFile (a path) and clientSecretEnv (a variable name)",
    path: ["clientSecretFile"],
    when: isObject,
  })
  .refine(exactlyOne("cookieKeyFile", "cookieKeyEnv"), {
    message: "give exactly one of cookieKeyFile (a path) and cookieKeyEnv (a variable name)",
    path: ["cookieKeyFile"],
    when: isObject,
  });

/** The problems zod found, one line each, named by the field they concern. */
function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const field = issue.path.join(".") || "(file)";
    if (issue.code === "unrecognized_keys") return `${field}: unknown key(s) ${issue.keys.join(", ")}: remove them or fix their spelling`;
    return `${field}: ${issue.message}`;
  });
}

/** A secret file's content; refused when it is missing, empty, or open to other users. */
function readSecretFile(field: string, path: string): string {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    throw new ConfigError([
      `${field}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? "error"}): the host must write it first`,
    ]);
  }
  if ((mode & 0o007) !== 0 || (mode & 0o020) !== 0) {
    const octal = (mode & 0o777).toString(8);
    throw new ConfigError([`${field}: ${path} has mode ${octal}, open to other users: make it 0600 or 0640 (root-owned)`]);
  }
  const text = readFileSync(path, "utf8").trim();
  if (text === "") throw new ConfigError([`${field}: ${path} is empty: store the secret in it first`]);
  return text;
}

/** A secret from the environment, removed from it once read so that nothing the gate starts later inherits it. */
function readSecretVariable(field: string, name: string, env: NodeJS.ProcessEnv): string {
  const text = (env[name] ?? "").trim();
  delete env[name];
  if (text === "")
    throw new ConfigError([`${field}: the environment variable ${name} is not set or empty: the task definition must give it`]);
  return text;
}

/** A secret from the file or the variable the configuration names (exactly one, the schema saw to it). */
function readSecret(field: "clientSecret" | "cookieKey", source: { file?: string; env?: string }, env: NodeJS.ProcessEnv): string {
  return source.file !== undefined ? readSecretFile(`${field}File`, source.file) : readSecretVariable(`${field}Env`, source.env!, env);
}

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** The cookie key: base64 (or base64url) text of at least 32 random bytes, as `openssl rand -base64 32` prints. */
function parseCookieKey(source: { file?: string; env?: string }, text: string): Buffer {
  // node's base64 decoder reads both alphabets (base64 and base64url).
  const key = BASE64.test(text) ? Buffer.from(text, "base64") : Buffer.alloc(0);
  if (key.length < 32) {
    const where = source.file !== undefined ? `cookieKeyFile: ${source.file}` : `cookieKeyEnv: ${source.env}`;
    throw new ConfigError([`${where} must hold at least 32 random bytes as base64 (write it with: openssl rand -base64 32)`]);
  }
  return key;
}

/**
 * The configuration in `text` (the file at `path`, or the variable), with its secrets read from
 * their files or from `env`; throws ConfigError.
 */
export function parseConfig(text: string, path: string, env: NodeJS.ProcessEnv = process.env): GateConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([`${path} is not valid JSON: ${(err as Error).message}`]);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error));
  const file = parsed.data;
  const clientSecret = readSecret("clientSecret", { file: file.clientSecretFile, env: file.clientSecretEnv }, env);
  const cookieKeySource = { file: file.cookieKeyFile, env: file.cookieKeyEnv };
  return {
    issuer: file.issuer,
    clientId: file.clientId,
    ...(clientSecret === CLIENT_SECRET_PLACEHOLDER ? {} : { clientSecret }),
    cookieKey: parseCookieKey(cookieKeySource, readSecret("cookieKey", cookieKeySource, env)),
    publicUrl: file.publicUrl,
    binding: { email: file.identity.email?.toLowerCase(), sub: file.identity.sub },
    upstream: { host: file.upstream.hostname.replace(/^\[|\]$/g, ""), port: Number(file.upstream.port) },
    listenPort: file.listenPort,
    maxSessionSeconds: file.maxSessionSeconds,
  };
}

/** The variable that holds the whole configuration where no file can be written (ECS). */
export const CONFIG_VARIABLE = "GATE_CONFIG_JSON";

/** The configuration held by the variable CONFIG_VARIABLE of `env`; throws ConfigError. */
export function configFromEnvironment(env: NodeJS.ProcessEnv = process.env): GateConfig {
  return parseConfig(env[CONFIG_VARIABLE] ?? "", `the variable ${CONFIG_VARIABLE}`, env);
}

/** The configuration file at `path`; throws ConfigError. */
export function loadConfig(path: string): GateConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError([`cannot read the configuration file ${path} (${(err as NodeJS.ErrnoException).code ?? "error"})`]);
  }
  return parseConfig(text, path);
}
