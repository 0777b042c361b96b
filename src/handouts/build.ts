// npm start: execute every notebook in notebooks/ through real Jupyter with the project's
// kernel and write the handouts:
//   out/<name>.ipynb, out/<name>.html                   executed (with PNGs of plotly figures)
//   out/student/<name>.ipynb, .html, .pdf               nbgrader's release (src/assign): stubs,
//                                                       no hidden tests, checksums; PDF by Chromium
// Notebooks still tagged `solution` / `check` are converted to nbgrader's format on the fly.
import fs from "fs";
import path from "path";
import { performance } from "perf_hooks";
import { asAssignment } from "../assign/nbgrader";
import { openPrintPages, pdfUnavailableReason } from "../assign/pdf";
import { writePdfs } from "../assign/release";
import { launchOfflineBrowser } from "../figures/chromium";
import { addPngsToNotebook, openFigureRenderer } from "../figures/png";
import { inPool } from "../process/pool";
import { judgeNotebook, type Judgement } from "./judge";
import { executeNotebook, ipcNamespaceAvailable, openHtmlExporter, projectKernel } from "./jupyter";
import { readNotebook, writeNotebook, type Notebook } from "./notebook";
import { studentVersion } from "./student";

export interface HandoutOptions {
  notebooksDir: string;
  outDir: string;
  /** Only notebooks whose file name contains one of these. */
  only?: string[];
  /** Notebooks executed at the same time (default 1: timings in the notebooks stay clean). */
  jobs?: number;
  /** Per-cell timeout in seconds (default 120). */
  timeoutSeconds?: number;
  /** Skip PNG rendering of figures. */
  noPng?: boolean;
  /** Skip the PDF handouts. */
  noPdf?: boolean;
  /** Progress lines (default: console.log). */
  log?: (line: string) => void;
}

export interface NotebookReport {
  name: string;
  cells: number;
  seconds: number;
  ok: boolean;
  /** "ok", or what went wrong. */
  status: string;
  judgement: Judgement | null;
}

export interface HandoutReport {
  notebooks: NotebookReport[];
  totalSeconds: number;
  ok: boolean;
  kernel: string;
}

/** The notebooks of `dir` in lecture order (NN-topic.ipynb sorts by name). */
export function listNotebooks(dir: string, only?: string[]): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".ipynb") && !f.startsWith("."))
    .filter((f) => !only || only.length === 0 || only.some((o) => f.includes(o)))
    .sort()
    .map((f) => path.join(dir, f));
}

function statusOf(judgement: Judgement): string {
  if (judgement.ok) return "ok";
  const p = judgement.problems[0];
  const more = judgement.problems.length > 1 ? ` (+${judgement.problems.length - 1} more)` : "";
  return `FAILED: cell ${p.cell} ${p.kind}: ${p.detail}${more}`;
}

export async function buildHandouts(options: HandoutOptions): Promise<HandoutReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const started = performance.now();
  const files = listNotebooks(options.notebooksDir, options.only);
  const studentDir = path.join(options.outDir, "student");
  fs.mkdirSync(studentDir, { recursive: true });

  const kernel = projectKernel();
  const noPdf = options.noPdf ? "--no-pdf" : pdfUnavailableReason();
  if (noPdf) log(`No PDF handouts: ${noPdf}`);
  // One nbconvert process writes every page, and one Chromium renders every figure and prints
  // every PDF: a launch and plotly.js's load cost about 3 s of CPU each time. Chromium starts
  // while the first notebooks execute. Where it does not start, the PNG and PDF calls launch
  // their own, which report why (a warning, no PNGs; a failed PDF).
  const exporter = openHtmlExporter(kernel.env);
  const launching = options.noPng && noPdf ? null : launchOfflineBrowser().catch(() => null);
  // Chromium's start-up costs (a renderer process per page, ~1 s of CPU each; plotly.js's load)
  // are paid now, beside the first kernels' start, not in the middle of the notebooks' timed
  // cells (01 gives a child 1 s to open a FIFO, while 02's PDF prints).
  const warming = launching?.then(async (b) => {
    if (!b) return;
    await Promise.all([noPdf ? null : openPrintPages(b), options.noPng ? null : openFigureRenderer(b)]);
  });
  warming?.catch(() => undefined); // a page that did not open is opened again when needed
  const browser = async () => (await launching) ?? undefined;
  // What is left of a notebook once it is executed and judged (its PNGs, the executed and
  // student notebooks, their pages and the PDF) runs beside the next notebooks' execution.
  const finishing: Promise<unknown>[] = [];
  const finish = async (nb: Notebook, name: string, withStudent: boolean) => {
    const executedPath = path.join(options.outDir, `${name}.ipynb`);
    const shared = { exporter, browser: await browser() };
    if (!options.noPng) {
      // Where Chromium is missing, addPngsToNotebook says so once (a process warning) and
      // adds nothing: the figures keep their HTML and plotly JSON, and we go on.
      await addPngsToNotebook(nb as never, { browser: shared.browser });
    }
    writeNotebook(executedPath, nb);
    const pages: [string, string][] = [[executedPath, path.join(options.outDir, `${name}.html`)]];
    // Made from the notebook with its PNGs, so that the student's figures have them too and
    // the PDF prints them as images (printableCopy), not by running plotly.js in the print.
    const student = withStudent ? studentVersion(nb, name) : null;
    if (student) {
      const studentPath = path.join(studentDir, `${name}.ipynb`);
      writeNotebook(studentPath, student);
      pages.push([studentPath, path.join(studentDir, `${name}.html`)]);
    }
    // The print copy's page goes to nbconvert first: Chromium prints it while nbconvert writes
    // the other two.
    const pdf = path.join(studentDir, `${name}.pdf`);
    const printed = student && !noPdf ? writePdfs([{ notebook: student, pdf }], kernel.env, shared) : null;
    await Promise.all([printed, exporter.export(pages)]);
  };
  try {
    // Without an IPC namespace per run, a segment that appears during a run may be another
    // notebook's of this user: only a run alone can tell its own leaks (nbrun.py drops other
    // users' segments).
    const alone = !ipcNamespaceAvailable() && (options.jobs ?? 1) > 1;
    log(
      `Executing ${files.length} notebook(s) with ${kernel.description}` +
        (alone ? "; one at a time (no IPC namespace of their own here to tell their leaks apart)" : ""),
    );
    const reports = await inPool(files, alone ? 1 : (options.jobs ?? 1), async (file, i) => {
      const name = path.basename(file, ".ipynb");
      const executedPath = path.join(options.outDir, `${name}.ipynb`);
      log(`[${i + 1}/${files.length}] ${name}: executing…`);
      const run = await executeNotebook(file, executedPath, {
        env: kernel.env,
        timeoutSeconds: options.timeoutSeconds,
        cwd: path.dirname(path.resolve(file)),
      });
      if (!fs.existsSync(executedPath)) {
        log(`[${i + 1}/${files.length}] ${name}: FAILED (${run.error})`);
        return { name, cells: 0, seconds: run.seconds, ok: false, status: `FAILED: ${run.error}`, judgement: null };
      }
      const nb = asAssignment(readNotebook(executedPath), name);
      // A malformed exercise (an unclosed region, a duplicated grade_id) fails this notebook only.
      // (Checked here, for the status; the student version itself is made after the PNGs.)
      let releaseError: string | null = null;
      try {
        studentVersion(nb, name);
      } catch (e) {
        releaseError = (e as Error).message;
      }
      const judgement = judgeNotebook(nb);
      const done = finish(nb, name, releaseError === null);
      done.catch(() => undefined); // awaited with the others below
      finishing.push(done);
      let status = run.ok ? statusOf(judgement) : `FAILED: ${run.error}`;
      if (status === "ok" && releaseError) status = `FAILED: student version: ${releaseError}`;
      if (status === "ok" && run.segmentsLeft.length > 0) {
        status = `FAILED: left ${run.segmentsLeft.length} System V segment(s) behind (key shmid …: ${run.segmentsLeft[0]})`;
      }
      // Only where the run had its own /dev/shm is every new name there the notebook's.
      if (status === "ok" && run.privateDevShm && run.devShmLeft.length > 0) {
        status = `FAILED: left ${run.devShmLeft.length} name(s) in /dev/shm (${run.devShmLeft.slice(0, 3).join(", ")})`;
      }
      const ok = status === "ok";
      log(
        `[${i + 1}/${files.length}] ${name}: ${ok ? "ok" : status} (${judgement.codeCells} code cells, ${run.seconds.toFixed(1)} s)`,
      );
      return { name, cells: judgement.codeCells, seconds: run.seconds, ok, status, judgement };
    });
    log(noPdf ? "Writing the last HTML pages…" : "Writing the last HTML pages and PDF handouts…");
    await Promise.all(finishing);
    const totalSeconds = (performance.now() - started) / 1000;
    return {
      notebooks: reports,
      totalSeconds,
      ok: reports.length > 0 && reports.every((r) => r.ok),
      kernel: kernel.description,
    };
  } finally {
    await Promise.allSettled(finishing);
    await Promise.all([exporter.close(), launching?.then((b) => b?.close())]).catch(() => undefined);
    kernel.dispose();
  }
}

/** The summary table: notebook, cells, seconds, status; and the total time. */
export function summaryTable(report: HandoutReport): string {
  const rows = report.notebooks.map((r) => [r.name, String(r.cells), r.seconds.toFixed(1), r.status]);
  const head = ["notebook", "cells", "seconds", "status"];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => Math.min(r[c].length, c === 3 ? 100 : 60))));
  const line = (cols: string[]) =>
    cols
      .map((v, c) => (c === 1 || c === 2 ? v.padStart(widths[c]) : v.padEnd(widths[c])))
      .join("  ")
      .trimEnd();
  const failed = report.notebooks.filter((r) => !r.ok).length;
  return [
    line(head),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    "",
    `${report.notebooks.length} notebook(s), ${failed} failed, total ${report.totalSeconds.toFixed(1)} s`,
  ].join("\n");
}
