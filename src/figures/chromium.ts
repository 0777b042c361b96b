// Headless Chromium for figures (PNG rendering) and handouts (PDF printing): Debian's
// /usr/bin/chromium driven by playwright-core. Nothing is downloaded, and the pages load
// nothing from the network: every request is refused.
//
// A launch costs about a second of CPU, and loading plotly.js into a page two more, so a run
// that renders and prints many notebooks opens one OfflineBrowser and passes it to each call
// (`browser` in PngOptions and in printPdfs); a call without one launches its own.
import fs from "fs";
import { withCode } from "../codes";
import { hostPolicy } from "../process/lifecycle";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** The Chromium binary: `executablePath`, else $TSLAB_IPC_CHROMIUM, else /usr/bin/chromium. */
export function chromiumPath(executablePath?: string): string {
  return executablePath ?? process.env.TSLAB_IPC_CHROMIUM ?? "/usr/bin/chromium";
}

/** Why Chromium cannot be driven here (no binary, no playwright-core), or null. */
export function chromiumUnavailableReason(executablePath = chromiumPath()): string | null {
  if (!fs.existsSync(executablePath)) return `no Chromium at ${executablePath} (apt-get install chromium)`;
  try {
    require.resolve("playwright-core");
  } catch {
    return "the playwright-core package is not installed (npm install)";
  }
  return null;
}

/** The part of a playwright Page that rendering and printing use (playwright's own methods). */
export interface OfflinePage {
  /** Replaces the page's document with `html`. */
  setContent(html: string, o?: object): Promise<void>;
  /**
   * Answers the page's requests for `url` with `handler` (before the context's rule that refuses
   * them all): plotly.js is served to the renderer's page this way (src/figures/png.ts).
   */
  route(
    url: string,
    handler: (r: {
      fulfill(o: { path: string; contentType?: string }): Promise<void>;
      abort(): Promise<void>;
    }) => unknown,
  ): Promise<void>;
  /** Adds a style sheet (the print layout). */
  addStyleTag(o: { content: string }): Promise<unknown>;
  /** Runs `f(a)` in the page and returns its result. */
  evaluate<R, A>(f: (a: A) => R | Promise<R>, a?: A): Promise<R>;
  /** Sets the CSS media type (`{ media: "print" }`). */
  emulateMedia(o: object): Promise<void>;
  /** Sets the page's viewport, in CSS pixels. */
  setViewportSize(o: { width: number; height: number }): Promise<void>;
  /** Prints the page to PDF. */
  pdf(o: object): Promise<Buffer>;
  /** Closes the page. */
  close(): Promise<void>;
}

/** One Chromium and one offline context in it: every network request of its pages is refused. */
export interface OfflineBrowser {
  /** A new page in the offline context. */
  newPage(): Promise<OfflinePage>;
  /** Closes the browser and its pages. */
  close(): Promise<void>;
}

type Browser = {
  newContext(o: object): Promise<{
    newPage(): Promise<OfflinePage>;
    route(url: string, h: (r: { abort(): Promise<void> }) => unknown): Promise<void>;
  }>;
  close(): Promise<void>;
};

/**
 * Launches Chromium with an offline context. Throws (code ERR_CHROMIUM_UNAVAILABLE) with the
 * reason when there is no Chromium or playwright-core, or when it does not start.
 */
export async function launchOfflineBrowser(executablePath?: string): Promise<OfflineBrowser> {
  const exe = chromiumPath(executablePath);
  const reason = chromiumUnavailableReason(exe);
  if (reason) throw withCode(new Error(reason), "ERR_CHROMIUM_UNAVAILABLE");
  // Required lazily: only rendering and printing need it, and a kernel without it still plots.
  const { chromium } = require("playwright-core") as { chromium: { launch(o: object): Promise<Browser> } };
  let browser: Browser;
  try {
    // A signal the host keeps (process/lifecycle) is not playwright's to handle: its SIGINT
    // handler closes the browser and exits the process (a kernel holding a browser died when a
    // cell was interrupted), and its SIGTERM and SIGHUP handlers close the browser under a
    // process that goes on. Where the host keeps none (a command-line run), playwright handles
    // them as before: it closes the browser and removes its temporary folders.
    const host = hostPolicy();
    browser = await chromium.launch({
      executablePath: exe,
      args: CHROMIUM_ARGS,
      headless: true,
      handleSIGINT: !host.handlesInterrupts,
      handleSIGTERM: !host.handlesTermination,
      handleSIGHUP: !host.handlesTermination,
    });
  } catch (e) {
    throw withCode(
      new Error(`Chromium at ${exe} did not start (${(e as Error).message.split("\n")[0]})`),
      "ERR_CHROMIUM_UNAVAILABLE",
    );
  }
  try {
    const context = await browser.newContext({ offline: true });
    await context.route("**/*", (route) => route.abort());
    return { newPage: () => context.newPage(), close: () => browser.close() };
  } catch (e) {
    await browser.close().catch(() => undefined);
    throw e;
  }
}
