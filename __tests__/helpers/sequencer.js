/**
 * Jest's order, except in a run without jest's timings of an earlier one (a fresh clone, CI):
 * there jest orders by file size, which can start a file that spends a minute in terraform last,
 * leaving one worker alone with it at the end. These files go first in that case.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- jest loads this CommonJS file as it is
const Sequencer = require("@jest/test-sequencer").default;

/** The files that take longest, by far: each runs terraform several times. */
const SLOWEST_FIRST = ["terraform-offline.test.ts", "review-terraform.test.ts", "terraform-variants.test.ts"];

class SlowestFirstSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    if (sorted.some((test) => test.duration !== undefined)) return sorted;
    const rank = (test) => {
      const index = SLOWEST_FIRST.findIndex((name) => test.path.endsWith(`/${name}`));
      return index < 0 ? SLOWEST_FIRST.length : index;
    };
    // Array.prototype.sort is stable: the rest keep jest's order.
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = SlowestFirstSequencer;
