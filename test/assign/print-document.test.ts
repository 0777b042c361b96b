// loadForPrint: a print page that holds an nbconvert page takes the next one by swapping its
// body, and the PDF is the one a fresh load prints; anything a swap would get wrong loads fresh.
import { PRINT_CSS } from "../../src/assign/pdf";
import { loadForPrint } from "../../src/assign/print-document";
import { launchOfflineBrowser, type OfflineBrowser, type OfflinePage } from "../../src/figures/chromium";
import { needs } from "../helpers";

// The head every nbconvert page of a run shares (CSS and all), as the exporter writes it.
const HEAD = `<!DOCTYPE html>
<html>
<head><meta charset="utf-8" />
<title>TITLE</title>
<style type="text/css">
.jp-Cell { margin: 4px 0; } .jp-RenderedText pre { font-family: monospace; color: #333; }
h1 { color: #1a4d80; } table { border-collapse: collapse; } td { border: 1px solid #999; }
</style>
</head>
<body class="jp-Notebook" data-jp-theme-light="true">
`;

// A 1×1 PNG, drawn at 300 px: an image the print must wait for.
const PNG =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

const page = (title: string, body: string) => `${HEAD.replace("TITLE", title)}${body}
</body>
</html>
`;

const first = page("Notebook one", `<div class="jp-Cell"><h1>One</h1><pre>${"a ".repeat(300)}</pre></div>`);
const second = page(
  "Two &amp; &lt;three&gt;",
  `<div class="jp-Cell"><h1>Two</h1><table><tr><td>shmid</td><td>42</td></tr></table>
<img src="${PNG}" width="300" height="150" alt="figure"><div class="jp-RenderedText"><pre>done</pre></div></div>`,
);

// The print as printPdfs makes it; its dates are the only bytes that differ between two prints.
async function print(p: OfflinePage): Promise<string> {
  const pdf = await p.pdf({ format: "A4", printBackground: true, preferCSSPageSize: true });
  return pdf.toString("latin1").replace(/\/CreationDate \(.*?\)|\/ModDate \(.*?\)/g, "");
}

const WIDTH = 703;

// Whether the page's document has the print layout's rules (the one that hides the prompts).
function hasPrintCss(p: OfflinePage): Promise<boolean> {
  type Sheets = { styleSheets: ArrayLike<{ cssRules: ArrayLike<{ cssText: string }> }> };
  return p.evaluate(() => {
    const doc = (globalThis as unknown as { document: Sheets }).document;
    return Array.from(doc.styleSheets).some((s) =>
      Array.from(s.cssRules).some((r) => r.cssText.includes(".jp-InputPrompt")),
    );
  });
}

needs("chromium").describe("loadForPrint", () => {
  let browser: OfflineBrowser;
  beforeAll(async () => {
    browser = await launchOfflineBrowser();
  }, 60000);
  afterAll(() => browser?.close());

  async function fresh(html: string): Promise<string> {
    const p = await browser.newPage();
    try {
      expect(await loadForPrint(p, html, PRINT_CSS, WIDTH)).toBe("loaded");
      return await print(p);
    } finally {
      await p.close();
    }
  }

  test("a page with the same head takes the next document by a swap, and prints the same PDF as a fresh load", async () => {
    const p = await browser.newPage();
    try {
      expect(await loadForPrint(p, first, PRINT_CSS, WIDTH)).toBe("loaded");
      const firstPdf = await print(p);
      expect(await loadForPrint(p, second, PRINT_CSS, WIDTH)).toBe("swapped");
      const secondPdf = await print(p);
      // The title (entities decoded, as the parser reads them) and the image are in the swapped print.
      expect(secondPdf).toBe(await fresh(second));
      expect(secondPdf).not.toBe(firstPdf);
      expect(await loadForPrint(p, first, PRINT_CSS, WIDTH)).toBe("swapped");
      expect(await print(p)).toBe(await fresh(first));
    } finally {
      await p.close();
    }
  }, 60000);

  test("a body with a script loads fresh, so the script runs as it would in a fresh load", async () => {
    const scripted = page(
      "Scripted",
      `<p id="out">before</p><script>document.getElementById("out").textContent = "ran";</script>`,
    );
    const p = await browser.newPage();
    try {
      expect(await loadForPrint(p, first, PRINT_CSS, WIDTH)).toBe("loaded");
      expect(await loadForPrint(p, scripted, PRINT_CSS, WIDTH)).toBe("loaded");
      expect(
        await p.evaluate(
          () =>
            (
              globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } }
            ).document.getElementById("out").textContent,
        ),
      ).toBe("ran");
    } finally {
      await p.close();
    }
  }, 60000);

  test("another head, or a page not shaped like nbconvert's, loads fresh with the print CSS", async () => {
    const p = await browser.newPage();
    try {
      expect(await loadForPrint(p, first, PRINT_CSS, WIDTH)).toBe("loaded");
      const otherHead = first.replace("h1 { color: #1a4d80; }", "h1 { color: #800; }");
      expect(await loadForPrint(p, otherHead, PRINT_CSS, WIDTH)).toBe("loaded");
      const bare = `<!DOCTYPE html><html><body><h1>bare</h1></body></html>`;
      expect(await loadForPrint(p, bare, PRINT_CSS, WIDTH)).toBe("loaded");
      expect(await loadForPrint(p, bare, PRINT_CSS, WIDTH)).toBe("loaded");
      // The print CSS is in the document either way.
      expect(await hasPrintCss(p)).toBe(true);
      expect(await loadForPrint(p, first, PRINT_CSS, WIDTH)).toBe("loaded");
      expect(await hasPrintCss(p)).toBe(true);
      expect(await loadForPrint(p, second, PRINT_CSS, WIDTH)).toBe("swapped");
      expect(await hasPrintCss(p)).toBe(true);
    } finally {
      await p.close();
    }
  }, 60000);
});
