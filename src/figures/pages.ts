// Figures of pages over time: the states of a file mapping's pages (not cached, clean, dirty,
// writeback) and the order in which pages became resident (a fault timeline).
import { ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE_RANGE } from "../codes";
import { PageStateRecording, pageStateName } from "../measure/dirty";
import { FaultTimeline } from "../measure/timeline";
import { validateOptions } from "../validators";
import { Figure } from "./figure";
import { heatmap } from "./heatmap";
import type { PlotOptions } from "./layout";

/** Options of `plot.pageStates`. */
export interface PageStatesPlotOptions extends PlotOptions {
  /** Rows drawn at most; a row of several pages shows the highest state among them. Default 128. */
  rows?: number;
  /** Label columns by the frames' labels (default), their time in ms, or their number. */
  timeAxis?: "label" | "ms" | "frame";
}

const STATE_COLORS = ["#f7f7f7", "#9ecae1", "#e6550d", "#756bb1"];

/** A discrete colour scale for the values 0..3 drawn with zmin -0.5, zmax 3.5. */
function discreteScale(colors: string[]): [number, string][] {
  const out: [number, string][] = [];
  colors.forEach((c, i) => {
    out.push([i / colors.length, c], [(i + 1) / colors.length, c]);
  });
  return out;
}

/** Pages (rows) × time (columns): white not cached, blue clean, orange dirty, purple writeback. */
export function pageStates(recording: PageStateRecording, opts: PageStatesPlotOptions = {}): Figure {
  opts = validateOptions<PageStatesPlotOptions>(opts, "options");
  if (!(recording instanceof PageStateRecording)) {
    throw new ERR_INVALID_ARG_TYPE("recording", "a PageStateRecording (from a PageStateSampler)", recording);
  }
  if (recording.frames.length === 0) throw new ERR_INVALID_ARG_VALUE_RANGE("recording", recording, "has no frames");
  const rows = Math.min(opts.rows ?? 128, recording.pages);
  const per = recording.pagesPerRow(rows);
  const z = recording.matrix(rows);
  const axis = opts.timeAxis ?? "label";
  // Plotly merges equal category labels: number them so each frame keeps its own column.
  const x =
    axis === "frame"
      ? recording.frames.map((_, i) => i)
      : axis === "ms"
        ? recording.times.map((t) => Number(t.toFixed(1)))
        : recording.labels.map((l, i) => `${i}: ${l || "frame"}`);
  const fig = heatmap(z, {
    title: opts.title ?? recording.title,
    xTitle: opts.xTitle ?? (axis === "ms" ? "time (ms)" : "sample"),
    yTitle: opts.yTitle ?? (per > 1 ? `page (rows of ${per} pages)` : "page"),
    width: opts.width,
    height: opts.height,
    x,
    y: z.map((_, i) => i * per),
    zmin: -0.5,
    zmax: 3.5,
    colorscale: discreteScale(STATE_COLORS),
  });
  const trace = fig.data[0];
  trace.colorbar = { tickvals: [0, 1, 2, 3], ticktext: [0, 1, 2, 3].map(pageStateName), title: { text: "page" } };
  trace.xgap = 1;
  const dirty = recording.dirtyCounts;
  fig.summary = `Figure: page states of ${opts.title ?? recording.title}, ${recording.pages} pages x ${recording.frames.length} samples, dirty pages per sample: ${dirty.join(", ")}`;
  return fig;
}

/** Options of `plot.faultTimeline`. */
export interface FaultTimelinePlotOptions extends PlotOptions {}

/**
 * The order pages became resident, one panel per timeline: x is the step (touches so far), y
 * the page; a dot where a page became resident, a grey line through the pages as touched.
 * Dots left of the grey line are pages that arrived before they were touched (readahead,
 * fault-around); the panel title carries the fault counts.
 */
export function faultTimeline(timelines: FaultTimeline | FaultTimeline[], opts: FaultTimelinePlotOptions = {}): Figure {
  opts = validateOptions<FaultTimelinePlotOptions>(opts, "options");
  const list = Array.isArray(timelines) ? timelines : [timelines];
  if (list.length === 0) throw new ERR_INVALID_ARG_VALUE_RANGE("timelines", timelines, "holds no timeline to plot");
  list.forEach((t, i) => {
    if (!(t instanceof FaultTimeline))
      throw new ERR_INVALID_ARG_TYPE(`timelines[${i}]`, "a FaultTimeline (from recordFaultTimeline)", t);
  });
  const data: Record<string, unknown>[] = [];
  const layout: Record<string, unknown> = {
    grid: { rows: 1, columns: list.length, pattern: "independent" },
    height: opts.height ?? 380,
    margin: { t: 80, r: 10, b: 50, l: 60 },
    showlegend: false,
    annotations: [] as Record<string, unknown>[],
  };
  if (opts.title) layout.title = { text: opts.title };
  if (opts.width !== undefined) layout.width = opts.width;
  list.forEach((t, i) => {
    const axis = i === 0 ? "" : String(i + 1);
    const touchX = t.order.map((_, k) => Math.floor(k / t.every) + 1);
    data.push({
      type: "scatter",
      mode: "lines",
      x: touchX,
      y: t.order,
      xaxis: `x${axis}`,
      yaxis: `y${axis}`,
      line: { color: "#bbbbbb", width: 1 },
      name: `${t.label}: touched`,
    });
    const xs: number[] = [];
    const ys: number[] = [];
    t.residentAt.forEach((step, page) => {
      if (step >= 0) {
        xs.push(step);
        ys.push(page);
      }
    });
    data.push({
      type: "scatter",
      mode: "markers",
      x: xs,
      y: ys,
      xaxis: `x${axis}`,
      yaxis: `y${axis}`,
      marker: { size: 3, color: "#08519c" },
      name: `${t.label}: resident`,
    });
    layout[`xaxis${axis}`] = { title: { text: opts.xTitle ?? `step (${t.every} touches)` } };
    layout[`yaxis${axis}`] = { title: { text: i === 0 ? (opts.yTitle ?? "page") : "" }, range: [0, t.pages] };
    (layout.annotations as Record<string, unknown>[]).push({
      text: `${t.label}<br>${t.minor} minor, ${t.major} major faults`,
      xref: `x${axis} domain`,
      yref: `y${axis} domain`,
      x: 0.5,
      y: 1.18,
      showarrow: false,
    });
  });
  const summary = `Figure: fault timeline${opts.title ? ` of ${opts.title}` : ""}, ${list.map((t) => `${t.label}: ${t.minor} minor + ${t.major} major faults, ${t.residentBeforeTouched} pages resident before their touch`).join("; ")}`;
  return new Figure(data, layout, summary);
}
