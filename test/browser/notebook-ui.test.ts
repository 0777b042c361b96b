// A notebook opened in Jupyter Notebook in a real browser (Debian's Chromium, headless, driven
// by playwright-core): start `jupyter notebook` on a temporary copy of notebook 02, open it,
// run all cells from the page (the UI's own Jupyter.notebook.execute_all_cells), wait until
// every cell has run, and find the outputs on the page. The server is shut down at the end.
import { withNotebookPage } from "./notebook-server";
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { jupyterPython, listNotebooks, readNotebook, tagsOf } from "../../src/handouts";

import { needsOr, toolMissing } from "../helpers";
const notebook = listNotebooks(path.join(__dirname, "..", "..", "notebooks"), ["02-"])[0];

function skipReason(): string | null {
  if (!notebook) return "notebook 02 is missing";
  try {
    require.resolve("playwright-core");
  } catch {
    return "playwright-core is not installed";
  }
  const r = spawnSync(jupyterPython(), ["-c", "import notebook"], { stdio: "ignore" });
  if (r.status !== 0) return `${jupyterPython()} has no Jupyter Notebook`;
  return null;
}

const maybe = needsOr(["chromium"], toolMissing("chromium") ? null : skipReason()).test;

maybe(
  "notebook 02 runs from the Jupyter Notebook page in Chromium and shows its outputs",
  async () => {
    const name = path.basename(notebook);
    const raising = readNotebook(notebook).cells.filter((c) => tagsOf(c).includes("raises-exception")).length;
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-ui-"));
    fs.copyFileSync(notebook, path.join(workDir, name));
    await withNotebookPage(workDir, name, async (page) => {
      await page.evaluate(() => (window as any).Jupyter.notebook.execute_all_cells());
      // Done when every code cell has a number in its prompt (In [*] while running) and the kernel is idle.
      await page.waitForFunction(
        () => {
          const J = (window as any).Jupyter;
          const cells = J.notebook.get_cells().filter((c: any) => c.cell_type === "code");
          const done = cells.every((c: any) => typeof c.input_prompt_number === "number");
          return done && document.querySelector("#kernel_indicator_icon.kernel_idle_icon") !== null;
        },
        null,
        { timeout: 120_000, polling: 250 },
      );

      const outputs = await page.locator(".output_area").allInnerTexts();
      const all = outputs.join("\n");
      expect(all).toContain('[TS shmdemo] segment contains: "Hello from another process"');
      expect(all).toContain("✓ segmentContains reads the text, read-only, and detaches");
      // Errors only where the notebook means them (cells tagged raises-exception).
      expect(await page.locator(".output_error").count()).toBe(raising);
    });
  },
  240_000,
);
