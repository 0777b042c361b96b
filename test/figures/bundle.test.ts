// A figure's MIME bundle: the types the kernel and nbconvert need, data taken from the
// arguments, plotly.js inlined once per process.
import {
  type Figure,
  PLOTLY_MIME,
  plot,
  recordResidency,
  resetPlotlyEmbedding,
  plotlyEmbedded,
  sampleLatency,
  mmap,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
} from "../../src";

const display = Symbol.for("Jupyter.display");

function bundleOf(fig: Figure): Record<string, unknown> {
  return (fig as unknown as Record<symbol, () => Record<string, unknown>>)[display]();
}

test("histogram bundle: plotly JSON, HTML and a text summary, all from the arguments", () => {
  const fast = sampleLatency(() => Math.sqrt(2), { n: 200, label: "sqrt" });
  const slow = sampleLatency(() => JSON.stringify({ a: [1, 2, 3] }), { n: 300, label: "stringify" });
  const fig = plot.histogram([fast, slow], { title: "call latency" });
  const b = bundleOf(fig);
  expect(Object.keys(b).sort()).toEqual([PLOTLY_MIME, "text/html", "text/plain"].sort());
  expect(PLOTLY_MIME).toBe("application/vnd.plotly.v1+json");
  const json = b[PLOTLY_MIME] as {
    data: { x: number[]; name: string; type: string }[];
    layout: Record<string, unknown>;
  };
  expect(json.data.map((t) => t.name)).toEqual(["sqrt", "stringify"]);
  expect(json.data.every((t) => t.type === "histogram")).toBe(true);
  expect(json.data[0].x).toEqual(fast.samples);
  expect(json.data[1].x).toEqual(slow.samples);
  expect(b["text/plain"]).toBe("Figure: histogram of call latency, 2 series, 500 points");
  expect((json.layout.xaxis as { title: { text: string } }).title.text).toBe("latency (µs)");
  // The HTML carries the same data (and draws it with plotly.js).
  expect(b["text/html"]).toContain(JSON.stringify(fast.samples.slice(0, 3)).slice(1, -1));
  expect(b["text/html"]).toMatch(/Plotly\.newPlot/);
  // A figure is JSON-serialisable as {data, layout}.
  expect(JSON.parse(JSON.stringify(fig))).toEqual(json);
});

test("different arguments give different figures (no constants)", () => {
  const a = plot.lines([1, 2, 3], { y: [4, 5, 6] }, { title: "t" });
  const b = plot.lines([1, 2, 3], { y: [7, 8, 9] }, { title: "t" });
  expect(a.data[0].y).toEqual([4, 5, 6]);
  expect(b.data[0].y).toEqual([7, 8, 9]);
  const c = plot.bar(["a", "b"], { first: [1, 2], second: [3, 4] }, { title: "bars" });
  expect(c.data.map((t) => t.y)).toEqual([
    [1, 2],
    [3, 4],
  ]);
  expect(String(c)).toBe("Figure: bar chart of bars, 2 series, 4 points");
  const e = plot.ecdf({ s: [3, 1, 2] });
  expect(e.data[0].x).toEqual([1, 2, 3]);
  expect(e.data[0].y).toEqual([1 / 3, 2 / 3, 1]);
});

test("one series of numbers is given as it is: an array, or a typed array", () => {
  const h = plot.histogram([3, 1, 2]);
  expect(h.data.map((t) => [t.name, t.x])).toEqual([["values", [3, 1, 2]]]);
  expect(String(h)).toBe("Figure: histogram, 1 series, 3 points");
  expect(plot.ecdf(Float64Array.of(3, 1, 2)).data[0].x).toEqual([1, 2, 3]);
  expect(plot.lines([1, 2, 3], new Uint32Array([4, 5, 6])).data[0].y).toEqual([4, 5, 6]);
  // Still checked as numbers, each named by its index; an empty array is no series.
  expect(() => plot.histogram([1, "2"] as never)).toThrow(
    expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE", message: expect.stringContaining('"series[1]"') }),
  );
  expect(() => plot.ecdf(BigInt64Array.of(1n) as never)).toThrow(TypeError);
  expect(() => plot.histogram([])).toThrow(RangeError);
  expect(() => plot.lines([1, 2], [1])).toThrow(RangeError);
});

test("a PNG, once attached, is one more type of the same output", () => {
  const fig = plot.bar(["x"], [1]);
  const png = Buffer.from("89504e470d0a1a0a", "hex");
  fig.attachPng(png);
  const b = bundleOf(fig);
  expect(b["image/png"]).toBe(png.toString("base64"));
  expect(b["text/html"]).toContain("data:image/png;base64," + png.toString("base64"));
});

test("residency heatmap from a real recording", () => {
  const m = mmap(null, 600 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  try {
    const rec = recordResidency(m, 6, (i) => {
      for (let p = i * 100; p < (i + 1) * 100; p++) m.buffer[p * 4096] = 1;
    });
    const fig = plot.residency(rec, { title: "touch", rows: 60 });
    const z = fig.data[0].z as number[][];
    expect(z).toHaveLength(60); // 10 pages per row
    expect(z[0]).toHaveLength(7);
    expect(z.map((r) => r[6])).toEqual(Array(60).fill(1));
    expect(z.map((r) => r[0])).toEqual(Array(60).fill(0));
    expect(z[15][2]).toBe(1); // pages 150..159 were touched by step 1
    expect(z[15][1]).toBe(0);
    expect(fig.summary).toBe("Figure: residency heatmap of touch, 600 pages x 7 samples");
  } finally {
    m.unmap();
  }
});

test("plotly.js is inlined in the first figure's HTML only", () => {
  resetPlotlyEmbedding();
  expect(plotlyEmbedded()).toBe(false);
  const first = bundleOf(plot.lines([1, 2], { a: [1, 2] }))["text/html"] as string;
  const second = bundleOf(plot.lines([1, 2], { a: [2, 1] }, { title: "second" }))["text/html"] as string;
  expect(plotlyEmbedded()).toBe(true);
  expect(first.length).toBeGreaterThan(1_000_000);
  expect(first).toContain("window.Plotly = Plotly");
  expect(second.length).toBeLessThan(10_000);
  expect(second).not.toContain("window.Plotly = Plotly");
  // Re-running the cell that carried the library (same summary) carries it again; others do not.
  const rerun = bundleOf(plot.lines([1, 2], { a: [5, 6] }))["text/html"] as string;
  expect(rerun).toContain("window.Plotly = Plotly");
  expect(bundleOf(plot.lines([1, 2, 3], { a: [5, 6, 7] }))["text/html"]).not.toContain("window.Plotly = Plotly");
  expect(plot.bar(["a"], [1]).mimeBundle({ includeLibrary: true })["text/html"]).toContain("window.Plotly = Plotly");
  // Nothing in the HTML can end a <script> early.
  const scripts = first.split("<script").length - 1;
  expect(first.split("</script>").length - 1).toBe(scripts);
});

test("bad input is refused", () => {
  expect(() => plot.lines([1, 2], { a: [1] })).toThrow(RangeError);
  expect(() => plot.histogram({ a: ["x"] as never })).toThrow(TypeError);
  expect(() => plot.histogram({})).toThrow(RangeError);
  expect(() => plot.ecdf({ a: [1, Number.NaN] })).toThrow(expect.objectContaining({ code: "ERR_OUT_OF_RANGE" }));
  expect(() => plot.residency({} as never)).toThrow(TypeError);
  expect(() => plot.heatmap([[1, 2], [3]])).toThrow(RangeError);
});
