// PDF handouts: nbconvert's HTML printed by Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core; nothing is downloaded and the page loads nothing from the network).
//
// Invariants:
// - Figures print as images: the print copy of a notebook keeps only the PNG of an output
//   that has one (addPngsToNotebook put it there), not its interactive HTML.
// - Code and output wrap at the page edge instead of being cut, and prompts are dropped to
//   give code the width.
import fs from "fs";
import os from "os";
import { CHROMIUM_ARGS } from "../figures/png";
import { inPool } from "../process/pool";
import type { Notebook } from "../handouts/notebook";
import { withCode } from "../codes";

export const PRINT_CSS = `
@page { size: A4; margin: 14mm 12mm; }
body { background: white !important; }
pre, code, .highlight pre, .jp-OutputArea-output pre, .jp-RenderedText pre {
  white-space: pre-wrap !important; overflow-wrap: anywhere !important; word-break: break-word !important;
}
.jp-InputArea-editor, .jp-OutputArea-output, .highlight, .jp-RenderedText, .jp-Cell { overflow: visible !important; }
.jp-InputPrompt, .jp-OutputPrompt { display: none !important; }
img { max-width: 100% !important; height: auto !important; break-inside: avoid; }
.jp-Cell { padding: 2px 0 !important; }
`;

/** A copy of `nb` for printing: outputs with a PNG keep only the PNG (and their text). */
export function printableCopy(nb: Notebook): Notebook {
  const copy = JSON.parse(JSON.stringify(nb)) as Notebook;
  for (const cell of copy.cells) {
    for (const out of cell.outputs ?? []) {
      const data = out.data as Record<string, unknown> | undefined;
      if (!data || !("image/png" in data)) continue;
      for (const mime of Object.keys(data)) if (mime !== "image/png" && mime !== "text/plain") delete data[mime];
    }
  }
  return copy;
}

/** Why PDFs cannot be printed here, or null. */
export function pdfUnavailableReason(executablePath = chromiumPath()): string | null {
  if (!fs.existsSync(executablePath)) return `no Chromium at ${executablePath} (apt-get install chromium)`;
  try {
    require.resolve("playwright-core");
  } catch {
    return "the playwright-core package is not installed (npm install)";
  }
  return null;
}

function chromiumPath(): string {
  return process.env.TSLAB_IPC_CHROMIUM ?? "/usr/bin/chromium";
}

type PdfPage = {
  setViewportSize(o: { width: number; height: number }): Promise<void>;
  evaluate<R>(f: () => R): Promise<R>;
  setContent(html: string, o: object): Promise<void>;
  addStyleTag(o: { content: string }): Promise<unknown>;
  emulateMedia(o: object): Promise<void>;
  pdf(o: object): Promise<Buffer>;
  close(): Promise<void>;
};
type PdfBrowser = {
  newContext(o: object): Promise<{
    newPage(): Promise<PdfPage>;
    route(u: string, h: (r: { abort(): Promise<void> }) => unknown): Promise<void>;
  }>;
  close(): Promise<void>;
};

// The text width of an A4 page with the margins of PRINT_CSS, in CSS pixels (96 per inch).
const A4_TEXT_WIDTH_PX = Math.floor(((210 - 2 * 12) / 25.4) * 96);

/**
 * Prints each [html file, pdf file] pair in one Chromium launch, and returns for each how many
 * code or output blocks are still wider than the page (0: nothing is cut). Throws when
 * Chromium is unavailable.
 */
export async function printPdfs(pairs: [string, string][]): Promise<{ pdf: string; overflowing: number }[]> {
  if (pairs.length === 0) return [];
  const reason = pdfUnavailableReason();
  if (reason) throw withCode(new Error(`cannot print PDF: ${reason}`), "ERR_PDF_UNAVAILABLE");
  // Required lazily: only printing needs it.
  const { chromium } = require("playwright-core") as { chromium: { launch(o: object): Promise<PdfBrowser> } };
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
  try {
    const context = await browser.newContext({ offline: true });
    await context.route("**/*", (route) => route.abort());
    // A page per core at once: each renders in a Chromium process of its own.
    return await inPool(pairs, os.availableParallelism(), async ([html, pdf]) => {
      const page = await context.newPage();
      try {
        await page.setContent(fs.readFileSync(html, "utf8"), { waitUntil: "load", timeout: 120000 });
        await page.addStyleTag({ content: PRINT_CSS });
        await page.emulateMedia({ media: "print" });
        await page.setViewportSize({ width: A4_TEXT_WIDTH_PX, height: 1100 });
        // Runs in the page: written against a minimal shape, since the DOM types are not in scope here.
        type Block = { scrollWidth: number; clientWidth: number };
        const overflowing = await page.evaluate(() => {
          const blocks = (
            globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<Block> } }
          ).document.querySelectorAll("pre");
          return Array.from(blocks).filter((e) => e.scrollWidth > e.clientWidth + 1).length;
        });
        fs.writeFileSync(pdf, await page.pdf({ format: "A4", printBackground: true, preferCSSPageSize: true }));
        return { pdf, overflowing };
      } finally {
        await page.close();
      }
    });
  } finally {
    await browser.close();
  }
}
