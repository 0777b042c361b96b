// PNG rendering of figures with plotly.js itself (Plotly.toImage) in headless Chromium, for
// handouts and viewers that do not run scripts. One browser launch renders a whole batch.
// Chromium is Debian's (/usr/bin/chromium), driven by playwright-core; nothing is downloaded,
// and the page runs offline. Where Chromium or playwright-core is missing, rendering returns
// null and says why once; callers go on without PNGs.
import fs from "fs";
import { ERR_INVALID_ARG_TYPE } from "../codes";
import { Figure, PLOTLY_MIME, type PlotlyFigure } from "./figure";
import { PNG_SLOT, plotlyLibraryPath, pngImgTag } from "./html";

/** The size and scale of a rendered PNG. */
export interface PngOptions {
  /** Pixel size; by default the figure's layout width/height, else 900 × 450. */
  width?: number;
  height?: number;
  /** Device pixel ratio of the image (2 for print). Default 1. */
  scale?: number;
  /** The Chromium binary. Default $TSLAB_IPC_CHROMIUM or /usr/bin/chromium. */
  executablePath?: string;
}

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

let reported = false;
let lastReason: string | null = null;

/** Why the last rendering produced no PNGs, or null if it worked. */
export function pngUnavailableReason(): string | null {
  return lastReason;
}

function chromiumPath(opts: PngOptions): string {
  return opts.executablePath ?? process.env.TSLAB_IPC_CHROMIUM ?? "/usr/bin/chromium";
}

function unavailable(reason: string): null {
  lastReason = reason;
  if (!reported) {
    reported = true;
    process.emitWarning(
      `PNG rendering of figures is unavailable: ${reason}. Figures keep their HTML and plotly JSON.`,
      "TslabIpcWarning",
    );
  }
  return null;
}

type Browser = { newContext(o: object): Promise<Context>; close(): Promise<void> };
type Context = {
  newPage(): Promise<Page>;
  route(url: string, h: (r: { abort(): Promise<void> }) => unknown): Promise<void>;
};
type Page = {
  setContent(html: string): Promise<void>;
  addScriptTag(o: { path: string }): Promise<unknown>;
  evaluate<R, A>(f: (a: A) => R | Promise<R>, a: A): Promise<R>;
};

function loadPlaywright(): { chromium: { launch(o: object): Promise<Browser> } } | null {
  try {
    // Required lazily: only PNG rendering needs it, and a kernel without it still plots.
    return require("playwright-core");
  } catch {
    return null;
  }
}

/** Launches Chromium offline with plotly.js loaded, or returns null with the reason recorded. */
async function openRenderer(opts: PngOptions): Promise<{ browser: Browser; page: Page } | null> {
  const exe = chromiumPath(opts);
  if (!fs.existsSync(exe)) return unavailable(`no Chromium at ${exe}`);
  const pw = loadPlaywright();
  if (!pw) return unavailable(`the playwright-core package is not installed`);
  let browser: Browser;
  try {
    browser = await pw.chromium.launch({ executablePath: exe, args: CHROMIUM_ARGS, headless: true });
  } catch (e) {
    return unavailable(`Chromium at ${exe} did not start (${(e as Error).message.split("\n")[0]})`);
  }
  try {
    const context = await browser.newContext({ offline: true });
    // Nothing leaves the machine: any network request is refused.
    await context.route("**/*", (route) => route.abort());
    const page = await context.newPage();
    await page.setContent("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body></body></html>");
    await page.addScriptTag({ path: plotlyLibraryPath() });
    return { browser, page };
  } catch (e) {
    await browser.close().catch(() => undefined);
    return unavailable(`Chromium could not load plotly.js (${(e as Error).message.split("\n")[0]})`);
  }
}

function figureJson(fig: Figure | PlotlyFigure, name: string): PlotlyFigure {
  if (fig instanceof Figure) return fig.toJSON();
  if (!fig || !Array.isArray((fig as PlotlyFigure).data))
    throw new ERR_INVALID_ARG_TYPE(name, "a Figure or a { data, layout } object", fig);
  return { data: fig.data, layout: fig.layout ?? {} };
}

/**
 * Renders figures to PNG in one Chromium launch. Returns one Buffer per figure, or null for
 * every figure when Chromium is unavailable (pngUnavailableReason() says why); a figure that
 * plotly.js cannot draw gets null alone.
 */
export async function renderFigurePngs(
  figs: (Figure | PlotlyFigure)[],
  opts: PngOptions = {},
): Promise<(Buffer | null)[]> {
  if (!Array.isArray(figs)) throw new ERR_INVALID_ARG_TYPE("figs", "an array of figures", figs);
  const jsons = figs.map((fig, i) => figureJson(fig, `figs[${i}]`));
  if (jsons.length === 0) return [];
  const renderer = await openRenderer(opts);
  if (!renderer) return jsons.map(() => null);
  lastReason = null;
  const results: (Buffer | null)[] = [];
  try {
    for (const fig of jsons) {
      // Explicit options win, then the figure's own size, then a handout-friendly default.
      const width = opts.width ?? (typeof fig.layout.width === "number" ? fig.layout.width : 900);
      const height = opts.height ?? (typeof fig.layout.height === "number" ? fig.layout.height : 450);
      try {
        const url = await renderer.page.evaluate(
          async (a: { fig: PlotlyFigure; width: number; height: number; scale: number }) => {
            const P = (globalThis as unknown as { Plotly: { toImage(f: unknown, o: unknown): Promise<string> } })
              .Plotly;
            return P.toImage(a.fig, { format: "png", width: a.width, height: a.height, scale: a.scale });
          },
          { fig, width, height, scale: opts.scale ?? 1 },
        );
        results.push(Buffer.from(url.slice(url.indexOf(",") + 1), "base64"));
      } catch (e) {
        lastReason = `plotly.js could not render a figure (${(e as Error).message.split("\n")[0]})`;
        results.push(null);
      }
    }
  } finally {
    await renderer.browser.close().catch(() => undefined);
  }
  return results;
}

/** Renders one figure to PNG (a Buffer), or null when Chromium is unavailable. */
export async function renderFigurePng(fig: Figure | PlotlyFigure, opts: PngOptions = {}): Promise<Buffer | null> {
  return (await renderFigurePngs([fig], opts))[0];
}

/** Renders the figure and attaches the PNG to it (its bundle then carries image/png). Returns whether it did. */
export async function attachRenderedPng(fig: Figure, opts: PngOptions = {}): Promise<boolean> {
  const png = await renderFigurePng(fig, opts);
  if (png) fig.attachPng(png);
  return png !== null;
}

/** Minimal shape of an nbformat 4 notebook, as far as outputs go. */
export interface NotebookJson {
  cells: {
    cell_type?: string;
    outputs?: { output_type: string; data?: Record<string, unknown> }[];
    [key: string]: unknown;
  }[];
  [key: string]: unknown;
}

/** What `addPngsToNotebook` did: figures rendered, and why none were where Chromium is missing. */
export interface AddPngsReport {
  /** Outputs carrying application/vnd.plotly.v1+json. */
  plotlyOutputs: number;
  /** PNGs added. */
  added: number;
  /** Why some or all were not added, or null. */
  reason: string | null;
}

/**
 * Adds image/png to every output of an executed notebook (or of several: pass an array) that
 * has plotly JSON, rendering all of them in one Chromium launch; where our HTML left a PNG
 * slot, the PNG is shown there too (for viewers that strip scripts, such as an untrusted
 * notebook). Changes the notebooks in place. Without Chromium it adds nothing and says why.
 */
export async function addPngsToNotebook(
  nb: NotebookJson | NotebookJson[],
  opts: PngOptions = {},
): Promise<AddPngsReport> {
  const books = Array.isArray(nb) ? nb : [nb];
  for (const book of books) {
    if (!book || !Array.isArray(book.cells))
      throw new ERR_INVALID_ARG_TYPE("nb", "a notebook object (nbformat 4, with cells)", book);
  }
  const targets: Record<string, unknown>[] = [];
  for (const cell of books.flatMap((b) => b.cells)) {
    for (const out of cell.outputs ?? []) {
      if (
        (out.output_type === "display_data" || out.output_type === "execute_result") &&
        out.data &&
        out.data[PLOTLY_MIME]
      ) {
        targets.push(out.data);
      }
    }
  }
  if (targets.length === 0) return { plotlyOutputs: 0, added: 0, reason: null };
  const pngs = await renderFigurePngs(
    targets.map((d) => d[PLOTLY_MIME] as PlotlyFigure),
    opts,
  );
  let added = 0;
  pngs.forEach((png, i) => {
    if (!png) return;
    const data = targets[i];
    const b64 = png.toString("base64");
    data["image/png"] = b64;
    const html = data["text/html"];
    const text = Array.isArray(html) ? html.join("") : typeof html === "string" ? html : null;
    if (text && text.includes(PNG_SLOT)) {
      const plain = Array.isArray(data["text/plain"])
        ? (data["text/plain"] as string[]).join("")
        : String(data["text/plain"] ?? "Figure");
      data["text/html"] = text.replace(PNG_SLOT, pngImgTag(b64, plain));
    }
    added++;
  });
  return { plotlyOutputs: targets.length, added, reason: added === targets.length ? null : pngUnavailableReason() };
}
