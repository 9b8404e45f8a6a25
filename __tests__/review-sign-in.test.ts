/**
 * Changes of the whole fleet that Terraform shows only as new task definitions or host files, which the
 * review says plainly and for which it exits 3. Sleep when idle turned on or off on ECS: every
 * developer's task is replaced (on the host the containers stay as they are, and nothing more is said).
 *
 * The review says when the way developers sign in changes (Terraform only shows new task
 * definitions or host files): what it was, what it becomes, what developers go through and what an operator
 * must do first; and such a review exits 3, like every change a developer notices.
 */
import { parse, stringify } from "yaml";
import { parseRoster } from "../src/roster";
import { renderReview } from "../src/review/report";
import { exitCodeOf, synthesizeRoster, type Review } from "../src/review/review";
import { signInChangeNotice, signInChangeOf } from "../src/review/sign-in";
import { sleepChangeOf } from "../src/review/sleep";
import { ecsOidcRosterText, withOidc } from "./helpers/ecs-oidc";
import { DEFAULT_ROSTER_TEXT } from "./helpers/fleet";

const onOidc = ecsOidcRosterText();
const onPassword = (() => {
  const roster = parse(onOidc) as Record<string, unknown>;
  delete roster.auth;
  return stringify(roster);
})();
const withAuth = (auth: object) => stringify({ ...(parse(onOidc) as object), auth });
const fleet = (text: string) => parseRoster(text);

/** A review of the change from `baseText` to `currentText` with its fleet-wide changes, as review() finds them, and nothing else. */
function reviewOf(baseText: string, currentText: string): Review {
  const base = synthesizeRoster("base.yaml", parseRoster(baseText, "base.yaml"));
  const current = synthesizeRoster("roster.yaml", parseRoster(currentText, "roster.yaml"));
  const signInChange = signInChangeOf(base.fleet, current.fleet);
  const sleepChange = sleepChangeOf(base.fleet, current.fleet);
  return {
    base,
    current,
    diffs: [],
    changes: [],
    protected: [],
    impacts: [],
    refusals: [],
    vars: {},
    ...(signInChange ? { signInChange } : {}),
    ...(sleepChange ? { sleepChange } : {}),
  };
}

describe("a sign-in change", () => {
  it("is found when the type, the issuer or the client changes, and only then", () => {
    expect(signInChangeOf(fleet(onPassword), fleet(onOidc))).toMatchObject({ from: { type: "password" }, to: { type: "oidc" } });
    expect(signInChangeOf(fleet(onOidc), fleet(onPassword))).toMatchObject({ from: { type: "oidc" }, to: { type: "password" } });
    const other = { type: "oidc", issuer: "https://accounts.example.org", clientId: "code-server-fleet" };
    expect(signInChangeOf(fleet(onOidc), fleet(withAuth(other)))).toBeDefined();
    expect(
      signInChangeOf(fleet(onOidc), fleet(withAuth({ ...other, issuer: "https://login.example.com", clientId: "another" }))),
    ).toBeDefined();
    // A shorter session is the same provider and client: nobody is signed out by the review's account.
    expect(
      signInChangeOf(fleet(onOidc), fleet(withAuth({ type: "oidc", issuer: "https://login.example.com", clientId: "code-server-fleet" }))),
    ).toBeUndefined();
    expect(signInChangeOf(fleet(DEFAULT_ROSTER_TEXT), fleet(DEFAULT_ROSTER_TEXT))).toBeUndefined();
  });

  it("is said in the report's header with the operator's first step, and makes the review exit 3", () => {
    const toOidc = reviewOf(onPassword, onOidc);
    const text = renderReview(toOidc).replace(/\n(?!\n)/g, " ");
    expect(text).toContain(
      "! Sign-in change: developers sign in with code-server's password today and with OpenID Connect at https://login.example.com (client code-server-fleet) after the apply.",
    );
    expect(text).toContain(
      "Nobody can sign in until an operator stores the client secret of code-server-fleet: scripts/set-oidc-client-secret.sh.",
    );
    expect(exitCodeOf(toOidc)).toBe(3);
    const back = renderReview(reviewOf(onOidc, onPassword)).replace(/\n(?!\n)/g, " ");
    expect(back).toContain("Each developer needs their password again (scripts/show-password.sh).");
    expect(text).toContain("Every developer's environment restarts (their ECS task; homes are untouched)");
    const onHost = signInChangeOf(fleet(DEFAULT_ROSTER_TEXT), fleet(withOidc(DEFAULT_ROSTER_TEXT)))!;
    expect(signInChangeNotice(onHost)).toContain(
      "Every developer's environment restarts (their containers on the host; homes are untouched)",
    );
    const same = reviewOf(onOidc, onOidc);
    expect(renderReview(same)).not.toContain("Sign-in change");
    expect(exitCodeOf(same)).toBe(0);
  });
});

const editedRoster = (edit: (roster: Record<string, unknown>) => void) => {
  const roster = parse(DEFAULT_ROSTER_TEXT) as Record<string, unknown>;
  edit(roster);
  return roster;
};
const edited = (edit: (roster: Record<string, unknown>) => void) => parseRoster(stringify(editedRoster(edit)));
const onEcs = (roster: Record<string, unknown>) => {
  delete roster.host;
  roster.platform = "ecs";
};
const ecsAwakeRoster = editedRoster(onEcs);
const ecsSleepingRoster = editedRoster((roster) => {
  onEcs(roster);
  roster.sleep = { idleMinutes: 60 };
});
const ecsAwake = parseRoster(stringify(ecsAwakeRoster));
const ecsSleeping = parseRoster(stringify(ecsSleepingRoster));

describe("sleep turned on or off", () => {
  it("is a change on ECS, in either direction, and none on the host or when the idle time changes", () => {
    expect(sleepChangeOf(ecsAwake, ecsSleeping)).toEqual({ on: true });
    expect(sleepChangeOf(ecsSleeping, ecsAwake)).toEqual({ on: false });
    const longer = edited((roster) => {
      onEcs(roster);
      roster.sleep = { idleMinutes: 120 };
    });
    expect(sleepChangeOf(ecsSleeping, longer)).toBeUndefined();
    const hostSleeping = edited((roster) => (roster.sleep = { idleMinutes: 60 }));
    expect(
      sleepChangeOf(
        edited(() => undefined),
        hostSleeping,
      ),
    ).toBeUndefined();
  });

  it("says every developer's task is replaced, and makes the review exit 3", () => {
    const review = reviewOf(stringify(ecsAwakeRoster), stringify(ecsSleepingRoster));
    const text = renderReview(review).replace(/\n(?!\n)/g, " ");
    expect(text).toContain("! Sleep change: sleep when idle is turned on.");
    expect(text).toContain("every developer's task is replaced at the apply");
    expect(text).toContain("open terminals and running jobs end (homes are untouched)");
    expect(exitCodeOf(review)).toBe(3);
    const { sleepChange: _, ...unchanged } = review;
    expect(exitCodeOf(unchanged)).toBe(0);
  });
});
