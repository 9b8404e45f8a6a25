/** Tests are transpiled by swc (no type-checking here: `npm test` runs `tsc --noEmit` first). */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" } }] },
  setupFilesAfterEnv: ["<rootDir>/__tests__/setup.ts"],
  testTimeout: 120000,
  // Two workers even on two cores: the offline plan and the script sandboxes spend much of their
  // time in child processes (terraform, bash), while the other worker runs the synth tests.
  maxWorkers: 2,
};
