// Tests are TypeScript, type-checked by ts-jest as they load (test/tsconfig.json, the one
// `npm run typecheck` uses), so a test that does not type-check fails.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/test/tsconfig.json" }] },
  testTimeout: 60000,
  maxWorkers: 2,
  globalSetup: "<rootDir>/test/setup/global-setup.js",
  globalTeardown: "<rootDir>/test/setup/global-teardown.js",
  reporters: ["default", "<rootDir>/test/setup/summary-reporter.js"],
};
