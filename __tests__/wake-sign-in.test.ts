/**
 * Waking with a company sign-in: against a real OpenID provider (the gate tests' oidc-provider
 * fixture), the wake function signs a visitor in as the developer's gate does, admits only the
 * developer's identity, and issues the session the gate itself opens once the developer is awake.
 * Nobody else costs an AWS call beyond reading the developer's gate.
 */
import "./helpers/quiet-aws-sdk";
import { randomBytes } from "node:crypto";
import type { Binding } from "../src/identity/gate/config";
import { CookieSealer } from "../src/identity/gate/cookies";
import { decide } from "../src/identity/gate/identity";
import { makeClients } from "../src/lambdas/sleep-wake/aws";
import { loadConfig } from "../src/lambdas/sleep-wake/config";
import { wake } from "../src/lambdas/wake/handler";
import type { AlbResponse } from "../src/lambdas/wake/page";
import { type AlbEvent, requestOf } from "../src/lambdas/wake/request";
import { SignIn } from "../src/lambdas/wake/sign-in";
import type { GateStore } from "../src/lambdas/wake/sign-in-settings";
import { bindingOf, loadSignIn } from "../src/lambdas/wake/sign-in-settings";
import { RouteCache } from "../src/lambdas/wake/state";
import { Jar, send, start, type Running } from "./gate/helpers";
import { envOf, mockedClients } from "./helpers/sleep-wake";

process.env.AWS_REGION = "ap-southeast-7";
const CLIENT_ID = "code-server-fleet";
const CLIENT_SECRET = `client-secret-${randomBytes(8).toString("hex")}`;
const DOMAIN = "dev.example.com";
const SESSION = "__Host-gate-session";
const LOGIN = "__Host-gate-login";
const keys: Record<string, string> = { dev1: randomBytes(32).toString("base64"), dev2: randomBytes(32).toString("base64") };
const bindings: Record<string, Binding> = { dev1: { email: "alice@example.com" }, dev2: { sub: "bob" } };

let idp: Running;
let issuer: string;
let reads: string[];
let clientSecret: string;

/** Secrets and parameters as Secrets Manager and Parameter Store would hold them, with every read recorded. */
const store: GateStore = {
  secret(id) {
    reads.push(id);
    if (id === "code-server/dev/oidc-client-secret") return Promise.resolve(clientSecret);
    const key = keys[/^code-server\/dev\/([a-z0-9-]+)\/gate-cookie-key$/.exec(id)?.[1] ?? ""];
    return key ? Promise.resolve(key) : Promise.reject(new Error(`ResourceNotFoundException: ${id}`));
  },
  binding(name) {
    reads.push(name);
    return Promise.resolve(bindings[/^\/code-server\/dev\/([a-z0-9-]+)\/sign-in$/.exec(name)?.[1] ?? ""]);
  },
};

function signInOf(): SignIn {
  const settings = loadSignIn({
    SIGN_IN: JSON.stringify({
      issuer,
      clientId: CLIENT_ID,
      clientSecretId: "code-server/dev/oidc-client-secret",
      cookieKeyId: "code-server/dev/{developer}/gate-cookie-key",
      bindingName: "/code-server/dev/{developer}/sign-in",
    }),
  })!;
  return new SignIn(settings, store, DOMAIN);
}

function eventOf(developer: string, target: string, headers: Record<string, string> = {}, method = "GET"): AlbEvent {
  // ALB hands the query over as the browser sent it, still URL-encoded.
  const [path, query = ""] = target.split("?", 2);
  const pairs = query === "" ? [] : query.split("&").map((pair) => [pair.split("=", 1)[0], pair.slice(pair.indexOf("=") + 1)]);
  const queryStringParameters = Object.fromEntries(pairs);
  return { httpMethod: method, path, queryStringParameters, headers: { host: `${developer}.${DOMAIN}`, ...headers } };
}

const asked = (signIn: SignIn, developer: string, target: string, headers: Record<string, string> = {}, method = "GET") =>
  signIn.admit(developer, requestOf(eventOf(developer, target, headers, method)));

function answer(admission: "allowed" | AlbResponse): AlbResponse {
  if (admission === "allowed") throw new Error("expected an answer, the request was allowed");
  return admission;
}

/** What a browser holds after the answer `response` (its Set-Cookie). */
function take(jar: Jar, response: AlbResponse): AlbResponse {
  const cookie = response.headers["set-cookie"];
  jar.take({ status: response.statusCode, headers: cookie ? { "set-cookie": [cookie] } : {}, body: response.body });
  return response;
}

/** A browser's sign-in as `user` at `developer`'s sleeping address, from `path`; the wake's answer to the callback. */
async function signInAs(signIn: SignIn, developer: string, user: string, path = "/"): Promise<{ callback: AlbResponse; jar: Jar }> {
  const jar = new Jar();
  const idpJar = new Jar();
  const toProvider = new URL(take(jar, answer(await asked(signIn, developer, path))).headers.location);
  expect(toProvider.origin).toBe(issuer);
  const hop = async (target: string) => new URL(idpJar.take(await send(issuer, target, idpJar.header())).headers.location!, issuer);
  const interaction = await hop(`${toProvider.pathname}${toProvider.search}`);
  const signedIn = await hop(`${interaction.pathname}?as=${user}`);
  const back = await hop(`${signedIn.pathname}${signedIn.search}`);
  expect(back.origin).toBe(`https://${developer}.${DOMAIN}`);
  const callback = take(jar, answer(await asked(signIn, developer, `${back.pathname}${back.search}`, jar.header())));
  return { callback, jar };
}

beforeAll(async () => {
  const fixture = { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, publicUrls: [`https://dev1.${DOMAIN}`, `https://dev2.${DOMAIN}`] };
  idp = await start(["tools/launch.js", "__tests__/gate/fixtures/idp.ts"], { IDP_FIXTURE: JSON.stringify(fixture) }, /"issuer"/);
  issuer = (JSON.parse(idp.lines.find((line) => line.includes('"issuer"'))!) as { issuer: string }).issuer;
});

afterAll(() => idp?.stop());

beforeEach(() => {
  reads = [];
  clientSecret = CLIENT_SECRET;
});

describe("a visit without a session", () => {
  it("is sent to the provider with PKCE, state and nonce in a login cookie, and wakes nothing yet", async () => {
    const response = answer(await asked(signInOf(), "dev1", "/?folder=/home/coder"));
    expect(response.statusCode).toBe(302);
    const to = new URL(response.headers.location);
    expect(to.searchParams.get("redirect_uri")).toBe(`https://dev1.${DOMAIN}/oauth2/callback`);
    expect(to.searchParams.get("code_challenge_method")).toBe("S256");
    expect(to.searchParams.get("state")).toBeTruthy();
    expect(to.searchParams.get("nonce")).toBeTruthy();
    expect(response.headers["set-cookie"]).toMatch(new RegExp(`^${LOGIN}=[^;]+;.*HttpOnly.*Secure`, "i"));
  });

  it("gets a bare 401 when it cannot follow a sign-in (a script's fetch, a POST)", async () => {
    const signIn = signInOf();
    for (const [headers, method] of [
      [{ "sec-fetch-mode": "cors" }, "GET"],
      [{}, "POST"],
    ] as const) {
      expect(answer(await asked(signIn, "dev1", "/", headers, method)).statusCode).toBe(401);
    }
  });

  it("says sign-in is not set up while the client secret holds its placeholder", async () => {
    clientSecret = "not-set";
    const response = answer(await asked(signInOf(), "dev1", "/"));
    expect(response.statusCode).toBe(503);
    expect(response.body).toContain("set-oidc-client-secret.sh");
  });

  it("at a host that names no developer is a plain 404, and no secret is read", async () => {
    const response = answer(await asked(signInOf(), "nobody", "/"));
    expect(response.statusCode).toBe(404);
    expect(reads).toEqual(["/code-server/dev/nobody/sign-in"]);
  });
});

describe("the developer's own identity", () => {
  it("signs in, returns to the page first asked for, and is then allowed to wake them", async () => {
    const signIn = signInOf();
    const { callback, jar } = await signInAs(signIn, "dev1", "alice", "/?folder=/home/coder");
    expect(callback.statusCode).toBe(302);
    expect(callback.headers.location).toBe(`https://dev1.${DOMAIN}/?folder=/home/coder`);
    expect(jar.cookies.has(SESSION)).toBe(true);
    expect(await asked(signIn, "dev1", "/", jar.header())).toBe("allowed");
  });

  it("holds the session the developer's gate opens once awake: sealed with their cookie key, for their origin", async () => {
    const { jar } = await signInAs(signInOf(), "dev1", "alice");
    const gateSealer = await CookieSealer.create(Buffer.from(keys.dev1, "base64"), new URL(`https://dev1.${DOMAIN}`), new URL(issuer));
    const opened = await gateSealer.openSession(jar.header().cookie);
    expect("value" in opened && decide(opened.value, bindings.dev1)).toBe("allow");
    const otherGate = await CookieSealer.create(Buffer.from(keys.dev2, "base64"), new URL(`https://dev2.${DOMAIN}`), new URL(issuer));
    expect(await otherGate.openSession(jar.header().cookie)).toEqual({ reason: "invalid" });
  });

  it("by subject, where the roster binds one", async () => {
    const signIn = signInOf();
    const { jar } = await signInAs(signIn, "dev2", "bob");
    expect(await asked(signIn, "dev2", "/", jar.header())).toBe("allowed");
  });
});

describe("anyone else", () => {
  it("signed in as another person gets the gate's 403 page naming them, and wakes nothing", async () => {
    const signIn = signInOf();
    const { jar } = await signInAs(signIn, "dev1", "bob");
    const response = answer(await asked(signIn, "dev1", "/", jar.header()));
    expect(response.statusCode).toBe(403);
    expect(response.body).toContain("bob@example.com");
    expect(response.body).toContain("/oauth2/sign-out");
  });

  it("with the developer's address unverified at the provider gets a 403 that says so", async () => {
    const signIn = signInOf();
    const { jar } = await signInAs(signIn, "dev1", "mallory");
    const response = answer(await asked(signIn, "dev1", "/", jar.header()));
    expect(response.statusCode).toBe(403);
    expect(response.body).toContain("not verified");
  });

  it("cannot replay a completed sign-in's callback", async () => {
    const signIn = signInOf();
    const jar = new Jar();
    const idpJar = new Jar();
    const toProvider = new URL(take(jar, answer(await asked(signIn, "dev1", "/"))).headers.location);
    const hop = async (target: string) => new URL(idpJar.take(await send(issuer, target, idpJar.header())).headers.location!, issuer);
    const interaction = await hop(`${toProvider.pathname}${toProvider.search}`);
    const signedIn = await hop(`${interaction.pathname}?as=alice`);
    const back = await hop(`${signedIn.pathname}${signedIn.search}`);
    const loginOnly = jar.header();
    expect(answer(await asked(signIn, "dev1", `${back.pathname}${back.search}`, loginOnly)).statusCode).toBe(302);
    const replay = answer(await asked(signIn, "dev1", `${back.pathname}${back.search}`, loginOnly));
    expect(replay.statusCode).toBe(400);
    expect(replay.headers["set-cookie"]).toBeUndefined();
  });

  it("signing out clears the session and goes to the provider's end_session_endpoint", async () => {
    const signIn = signInOf();
    const { jar } = await signInAs(signIn, "dev1", "alice");
    const response = take(jar, answer(await asked(signIn, "dev1", "/oauth2/sign-out", jar.header())));
    expect(response.statusCode).toBe(302);
    expect(new URL(response.headers.location).origin).toBe(issuer);
    expect(jar.cookies.has(SESSION)).toBe(false);
  });
});

describe("the wake function with a sign-in", () => {
  const mocks = mockedClients();
  afterAll(() => mocks.restore());

  it("reads no rule, starts nothing and logs no wake for a visitor without the developer's session", async () => {
    const deps = {
      config: loadConfig(envOf("host")),
      clients: makeClients(),
      now: () => new Date(),
      log: () => undefined,
      routes: new RouteCache(),
      starts: new Map<string, number>(),
      signIn: signInOf(),
    };
    const response = await wake(deps, eventOf("dev1", "/"));
    expect(response.statusCode).toBe(302);
    expect(new URL(response.headers.location).origin).toBe(issuer);
    expect(mocks.callCount()).toBe(0);
  });
});

describe("the settings and the bindings", () => {
  it("read a binding by email in lower case, or by subject, and refuse anything else naming the parameter", () => {
    expect(bindingOf("/p", '{"email":"Alice@Example.com"}')).toEqual({ email: "alice@example.com" });
    expect(bindingOf("/p", '{"sub":"248289761001"}')).toEqual({ sub: "248289761001" });
    expect(() => bindingOf("/code-server/dev/dev1/sign-in", '{"name":"x"}')).toThrow(/\/code-server\/dev\/dev1\/sign-in must hold/);
  });

  it("name each wrong field of SIGN_IN", () => {
    const wrong = JSON.stringify({
      issuer: "http://login.example.com",
      clientId: "",
      clientSecretId: "x",
      cookieKeyId: "x",
      bindingName: "y",
    });
    expect(() => loadSignIn({ SIGN_IN: wrong })).toThrow(
      /SIGN_IN\.issuer must be .*https:\/\/[\s\S]*SIGN_IN\.clientId[\s\S]*SIGN_IN\.cookieKeyId must be .*\{developer\}[\s\S]*SIGN_IN\.bindingName/,
    );
    expect(() => loadSignIn({ SIGN_IN: "{" })).toThrow(/SIGN_IN is not JSON/);
    expect(loadSignIn({})).toBeUndefined();
  });
});
