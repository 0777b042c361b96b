// npm start end to end on one notebook with a figure (buildHandouts, as the command line runs
// it): the executed and the student notebooks both carry the figure's PNG, and the student's
// PDF prints it as that image, not by running plotly.js inside the print (pdf.ts's invariant).
// And the kernels of npm start, release and grading are batch kernels (kernel/main.js).
import fs from "fs";
import os from "os";
import path from "path";
import {
  buildHandouts,
  jupyterUnavailableReason,
  projectKernel,
  readNotebook,
  writeNotebook,
} from "../../src/handouts";
import type { NotebookOutput } from "../../src/handouts";
import { needsOr } from "../helpers";

const maybe = needsOr(["chromium"], jupyterUnavailableReason()).test;

const hasPng = (outputs: NotebookOutput[] | undefined) =>
  (outputs ?? []).some((o) => o.data !== undefined && "image/png" in o.data);

maybe(
  "a student handout keeps its figures' PNGs and its PDF prints them as images",
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-build-"));
    try {
      const notebooks = path.join(dir, "notebooks");
      const out = path.join(dir, "out");
      fs.mkdirSync(notebooks);
      writeNotebook(path.join(notebooks, "01-figure.ipynb"), {
        cells: [
          { cell_type: "markdown", metadata: {}, source: "# A figure" },
          {
            cell_type: "code",
            metadata: {},
            execution_count: null,
            outputs: [],
            source: 'plot.lines([1, 2, 3], { measured: [3, 1, 2] }, { title: "a figure" })',
          },
        ],
        metadata: { kernelspec: { name: "tslab-ipc", display_name: "TypeScript (IPC)", language: "typescript" } },
        nbformat: 4,
        nbformat_minor: 4,
      });
      const report = await buildHandouts({ notebooksDir: notebooks, outDir: out, log: () => undefined });
      expect(report.notebooks.map((n) => n.status)).toEqual(["ok"]);
      expect(hasPng(readNotebook(path.join(out, "01-figure.ipynb")).cells[1].outputs)).toBe(true);
      expect(hasPng(readNotebook(path.join(out, "student", "01-figure.ipynb")).cells[1].outputs)).toBe(true);
      const pdf = fs.readFileSync(path.join(out, "student", "01-figure.pdf"), "latin1");
      expect(pdf.startsWith("%PDF-")).toBe(true);
      expect(pdf).toMatch(/\/Subtype\s*\/Image/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
  120000,
);

// No history: a batch kernel's cells are no one's, and a kernel outliving a stopped npm start by
// a second wrote them into the data dir it had just removed (making it again).
test("the private kernelspec of npm start, release and grading starts batch kernels that keep no input history", () => {
  const kernel = projectKernel({ buildSnapshot: false });
  try {
    const spec = path.join(kernel.env.JUPYTER_DATA_DIR as string, "kernels", "tslab-ipc", "kernel.json");
    expect(JSON.parse(fs.readFileSync(spec, "utf8")).env).toEqual({
      TSLAB_IPC_BATCH: "1",
      TSLAB_IPC_HISTORY_FILE: "/dev/null",
    });
  } finally {
    kernel.dispose();
  }
});
