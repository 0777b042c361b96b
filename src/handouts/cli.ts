// `npm start`: build the handouts (see build.ts). Exits non-zero if a notebook fails, or on a
// command line it does not take (src/command-line.ts), before anything runs.
//   node dist/handouts/cli.js [--only 02,05] [--jobs N] [--out out] [--no-png] [--no-pdf]
// --jobs: notebooks executed side by side; one more than the number of cores by default. A
// notebook spends much of its run waiting (its C children's sleep(), its kernel's start): with
// one notebook per core, a core idled 6 s of a 33 s run on 2 cores (/proc/stat), 1.5-2 s with
// one more. Every notebook's verdicts are computed from its own run, so they hold side by side
// (the tests run them so).
import os from "os";
import path from "path";
import { countOption, readCommandLine, stringOption, usageError } from "../command-line";
import { packageRoot } from "../process/paths";
import { buildHandouts, listNotebooks, summaryTable } from "./build";
import { jupyterUnavailableReason } from "./jupyter";

const USAGE = `usage: node dist/handouts/cli.js [--only 02,05] [--jobs N] [--out DIR] [--no-png] [--no-pdf]
  (npm start builds, then runs it: npm start -- --only 02,05)
  --only    the notebooks whose file names contain one of these (comma-separated); default all
  --jobs    notebooks executed side by side; default one more than the cores
  --out     where the handouts go; default out/
  --no-png  no PNG of the figures; --no-pdf  no PDF of the student versions`;

async function main(): Promise<number> {
  const line = readCommandLine(
    process.argv.slice(2),
    { only: "string", jobs: "string", out: "string", "no-png": "boolean", "no-pdf": "boolean" },
    USAGE,
  );
  if (line.help) {
    console.log(USAGE);
    return 0;
  }
  const root = packageRoot();
  const notebooksDir = path.join(root, "notebooks");
  const jobs = countOption(line, "jobs", USAGE) ?? os.availableParallelism() + 1;
  const only = stringOption(line, "only")
    ?.split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
  if (only !== undefined && listNotebooks(notebooksDir, only).length === 0) {
    const names = listNotebooks(notebooksDir).map((f) => path.basename(f, ".ipynb"));
    throw usageError(`--only ${stringOption(line, "only")} names no notebook of ${names.join(", ")}`, USAGE);
  }
  const missing = jupyterUnavailableReason();
  if (missing) {
    console.error(`npm start needs Jupyter: ${missing}`);
    return 1;
  }
  const outDir = path.resolve(root, stringOption(line, "out") ?? "out");
  const report = await buildHandouts({
    notebooksDir,
    outDir,
    only,
    jobs,
    noPng: line.options["no-png"] === true,
    noPdf: line.options["no-pdf"] === true,
  });
  console.log("\n" + summaryTable(report));
  const shown = (dir: string) => {
    const rel = path.relative(process.cwd(), dir);
    return rel === "" ? "." : rel.startsWith("..") ? dir : rel;
  };
  console.log(
    `\nhandouts in ${shown(outDir)}/ (executed) and ${shown(path.join(outDir, "student"))}/ (student versions: .ipynb, .html, .pdf)`,
  );
  return report.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    // A usage error (a bad --jobs, an option it does not take) is its message; anything else, its stack.
    console.error((e as NodeJS.ErrnoException).code === "ERR_USAGE" ? e.message : e instanceof Error ? e.stack : e);
    process.exit(1);
  },
);
