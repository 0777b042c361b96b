// `npm start`: build the handouts (see build.ts). Exits non-zero if a notebook fails.
//   node dist/handouts/cli.js [--only 02,05] [--jobs 2] [--out out] [--no-png] [--no-pdf]
import path from "path";
import { packageRoot } from "../process/paths";
import { buildHandouts, summaryTable } from "./build";
import { jupyterUnavailableReason } from "./jupyter";

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const root = packageRoot();
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
    jobs: Number(option(args, "--jobs") ?? 1),
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
    console.error(e instanceof Error ? e.stack : e);
    process.exit(1);
  },
);
