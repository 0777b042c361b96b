// Grading throughput: a typical assignment (notebooks/02, its solutions as the submission)
// graded by tslab-ipc's grader in its sandbox.
//   node bench/runners/grading.js [--quick]
// Prints one JSON line: samples (seconds per submission, one at a time), kernel (seconds to a
// ready kernel inside the sandbox, per submission), batch (seconds for BATCH submissions with
// --jobs = cores; 100, or 10 with --quick) and batchSize.
const fs = require("fs");
const os = require("os");
const path = require("path");

const ROOT = path.join(__dirname, "..", "..");
const SOURCE = path.join(ROOT, "notebooks", "02-system-v-shared-memory.ipynb");

async function main() {
  const quick = process.argv.includes("--quick");
  let grade;
  try {
    ({ gradeSubmissions: grade } = require(path.join(ROOT, "dist", "assign")));
  } catch (e) {
    return { skipped: `dist/assign is not built (npm run build): ${e instanceof Error ? e.message : String(e)}` };
  }
  const { jupyterUnavailableReason } = require(path.join(ROOT, "dist", "handouts"));
  const missing = jupyterUnavailableReason();
  if (missing) return { skipped: missing };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-bench-grading-"));
  try {
    const run = async (count, jobs) => {
      const subs = fs.mkdtempSync(path.join(work, "subs-"));
      for (let i = 0; i < count; i++)
        fs.copyFileSync(SOURCE, path.join(subs, `student${String(i).padStart(3, "0")}.ipynb`));
      const t0 = Date.now();
      const report = await grade({
        source: SOURCE,
        submissions: subs,
        outDir: fs.mkdtempSync(path.join(work, "out-")),
        jobs,
        timeoutSeconds: 120,
        log: () => undefined,
      });
      const seconds = (Date.now() - t0) / 1000;
      // Correct submissions short of full points mean the machine was too busy for the timeouts:
      // reported in the note, not thrown (the times are still what grading took).
      const wrong = report.submissions.filter((s) => s.total !== report.maxPoints);
      const why = wrong.length
        ? `${wrong.length} of ${count} short of full points (${wrong[0].student}: ${wrong[0].notes
            .concat(wrong[0].cells.map((c) => c.error).filter(Boolean))
            .join("; ")
            .slice(0, 200)})`
        : "";
      return { seconds, report, why };
    };
    const single = await run(quick ? 2 : 3, 1);
    const batchSize = quick ? 10 : 100;
    const batch = await run(batchSize, os.cpus().length);
    return {
      samples: single.report.submissions.map((s) => s.seconds),
      kernel: single.report.submissions.map((s) => s.kernelSeconds).filter((x) => x !== null),
      batch: [batch.seconds],
      batchSize,
      note: `${batchSize} submissions with --jobs ${os.cpus().length} in ${batch.seconds.toFixed(0)} s (${(batch.seconds / batchSize).toFixed(2)} s each); sandbox: ${batch.report.sandbox}${[
        single.why,
        batch.why,
      ]
        .filter(Boolean)
        .map((w) => "; " + w)
        .join("")}`,
    };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (r) => process.stdout.write(JSON.stringify(r) + "\n"),
  (e) => {
    // The message last: the bench shows the last lines of stderr.
    process.stderr.write(`${e?.stack ?? e}\n${e?.message ?? e}\n`);
    process.exit(1);
  },
);
