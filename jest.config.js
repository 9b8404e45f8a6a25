/** Tests are transpiled by swc (no type-checking here: `npm test` runs `tsc --noEmit` first). */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/*.test.ts"],
  // Terraform's plans of changes against a deployment: `npm run test:plans` (jest.plans.config.js).
  testPathIgnorePatterns: ["/node_modules/", "<rootDir>/__tests__/plans/"],
  transform: {
    "^.+\\.ts$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" } }],
    // The sign-in's libraries ship only ES modules, which jest's CommonJS runtime cannot load as they are.
    "/node_modules/(jose|openid-client|oauth4webapi)/.+\\.js$": ["@swc/jest", { jsc: { target: "es2022" } }],
  },
  transformIgnorePatterns: ["/node_modules/(?!(jose|openid-client|oauth4webapi)/)"],
  setupFilesAfterEnv: ["<rootDir>/__tests__/setup.ts"],
  // One scratch TMPDIR per run, checked for leftovers and removed at the end.
  globalSetup: "<rootDir>/__tests__/global-setup.ts",
  globalTeardown: "<rootDir>/__tests__/global-teardown.ts",
  testTimeout: 120000,
  // jest's transform cache lives with the dependencies, not in the temp directory.
  cacheDirectory: "<rootDir>/node_modules/.cache/jest",
  // Two workers on the 2-core machines this runs on: the slow tests wait on terraform, bash and
  // node child processes, so a second worker overlaps them (jest's default here is one).
  maxWorkers: 2,
  testSequencer: "<rootDir>/__tests__/helpers/sequencer.js",
};
