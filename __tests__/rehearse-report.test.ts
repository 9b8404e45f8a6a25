/**
 * The rehearsal report's faults table: each check of the faults leg ("fault: <what is broken>:
 * <what must hold>") becomes a row with its outcome, its time and what held afterwards, and no
 * other check does.
 */
import { FAULT_PREFIX, faultResults, faultTable, type CheckResult } from "../rehearse/lib/report";

const check = (name: string, ok: boolean, detail: string, seconds = 1): CheckResult => ({ name, ok, detail, seconds });

describe("the faults table", () => {
  const checks = [
    check("login: every developer logs in", true, "8 logged in"),
    check(`${FAULT_PREFIX}a fork bomb in one container: the PIDs limit holds`, true, "pids.max 4096 held; dev2 answered in 12 ms", 31.25),
    check(`${FAULT_PREFIX}the data volume fills up: apply refuses to start`, false, "apply started the sync on a full volume", 8),
    check(`${FAULT_PREFIX}dockerd restarts with the isolation unit broken: nothing starts`, false, "not run: an earlier fault failed"),
  ];

  it("has one result per fault check, named by what is broken, with its outcome", () => {
    expect(faultResults(checks).map((f) => [f.fault, f.outcome])).toEqual([
      ["a fork bomb in one container", "held"],
      ["the data volume fills up", "failed"],
      ["dockerd restarts with the isolation unit broken", "not run"],
    ]);
  });

  it("prints a header, a row per fault with its seconds, and what held afterwards under it", () => {
    const table = faultTable(faultResults(checks));
    const width = "dockerd restarts with the isolation unit broken".length;
    expect(table.slice(0, 4)).toEqual([
      `${"Fault".padEnd(width)}  Outcome  Seconds`,
      `${"-".repeat(width)}  -------  -------`,
      `${"a fork bomb in one container".padEnd(width)}  held        31.3`,
      "    pids.max 4096 held; dev2 answered in 12 ms",
    ]);
    expect(table).toContain(`${"the data volume fills up".padEnd(width)}  failed       8.0`);
    expect(table.join("\n")).not.toContain("8 logged in");
  });

  it("wraps a long account of what held at 110 characters, and is empty with no fault checks", () => {
    const long = Array.from({ length: 40 }, (_, i) => `word${i}`).join(" ");
    const table = faultTable(faultResults([check(`${FAULT_PREFIX}x: y`, true, long)]));
    const account = table.slice(3);
    expect(account.length).toBeGreaterThan(1);
    for (const line of account) expect(line.length).toBeLessThanOrEqual(4 + 110);
    expect(account.map((l) => l.trim()).join(" ")).toBe(long);
    expect(faultTable(faultResults([checks[0]]))).toEqual([]);
  });
});
