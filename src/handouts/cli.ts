// `npm start`: build the handouts (see build.ts). Exits non-zero if a notebook fails.
//   node dist/handouts/cli.js [--only 02,05] [--jobs N] [--out out] [--no-png] [--no-pdf]
// --jobs: notebooks executed side by side; one more than the number of cores by default. A
// notebook spends much of its run waiting (its C children's sleep(), its kernel's start): with
// one notebook per core, a core idled 6 s of a 33 s run on 2 cores (/proc/stat), 1.5-2 s with
// one more. Every notebook's verdicts are computed from its own run, so they hold side by side
// (the tests run them so).
import os from "os";
import path from "path";
import { packageRoot } from "../process/paths";
import { validateInteger } from "../validators";
import { buildHandouts, summaryTable } from "./build";
import { jupyterUnavailableReason } from "./jupyter";

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const root = packageRoot();
  const jobs = validateInteger(Number(option(args, "--jobs") ?? os.availableParallelism() + 1), "--jobs", 1, 1024);
  const missing = jupyterUnavailableReason();
  if (missing) {
    console.error(`npm start needs Jupyter: ${missing}`);
    return 1;
  }
  const outDir = path.resolve(root, option(args, "--out") ?? "out");
  const report = await buildHandouts({
    notebooksDir: path.join(root, "notebooks"),
    outDir,
    only: option(args, "--only")?.split(","),
    jobs,
    noPng: args.includes("--no-png"),
    noPdf: args.includes("--no-pdf"),
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
    // A usage error (a bad --jobs) is its message; anything else, its stack.
    console.error(e instanceof RangeError ? e.message : e instanceof Error ? e.stack : e);
    process.exit(1);
  },
);
