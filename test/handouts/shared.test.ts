// What npm start shares across a run: one nbconvert process for every page (openHtmlExporter)
// and one Chromium for every PDF (printPdfs in a browser passed in, reusing its pages).
import fs from "fs";
import os from "os";
import path from "path";
import { printPdfs } from "../../src/assign/pdf";
import { launchOfflineBrowser } from "../../src/figures/chromium";
import { openHtmlExporter } from "../../src/handouts/jupyter";
import { jupyterUnavailableReason, writeNotebook, type Notebook } from "../../src/handouts";
import { needs } from "../helpers";

const unavailable = jupyterUnavailableReason();
const withJupyter = unavailable ? test.skip : test;
const skipNote = unavailable ? ` [skipped: ${unavailable}]` : "";

const notebook = (text: string): Notebook => ({
  cells: [{ cell_type: "markdown", source: `# ${text}`, metadata: {} }],
  metadata: {},
  nbformat: 4,
  nbformat_minor: 4,
});

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-shared-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

withJupyter(
  `one HTML exporter answers each request in order, and a failed request leaves the next working${skipNote}`,
  async () => {
    const file = (name: string) => path.join(dir, name);
    writeNotebook(file("a.ipynb"), notebook("first page"));
    writeNotebook(file("b.ipynb"), notebook("second page"));
    const exporter = openHtmlExporter({ ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: "1" });
    try {
      const first = exporter.export([[file("a.ipynb"), file("a.html")]]);
      const missing = exporter.export([[file("missing.ipynb"), file("missing.html")]]);
      const second = exporter.export([[file("b.ipynb"), file("b.html")]]);
      await first;
      await expect(missing).rejects.toMatchObject({ code: "ERR_JUPYTER_FAILED", message: /missing\.ipynb/ });
      await second;
      expect(fs.readFileSync(file("a.html"), "utf8")).toContain("first page");
      expect(fs.readFileSync(file("b.html"), "utf8")).toContain("second page");
      expect(fs.existsSync(file("missing.html"))).toBe(false);
    } finally {
      await exporter.close();
    }
    await expect(exporter.export([[file("a.ipynb"), file("c.html")]])).rejects.toMatchObject({
      code: "ERR_JUPYTER_FAILED",
    });
  },
  60000,
);

withJupyter(
  `the exporter highlights a source once per lexer: the same code in another language's notebook is that language's${skipNote}`,
  async () => {
    const file = (name: string) => path.join(dir, name);
    const code = (language: string): Notebook => ({
      cells: [{ cell_type: "code", source: "const answer = 42", metadata: {}, execution_count: 1, outputs: [] }],
      metadata: { language_info: { name: language, pygments_lexer: language } },
      nbformat: 4,
      nbformat_minor: 4,
    });
    writeNotebook(file("ts.ipynb"), code("typescript"));
    writeNotebook(file("ts-again.ipynb"), code("typescript"));
    writeNotebook(file("py.ipynb"), code("python"));
    const exporter = openHtmlExporter({ ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: "1" });
    try {
      await exporter.export([
        [file("ts.ipynb"), file("ts.html")],
        [file("py.ipynb"), file("py.html")],
        [file("ts-again.ipynb"), file("ts-again.html")],
      ]);
    } finally {
      await exporter.close();
    }
    const page = (name: string) => fs.readFileSync(file(name), "utf8");
    // TypeScript's lexer marks `const` as a declaration keyword; Python's lexer has no such keyword.
    expect(page("ts.html")).toContain('<span class="kd">const</span>');
    expect(page("py.html")).not.toContain('<span class="kd">const</span>');
    expect(page("ts-again.html")).toBe(page("ts.html"));
  },
  60000,
);

needs("chromium").test(
  "printPdfs in a browser passed in prints in reused pages and leaves the browser open",
  async () => {
    const browser = await launchOfflineBrowser();
    try {
      const pairs: [string, string][] = [1, 2, 3].map((i) => {
        const html = path.join(dir, `${i}.html`);
        fs.writeFileSync(
          html,
          `<!DOCTYPE html><html><body><h1>page ${i}</h1><pre>${"x ".repeat(200)}</pre></body></html>`,
        );
        return [html, path.join(dir, `${i}.pdf`)];
      });
      const first = await printPdfs(pairs, { browser });
      expect(first.map((r) => r.overflowing)).toEqual([0, 0, 0]);
      // The same page printed again, in a page that printed another one before, is the same PDF
      // but for its creation date.
      const again = path.join(dir, "1-again.pdf");
      await printPdfs([[pairs[0][0], again]], { browser });
      const undated = (file: string) =>
        fs.readFileSync(file, "latin1").replace(/\/CreationDate \(.*?\)|\/ModDate \(.*?\)/g, "");
      expect(undated(again)).toBe(undated(pairs[0][1]));
      for (const [, pdf] of pairs) expect(fs.readFileSync(pdf).subarray(0, 5).toString()).toBe("%PDF-");
    } finally {
      await browser.close();
    }
  },
  60000,
);

test("launchOfflineBrowser says why when there is no Chromium", async () => {
  await expect(launchOfflineBrowser("/nonexistent/chromium")).rejects.toMatchObject({
    code: "ERR_CHROMIUM_UNAVAILABLE",
    message: expect.stringMatching(/no Chromium at \/nonexistent\/chromium/),
  });
});
