// The kernel's interactive features in Jupyter Notebook 6.4, in a real browser (Debian's
// Chromium, headless, driven by playwright-core): Tab shows a completion list of an earlier
// cell's object, Shift-Tab shows the tooltip (signature and TSDoc), and input() shows a box that
// takes a line. The server and its kernels are shut down at the end.
import { withNotebookPage } from "./notebook-server";
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { jupyterPython } from "../../src/handouts";

import { chromiumPath } from "../helpers";
const CHROMIUM = chromiumPath;

function skipReason(): string | null {
  if (!fs.existsSync(CHROMIUM)) return `${CHROMIUM} not found (Debian package chromium)`;
  try {
    require.resolve("playwright-core");
  } catch {
    return "playwright-core is not installed";
  }
  const r = spawnSync(jupyterPython(), ["-c", "import notebook"], { stdio: "ignore" });
  if (r.status !== 0) return `${jupyterPython()} has no Jupyter Notebook (Debian package jupyter-notebook)`;
  return null;
}

const CELLS = [
  "const seg = SharedSegment.create({ size: 4096 });",
  "", // completion is typed here
  "", // the tooltip is asked for here
  'const name = await input("your name: ");\nname.toUpperCase()',
];

const why = skipReason();
if (why) console.warn(`browser test skipped: ${why}`);
const maybe = why ? test.skip : test;

maybe(
  "Notebook: Tab lists an object's members, Shift-Tab shows the tooltip, input() takes a line",
  async () => {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-ui-kernel-"));
    const name = "interactive.ipynb";
    fs.writeFileSync(
      path.join(workDir, name),
      JSON.stringify({
        nbformat: 4,
        nbformat_minor: 4,
        metadata: { kernelspec: { name: "tslab-ipc", display_name: "TypeScript (IPC)", language: "typescript" } },
        cells: CELLS.map((source) => ({ cell_type: "code", source, metadata: {}, outputs: [], execution_count: null })),
      }),
    );
    await withNotebookPage(workDir, name, async (page) => {
      const idle = () =>
        page.waitForFunction(() => document.querySelector("#kernel_indicator_icon.kernel_idle_icon") !== null, null, {
          timeout: 90_000,
          polling: 100,
        });

      await page.evaluate(() => (window as any).Jupyter.notebook.execute_cells([0]));
      await page.waitForFunction(
        () => typeof (window as any).Jupyter.notebook.get_cell(0).input_prompt_number === "number",
        null,
        { timeout: 90_000 },
      );
      await idle();

      // Tab after `seg.`: the completer's list holds the segment's members.
      const editor = (i: number) => page.locator(".cell").nth(i).locator(".CodeMirror");
      await editor(1).click();
      await page.keyboard.type("seg.");
      await page.keyboard.press("Tab");
      const list = page.locator(".completions select");
      await list.waitFor({ timeout: 30_000 });
      const members = await list.locator("option").allInnerTexts();
      expect(members).toEqual(expect.arrayContaining(["attach", "stat", "remove"]));
      await page.keyboard.press("Escape");

      // Shift-Tab inside `shmget(`: the tooltip shows the signature and its TSDoc.
      await editor(2).click();
      await page.keyboard.type("shmget");
      await page.keyboard.press("Shift+Tab");
      const tooltip = page.locator("#tooltip");
      await tooltip.waitFor({ state: "visible", timeout: 30_000 });
      await page.waitForFunction(
        () => /shmget\(key: number/.test(document.querySelector("#tooltip")?.textContent ?? ""),
        null,
        { timeout: 30_000 },
      );
      // biome-ignore lint/performance/useDomNodeTextContent: the test checks the text the tooltip shows (rendered), which textContent need not match
      expect(await tooltip.innerText()).toMatch(/IPC_CREAT/);
      await page.keyboard.press("Escape");

      // input(): the page shows a box; a line typed there comes back to the cell.
      await page.evaluate(() => (window as any).Jupyter.notebook.execute_cells([3]));
      const box = page.locator("input.raw_input");
      await box.waitFor({ timeout: 60_000 });
      // biome-ignore lint/performance/useDomNodeTextContent: the prompt as rendered on the page is what the test checks, not the DOM's raw text
      expect(await page.locator(".raw_input_container").innerText()).toContain("your name:");
      await box.fill("ada");
      await box.press("Enter");
      await page.waitForFunction(
        () => /'ADA'/.test(document.querySelectorAll(".cell")[3]?.querySelector(".output")?.textContent ?? ""),
        null,
        { timeout: 30_000 },
      );
    });
  },
  240_000,
);
