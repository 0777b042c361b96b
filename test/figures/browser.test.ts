// Figures in a browser with no network: two figures' text/html outputs, one after the other
// as nbconvert writes them, both drawn; and PNG rendering with plotly.js in Chromium.
import { CHROMIUM_ARGS } from "../../src/figures/chromium";
import { execFileSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import {
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PLOTLY_MIME,
  PROT_READ,
  PROT_WRITE,
  addPngsToNotebook,
  madvise,
  mmap,
  plot,
  recordResidency,
  renderFigurePng,
  renderFigurePngs,
  resetPlotlyEmbedding,
  sampleLatency,
} from "../../src";
import type { Figure } from "../../src";
import type { Browser, Page } from "playwright-core";

import { chromiumPath, needs } from "../helpers";
const CHROMIUM = chromiumPath;
const display = Symbol.for("Jupyter.display");

function html(fig: Figure): string {
  return (fig as unknown as Record<symbol, () => Record<string, string>>)[display]()["text/html"];
}

/**
 * A tab of an offline context in which every request for the network is refused and recorded:
 * a figure that reaches for a CDN shows up in `network`.
 */
async function offlineTab(browser: Browser): Promise<{ tab: Page; network: string[] }> {
  const context = await browser.newContext({ offline: true });
  const network: string[] = [];
  await context.route(/^(https?|wss?):/, (route: { request(): { url(): string }; abort(): Promise<void> }) => {
    network.push(route.request().url());
    return route.abort();
  });
  return { tab: await context.newPage(), network };
}

function pngSize(png: Buffer): { width: number; height: number } {
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** Figures from measurements made now: latency of two calls, residency of a touched mapping. */
function measuredFigures(): { hist: Figure; heat: Figure; ecdf: Figure } {
  const a = sampleLatency(() => Math.sqrt(Math.random()), { n: 300, label: "sqrt" });
  const b = sampleLatency(() => JSON.stringify([Math.random()]), { n: 300, label: "stringify" });
  const m = mmap(null, 256 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  try {
    const rec = recordResidency(m, 9, (i) => {
      if (i === 8) madvise(m, m.length, MADV_DONTNEED);
      else for (let p = i * 32; p < (i + 1) * 32; p++) m.buffer[p * 4096] = 1;
    });
    return {
      hist: plot.histogram([a, b], { title: "call latency" }),
      heat: plot.residency(rec, { title: "residency" }),
      ecdf: plot.ecdf([a, b], { title: "call latency CDF" }),
    };
  } finally {
    m.unmap();
  }
}

needs("chromium").describe(`in headless Chromium (${CHROMIUM})`, () => {
  let dir = "";
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-fig-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("a standalone page of three figures' HTML outputs draws every plot offline", async () => {
    const { chromium } = require("playwright-core");
    resetPlotlyEmbedding(); // the first figure of this page carries plotly.js
    const figs = measuredFigures();
    const outputs = [figs.hist, figs.heat, figs.ecdf].map(
      (f) =>
        `<div class="output_area"><div class="output_html rendered_html output_subarea">\n${html(f)}\n</div></div>`,
    );
    const page = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>figures</title></head><body>\n${outputs.join("\n")}\n</body></html>`;
    const file = path.join(dir, "figures.html");
    fs.writeFileSync(file, page);

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const { tab, network } = await offlineTab(browser);
      const errors: string[] = [];
      tab.on("pageerror", (e: Error) => errors.push(e.message));
      await tab.goto("file://" + file);
      // Plotly.newPlot may finish asynchronously: wait until each figure drew something (or time out and fail).
      await tab.waitForFunction(
        () =>
          Array.from(document.querySelectorAll(".tslab-ipc-plot")).filter((el) =>
            el.querySelector(".main-svg .trace, .main-svg .hm"),
          ).length === 3,
        null,
        { timeout: 30000 },
      );
      const counts = await tab.evaluate(() =>
        Array.from(document.querySelectorAll(".tslab-ipc-plot")).map((el) => ({
          // plotly.js 4 puts traces under .overplot (older versions under .plot).
          traces: el.querySelectorAll(".js-plotly-plot .main-svg .trace").length,
          bars: el.querySelectorAll(".js-plotly-plot .main-svg .trace.bars .point path").length,
          heatmap: el.querySelectorAll(".js-plotly-plot .main-svg .hm image").length,
          fallbackLeft: el.querySelectorAll(".tslab-ipc-plot-fallback").length,
        })),
      );
      expect(errors).toEqual([]);
      expect(network).toEqual([]);
      expect(counts).toHaveLength(3);
      expect(counts[0].traces).toBe(2); // two histogram series
      expect(counts[0].bars).toBeGreaterThan(0);
      expect(counts[1].heatmap).toBe(1);
      expect(counts[2].traces).toBe(2); // two CDF lines
      expect(counts.every((c: { fallbackLeft: number }) => c.fallbackLeft === 0)).toBe(true);
    } finally {
      await browser.close();
    }
  });

  const jupyter = fs.existsSync("/usr/bin/jupyter") ? test : test.skip;
  jupyter(
    "a notebook with two figure outputs, converted by nbconvert (/usr/bin/jupyter), draws both offline",
    async () => {
      const { chromium } = require("playwright-core");
      resetPlotlyEmbedding(); // as in a fresh kernel: the notebook's first figure carries plotly.js
      const { hist, heat } = measuredFigures();
      const cell = (n: number, f: Figure) => ({
        cell_type: "code",
        execution_count: n,
        metadata: {},
        source: `figure ${n}`,
        outputs: [
          {
            output_type: "display_data",
            metadata: {},
            data: (f as unknown as Record<symbol, () => Record<string, unknown>>)[display](),
          },
        ],
      });
      const nb = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [cell(1, hist), cell(2, heat)] };
      const ipynb = path.join(dir, "two.ipynb");
      fs.writeFileSync(ipynb, JSON.stringify(nb));
      execFileSync("/usr/bin/jupyter", ["nbconvert", "--to", "html", "--output-dir", dir, ipynb], {
        stdio: "pipe",
        timeout: 60000,
      });
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
      try {
        const { tab, network } = await offlineTab(browser);
        await tab.goto("file://" + path.join(dir, "two.html"));
        await tab.waitForFunction(
          () =>
            Array.from(document.querySelectorAll(".tslab-ipc-plot")).filter((el) =>
              el.querySelector(".main-svg .trace, .main-svg .hm"),
            ).length === 2,
          null,
          { timeout: 30000 },
        );
        const drawn = await tab.evaluate(() =>
          Array.from(document.querySelectorAll(".tslab-ipc-plot")).map(
            (el) => el.querySelectorAll(".js-plotly-plot .main-svg .trace, .js-plotly-plot .main-svg .hm image").length,
          ),
        );
        expect(drawn).toEqual([2, 1]);
        // nbconvert's own template may ask for require.js/MathJax; nothing of ours goes online.
        expect(network.filter((u) => /plot/i.test(u))).toEqual([]);
      } finally {
        await browser.close();
      }
    },
  );

  test("renderFigurePng gives a real PNG", async () => {
    const { hist } = measuredFigures();
    const png = await renderFigurePng(hist, { width: 640, height: 360 });
    expect(png).not.toBeNull();
    expect(png!.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    expect(pngSize(png!)).toEqual({ width: 640, height: 360 });
    expect(png!.length).toBeGreaterThan(5000);
  });

  test("renderFigurePngs renders a batch in one launch", async () => {
    const { hist, heat } = measuredFigures();
    const both = await renderFigurePngs([hist.toJSON(), heat]);
    expect(both.map((b) => b && pngSize(b))).toEqual([
      { width: 900, height: 450 },
      { width: 900, height: 450 },
    ]);
    // Different figures, different pictures.
    expect(both[0]!.equals(both[1]!)).toBe(false);
  });

  test("addPngsToNotebook adds image/png to every plotly output", async () => {
    const { hist, ecdf } = measuredFigures();
    const out = (f: Figure) => ({
      output_type: "display_data",
      metadata: {},
      data: (f as unknown as Record<symbol, () => Record<string, unknown>>)[display](),
    });
    const nb = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: [
        { cell_type: "markdown", source: "x" },
        { cell_type: "code", outputs: [out(hist), { output_type: "stream", name: "stdout", text: "hi" }] },
        {
          cell_type: "code",
          outputs: [
            {
              output_type: "execute_result",
              execution_count: 1,
              metadata: {},
              data: { [PLOTLY_MIME]: ecdf.toJSON(), "text/plain": "x" },
            },
          ],
        },
      ],
    };
    const empty = { cells: [{ cell_type: "markdown", source: "no plots" }] };
    const report = await addPngsToNotebook([nb as never, empty]); // several notebooks, one launch
    expect(report).toEqual({ plotlyOutputs: 2, added: 2, reason: null });
    const first = (nb.cells[1].outputs![0] as { data: Record<string, string> }).data;
    expect(Buffer.from(first["image/png"], "base64").subarray(0, 4).toString("hex")).toBe("89504e47");
    expect(first["text/html"]).toContain("data:image/png;base64,");
    expect((nb.cells[2].outputs![0] as { data: Record<string, unknown> }).data["image/png"]).toEqual(
      expect.any(String),
    );
  });
});

test("without Chromium, rendering returns null and says why", async () => {
  const fig = plot.bar(["a"], [1]);
  const warn = jest.spyOn(process, "emitWarning").mockImplementation(() => undefined);
  try {
    expect(await renderFigurePng(fig, { executablePath: "/nonexistent/chromium" })).toBeNull();
    const nb = { cells: [{ outputs: [{ output_type: "display_data", data: { [PLOTLY_MIME]: fig.toJSON() } }] }] };
    const report = await addPngsToNotebook(nb, { executablePath: "/nonexistent/chromium" });
    expect(report.added).toBe(0);
    expect(report.reason).toMatch(/no Chromium at \/nonexistent\/chromium/);
    expect(warn).toHaveBeenCalledTimes(1);
  } finally {
    warn.mockRestore();
  }
});
