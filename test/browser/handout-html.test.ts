// The handout HTML (nbconvert's exporter as npm start runs it) is self-contained: opened from
// a file in Chromium with every network request refused, it asks the network for nothing and
// draws its plotly figures (plotly.js travels inline in the first figure's output).
import { CHROMIUM_ARGS } from "../../src/figures/chromium";
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { plot } from "../../src/figures/plot";
import { resetPlotlyEmbedding } from "../../src/figures/html";
import { exportHtml, jupyterPython, writeNotebook, type Notebook } from "../../src/handouts";

import { chromiumPath, needsOr, toolMissing } from "../helpers";
const CHROMIUM = chromiumPath;

function skipReason(): string | null {
  try {
    require.resolve("playwright-core");
  } catch {
    return "playwright-core is not installed";
  }
  if (spawnSync(jupyterPython(), ["-c", "import nbconvert"], { stdio: "ignore" }).status !== 0) return "no nbconvert";
  return null;
}

const maybe = needsOr(["chromium"], toolMissing("chromium") ? null : skipReason()).test;

maybe(
  "handout HTML loads nothing from the network and draws its figures offline",
  async () => {
    const { chromium } = require("playwright-core") as typeof import("playwright-core");
    resetPlotlyEmbedding();
    const figures = [
      plot.lines([1, 2, 3], { measured: [3, 1, 2] }, { title: "first figure" }),
      plot.lines([1, 2, 3], { measured: [1, 2, 3] }, { title: "second figure" }),
    ];
    const output = (i: number) => ({ output_type: "display_data", metadata: {}, data: figures[i].mimeBundle() });
    const nb: Notebook = {
      cells: [
        {
          cell_type: "markdown",
          source: "# Figures offline\n\nInline math $x^2$ stays text without MathJax.",
          metadata: {},
        },
        { cell_type: "code", source: "plot.lines(…)", metadata: {}, execution_count: 1, outputs: [output(0)] },
        { cell_type: "code", source: "plot.lines(…)", metadata: {}, execution_count: 2, outputs: [output(1)] },
      ],
      metadata: { kernelspec: { name: "tslab-ipc", display_name: "TypeScript (IPC)", language: "typescript" } },
      nbformat: 4,
      nbformat_minor: 4,
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-html-"));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const ipynb = path.join(dir, "figures.ipynb");
      const html = path.join(dir, "figures.html");
      writeNotebook(ipynb, nb);
      await exportHtml([[ipynb, html]], { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: "1" });
      expect(fs.readFileSync(html, "utf8")).not.toMatch(/<script[^>]+src="https?:/);

      const context = await browser.newContext();
      const asked: string[] = [];
      await context.route("**/*", (route) => {
        const url = route.request().url();
        if (url.startsWith("file:") || url.startsWith("data:")) return route.continue();
        asked.push(url);
        return route.abort();
      });
      const page = await context.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(String(e)));
      await page.goto("file://" + html);
      await page.waitForFunction(() => document.querySelectorAll(".tslab-ipc-plot .main-svg").length >= 2, null, {
        timeout: 30_000,
      });
      expect(await page.locator(".tslab-ipc-plot").count()).toBe(2);
      expect(asked).toEqual([]);
      expect(pageErrors).toEqual([]);
    } finally {
      await browser.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
  120_000,
);
