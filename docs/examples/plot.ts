import { plot, renderFigurePng, sampleLatency } from "tslab-ipc";
const lat = sampleLatency(() => Math.sqrt(2), { n: 200, unit: "ns", label: "sqrt" });
const fig = plot.histogram([lat], { title: "latency of Math.sqrt" });
console.log(String(fig.mimeBundle()["text/plain"]));
const lines = plot.lines([1, 2, 3], { measured: [lat.p50, lat.p90, lat.p99] }, { title: "percentiles" });
const png = await renderFigurePng(lines, { width: 400, height: 300 });
console.log(png ? png.subarray(1, 4).toString() : "no Chromium"); // PNG
