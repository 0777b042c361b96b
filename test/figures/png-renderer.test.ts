// The renderer's page and what happens when plotly.js does not load into it, with a stand-in
// browser (no Chromium needed): the page fetches plotly.js from the one address its route
// serves from node_modules, and a page where plotly.js did not load renders nothing, says why,
// and leaves the figures without PNGs rather than failing.
import { plotlyLibraryPath } from "../../src/figures/html";
import { pngUnavailableReason, renderFigurePngs } from "../../src/figures/png";
import type { OfflineBrowser, OfflinePage } from "../../src/figures/chromium";

function standIn(plotlyLoads: boolean) {
  const seen = { routes: [] as string[], served: [] as string[], html: "", evaluations: 0 };
  const page = {
    async route(url: string, handler: (r: unknown) => unknown) {
      seen.routes.push(url);
      await handler({
        fulfill: async (o: { path: string }) => void seen.served.push(o.path),
        abort: async () => undefined,
      });
    },
    async setContent(html: string) {
      seen.html = html;
    },
    async evaluate() {
      seen.evaluations++;
      if (seen.evaluations === 1) return plotlyLoads; // the check that plotly.js loaded
      return "data:image/png;base64,iVBORw0KGgo=";
    },
    async close() {},
  } as unknown as OfflinePage;
  const browser: OfflineBrowser = { newPage: async () => page, close: async () => undefined };
  return { browser, seen };
}

const figure = { data: [{ y: [1, 2, 3] }], layout: {} };

test("the renderer's page loads plotly.js by a script tag its route serves from node_modules", async () => {
  const { browser, seen } = standIn(true);
  const pngs = await renderFigurePngs([figure], { browser });
  expect(seen.routes).toHaveLength(1);
  expect(seen.html).toContain(`<script src='${seen.routes[0]}'>`);
  expect(seen.served).toEqual([plotlyLibraryPath()]);
  expect(pngs).toHaveLength(1);
  expect(pngs[0]?.subarray(1, 4).toString()).toBe("PNG");
});

test("a page where plotly.js did not load gives no PNGs, says why, and does not throw", async () => {
  const warn = jest.spyOn(process, "emitWarning").mockImplementation(() => undefined);
  try {
    const { browser } = standIn(false);
    await expect(renderFigurePngs([figure, figure], { browser })).resolves.toEqual([null, null]);
    expect(pngUnavailableReason()).toMatch(/could not load plotly\.js \(plotly\.js did not load into the page\)/);
  } finally {
    warn.mockRestore();
  }
});
