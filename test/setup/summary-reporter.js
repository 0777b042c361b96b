// @ts-check
// Prints the closing line CI reads ("N passed, N failed, N skipped") and keeps it in a file,
// since CI does not read jest's own summary. A leak of this run's own objects found after the
// last test counts as one more failure. Before it, every skipped test is named: a skip says why
// (the tests that need an optional tool name the Debian package that brings it back). Every failed
// test is kept too, with the first lines of its message, in failures.txt: CI shows only the tail
// of a run's output, so .ci/run prints them again just before the closing line.
const fs = require("fs");
const path = require("path");
const { foreignNote, leaks, resultsDir } = require("./leaks");

/** @implements {Pick<import("@jest/reporters").Reporter, "onRunComplete">} */
class SummaryReporter {
  /**
   * @param {unknown} _contexts
   * @param {import("@jest/test-result").AggregatedResult} results
   */
  onRunComplete(_contexts, results) {
    const skippedNames = [];
    const failures = [];
    for (const file of results.testResults) {
      const where = path.relative(process.cwd(), file.testFilePath);
      for (const t of file.testResults) {
        if (t.status === "pending" || t.status === "todo") skippedNames.push(`${where}: ${t.fullName}`);
        if (t.status === "failed") failures.push(`FAILED ${where}: ${t.fullName}\n${firstLines(t.failureMessages)}`);
      }
      // A suite that could not run at all (a syntax error, a hook that threw) has no tests.
      if (file.testExecError) failures.push(`FAILED ${where}: ${firstLines([file.testExecError.message])}`);
    }
    if (skippedNames.length) process.stdout.write(`\nskipped:\n  ${skippedNames.join("\n  ")}\n`);
    const foreign = foreignNote();
    if (foreign) process.stdout.write(`\n${foreign}\n`);
    const leaked = leaks();
    if (leaked) {
      process.stdout.write(`\nLEAK: ${leaked}\n`);
      failures.push(`FAILED the leak check after the last test: ${leaked}`);
    }
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites + (leaked ? 1 : 0);
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped`;
    fs.mkdirSync(resultsDir, { recursive: true });
    fs.writeFileSync(path.join(resultsDir, "failures.txt"), failures.map((f) => `${f}\n`).join(""));
    fs.writeFileSync(path.join(resultsDir, "summary.txt"), line + "\n");
    process.stdout.write(`\n${line}\n`);
  }
}
/**
 * The first lines of a failure, without colours and stack frames: what was expected and what came.
 * @param {string[]} messages
 */
function firstLines(messages) {
  return (
    messages
      .join("\n")
      // biome-ignore lint/suspicious/noControlCharactersInRegex: jest's messages carry ANSI colours
      .replace(/\u001b\[[0-9;]*m/g, "")
      .split("\n")
      .filter((l) => l.trim() !== "" && !/^\s+at /.test(l))
      .slice(0, 12)
      .map((l) => `    ${l.slice(0, 300)}`)
      .join("\n")
  );
}

module.exports = SummaryReporter;
