/**
 * `npm run test:plans`: Terraform's own plans, offline, of roster changes and of the operator
 * guide's procedures against a deployment fabricated from the default roster's plan, and of a
 * roster with a schedule and every optional variable. Minutes of Terraform on this project's
 * 2-core machine (docs/contributing.md#timings), so they are not part of `npm test`; CI (.ci/run)
 * runs them after it.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- jest loads this CommonJS file as it is
const base = require("./jest.config.js");

module.exports = { ...base, roots: ["<rootDir>/__tests__/plans"], testPathIgnorePatterns: ["/node_modules/"] };
