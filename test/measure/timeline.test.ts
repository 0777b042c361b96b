// recordFaultTimeline: when each page became resident, in touch order; faults per step; the figures.
import fs from "fs";
import path from "path";
import {
  type FaultTimeline,
  MS_SYNC,
  PageStateSampler,
  fsInfo,
  mapAnonymous,
  mapFile,
  plot,
  recordFaultTimeline,
  shuffledPages,
} from "../../src";
import { tempDir, uniqueName } from "../helpers";

const PAGE = 4096;

test("anonymous memory touched in order: each page resident exactly at the step that touched it, one fault per page", () => {
  const m = mapAnonymous(256 * PAGE);
  try {
    const order = Array.from({ length: 256 }, (_, i) => i);
    const t = recordFaultTimeline(m, order, {
      label: "sequential",
      every: 16,
      touch: (b, p) => {
        b[p * PAGE] = 1;
      },
    });
    expect(t.steps).toBe(16);
    expect(Array.from(t.residentAt)).toEqual(order.map((p) => Math.floor(p / 16) + 1));
    expect(t.residentBeforeTouched).toBe(0);
    expect(t.minor).toBeGreaterThanOrEqual(256); // THP [always] would take fewer: not on a 1 MiB mapping at 4 KiB alignment
    expect(t.major).toBe(0);
    expect(String(t)).toMatch(/^FaultTimeline \{ sequential: 256 touches of 256 pages in 16 steps/);
  } finally {
    m.unmap();
  }
});

test("a shuffled order: pages become resident in that order", () => {
  const m = mapAnonymous(64 * PAGE);
  try {
    const order = shuffledPages(64, 7);
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 64 }, (_, i) => i));
    expect(shuffledPages(64, 7)).toEqual(order);
    const t = recordFaultTimeline(m, order, {
      every: 1,
      touch: (b, p) => {
        b[p * PAGE] = 1;
      },
    });
    for (const [i, page] of order.entries()) expect(t.residentAt[page]).toBe(i + 1);
    const fig = plot.faultTimeline([t, t], { title: "two panels" });
    expect(fig.data).toHaveLength(4);
    expect(fig.layout.grid).toMatchObject({ rows: 1, columns: 2 });
    expect(fig.summary).toMatch(/timeline: \d+ minor \+ 0 major faults, 0 pages resident before their touch/);
  } finally {
    m.unmap();
  }
  expect(() => recordFaultTimeline(mapAnonymous(PAGE), [1])).toThrow(RangeError);
  expect(() => plot.faultTimeline([{} as FaultTimeline])).toThrow(TypeError);
});

const dir = tempDir("tslab-ipc-pages-");
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
(fsInfo(dir).inMemory ? test.skip : test)(
  "plot.pageStates draws the recording, with states as a discrete scale",
  () => {
    const m = mapFile(path.join(dir, uniqueName("fig")), { create: 8 * PAGE });
    try {
      const s = new PageStateSampler(m, "fig");
      s.sample("start");
      m.buffer[0] = 1;
      s.sample("written");
      m.sync(MS_SYNC);
      s.sample("MS_SYNC");
      const fig = plot.pageStates(s.recording);
      expect(fig.data[0]).toMatchObject({
        type: "heatmap",
        zmin: -0.5,
        zmax: 3.5,
        x: ["0: start", "1: written", "2: MS_SYNC"],
      });
      expect((fig.data[0].z as number[][])[0].slice(1)).toEqual([2, 1]); // page 0: dirty, then clean
      expect(fig.summary).toMatch(/dirty pages per sample: 0, 1, 0$/);
    } finally {
      m.unmap();
    }
    expect(() => plot.pageStates({} as never)).toThrow(TypeError);
  },
);

test("table(): aligned text, HTML, records; rows must match the columns", () => {
  const { table } = require("../../src") as typeof import("../../src");
  const t = table(
    ["pages", "faults"],
    [
      [16, 1],
      [4096, 256],
    ],
  );
  expect(String(t)).toBe("pages  faults\n16     1\n4096   256");
  expect(t.records()[1]).toEqual({ pages: 4096, faults: 256 });
  expect(() => table(["a"], [[1, 2]])).toThrow(RangeError);
});

test("table(): past 60 rows the display shows the first 30 and the last 10, and says so; .rows keeps all", () => {
  const { table, displayDataOf } = require("../../src") as typeof import("../../src");
  const all = Array.from({ length: 65536 }, (_, page) => [page, page % 7]);
  const t = table(["page", "faults"], all, "faults per page");
  const lines = String(t).split("\n");
  expect(lines[0]).toBe("faults per page (40 of 65,536 rows shown; .rows and .records() hold them all)");
  expect(lines.length).toBe(1 + 1 + 30 + 1 + 10);
  expect(lines[2].split(/\s+/)).toEqual(["0", "0"]);
  expect(lines[32]).toMatch(/^… 65,496 rows\s+…$/);
  expect(lines.at(-1)!.split(/\s+/)).toEqual(["65535", String(65535 % 7)]);
  const html = String(displayDataOf(t).data["text/html"]);
  expect(html.match(/<tr>/g)!.length).toBe(1 + 41); // the header, 40 rows and the gap
  expect(html.length).toBeLessThan(10_000); // all 65,536 rows were 7.0 MB
  expect(t.rows.length).toBe(65536);
  expect(t.records()[65535]).toEqual({ page: 65535, faults: 65535 % 7 });
  // 60 rows are all shown.
  expect(
    String(
      table(
        ["a"],
        all.slice(0, 60).map(([p]) => [p]),
      ),
    ).split("\n").length,
  ).toBe(61);
});
