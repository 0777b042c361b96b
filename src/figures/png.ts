// PNG rendering of figures with plotly.js itself (Plotly.toImage) in headless Chromium, for
// handouts and viewers that do not run scripts. One browser launch renders a whole batch, and
// a browser passed in (`browser`) renders every batch of a run in one page that loaded plotly.js
// once. Chromium is Debian's (/usr/bin/chromium), driven by playwright-core (chromium.ts);
// nothing is downloaded, and the page runs offline. Where Chromium or playwright-core is
// missing, rendering returns null and says why once; callers go on without PNGs.
import { ERR_INVALID_ARG_TYPE, withCode } from "../codes";
import { launchOfflineBrowser, type OfflineBrowser, type OfflinePage } from "./chromium";
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
  /** An open browser to render in (it stays open); by default each call launches its own. */
  browser?: OfflineBrowser;
}

let reported = false;
let lastReason: string | null = null;

/** Why the last rendering produced no PNGs, or null if it worked. */
export function pngUnavailableReason(): string | null {
  return lastReason;
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

/** A blank page with plotly.js loaded, and the renderings queued on it one after another. */
interface Renderer {
  page: OfflinePage;
  queue: Promise<unknown>;
}

// The address the renderer's page loads plotly.js from: a name under .invalid, which no resolver
// answers (RFC 6761), served by the page's own route from the file in node_modules. A script the
// page fetches is read by Chromium itself; addScriptTag sent its 4.8 MB of text through the
// DevTools protocol instead, and the page took 3.1-3.3 s (3.3-3.5 s of Chromium's CPU) to load
// plotly.js that way against 2.1-2.4 s (2.3-2.8 s) this way (4 December, 3 loads each; on an
// earlier host, 1 December, the two measured the same: bench/analysis.md, npm start).
const PLOTLY_URL = "http://tslab-ipc.invalid/plotly.min.js";

async function plotlyPage(browser: OfflineBrowser): Promise<Renderer> {
  const page = await browser.newPage();
  await page.route(PLOTLY_URL, (r) =>
    r
      .fulfill({ path: plotlyLibraryPath(), contentType: "text/javascript" })
      .catch(() => r.abort().catch(() => undefined)),
  );
  await page.setContent(
    `<!DOCTYPE html><html><head><meta charset='utf-8'><script src='${PLOTLY_URL}'></script></head><body></body></html>`,
  );
  // A script that failed to load leaves no error on the page, only no Plotly.
  if (!(await page.evaluate(() => typeof (globalThis as { Plotly?: unknown }).Plotly === "object")))
    throw withCode(new Error("plotly.js did not load into the page"), "ERR_CHROMIUM_UNAVAILABLE");
  return { page, queue: Promise.resolve() };
}

// The renderer of each browser passed in, made on its first use.
const renderers = new WeakMap<OfflineBrowser, Promise<Renderer | null>>();

/** The renderer of `browser`, or null with the reason recorded. */
function sharedRenderer(browser: OfflineBrowser): Promise<Renderer | null> {
  let renderer = renderers.get(browser);
  if (!renderer) {
    renderer = plotlyPage(browser).catch((e) =>
      unavailable(`Chromium could not load plotly.js (${(e as Error).message.split("\n")[0]})`),
    );
    renderers.set(browser, renderer);
  }
  return renderer;
}

/**
 * Loads plotly.js into the page of `browser` that renders figures (what the first rendering in
 * it would do), so the load happens now. Resolves to whether it loaded.
 */
export async function openFigureRenderer(browser: OfflineBrowser): Promise<boolean> {
  return (await sharedRenderer(browser)) !== null;
}

/** Launches Chromium offline with plotly.js loaded, or returns null with the reason recorded. */
async function openRenderer(opts: PngOptions): Promise<{ browser: OfflineBrowser; renderer: Renderer } | null> {
  let browser: OfflineBrowser;
  try {
    browser = await launchOfflineBrowser(opts.executablePath);
  } catch (e) {
    return unavailable((e as Error).message);
  }
  const renderer = await sharedRenderer(browser);
  if (!renderer) {
    await browser.close().catch(() => undefined);
    return null;
  }
  return { browser, renderer };
}

function figureJson(fig: Figure | PlotlyFigure, name: string): PlotlyFigure {
  if (fig instanceof Figure) return fig.toJSON();
  if (!fig || !Array.isArray((fig as PlotlyFigure).data))
    throw new ERR_INVALID_ARG_TYPE(name, "a Figure or a { data, layout } object", fig);
  return { data: fig.data, layout: fig.layout ?? {} };
}

/**
 * Renders figures to PNG in one Chromium launch (or in `opts.browser`). Returns one Buffer per figure, or null for
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
  const own = opts.browser ? null : await openRenderer(opts);
  const renderer = own ? own.renderer : opts.browser ? await sharedRenderer(opts.browser) : null;
  if (!renderer) return jsons.map(() => null);
  // One batch at a time on a page: a batch's renderings are not interleaved with another's.
  const rendered = renderer.queue.then(() => renderBatch(renderer.page, jsons, opts));
  renderer.queue = rendered.catch(() => undefined);
  try {
    return await rendered;
  } finally {
    if (own) await own.browser.close().catch(() => undefined);
  }
}

async function renderBatch(page: OfflinePage, jsons: PlotlyFigure[], opts: PngOptions): Promise<(Buffer | null)[]> {
  lastReason = null;
  const results: (Buffer | null)[] = [];
  for (const fig of jsons) {
    // Explicit options win, then the figure's own size, then a handout-friendly default.
    const width = opts.width ?? (typeof fig.layout.width === "number" ? fig.layout.width : 900);
    const height = opts.height ?? (typeof fig.layout.height === "number" ? fig.layout.height : 450);
    try {
      const url = await page.evaluate(
        async (a: { fig: PlotlyFigure; width: number; height: number; scale: number }) => {
          const P = (globalThis as unknown as { Plotly: { toImage(f: unknown, o: unknown): Promise<string> } }).Plotly;
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
 * has plotly JSON, rendering all of them in one Chromium launch (or in `opts.browser`); where our HTML left a PNG
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
    if (text?.includes(PNG_SLOT)) {
      const plain = Array.isArray(data["text/plain"])
        ? (data["text/plain"] as string[]).join("")
        : String(data["text/plain"] ?? "Figure");
      data["text/html"] = text.replace(PNG_SLOT, pngImgTag(b64, plain));
    }
    added++;
  });
  return { plotlyOutputs: targets.length, added, reason: added === targets.length ? null : pngUnavailableReason() };
}
