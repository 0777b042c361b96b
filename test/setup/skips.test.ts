// A missing optional tool is a skip that names its Debian package, never a failure and never a
// silent pass. Proof: the tests that need a tool (their names end "[needs <tool>…]") run in a
// child jest with every tool hidden from the suite's skip logic (TSLAB_IPC_TEST_HIDE=all, which
// test/helpers.ts honours): none fails, none passes, and each skip names the package.
import { spawnSync } from "child_process";
import fs from "fs";
import path from "path";
import { TOOL_PACKAGES, repoRoot, tempDir } from "../helpers";

const FILES = [
  "test/sys/interop.test.ts",
  "test/reliability/fuzz.test.ts",
  "test/figures/browser.test.ts",
  "test/browser/handout-html.test.ts",
  "test/browser/notebook-ui.test.ts",
  "test/readme.test.ts",
  "test/bench/bench.test.ts",
];

const CONFIG = JSON.stringify({
  rootDir: repoRoot,
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
  maxWorkers: 2,
});

interface JestJson {
  numFailedTests: number;
  numRuntimeErrorTestSuites: number;
  testResults: Array<{ name: string; message: string; assertionResults: Array<{ fullName: string; status: string }> }>;
}

test("with Chromium, sysv_ipc, strace and cc hidden, the tests that need them are skipped, naming the package", () => {
  const dir = tempDir("tslab-ipc-skips-");
  try {
    const out = path.join(dir, "results.json");
    const r = spawnSync(
      process.execPath,
      [
        require.resolve("jest/package.json").replace(/package\.json$/, "bin/jest.js"),
        `--config=${CONFIG}`,
        "--ci",
        "--json",
        `--outputFile=${out}`,
        "-t",
        "\\[needs ",
        "--runTestsByPath",
        ...FILES,
      ],
      { cwd: repoRoot, encoding: "utf8", env: { ...process.env, TSLAB_IPC_TEST_HIDE: "all" }, timeout: 240_000 },
    );
    const results: JestJson = JSON.parse(fs.readFileSync(out, "utf8"));
    const tagged = results.testResults
      .flatMap((f) => f.assertionResults.map((a) => ({ file: path.relative(repoRoot, f.name), ...a })))
      .filter((a) => a.fullName.includes("[needs "));
    expect({
      failed: results.numFailedTests,
      broken: results.numRuntimeErrorTestSuites,
      messages: results.testResults.map((f) => f.message).filter(Boolean),
    }).toEqual({ failed: 0, broken: 0, messages: [] });
    expect(r.status).toBe(0);
    // Nothing that needs a hidden tool ran, and each skip says which package brings it back.
    expect(tagged.filter((a) => a.status !== "pending")).toEqual([]);
    for (const [tool, pkg] of Object.entries(TOOL_PACKAGES)) {
      const skipped = tagged.filter((a) => new RegExp(`\\[needs [^\\]]*\\b${tool}\\b`).test(a.fullName));
      expect({ tool, skipped: skipped.length > 0 }).toEqual({ tool, skipped: true });
      for (const a of skipped) expect(a.fullName).toContain(`apt-get install ${pkg}`);
    }
    console.log(
      `with every optional tool hidden: ${tagged.length} tests skipped, 0 failed, e.g.\n  ${tagged
        .slice(0, 4)
        .map((a) => a.fullName)
        .join("\n  ")}`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);
