// @ts-check
// Prints the closing line CI reads ("N passed, N failed, N skipped") and keeps it in a file,
// since CI does not read jest's own summary. A leak of this run's own objects found after the
// last test counts as one more failure. Before it, every skipped test is named: a skip says why
// (the tests that need an optional tool name the Debian package that brings it back).
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
    for (const file of results.testResults) {
      for (const t of file.testResults) {
        if (t.status === "pending" || t.status === "todo")
          skippedNames.push(`${path.relative(process.cwd(), file.testFilePath)}: ${t.fullName}`);
      }
    }
    if (skippedNames.length) process.stdout.write(`\nskipped:\n  ${skippedNames.join("\n  ")}\n`);
    const foreign = foreignNote();
    if (foreign) process.stdout.write(`\n${foreign}\n`);
    const leaked = leaks();
    if (leaked) process.stdout.write(`\nLEAK: ${leaked}\n`);
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites + (leaked ? 1 : 0);
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped`;
    fs.mkdirSync(resultsDir, { recursive: true });
    fs.writeFileSync(path.join(resultsDir, "summary.txt"), line + "\n");
    process.stdout.write(`\n${line}\n`);
  }
}
module.exports = SummaryReporter;
