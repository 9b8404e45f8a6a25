/**
 * The gate's configuration: what it accepts, and each refusal naming the field and the remedy.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CLIENT_SECRET_PLACEHOLDER,
  CONFIG_VARIABLE,
  ConfigError,
  configFromEnvironment,
  isLoopback,
  loadConfig,
  parseConfig,
} from "../../src/identity/gate/config";

let dir: string;
let secretFile: string;
let keyFile: string;
const KEY = randomBytes(32);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "gate-config-"));
  secretFile = join(dir, "client-secret");
  keyFile = join(dir, "cookie-key");
  writeFileSync(secretFile, "the-client-secret\n", { mode: 0o600 });
  writeFileSync(keyFile, `${KEY.toString("base64")}\n`, { mode: 0o640 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const valid = () => ({
  issuer: "https://login.example.com",
  clientId: "code-server-fleet",
  clientSecretFile: secretFile,
  cookieKeyFile: keyFile,
  publicUrl: "https://dev1.example.com",
  identity: { email: "Alice@Example.com" },
  upstream: "http://127.0.0.1:8080",
  listenPort: 8443,
});

/** The valid configuration with its secrets named as ECS gives them: environment variables. */
const fromVariables = () => ({
  ...valid(),
  clientSecretFile: undefined,
  cookieKeyFile: undefined,
  clientSecretEnv: "GATE_CLIENT_SECRET",
  cookieKeyEnv: "GATE_COOKIE_KEY",
});

/** The problems parseConfig reports for `config`. */
function problems(config: unknown): string[] {
  try {
    parseConfig(JSON.stringify(config), "gate.json");
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error("the configuration was accepted");
}

/** A file of exactly `mode`, whatever the umask. */
function writeWithMode(file: string, mode: number): void {
  writeFileSync(file, "s");
  chmodSync(file, mode);
}

describe("a valid configuration", () => {
  it("is read with its secret files, the email compared in lower case, code-server's address split", () => {
    const config = parseConfig(JSON.stringify({ ...valid(), maxSessionSeconds: 3600 }), "gate.json");
    expect(config.issuer.href).toBe("https://login.example.com/");
    expect(config.clientSecret).toBe("the-client-secret");
    expect(config.cookieKey.equals(KEY)).toBe(true);
    expect(config.publicUrl.origin).toBe("https://dev1.example.com");
    expect(config.binding).toEqual({ email: "alice@example.com", sub: undefined });
    expect(config.upstream).toEqual({ host: "127.0.0.1", port: 8080 });
    expect(config.listenPort).toBe(8443);
    expect(config.maxSessionSeconds).toBe(3600);
  });

  it("may bind the developer by sub, and reach the provider over http on loopback only", () => {
    const config = parseConfig(JSON.stringify({ ...valid(), issuer: "http://127.0.0.1:9000", identity: { sub: "00u1abc" } }), "gate.json");
    expect(config.binding.sub).toBe("00u1abc");
    expect(config.issuer.protocol).toBe("http:");
  });

  it("may take its secrets from variables (ECS), and removes them from the environment once read", () => {
    const env: NodeJS.ProcessEnv = { GATE_CLIENT_SECRET: "from-ecs", GATE_COOKIE_KEY: KEY.toString("base64"), OTHER: "kept" };
    const config = parseConfig(JSON.stringify(fromVariables()), "gate.json", env);
    expect(config.clientSecret).toBe("from-ecs");
    expect(config.cookieKey.equals(KEY)).toBe(true);
    expect(env).toEqual({ OTHER: "kept" });
  });

  it("reads the whole configuration from GATE_CONFIG_JSON where no file can be written", () => {
    const env: NodeJS.ProcessEnv = {
      [CONFIG_VARIABLE]: JSON.stringify(fromVariables()),
      GATE_CLIENT_SECRET: "from-ecs",
      GATE_COOKIE_KEY: KEY.toString("base64"),
    };
    expect(configFromEnvironment(env).publicUrl.origin).toBe("https://dev1.example.com");
  });

  it("has no client secret while it holds the deployment's placeholder: sign-in is not set up yet", () => {
    const env: NodeJS.ProcessEnv = { GATE_CLIENT_SECRET: CLIENT_SECRET_PLACEHOLDER, GATE_COOKIE_KEY: KEY.toString("base64") };
    expect(parseConfig(JSON.stringify(fromVariables()), "gate.json", env).clientSecret).toBeUndefined();
  });

  it("takes a base64url cookie key too", () => {
    const url = join(dir, "key-url");
    writeFileSync(url, KEY.toString("base64url"), { mode: 0o600 });
    expect(parseConfig(JSON.stringify({ ...valid(), cookieKeyFile: url }), "gate.json").cookieKey.equals(KEY)).toBe(true);
  });
});

describe("a configuration the gate refuses", () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ["an issuer over plain http off loopback", { issuer: "http://login.example.com" }, /^issuer: must use https:\/\//],
    ["an issuer that is not a URL", { issuer: "login.example.com" }, /^issuer: must be an absolute URL/],
    ["a public URL with a path", { publicUrl: "https://dev1.example.com/ide" }, /^publicUrl: must be an origin only/],
    ["no identity", { identity: {} }, /^identity: must give the developer's email or sub/],
    ["an identity that is not an email", { identity: { email: "alice" } }, /^identity\.email: must be an email address/],
    [
      "code-server off loopback",
      { upstream: "http://10.0.1.5:8080" },
      /^upstream: must be http:\/\/<loopback address>:<port> .*--auth none/,
    ],
    ["code-server without a port", { upstream: "http://127.0.0.1" }, /^upstream: must be http:\/\/<loopback address>:<port>/],
    ["a port out of range", { listenPort: 70000 }, /^listenPort: must be a port \(1-65535\)/],
    ["a session shorter than a minute", { maxSessionSeconds: 5 }, /^maxSessionSeconds: must be at least 60 seconds/],
    ["a relative secret path", { clientSecretFile: "client-secret" }, /^clientSecretFile: must be an absolute path/],
    ["the secret itself instead of its file", { clientSecret: "hunter2" }, /^\(file\): unknown key\(s\) clientSecret: remove them/],
  ])("%s", (_label, change, message) => {
    const found = problems({ ...valid(), ...change });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message);
  });

  it("lists every missing field", () => {
    expect(problems({ issuer: "https://login.example.com" }).map((p) => p.split(":")[0])).toEqual([
      "clientId",
      "publicUrl",
      "identity",
      "upstream",
      "listenPort",
      "clientSecretFile",
      "cookieKeyFile",
    ]);
  });

  it("takes each secret from a file or from a variable, never both", () => {
    expect(problems({ ...valid(), clientSecretEnv: "GATE_CLIENT_SECRET" })).toEqual([
      "clientSecretFile: give exactly one of clientSecretFile (a path) and clientSecretEnv (a variable name)",
    ]);
    expect(problems({ ...valid(), cookieKeyFile: undefined, cookieKeyEnv: "gate key" })).toEqual([
      "cookieKeyEnv: must be the name of an environment variable, e.g. GATE_CLIENT_SECRET",
    ]);
  });

  it("refuses a variable that is not set", () => {
    const env = {};
    expect(() => parseConfig(JSON.stringify(fromVariables()), "gate.json", env)).toThrow(
      /^clientSecretEnv: the environment variable GATE_CLIENT_SECRET is not set or empty: the task definition must give it$/,
    );
  });

  it.each<[string, (file: string) => void, RegExp]>([
    ["missing", () => undefined, /^clientSecretFile: cannot read .*\/absent \(ENOENT\): the host must write it first$/],
    ["readable by other users", (file) => writeWithMode(file, 0o644), /has mode 644, open to other users: make it 0600 or 0640/],
    ["writable by its group", (file) => writeWithMode(file, 0o660), /has mode 660, open to other users/],
    ["empty", (file) => writeFileSync(file, "\n", { mode: 0o600 }), /is empty: store the secret in it first/],
  ])("refuses a client secret file that is %s", (_label, prepare, message) => {
    const file = join(dir, "absent");
    rmSync(file, { force: true });
    prepare(file);
    expect(problems({ ...valid(), clientSecretFile: file })).toEqual([expect.stringMatching(message)]);
    rmSync(file, { force: true });
  });

  it.each([
    ["too short", randomBytes(16).toString("base64")],
    ["not base64", "not a key at all, just words"],
  ])("refuses a cookie key that is %s, saying how to make one", (_label, text) => {
    const file = join(dir, "bad-key");
    writeFileSync(file, text, { mode: 0o600 });
    expect(problems({ ...valid(), cookieKeyFile: file })).toEqual([
      `cookieKeyFile: ${file} must hold at least 32 random bytes as base64 (write it with: openssl rand -base64 32)`,
    ]);
  });

  it("refuses a file that is not JSON, or not there", () => {
    expect(() => parseConfig("{ issuer: ", "gate.json")).toThrow(/^gate\.json is not valid JSON/);
    expect(() => loadConfig(join(dir, "nowhere.json"))).toThrow(/^cannot read the configuration file .*nowhere\.json \(ENOENT\)$/);
  });
});

describe("loopback", () => {
  it.each([
    ["localhost", true],
    ["127.0.0.1", true],
    ["127.8.9.10", true],
    ["[::1]", true],
    ["10.0.0.1", false],
    ["0.0.0.0", false],
    ["127.example.com", false],
    ["[::ffff:10.0.0.1]", false],
  ])("%s is loopback: %s", (host, expected) => {
    expect(isLoopback(host)).toBe(expected);
  });
});
