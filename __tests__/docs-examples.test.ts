/**
 * The documents' examples, run as written: the operator guide's add-a-developer edit works on the
 * default roster (what `npm run review` prints for it is held to the guide in
 * plans/review-changes.test.ts); the cost tables are what `npm run cost` prints.
 */
import { parse, stringify } from "yaml";
import { monthlyCost } from "../src/cost/engine";
import { renderReport } from "../src/cost/report";
import { parseRoster, type Fleet } from "../src/roster";
import { readDoc, sectionAt } from "./helpers/docs";
import { DEFAULT_ROSTER_TEXT } from "./helpers/fleet";

/** The first fenced block of `language` in `text`. */
function fenced(text: string, language: string): string {
  const match = new RegExp("```" + language + "\\n([\\s\\S]*?)\\n```").exec(text);
  if (!match) throw new Error(`no ${language} block in "${text.slice(0, 60)}..."`);
  return match[1];
}

describe("the operator guide's add-a-developer example", () => {
  const edit = parse(fenced(sectionAt("docs/operator-guide.md#add-a-developer"), "yaml")) as {
    host?: Record<string, unknown>;
    developers?: object[];
  };

  // The example shows the keys to change and the developers to add ("dev1 ... dev8 as they are").
  const roster = parse(DEFAULT_ROSTER_TEXT) as { host: Record<string, unknown>; developers: object[] };
  Object.assign(roster.host, edit.host);
  roster.developers.push(...(edit.developers ?? []));
  const edited = stringify(roster);

  it("is accepted on the default roster, which refuses the new developer alone", () => {
    expect(edit.developers).toEqual([{ name: "dev9", port: 8451 }]);
    expect(parseRoster(edited).developers.map((d) => d.name)).toContain("dev9");
    const alone = parse(DEFAULT_ROSTER_TEXT) as { developers: object[] };
    alone.developers.push(...edit.developers!);
    expect(() => parseRoster(stringify(alone))).toThrow(/does not fit t3\.2xlarge/);
  });
});

describe("the cost tables of docs/cost.md", () => {
  const COST = readDoc("docs/cost.md");
  /** The fenced block after `intro`, and the table rows `npm run cost` prints for `fleet`. */
  const shownAfter = (intro: string) => {
    const start = COST.indexOf(intro);
    expect([intro, start >= 0]).toEqual([intro, true]);
    return /```\n([\s\S]*?)\n```/.exec(COST.slice(start))![1];
  };
  const printed = (fleet: Fleet, region: string) => {
    const bill = monthlyCost(fleet, { region, schedule: fleet.schedule });
    const lines = renderReport(bill, [], "Monthly cost").split("\n");
    return lines
      .slice(
        lines.findIndex((l) => l.startsWith("Line ")),
        lines.findIndex((l) => l.startsWith("Per developer")) + 1,
      )
      .join("\n");
  };
  const fleet = parseRoster(DEFAULT_ROSTER_TEXT);

  it("are what npm run cost prints for the default roster, in its region and in us-east-1", () => {
    expect(shownAfter("The default roster, `npm run cost` (ap-southeast-7):")).toBe(printed(fleet, "ap-southeast-7"));
    expect(shownAfter("The same roster priced with us-east-1's figures, `npm run cost -- --region us-east-1`:")).toBe(
      printed(fleet, "us-east-1"),
    );
  });

  it("show the weekday 08:00-20:00 schedule as npm run cost prints it", () => {
    const roster = parse(DEFAULT_ROSTER_TEXT) as Record<string, unknown>;
    roster.schedule = { timezone: "Asia/Bangkok", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", stop: "20:00" };
    expect(shownAfter("schedule; its notes, assumptions and sources are as above):")).toBe(
      printed(parseRoster(stringify(roster)), "us-east-1"),
    );
  });
});
