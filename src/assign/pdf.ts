// PDF handouts: nbconvert's HTML printed by Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core, src/figures/chromium.ts; nothing is downloaded and the page loads nothing
// from the network).
//
// Invariants:
// - Figures print as images: the print copy of a notebook keeps only the PNG of an output
//   that has one (addPngsToNotebook put it there), not its interactive HTML.
// - Code and output wrap at the page edge instead of being cut, and prompts are dropped to
//   give code the width.
import fs from "fs";
import os from "os";
import {
  chromiumUnavailableReason,
  launchOfflineBrowser,
  type OfflineBrowser,
  type OfflinePage,
} from "../figures/chromium";
import { inPool } from "../process/pool";
import { loadForPrint } from "./print-document";
import { copyJson, type Notebook } from "../handouts/notebook";
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
  const copy = copyJson(nb);
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
export function pdfUnavailableReason(executablePath?: string): string | null {
  return chromiumUnavailableReason(executablePath);
}

// The text width of an A4 page with the margins of PRINT_CSS, in CSS pixels (96 per inch).
const A4_TEXT_WIDTH_PX = Math.floor(((210 - 2 * 12) / 25.4) * 96);

// The pages of each browser that printed and are free to print again. A new page costs about a
// second of CPU (a renderer process starts), the print itself about half that, and a page left
// from the last print prints the same: loadForPrint replaces its document (or, for a page with
// the same <head>, its body) with the print CSS in it; its media and viewport stay set.
const idlePages = new WeakMap<OfflineBrowser, OfflinePage[]>();

function idlePagesOf(browser: OfflineBrowser): OfflinePage[] {
  let idle = idlePages.get(browser);
  if (!idle) idlePages.set(browser, (idle = []));
  return idle;
}

/**
 * Opens `count` pages in `browser` for printPdfs to print in (default one per core, as many as
 * it prints at once): their renderer processes start now rather than during the first prints.
 */
export async function openPrintPages(browser: OfflineBrowser, count = os.availableParallelism()): Promise<void> {
  const pages = await Promise.all(Array.from({ length: count }, () => browser.newPage()));
  idlePagesOf(browser).push(...pages);
}

/**
 * Prints each [html file, pdf file] pair in one Chromium launch (or in `options.browser`, which
 * stays open), and returns for each how many code or output blocks are still wider than the
 * page (0: nothing is cut). Throws when Chromium is unavailable.
 */
export async function printPdfs(
  pairs: [string, string][],
  options: { browser?: OfflineBrowser } = {},
): Promise<{ pdf: string; overflowing: number }[]> {
  if (pairs.length === 0) return [];
  const reason = options.browser ? null : pdfUnavailableReason();
  if (reason) throw withCode(new Error(`cannot print PDF: ${reason}`), "ERR_PDF_UNAVAILABLE");
  const browser = options.browser ?? (await launchOfflineBrowser());
  const idle = idlePagesOf(browser);
  try {
    // A page per core at once: each renders in a Chromium process of its own.
    return await inPool(pairs, os.availableParallelism(), async ([html, pdf]) => {
      const page = idle.pop() ?? (await browser.newPage());
      let printed = false;
      try {
        await loadForPrint(page, fs.readFileSync(html, "utf8"), PRINT_CSS, A4_TEXT_WIDTH_PX);
        // Runs in the page: written against a minimal shape, since the DOM types are not in scope here.
        type Block = { scrollWidth: number; clientWidth: number };
        const overflowing = await page.evaluate(() => {
          const blocks = (
            globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<Block> } }
          ).document.querySelectorAll("pre");
          return Array.from(blocks).filter((e) => e.scrollWidth > e.clientWidth + 1).length;
        });
        fs.writeFileSync(pdf, await page.pdf({ format: "A4", printBackground: true, preferCSSPageSize: true }));
        printed = true;
        return { pdf, overflowing };
      } finally {
        // A page whose print failed is not trusted with the next one.
        if (printed) idle.push(page);
        else await page.close().catch(() => undefined);
      }
    });
  } finally {
    if (!options.browser) await browser.close();
  }
}
