/**
 * The words the review uses for a difference of two bills: exact amounts with a percentage only
 * for complete bills, "at least"/"at most" the right way round for floors and ceilings, and
 * "unknown" with the reason; never the ± ≥ ≤ shorthand.
 */
import { boundOf, deltaInWords, reasonsOf, type Move } from "../src/cost/delta";

const move = (direction: -1 | 0 | 1, line: string, reason = `${line} moves`): Move => ({ direction, line, reason });

describe("a difference in words", () => {
  it.each([
    [100, 112.4, true, "$12.40 more (+12.4 %)"],
    [100, 87.5, true, "$12.50 less (−12.5 %)"],
    [100, 100, true, "no change"],
    // A percentage of a floor says nothing: none for incomplete bills.
    [65.8, 69.4, false, "$3.60 more"],
  ])("exact, from %d to %d (complete: %s): %s", (from, to, complete, words) => {
    expect(deltaInWords(from, to, "exact", "", complete)).toBe(words);
  });

  it.each([
    // Unpriced lines only add: the true difference is at least the priced one.
    ["floor", 10, 13.6, "at least $3.60 more: why"],
    ["floor", 10, 5, "at most $5.00 less: why"],
    ["floor", 10, 10, "the same or more: why"],
    // Unpriced lines only take away: the true difference is at most the priced one.
    ["ceiling", 10, 5, "at least $5.00 less: why"],
    ["ceiling", 10, 13.6, "at most $3.60 more: why"],
    ["ceiling", 10, 10, "the same or less: why"],
    ["unknown", 10, 13.6, "unknown: why"],
  ] as const)("%s from %d to %d: %s", (bound, from, to, words) => {
    expect(deltaInWords(from, to, bound, "why", false)).toBe(words);
    expect(deltaInWords(from, to, bound, "why", false)).not.toMatch(/[±≥≤]/);
  });
});

describe("what makes a difference a bound or unknown", () => {
  it("is exact with no moves, a floor or ceiling when they all go one way, else unknown", () => {
    expect(boundOf([])).toBe("exact");
    expect(boundOf([move(1, "a"), move(1, "b")])).toBe("floor");
    expect(boundOf([move(-1, "a")])).toBe("ceiling");
    expect(boundOf([move(1, "a"), move(-1, "b")])).toBe("unknown");
    expect(boundOf([move(0, "a")])).toBe("unknown");
  });

  it("names first what goes either way, then one line each way, and counts the rest", () => {
    const moves = [move(1, "secrets"), move(1, "alarms"), move(0, "host", "the new host type c5.4xlarge has no price"), move(-1, "logs")];
    expect(reasonsOf(moves, "unknown")).toBe("the new host type c5.4xlarge has no price; secrets moves; and 2 more lines with no price");
    expect(reasonsOf([move(1, "secrets"), move(-1, "logs"), move(1, "alarms")], "unknown")).toBe(
      "secrets moves; logs moves; and 1 more line with no price",
    );
    expect(reasonsOf([move(1, "secrets"), move(1, "alarms")], "floor")).toBe("secrets moves; alarms moves");
  });
});
