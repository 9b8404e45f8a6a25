/**
 * The roster's sign-in: code-server's password unless `auth.type: oidc` names a provider; with it,
 * every developer is bound to one identity (sub over email), no two to the same, and the fields
 * that are wrong are named with what to write instead.
 */
import { hostGated } from "../src/identity/host-gate";
import { parse, stringify } from "yaml";
import { parseRoster } from "../src/roster";
import { DEFAULT_ROSTER_TEXT, problemsOf } from "./helpers/fleet";

type Roster = Record<string, unknown> & { developers: Record<string, unknown>[] };
const OIDC = { type: "oidc", issuer: "https://login.example.com", clientId: "code-server-fleet" };
const edited = (edit: (roster: Roster) => void) => {
  const roster = parse(DEFAULT_ROSTER_TEXT) as Roster;
  edit(roster);
  return stringify(roster);
};
/** The default roster on ECS and OIDC, each developer bound to `<name>@example.com`, then `edit`. */
const onOidc = (edit: (roster: Roster) => void = () => undefined, auth: object = OIDC) =>
  edited((r) => {
    r.platform = "ecs";
    delete r.host;
    r.auth = auth;
    r.developers = r.developers.map((d) => ({ ...d, email: `${String(d.name)}@example.com` }));
    edit(r);
  });
const messages = (text: string) => problemsOf(text).map((p) => p.split("|").slice(1).join("|"));

describe("sign-in", () => {
  it("is code-server's password unless the roster names a provider, and then binds each developer to their address", () => {
    const password = parseRoster(DEFAULT_ROSTER_TEXT);
    expect(password.auth).toEqual({ type: "password" });
    expect(password.developers.every((d) => d.identity === undefined)).toBe(true);
    const oidc = parseRoster(onOidc());
    expect(oidc.auth).toEqual({ type: "oidc", issuer: "https://login.example.com", clientId: "code-server-fleet" });
    expect(oidc.developers.map((d) => d.identity)).toEqual(oidc.developers.map((d) => ({ email: `${d.name}@example.com` })));
  });

  it("prefers the subject identifier to the email, compares addresses without case, and turns hours into seconds", () => {
    const fleet = parseRoster(
      onOidc(
        (r) => {
          r.developers[0].sub = "248289761001";
          r.developers[1].email = "Bob.Smith@Example.com";
        },
        { ...OIDC, maxSessionHours: 12 },
      ),
    );
    expect(fleet.developers[0].identity).toEqual({ sub: "248289761001" });
    expect(fleet.developers[1].identity).toEqual({ email: "bob.smith@example.com" });
    expect(fleet.auth).toMatchObject({ maxSessionSeconds: 43_200 });
  });

  it("accepts the shortest session the gate takes, one minute", () => {
    expect(parseRoster(onOidc(() => undefined, { ...OIDC, maxSessionHours: 1 / 60 })).auth).toMatchObject({ maxSessionSeconds: 60 });
  });

  it("keeps the addresses of a password roster out of the fleet, so switching back and forth is one line", () => {
    const back = parseRoster(onOidc((r) => (r.auth = { type: "password" })));
    expect(back.auth).toEqual({ type: "password" });
    expect(back.developers.map((d) => d.identity)).toEqual(back.developers.map(() => undefined));
  });

  it("gates the platform that serves, host or ECS, and leaves a host kept during the migration on code-server's password", () => {
    const onHost = parseRoster(
      edited((r) => {
        r.auth = OIDC;
        r.developers = r.developers.map((d) => ({ ...d, email: `${String(d.name)}@example.com` }));
      }),
    );
    expect([onHost.platform, onHost.auth.type, hostGated(onHost)]).toEqual(["host", "oidc", true]);
    const keptHost = parse(DEFAULT_ROSTER_TEXT) as Roster;
    const fleet = parseRoster(onOidc((r) => Object.assign(r, { host: keptHost.host, migration: { keep: "host" } })));
    expect([fleet.auth.type, fleet.host !== undefined, hostGated(fleet)]).toEqual(["oidc", true, false]);
  });

  it("needs an identity for every developer, and a different one for each", () => {
    expect(messages(onOidc((r) => delete r.developers[1].email))).toEqual([
      `developers.1|developer "${parse(DEFAULT_ROSTER_TEXT).developers[1].name}" has no email or sub: with auth.type oidc each developer signs in as one person at https://login.example.com; add email: <their address at the provider> (or sub: <their subject identifier>)`,
    ]);
    const names = (parse(DEFAULT_ROSTER_TEXT) as Roster).developers.map((d) => String(d.name));
    expect(messages(onOidc((r) => (r.developers[2].email = `${names[0].toUpperCase()}@example.com`)))).toEqual([
      `developers.2.email|developer "${names[2]}" has the same email ${names[0]}@example.com as developer "${names[0]}": one person, one environment; correct one of the two`,
    ]);
  });

  test.each([
    [
      "no issuer",
      { type: "oidc", clientId: "x" },
      "auth.issuer|auth.issuer is required with type oidc: the provider's issuer URL, e.g. https://login.example.com",
    ],
    [
      "a plain-http issuer",
      { ...OIDC, issuer: "http://login.example.com" },
      'auth.issuer|auth.issuer must be an https:// URL: the provider\'s issuer identifier, e.g. https://login.example.com (found "http://login.example.com")',
    ],
    [
      "an empty client id",
      { ...OIDC, clientId: " " },
      'auth.clientId|auth.clientId must not be empty: the client id registered at the provider (found " ")',
    ],
    ["an unknown type", { type: "saml" }, 'auth.type|auth.type must be password or oidc (found "saml")'],
    [
      "sessions shorter than the minute the gate accepts",
      { ...OIDC, maxSessionHours: 0.01 },
      "auth.maxSessionHours|auth.maxSessionHours must be at least one minute (0.02 hours; the gate refuses shorter sessions), e.g. 12 (found 0.01)",
    ],
    [
      "no session at all",
      { ...OIDC, maxSessionHours: 0 },
      "auth.maxSessionHours|auth.maxSessionHours must be at least one minute (0.02 hours; the gate refuses shorter sessions), e.g. 12 (found 0)",
    ],
    [
      "sessions longer than 30 days",
      { ...OIDC, maxSessionHours: 721 },
      "auth.maxSessionHours|auth.maxSessionHours must be at most 720 (30 days) (found 721)",
    ],
  ])("refuses %s with the field and what to write", (_, auth, expected) => {
    expect(messages(onOidc(() => undefined, auth))).toEqual([expected]);
  });

  it("refuses an email that is not one", () => {
    expect(messages(onOidc((r) => (r.developers[0].email = "alice")))).toEqual([
      'developers.0.email|email must be an email address, e.g. alice@example.com (found "alice")',
    ]);
  });
});
