// Releasing an assignment (npm run release, tslab-ipc release): from the instructor's notebook
// to what students get, in DIR:
//   <name>.ipynb   the student version (nbgrader.ts: stubs, no hidden tests, checksums)
//   <name>.html    its HTML handout
//   <name>.pdf     printed by Chromium, figures as images, code wrapped (pdf.ts)
// By default the source is executed first (project kernel, private IPC namespace), so the
// handout carries the figures and outputs of its ordinary cells; --no-execute skips that.
import fs from "fs";
import path from "path";
import { ERR_INVALID_ARG_VALUE } from "../codes";
import type { OfflineBrowser } from "../figures/chromium";
import { addPngsToNotebook } from "../figures/png";
import {
  executeNotebook,
  exportHtml,
  projectKernel,
  type HtmlExporter,
  type KernelEnvironment,
} from "../handouts/jupyter";
import { readNotebook, writeNotebook, type Notebook } from "../handouts/notebook";
import { tempFolder } from "../process/temp-folder";
import { asAssignment, studentVersion } from "./nbgrader";
import { pdfUnavailableReason, printableCopy, printPdfs } from "./pdf";

export interface ReleaseOptions {
  source: string;
  outDir: string;
  /** Execute the source first (default true). */
  execute?: boolean;
  /** Print the PDF (default true). */
  pdf?: boolean;
  /** Per-cell timeout of the execution, seconds (default 120). */
  timeoutSeconds?: number;
  /** A kernel environment to reuse (default: this checkout's, installed privately). */
  kernel?: KernelEnvironment;
}

export interface ReleaseReport {
  files: string[];
  /** Code or output blocks of the PDF still wider than the page (0: everything wraps). */
  overflowing: number;
  warnings: string[];
}

/**
 * Writes the print copy of each student notebook beside a temp HTML and prints the PDFs; with
 * `shared`, through that HTML exporter and in that browser (both stay open), else its own.
 */
export async function writePdfs(
  items: { notebook: Notebook; pdf: string }[],
  env: NodeJS.ProcessEnv,
  shared: { exporter?: HtmlExporter; browser?: OfflineBrowser } = {},
): Promise<{ pdf: string; overflowing: number }[]> {
  if (items.length === 0) return [];
  const tmp = tempFolder("tslab-ipc-print-");
  try {
    const htmlPairs: [string, string][] = [];
    const pdfPairs: [string, string][] = [];
    items.forEach((item, i) => {
      const ipynb = path.join(tmp.path, `${i}.ipynb`);
      writeNotebook(ipynb, printableCopy(item.notebook));
      htmlPairs.push([ipynb, path.join(tmp.path, `${i}.html`)]);
      pdfPairs.push([path.join(tmp.path, `${i}.html`), item.pdf]);
    });
    await (shared.exporter ? shared.exporter.export(htmlPairs) : exportHtml(htmlPairs, env));
    return await printPdfs(pdfPairs, { browser: shared.browser });
  } finally {
    tmp.remove();
  }
}

export async function releaseAssignment(options: ReleaseOptions): Promise<ReleaseReport> {
  const name = path.basename(options.source, ".ipynb");
  const warnings: string[] = [];
  let overflowing = 0;
  let nb = asAssignment(readNotebook(options.source), name);
  studentVersion(nb, name); // a malformed assignment fails here, before any kernel starts
  // `--out` the source's own folder: the student version took the source's name and place, and
  // the instructor's solutions and hidden tests were gone.
  const target = path.join(options.outDir, `${name}.ipynb`);
  const [from, to] = [options.source, target].map((f) => fs.statSync(f, { throwIfNoEntry: false }));
  if (to && from && to.dev === from.dev && to.ino === from.ino)
    throw new ERR_INVALID_ARG_VALUE(
      "options.outDir",
      options.outDir,
      `would put the student version in place of its source ${options.source}: choose another folder`,
    );
  fs.mkdirSync(options.outDir, { recursive: true });
  const kernel = options.kernel ?? (options.execute === false ? null : projectKernel());
  const tmp = tempFolder("tslab-ipc-release-");
  try {
    if (options.execute !== false && kernel) {
      const input = path.join(tmp.path, `${name}.ipynb`);
      const executed = path.join(tmp.path, `${name}.executed.ipynb`);
      writeNotebook(input, nb);
      const run = await executeNotebook(input, executed, {
        env: kernel.env,
        timeoutSeconds: options.timeoutSeconds,
        cwd: path.dirname(path.resolve(options.source)),
      });
      if (!run.ok) warnings.push(`the source did not run through: ${run.error}`);
      if (fs.existsSync(executed)) {
        nb = readNotebook(executed);
        const png = await addPngsToNotebook(nb as never);
        if (png.reason) warnings.push(`figures without PNG: ${png.reason}`);
      }
    }
    const student = studentVersion(nb, name);
    const files = [path.join(options.outDir, `${name}.ipynb`), path.join(options.outDir, `${name}.html`)];
    writeNotebook(files[0], student);
    const env = kernel?.env ?? process.env;
    await exportHtml([[files[0], files[1]]], env);
    if (options.pdf !== false) {
      const why = pdfUnavailableReason();
      if (why) warnings.push(`no PDF: ${why}`);
      else {
        files.push(path.join(options.outDir, `${name}.pdf`));
        overflowing = (await writePdfs([{ notebook: student, pdf: files[2] }], env))[0].overflowing;
        if (overflowing > 0) warnings.push(`${overflowing} block(s) wider than the page in the PDF`);
      }
    }
    return { files, warnings, overflowing };
  } finally {
    tmp.remove();
    if (!options.kernel) kernel?.dispose();
  }
}
