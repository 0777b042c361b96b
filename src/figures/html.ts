// Self-contained HTML for a figure: a div, a script that draws into it once window.Plotly
// exists, and — in the first figure of the process only — plotly.js itself, inlined.
//
// Why inline and once: the notebooks must work with no internet (no CDN), and 4.8 MB of
// plotly.js per figure would bloat every notebook. The first figure's output holds the
// library; outputs come in cell order in the notebook and in nbconvert's HTML, and each
// figure's script waits (polls) for window.Plotly, so order of script execution does not
// matter. If the library's output was cleared, the figure says so instead of staying blank.
//
// Re-running the cell whose output carried the library replaces that output: the live page
// keeps window.Plotly, but the saved notebook would lose its only copy. A kernel cannot tell
// which cell runs, so the carrier is recognised by its summary line ("Figure: histogram of
// msync latency, 2 series, 2000 points"): a figure with the same summary as the carrier is
// taken to be its re-run and carries the library again.
import crypto from "crypto";
import fs from "fs";
import type { PlotlyFigure } from "./figure";
import { ERR_INVALID_ARG_TYPE } from "../codes";
import { escapeHtml } from "../display/html";
import { validateOptions } from "../validators";

let librarySource: string | null = null;
let libraryEmbedded = false;
/** Summary of the figure whose output carries the library. */
let carrierSummary: string | null = null;

/** The path of the plotly.js bundle that figures inline and the PNG renderer loads. */
export function plotlyLibraryPath(): string {
  return require.resolve("plotly.js-dist-min/plotly.min.js");
}

/** plotly.js source, escaped so it cannot end the <script> element it is inlined in. */
export function plotlyLibrarySource(): string {
  if (librarySource === null) {
    librarySource = fs.readFileSync(plotlyLibraryPath(), "utf8").replace(/<\/(script)/gi, "<\\/$1");
  }
  return librarySource;
}

/**
 * Makes the next figure carry plotly.js again (e.g. after clearing the output that held it).
 * Figures in this process normally embed it once.
 */
export function resetPlotlyEmbedding(): void {
  libraryEmbedded = false;
  carrierSummary = null;
}

/** Whether a figure in this process already emitted plotly.js. */
export function plotlyEmbedded(): boolean {
  return libraryEmbedded;
}

/** JSON that is safe inside a <script> element. */
function scriptJson(value: unknown): string {
  // BigInts (counters, addresses) are plotted as numbers; JSON has no bigint.
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? Number(v) : v))
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** Marks where addPngsToNotebook may put a PNG fallback into HTML made without one. */
export const PNG_SLOT = "<!--tslab-ipc:png-slot-->";

export function pngImgTag(pngBase64: string, alt: string): string {
  return `<img src="data:image/png;base64,${pngBase64}" alt="${escapeHtml(alt)}" style="max-width:100%">`;
}

/** How `figureHtml` writes a figure as HTML: whether plotly.js is inlined, and the size of the plot. */
export interface FigureHtmlOptions {
  /** Text shown until the plot is drawn (and instead of it where scripts do not run). */
  summary?: string;
  /** A PNG shown as the fallback where scripts do not run (untrusted notebook). */
  png?: Buffer | null;
  /** true: always inline plotly.js; false: never; "auto" (default): only in the first figure of the process. */
  includeLibrary?: boolean | "auto";
}

/** The text/html of one figure. */
export function figureHtml(figure: PlotlyFigure, options: FigureHtmlOptions = {}): string {
  if (figure === null || typeof figure !== "object" || !Array.isArray(figure.data)) {
    throw new ERR_INVALID_ARG_TYPE("figure", "a plotly figure ({ data: [...], layout })", figure);
  }
  options = validateOptions<FigureHtmlOptions>(options, "options");
  const id = "tslab-ipc-plot-" + crypto.randomBytes(6).toString("hex");
  const summary = options.summary ?? "Figure";
  const mode = options.includeLibrary ?? "auto";
  const rerunOfCarrier = libraryEmbedded && options.summary !== undefined && options.summary === carrierSummary;
  const withLibrary = mode === true || (mode === "auto" && (!libraryEmbedded || rerunOfCarrier));
  if (withLibrary && mode === "auto") {
    libraryEmbedded = true;
    carrierSummary = options.summary ?? null;
  }

  const fallback = options.png ? pngImgTag(options.png.toString("base64"), summary) : PNG_SLOT;
  const height = typeof figure.layout?.height === "number" ? figure.layout.height : 450;
  const parts = [
    `<div id="${id}" class="tslab-ipc-plot" style="width:100%;min-height:${height}px">`,
    `<div class="tslab-ipc-plot-fallback" style="font:13px sans-serif;color:#555">${escapeHtml(summary)}` +
      ` <span class="tslab-ipc-plot-note">(drawn by plotly.js when scripts run; if it is not drawn, trust the notebook or use the PNG)</span>` +
      `${fallback}</div>`,
    `</div>`,
  ];
  if (withLibrary) {
    // Shadow CommonJS/AMD globals a page may define, so plotly.js lands on window.Plotly.
    parts.push(
      `<script type="text/javascript">/* plotly.js, inlined once per notebook */` +
        `(function(module, exports, define){\n${plotlyLibrarySource()}\n})(undefined, undefined, undefined);</script>`,
    );
  }
  parts.push(
    `<script type="text/javascript">(function () {
  var id = ${scriptJson(id)}, figure = ${scriptJson(figure)}, tries = 0;
  function draw() {
    var el = document.getElementById(id);
    if (el && window.Plotly && window.Plotly.newPlot) {
      el.innerHTML = "";
      var gd = document.createElement("div");
      el.appendChild(gd);
      window.Plotly.newPlot(gd, figure.data, figure.layout, { responsive: true });
      return;
    }
    if (++tries > 400) {
      var note = el && el.querySelector(".tslab-ipc-plot-note");
      if (note) note.textContent = "(plotly.js is not loaded in this page: the output of the notebook's first figure carries it; re-run that cell, or call resetPlotlyEmbedding() and re-run this one)";
      return;
    }
    setTimeout(draw, 50);
  }
  draw();
})();</script>`,
  );
  return parts.join("\n");
}
