/**
 * The provider fixture as the rehearsal runs it (rehearse/provider.ts): on the address and port it
 * is given, over HTTPS with the certificate it is given, and with a sign-in page a browser clicks
 * through, one link per user.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, Jar, start, type Reply, type Running } from "./helpers";

const CLIENT_ID = "code-server-fleet";
const CLIENT_SECRET = randomBytes(8).toString("hex");
const PUBLIC_URL = "https://dev1.example.com";

let dir: string;
let certificate: Buffer;
let port: number;
let idp: Running;
let issuer: string;

/** `method path` at the fixture over HTTPS, trusting its certificate alone, or only the system's CAs. */
function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
  trust: "its own" | "system" = "its own",
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const ca = trust === "its own" ? certificate : undefined;
    const req = request({ host: "127.0.0.1", port, path, method, headers, ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const get = (path: string, headers: Record<string, string> = {}) => send("GET", path, headers);

/** The path and query of the redirect an answer carries. */
function redirect(reply: Reply): string {
  expect([302, 303]).toContain(reply.status);
  const to = new URL(reply.headers.location!, issuer);
  return `${to.pathname}${to.search}`;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "idp-fixture-"));
  const certFile = join(dir, "tls.crt");
  const keyFile = join(dir, "tls.key");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"].concat([
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ]),
    { stdio: "ignore" },
  );
  certificate = readFileSync(certFile);
  port = await freePort();
  const fixture = {
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    publicUrls: [PUBLIC_URL],
    listen: { host: "127.0.0.1", port },
    tls: { certFile, keyFile },
  };
  idp = await start(["tools/launch.js", "__tests__/gate/fixtures/idp.ts"], { IDP_FIXTURE: JSON.stringify(fixture) }, /"issuer"/);
  issuer = (JSON.parse(idp.lines.find((line) => line.includes('"issuer"'))!) as { issuer: string }).issuer;
});

afterAll(async () => {
  await idp?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it("listens over HTTPS where it is told and names that origin as its issuer, in its discovery document too", async () => {
  expect(issuer).toBe(`https://127.0.0.1:${port}`);
  const discovery = await get("/.well-known/openid-configuration");
  expect(discovery.status).toBe(200);
  expect((JSON.parse(discovery.body) as { issuer: string }).issuer).toBe(issuer);
});

it("is refused by a client that does not trust its certificate", async () => {
  await expect(send("GET", "/.well-known/openid-configuration", {}, undefined, "system")).rejects.toThrow(/self-signed/);
});

it("sends a browser to a page with a link per user, and a click on one signs in as that user", async () => {
  const jar = new Jar();
  const verifier = randomBytes(32).toString("base64url");
  const query = new URLSearchParams({
    client_id: CLIENT_ID,
    response_type: "code",
    scope: "openid email",
    redirect_uri: `${PUBLIC_URL}/oauth2/callback`,
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    state: "s",
    nonce: "n",
  });
  const interaction = redirect(jar.take(await get(`/auth?${query}`)));
  const page = jar.take(await get(interaction, jar.header()));
  expect(page.status).toBe(200);
  expect(page.headers["content-type"]).toMatch(/^text\/html/);
  const links = [...page.body.matchAll(/<a id="as-(\w+)" href="([^"]+)"/g)].map(([, user, href]) => [user, href]);
  expect(links.map(([user]) => user)).toEqual(expect.arrayContaining(["alice", "bob"]));
  const [, bobHref] = links.find(([user]) => user === "bob")!;
  expect(bobHref).toBe(`${interaction}?as=bob`);
  const resumed = redirect(jar.take(await get(bobHref, jar.header())));
  const back = new URL(jar.take(await get(resumed, jar.header())).headers.location!);
  expect(`${back.origin}${back.pathname}`).toBe(`${PUBLIC_URL}/oauth2/callback`);
  expect(back.searchParams.get("state")).toBe("s");
  const grant = new URLSearchParams({
    grant_type: "authorization_code",
    code: back.searchParams.get("code")!,
    redirect_uri: `${PUBLIC_URL}/oauth2/callback`,
    code_verifier: verifier,
  });
  const basic = Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString("base64");
  const headers = { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" };
  const tokens = await send("POST", "/token", headers, grant.toString());
  expect(tokens.status).toBe(200);
  const idToken = (JSON.parse(tokens.body) as { id_token: string }).id_token;
  const claims = JSON.parse(Buffer.from(idToken.split(".")[1], "base64url").toString("utf8")) as Record<string, unknown>;
  expect(claims).toMatchObject({ iss: issuer, sub: "bob", email: "bob@example.com", aud: CLIENT_ID });
});
