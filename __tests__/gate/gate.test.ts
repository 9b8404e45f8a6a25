/**
 * The gate as the host runs it (the bundle `npm run build:gate` writes, in its own node process)
 * between a real OpenID provider (oidc-provider on loopback) and code-server's stand-in. Each
 * sign-in is driven request by request, as a browser would follow the redirects.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { buildGate, freePort, Jar, send, setCookies, start, Upstream, type Reply, type Running } from "./helpers";

const CLIENT_ID = "code-server-fleet";
const CLIENT_SECRET = `client-secret-${randomBytes(8).toString("hex")}`;
const SESSION = "__Host-gate-session";
const LOGIN = "__Host-gate-login";

let dir: string;
let keyFile: string;
let upstream: Upstream;
let idp: Running;
/** alice's gate: bound to her verified email. */
let gate: Running;
let gateUrl: string;
/** bob's gate: bound to his subject, sessions of at most two minutes, the same cookie key as alice's. */
let bobGate: Running;
let bobUrl: string;
let issuer: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gate-"));
  const secretFile = join(dir, "client-secret");
  writeFileSync(secretFile, `${CLIENT_SECRET}\n`, { mode: 0o600 });
  keyFile = join(dir, "cookie-key");
  writeFileSync(keyFile, randomBytes(32).toString("base64"), { mode: 0o600 });
  upstream = new Upstream();
  const upstreamPort = await upstream.listen();
  gateUrl = `http://127.0.0.1:${await freePort()}`;
  bobUrl = `http://127.0.0.1:${await freePort()}`;
  buildGate(join(dir, "gate.js"));
  const fixture = { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, publicUrls: [gateUrl, bobUrl] };
  idp = await start(["tools/launch.js", "__tests__/gate/fixtures/idp.ts"], { IDP_FIXTURE: JSON.stringify(fixture) }, /"issuer"/);
  issuer = (JSON.parse(idp.lines.find((line) => line.includes('"issuer"'))!) as { issuer: string }).issuer;
  const startGate = (name: string, publicUrl: string, fields: object) => {
    const config = {
      issuer,
      clientId: CLIENT_ID,
      clientSecretFile: secretFile,
      cookieKeyFile: keyFile,
      publicUrl,
      upstream: `http://127.0.0.1:${upstreamPort}`,
      listenPort: Number(new URL(publicUrl).port),
      ...fields,
    };
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(config));
    return start([join(dir, "gate.js"), "--config", join(dir, `${name}.json`)], {}, /"event":"listening"/);
  };
  [gate, bobGate] = await Promise.all([
    startGate("alice", gateUrl, { identity: { email: "alice@example.com" } }),
    startGate("bob", bobUrl, { identity: { sub: "bob" }, maxSessionSeconds: 120 }),
  ]);
});

afterAll(async () => {
  await gate?.stop();
  await bobGate?.stop();
  await idp?.stop();
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The gate's `count` log lines from the one about `path` on (a path no other test asks for), once
 * they arrived: a line can come after the HTTP answer it logs, but never before an earlier line.
 */
async function logFrom(path: string, count: number): Promise<Array<Record<string, string>>> {
  const entries = () => gate.lines.map((line) => JSON.parse(line) as Record<string, string>);
  for (let waited = 0; waited < 5000; waited += 10) {
    const from = entries().findIndex((entry) => entry.path === path);
    if (from >= 0 && gate.lines.length >= from + count) return entries().slice(from, from + count);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`the gate logged no ${count} lines from one about ${path}`);
}

function location(reply: Reply): URL {
  expect(reply.headers.location).toBeDefined();
  return new URL(reply.headers.location!, gateUrl);
}

interface SignIn {
  /** The gate's answer to the provider's redirect back. */
  readonly callback: Reply;
  /** The callback's path and query, as the provider sent the browser there. */
  readonly callbackPath: string;
  /** The browser's cookies for the gate before the callback (the login cookie among them). */
  readonly before: Jar;
  readonly jar: Jar;
}

/** A browser's sign-in as `user` at the gate `at`, starting at `path`; `mutation` alters the ID token the provider returns. */
async function signInAs(user: string, path = "/", mutation?: string, at = gateUrl): Promise<SignIn> {
  const jar = new Jar();
  const idpJar = new Jar();
  const toProvider = location(jar.take(await send(at, path)));
  expect(toProvider.origin).toBe(issuer);
  const toInteraction = location(idpJar.take(await send(issuer, `${toProvider.pathname}${toProvider.search}`, idpJar.header())));
  const signedIn = location(idpJar.take(await send(issuer, `${toInteraction.pathname}?as=${user}`, idpJar.header())));
  const back = location(idpJar.take(await send(issuer, `${signedIn.pathname}${signedIn.search}`, idpJar.header())));
  expect(back.origin).toBe(at);
  if (mutation) expect((await send(issuer, "/__test/next-id-token", {}, "POST", mutation)).status).toBe(204);
  const callbackPath = `${back.pathname}${back.search}`;
  const before = jar.copy();
  const callback = jar.take(await send(at, callbackPath, jar.header()));
  return { callback, callbackPath, before, jar };
}

async function sessionOf(user: string, at = gateUrl): Promise<Jar> {
  const { callback, jar } = await signInAs(user, "/", undefined, at);
  expect(callback.status).toBe(302);
  expect(jar.cookies.has(SESSION)).toBe(true);
  return jar;
}

describe("without a session", () => {
  it("sends a page load to the provider with PKCE, state and nonce, and keeps them in a short-lived login cookie", async () => {
    const seen = upstream.seen.length;
    const reply = await send(gateUrl, "/some/page?tab=2");
    expect(reply.status).toBe(302);
    const to = location(reply);
    expect(`${to.origin}${to.pathname}`).toBe(`${issuer}/auth`);
    const params = to.searchParams;
    expect(params.get("response_type")).toBe("code");
    expect(params.get("client_id")).toBe(CLIENT_ID);
    expect(params.get("redirect_uri")).toBe(`${gateUrl}/oauth2/callback`);
    expect(params.get("scope")).toBe("openid email");
    expect(params.get("code_challenge_method")).toBe("S256");
    expect(params.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get("state")!.length).toBeGreaterThanOrEqual(32);
    expect(params.get("nonce")!.length).toBeGreaterThanOrEqual(32);
    const [login] = setCookies(reply);
    expect(login.name).toBe(LOGIN);
    expect(login.value.split(".")).toHaveLength(5); // a compact JWE
    expect(login.value).not.toContain(params.get("state"));
    expect(Object.fromEntries(login.attributes)).toEqual({ "max-age": "600", path: "/", secure: "", httponly: "", samesite: "Lax" });
    expect(upstream.seen.length).toBe(seen);
  });

  it("answers 401, without starting a sign-in, what cannot follow one (a script's fetch, a POST)", async () => {
    const seen = upstream.seen.length;
    for (const reply of [await send(gateUrl, "/api", { "sec-fetch-mode": "cors" }), await send(gateUrl, "/upload", {}, "POST")]) {
      expect(reply.status).toBe(401);
      expect(reply.headers["set-cookie"]).toBeUndefined();
    }
    expect(upstream.seen.length).toBe(seen);
  });

  it("lets the load balancer's health check through to code-server, and nothing that only resembles it", async () => {
    const health = await send(gateUrl, "/healthz");
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: "alive" });
    for (const path of ["/healthz/../workbench", "/%68ealthz", "/healthz/", "/healthzz"]) {
      expect([path, (await send(gateUrl, path)).status]).toEqual([path, 302]);
    }
    expect((await send(gateUrl, "/healthz", {}, "POST")).status).toBe(401);
  });
});

describe("the developer's identity", () => {
  it("is proxied after sign-in, back on the page first asked for, with a Secure HttpOnly SameSite=Lax session", async () => {
    const { callback } = await signInAs("alice", "/some/page?tab=2");
    expect(callback.status).toBe(302);
    expect(callback.headers.location).toBe(`${gateUrl}/some/page?tab=2`);
    const cookies = new Map(setCookies(callback).map((c) => [c.name, c]));
    expect(cookies.get(LOGIN)!.attributes.get("max-age")).toBe("0");
    const session = cookies.get(SESSION)!;
    expect(session.value.split(".")).toHaveLength(5);
    expect(session.attributes.has("secure") && session.attributes.has("httponly")).toBe(true);
    expect(session.attributes.get("samesite")).toBe("Lax");
    expect(session.attributes.get("path")).toBe("/");
    expect(session.attributes.has("domain")).toBe(false);
    const maxAge = Number(session.attributes.get("max-age"));
    expect(maxAge).toBeGreaterThan(3000); // the provider's ID tokens live an hour
    expect(maxAge).toBeLessThanOrEqual(3600);
  });

  it("reaches code-server without the gate's cookies or any identity header a client sent", async () => {
    const jar = await sessionOf("alice");
    const reply = await send(gateUrl, "/workbench?folder=/home", {
      cookie: `theme=dark; ${jar.header().cookie}; lang=en`,
      "x-forwarded-user": "mallory",
      "x-forwarded-email": "mallory@example.com",
      "x-amzn-oidc-identity": "mallory",
      "remote-user": "mallory",
    });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ upstream: true, url: "/workbench?folder=/home" });
    const seen = upstream.seen[upstream.seen.length - 1];
    expect(seen.headers.cookie).toBe("theme=dark; lang=en");
    for (const header of ["x-forwarded-user", "x-forwarded-email", "x-amzn-oidc-identity", "remote-user"]) {
      expect(seen.headers[header]).toBeUndefined();
    }
  });

  it("takes the email from userinfo when the ID token carries none", async () => {
    const jar = await sessionOf("dana");
    const reply = await send(gateUrl, "/", jar.header());
    expect(reply.status).toBe(403);
    expect(reply.body).toContain("dana@example.com");
  });
});

describe("another identity", () => {
  it("gets a plain 403 page naming who they are signed in as and how to sign out, and never reaches code-server", async () => {
    const jar = await sessionOf("bob");
    const seen = upstream.seen.length;
    const reply = await send(gateUrl, "/", jar.header());
    expect(reply.status).toBe(403);
    expect(reply.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(reply.body).toContain("<strong>bob@example.com</strong>");
    expect(reply.body).toContain('<a href="/oauth2/sign-out">Sign out</a>');
    expect(reply.body).not.toContain("alice");
    expect(upstream.seen.length).toBe(seen);
  });

  it("with the developer's address unverified at the provider gets a 403 that says so", async () => {
    const jar = await sessionOf("mallory");
    const reply = await send(gateUrl, "/", jar.header());
    expect(reply.status).toBe(403);
    expect(reply.body).toContain("has not verified this email address");
    expect(reply.body).toContain("alice@example.com");
    // The subject the provider gave, which an operator may bind the workspace to instead.
    expect(reply.body).toContain("subject identifier: <code>mallory</code> (<code>sub:</code> in the roster)");
  });
});

describe("a developer bound by subject, with sessions of at most two minutes", () => {
  it("is admitted by subject, for no longer than the configured maximum", async () => {
    const { callback, jar } = await signInAs("bob", "/", undefined, bobUrl);
    const maxAge = Number(
      setCookies(callback)
        .find((c) => c.name === SESSION)!
        .attributes.get("max-age"),
    );
    expect(maxAge).toBeGreaterThan(100);
    expect(maxAge).toBeLessThanOrEqual(120);
    expect((await send(bobUrl, "/", jar.header())).status).toBe(200);
  });

  it("turns away the other developer, signed in at this URL or carrying a session from their own", async () => {
    const here = await send(bobUrl, "/", (await sessionOf("alice", bobUrl)).header());
    expect(here.status).toBe(403);
    expect(here.body).toContain("alice@example.com");
    // Both gates share a cookie key here; the session names alice's origin as its audience.
    const carried = await send(bobUrl, "/", (await sessionOf("alice")).header());
    expect(carried.status).toBe(302);
  });
});

describe("ID tokens the gate refuses at the callback", () => {
  const cases: Array<[string, string, string]> = [
    ["for another client (wrong audience)", "alice", "wrong-audience"],
    ["from another issuer", "alice", "wrong-issuer"],
    ["already expired", "alice", "expired"],
    ["unsigned (alg: none)", "alice", "alg-none"],
    ["signed with an algorithm the provider does not advertise (HS256, keyed with the client secret)", "alice", "hs256-client-secret"],
    ["signed with a key the provider does not publish", "alice", "foreign-key"],
    ["altered to name the developer (bob's token, alice's email)", "bob", "tampered"],
  ];
  it.each(cases)("refuses one %s: no session, a sign-in-refused line, still signed out", async (_label, user, mutation) => {
    const { callback, jar } = await signInAs(user, `/refused/${mutation}`, mutation);
    expect(callback.status).toBe(400);
    expect(callback.body).toContain("Sign-in failed");
    expect(setCookies(callback).some((c) => c.name === SESSION)).toBe(false);
    // The sign-in's start, its callback.
    expect((await logFrom(`/refused/${mutation}`, 2)).map((l) => l.decision)).toEqual(["sign-in", "sign-in-refused"]);
    expect((await send(gateUrl, "/", jar.header())).status).toBe(302);
  });
});

describe("state", () => {
  it("is refused when replayed, even with the login cookie it came with", async () => {
    const { callback, callbackPath, before } = await signInAs("alice");
    expect(callback.status).toBe(302);
    const replay = await send(gateUrl, callbackPath, before.header());
    expect(replay.status).toBe(400);
    expect(replay.body).toContain("already completed (state replayed)");
    expect(replay.headers["set-cookie"]).toBeUndefined();
  });

  it("is refused when it is not the state of this browser's sign-in", async () => {
    const first = await signInAs("alice");
    // Another sign-in of this browser replaces the login cookie; the first callback's state no longer matches it.
    const jar = first.before.copy();
    jar.take(await send(gateUrl, "/"));
    const reply = await send(gateUrl, first.callbackPath.replace(/code=[^&]+/, "code=unused"), jar.header());
    expect(reply.status).toBe(400);
    expect(reply.body).toContain("unexpected &quot;state&quot; response parameter value");
    expect(reply.headers["set-cookie"]?.some((c) => c.startsWith(SESSION))).toBeFalsy();
  });

  it("ends a sign-in the provider refused with its error code, and no session", async () => {
    const jar = new Jar();
    const state = location(jar.take(await send(gateUrl, "/"))).searchParams.get("state")!;
    const query = new URLSearchParams({ error: "access_denied", error_description: "<b>cancelled</b>", state, iss: issuer });
    const reply = await send(gateUrl, `/oauth2/callback?${query.toString()}`, jar.header());
    expect(reply.status).toBe(400);
    expect(reply.body).toContain("(access_denied)");
    expect(reply.body).not.toContain("<b>");
    expect(reply.headers["set-cookie"]?.some((c) => c.startsWith(SESSION))).toBeFalsy();
  });

  it("is refused when the browser started no sign-in here (a callback link from elsewhere)", async () => {
    const { callbackPath } = await signInAs("bob");
    const reply = await send(gateUrl, callbackPath);
    expect(reply.status).toBe(400);
    expect(reply.body).toContain("no sign-in in progress");
  });
});

describe("the page to return to", () => {
  it.each(["//evil.example/x", "/\\evil.example/x", "http://evil.example/x", "/.//evil.example/x", "<gate>/oauth2/callback"])(
    "is this origin's / when the sign-in started at %s",
    async (target) => {
      const { callback } = await signInAs("alice", target.replace("<gate>", gateUrl));
      expect(callback.status).toBe(302);
      expect(callback.headers.location).toBe(`${gateUrl}/`);
    },
  );
});

describe("session cookies the gate did not issue, or no longer honours", () => {
  const forged = async (fields: Record<string, unknown>) => {
    const request = {
      keyFile,
      publicUrl: gateUrl,
      issuer,
      sub: "alice",
      email: "alice@example.com",
      emailVerified: true,
      expiresIn: 600,
      ...fields,
    };
    const reply = await send(issuer, "/__test/session-cookie", {}, "POST", JSON.stringify(request));
    expect(reply.status).toBe(200);
    return reply.body;
  };
  const otherKey = () => {
    const file = join(dir, "other-key");
    writeFileSync(file, randomBytes(32).toString("base64"));
    return file;
  };

  it("admits one sealed as the gate seals it (so the refusals below are about what was changed)", async () => {
    expect((await send(gateUrl, "/", { cookie: `${SESSION}=${await forged({})}` })).status).toBe(200);
  });

  const refused: Array<[string, () => Record<string, unknown>, string]> = [
    ["expired", () => ({ expiresIn: -60 }), "session expired"],
    ["sealed with another key", () => ({ keyFile: otherKey() }), "session invalid"],
    ["for another developer's origin (wrong audience)", () => ({ publicUrl: "https://dev2.example.com" }), "session wrong aud"],
    ["from another provider (wrong issuer)", () => ({ issuer: "https://login.evil.example" }), "session wrong iss"],
    ["unsigned and unencrypted (alg: none)", () => ({ unsecured: true }), "session invalid"],
  ];
  it.each(refused)("treats one %s as no session", async (_label, fields, reason) => {
    const cookie = await forged(fields());
    const seen = upstream.seen.length;
    const page = `/forged/${reason.replace(/ /g, "-")}/${Math.random()}`;
    expect((await send(gateUrl, page, { cookie: `${SESSION}=${cookie}` })).status).toBe(302);
    expect((await send(gateUrl, "/api", { cookie: `${SESSION}=${cookie}`, "sec-fetch-mode": "cors" })).status).toBe(401);
    expect((await logFrom(page, 2)).map((l) => [l.decision, l.reason])).toEqual([
      ["sign-in", reason],
      ["unauthenticated", reason],
    ]);
    expect(upstream.seen.length).toBe(seen);
  });

  it("treats a real session with one character changed as no session", async () => {
    const value = (await sessionOf("alice")).cookies.get(SESSION)!;
    const at = value.lastIndexOf(".") - 5; // inside the ciphertext
    const altered = `${value.slice(0, at)}${value[at] === "A" ? "B" : "A"}${value.slice(at + 1)}`;
    expect((await send(gateUrl, "/", { cookie: `${SESSION}=${value}` })).status).toBe(200);
    expect((await send(gateUrl, "/", { cookie: `${SESSION}=${altered}` })).status).toBe(302);
  });
});

describe("sign-out", () => {
  it("ends the session and goes to the provider's end_session_endpoint, which returns to the signed-out page", async () => {
    const jar = await sessionOf("alice");
    const copied = jar.copy();
    const reply = jar.take(await send(gateUrl, "/oauth2/sign-out", jar.header()));
    expect(reply.status).toBe(302);
    const to = location(reply);
    expect(`${to.origin}${to.pathname}`).toBe(`${issuer}/session/end`);
    expect(to.searchParams.get("client_id")).toBe(CLIENT_ID);
    expect(to.searchParams.get("post_logout_redirect_uri")).toBe(`${gateUrl}/oauth2/signed-out`);
    expect(to.searchParams.get("id_token_hint")!.split(".")).toHaveLength(3);
    expect(jar.cookies.has(SESSION)).toBe(false);
    expect((await send(gateUrl, "/", jar.header())).status).toBe(302);
    // A copy of the cookie taken before sign-out opens nothing either.
    expect((await send(gateUrl, "/", copied.header())).status).toBe(302);
    const page = await send(gateUrl, "/oauth2/signed-out");
    expect(page.status).toBe(200);
    expect(page.body).toContain("You are signed out");
  });
});

describe("websockets", () => {
  const open = (cookie?: string) =>
    new Promise<{ socket?: WebSocket; status?: number }>((resolve) => {
      const socket = new WebSocket(`${gateUrl.replace("http", "ws")}/stable-1/ws?reconnection=false`, {
        headers: cookie ? { cookie } : {},
        origin: gateUrl,
      });
      socket.once("open", () => resolve({ socket }));
      socket.once("unexpected-response", (req, res) => {
        req.destroy();
        resolve({ status: res.statusCode });
      });
      socket.once("error", () => resolve({}));
    });

  it("pass through for the developer, both ways, without the gate's cookie", async () => {
    const { socket } = await open((await sessionOf("alice")).header().cookie);
    expect(socket).toBeDefined();
    const echoed = new Promise<string>((resolve) => socket!.once("message", (data: Buffer) => resolve(data.toString())));
    socket!.send("hello through the gate");
    expect(await echoed).toBe("hello through the gate");
    socket!.close();
    const handshake = upstream.seen[upstream.seen.length - 1];
    expect(handshake.url).toBe("/stable-1/ws?reconnection=false");
    expect(handshake.headers.cookie).toBeUndefined();
  });

  it("are refused without a session (401) and for another identity (403)", async () => {
    const seen = upstream.seen.length;
    expect((await open()).status).toBe(401);
    expect((await open((await sessionOf("bob")).header().cookie)).status).toBe(403);
    expect(upstream.seen.length).toBe(seen);
  });

  it("are cut when the session that opened them ends, and the session's cookie then opens nothing", async () => {
    const request = { keyFile, publicUrl: gateUrl, issuer, sub: "alice", email: "alice@example.com", emailVerified: true, expiresIn: 2 };
    const cookie = (await send(issuer, "/__test/session-cookie", {}, "POST", JSON.stringify(request))).body;
    const { socket } = await open(`${SESSION}=${cookie}`);
    expect(socket).toBeDefined();
    const cut = new Promise<string>((resolve) => socket!.once("close", () => resolve("cut")));
    const stillOpen = new Promise<string>((resolve) => setTimeout(() => resolve("still open"), 4000).unref());
    expect(await Promise.race([cut, stillOpen])).toBe("cut");
    // The same cookie, admitted a moment ago, no longer is.
    expect((await send(gateUrl, "/", { cookie: `${SESSION}=${cookie}` })).status).toBe(302);
  });
});

describe("logs", () => {
  it("have one JSON line per decision and no secret, token, code or cookie", () => {
    const entries = gate.lines.map((line) => JSON.parse(line) as Record<string, string>);
    const decisions = new Set(entries.map((e) => e.decision).filter(Boolean));
    for (const d of [
      "allow",
      "health",
      "sign-in",
      "unauthenticated",
      "wrong-identity",
      "unverified-email",
      "signed-in",
      "sign-in-refused",
      "signed-out",
    ]) {
      expect([d, decisions.has(d)]).toEqual([d, true]);
    }
    const text = [...gate.lines, ...bobGate.lines, gate.stderr(), bobGate.stderr()].join("\n");
    expect(text).not.toContain(CLIENT_SECRET);
    expect(text).not.toMatch(/code=|state=|eyJ/); // no query string, no JOSE object
    for (const entry of entries.filter((e) => !e.event)) {
      expect(Object.keys(entry).slice(0, 2)).toEqual(["time", "decision"]);
      expect(typeof entry.method === "string" && entry.path.startsWith("/") && !entry.path.includes("?")).toBe(true);
      if (["allow", "wrong-identity", "unverified-email", "signed-in"].includes(entry.decision))
        expect(entry.who).toMatch(/@example\.com$/);
    }
  });
});

describe("a configuration the gate refuses", () => {
  it("stops it before it listens, with the field and what to write", async () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ issuer: "http://login.example.com", clientId: CLIENT_ID, listenPort: 8443 }));
    chmodSync(bad, 0o600);
    const run = start([join(dir, "gate.js"), "--config", bad], {}, /listening/);
    await expect(run).rejects.toThrow(
      /exited with 2:\ngate: refusing to start, .*bad\.json is not usable:\n {2}- issuer: must use https:\/\//,
    );
  });
});

describe("a gate configured from its environment, as ECS starts it, before the client secret is stored", () => {
  it("takes its secrets from variables it then forgets, answers a sign-in with what is missing, and passes the health check", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const config = {
      issuer,
      clientId: CLIENT_ID,
      clientSecretEnv: "GATE_CLIENT_SECRET",
      cookieKeyEnv: "GATE_COOKIE_KEY",
      publicUrl: url,
      identity: { email: "alice@example.com" },
      upstream: `http://127.0.0.1:${(upstream.server.address() as AddressInfo).port}`,
      listenPort: Number(new URL(url).port),
    };
    const env = {
      GATE_CONFIG_JSON: JSON.stringify(config),
      GATE_CLIENT_SECRET: "not-set",
      GATE_COOKIE_KEY: randomBytes(32).toString("base64"),
    };
    const pending = start([join(dir, "gate.js")], env, /"event":"listening"/);
    const unset = await pending;
    try {
      const page = await send(url, "/", { accept: "text/html" });
      expect(page.status).toBe(503);
      expect(page.body).toContain("Sign-in not set up yet");
      expect(page.body).toContain("set-oidc-client-secret.sh");
      expect((await send(url, "/healthz")).status).toBe(200);
      expect(unset.lines.some((line) => line.includes('"event":"not-configured"'))).toBe(true);
    } finally {
      await unset.stop();
    }
  });
});
