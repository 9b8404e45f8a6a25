import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { withDevelopers } from "../../src/cost/team-rosters";
import { type Fleet, parseRoster, RosterError } from "../../src/roster";
import type { ProviderBlock } from "../../src/terraform/plan-json";

export const PROJECT_ROOT = join(__dirname, "..", "..");
export const DEFAULT_ROSTER_TEXT = readFileSync(join(PROJECT_ROOT, "roster.yaml"), "utf8");

/** The default roster as a Fleet. */
export function defaultFleet(): Fleet {
  return parseRoster(DEFAULT_ROSTER_TEXT);
}

/** The default roster with `edit` applied to its parsed YAML. */
export function editedFleet(edit: (roster: ProviderBlock) => void): Fleet {
  const roster = parse(DEFAULT_ROSTER_TEXT);
  edit(roster);
  return parseRoster(stringify(roster));
}

/** A generated roster of `count` developers on a host that fits them. */
export function generatedRosterText(count: number, instanceType = "m5.16xlarge"): string {
  return stringify({ ...withDevelopers(parse(DEFAULT_ROSTER_TEXT), count), host: { instanceType } });
}

/** `line|path|message` of every problem the roster parser reports for `text`; fails the test when it accepts it. */
export function problemsOf(text: string): string[] {
  try {
    parseRoster(text, "roster.yaml");
  } catch (err) {
    expect(err).toBeInstanceOf(RosterError);
    return (err as RosterError).problems.map((p) => `${p.line ?? "?"}|${p.path.join(".")}|${p.message}`);
  }
  throw new Error("expected the roster to be rejected");
}
