/**
 * The gate's pure judgements: whose identity is admitted, where a sign-in may return to, and what
 * of a request reaches code-server.
 */
import { forwardedHeaders, returnedHeaders, withoutGateCookies } from "../../src/identity/gate/headers";
import { decide, returnPath, type Identity } from "../../src/identity/gate/identity";

const alice: Identity = { sub: "u-alice", email: "alice@example.com", emailVerified: true };

describe("decide", () => {
  const byEmail = { email: "alice@example.com" };
  it.each<[string, Identity, string]>([
    ["the verified email", alice, "allow"],
    ["the verified email in other case", { ...alice, email: "Alice@EXAMPLE.com" }, "allow"],
    ["the email, unverified", { ...alice, emailVerified: false }, "unverified-email"],
    ["another email", { ...alice, email: "bob@example.com" }, "wrong-identity"],
    ["another email, unverified", { sub: "u-bob", email: "bob@example.com", emailVerified: false }, "wrong-identity"],
    ["no email", { sub: "u-alice", emailVerified: false }, "wrong-identity"],
  ])("by email: %s → %s", (_label, identity, verdict) => {
    expect(decide(identity, byEmail)).toBe(verdict);
  });

  it("by sub: the subject alone decides, whatever the email says", () => {
    expect(decide({ sub: "u-alice", emailVerified: false }, { sub: "u-alice" })).toBe("allow");
    expect(decide({ ...alice, sub: "u-alice-2" }, { sub: "u-alice", email: "alice@example.com" })).toBe("wrong-identity");
  });
});

describe("returnPath", () => {
  const origin = new URL("https://dev1.example.com");
  it.each([
    ["/", "/"],
    ["/some/page?tab=2&x=%2F", "/some/page?tab=2&x=%2F"],
    ["/?folder=/home/coder/project", "/?folder=/home/coder/project"],
    ["https://dev1.example.com/via/absolute-form", "/via/absolute-form"],
  ])("keeps %s", (target, expected) => {
    expect(returnPath(target, origin, "/oauth2/")).toBe(expected);
  });

  it.each([
    "//evil.example/x",
    "/\\evil.example/x",
    "\\\\evil.example/x",
    "/.//evil.example/x",
    "https://evil.example/x",
    "https://dev1.example.com.evil.example/x",
    "http://dev1.example.com/x",
    "javascript:alert(1)",
    "/oauth2/callback?code=x",
  ])("sends %s back to /", (target) => {
    expect(returnPath(target, origin, "/oauth2/")).toBe("/");
  });
});

describe("what reaches code-server", () => {
  it("loses the gate's cookies and keeps the others", () => {
    expect(withoutGateCookies("a=1; __Host-gate-session=x; b=2; __Host-gate-login=y")).toBe("a=1; b=2");
    expect(withoutGateCookies("__Host-gate-session=x")).toBeUndefined();
    expect(withoutGateCookies("__Host-gate-session-like=1")).toBe("__Host-gate-session-like=1");
  });

  it("loses identity-looking and hop-by-hop headers, and those the Connection header names", () => {
    const headers = forwardedHeaders(
      {
        host: "dev1.example.com",
        "x-forwarded-for": "203.0.113.9",
        "x-forwarded-proto": "https",
        "x-forwarded-user": "mallory",
        "x-forwarded-email": "m@example.com",
        "x-auth-request-user": "mallory",
        "x-amzn-oidc-data": "eyJ...",
        "x-remote-user": "mallory",
        "remote-user": "mallory",
        connection: "keep-alive, x-private",
        "x-private": "1",
        "keep-alive": "timeout=5",
        "proxy-authorization": "Basic x",
        te: "trailers",
        upgrade: "websocket",
        authorization: "Bearer developer-app-token",
        cookie: "__Host-gate-session=s; theme=dark",
      },
      false,
    );
    expect(headers).toEqual({
      host: "dev1.example.com",
      "x-forwarded-for": "203.0.113.9",
      "x-forwarded-proto": "https",
      authorization: "Bearer developer-app-token",
      cookie: "theme=dark",
    });
  });

  it("keeps an upgrade an upgrade", () => {
    const headers = forwardedHeaders({ host: "h", connection: "Upgrade", upgrade: "websocket", "sec-websocket-key": "k" }, true);
    expect(headers).toEqual({ host: "h", connection: "Upgrade", upgrade: "websocket", "sec-websocket-key": "k" });
  });

  it("returns code-server's answer without its hop-by-hop headers", () => {
    expect(
      returnedHeaders({ "content-type": "text/html", connection: "keep-alive", "keep-alive": "timeout=5", "set-cookie": ["a=1"] }),
    ).toEqual({
      "content-type": "text/html",
      "set-cookie": ["a=1"],
    });
  });
});
