// `npm start` as a user runs it: every notebook executed (--jobs = cores + 1, the default), PNGs of
// figures, HTML pages, student versions and PDF handouts, into a temporary folder.
//   node bench/runners/npm-start.js
// Prints one JSON line: samples (seconds, the whole command), and a note saying what it made.
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawnSync } = require("child_process");

const ROOT = path.join(__dirname, "..", "..");

function main() {
  const cli = path.join(ROOT, "dist", "handouts", "cli.js");
  if (!fs.existsSync(cli)) return { skipped: "dist/handouts is not built (npm run build)" };
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-bench-npm-start-"));
  try {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [cli, "--out", out], { encoding: "utf8", maxBuffer: 64 << 20 });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const summary = /(\d+) notebook\(s\), (\d+) failed, total ([\d.]+) s/.exec(r.stdout);
    if (r.status !== 0 || !summary) {
      return { skipped: `npm start failed (exit ${r.status}): ${(r.stdout + r.stderr).slice(-400)}` };
    }
    return {
      samples: [seconds],
      note: `${summary[1]} notebooks, --jobs ${os.availableParallelism() + 1} (the default), HTML, student versions and PDFs`,
    };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

process.stdout.write(JSON.stringify(main()) + "\n");
