// Plot helpers for the shapes the notebooks draw. Every number plotted comes from the
// arguments: the helpers check and copy what they are given and never add data of their own.
import { LatencyResult } from "../measure/latency";
import { ResidencyRecording } from "../measure/residency";
import { ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE_RANGE } from "../codes";
import { validateNumberArray, validateOptions } from "../validators";
import { Figure } from "./figure";
import { heatmap } from "./heatmap";
import { layoutOf, summaryOf, type PlotOptions } from "./layout";
import type { PageStateRecording } from "../measure/dirty";
import type { FaultTimeline } from "../measure/timeline";
import {
  faultTimeline as faultTimelineFigure,
  pageStates as pageStatesFigure,
  type FaultTimelinePlotOptions,
  type PageStatesPlotOptions,
} from "./pages";

export type { PlotOptions } from "./layout";
export type { HeatmapOptions } from "./heatmap";

/**
 * Named numeric series: { "MS_SYNC": samples, ... }, or LatencyResults (named by their label), or
 * one series of numbers as it is (an array or a typed array: `plot.histogram(samples)`).
 */
export type SeriesInput =
  | Record<string, ArrayLike<number> | LatencyResult>
  | LatencyResult
  | LatencyResult[]
  | ArrayLike<number>;

/** The name of a series given as a bare array of numbers. */
const UNNAMED_SERIES = "values";

interface Series {
  name: string;
  values: number[];
  unit?: string;
}

const UNIT_TEXT: Record<string, string> = { ns: "ns", us: "µs", ms: "ms" };

function numbers(values: unknown, name: string): number[] {
  if (values instanceof LatencyResult) return values.samples.slice();
  return validateNumberArray(values, name);
}

/** `name` is the argument's name in messages ("series"); a named series is `series.<name>`. */
function toSeries(input: SeriesInput, name: string): Series[] {
  let list: Series[];
  if (input instanceof LatencyResult) list = [{ name: input.label, values: input.samples.slice(), unit: input.unit }];
  else if (isNumberSeries(input)) list = [{ name: UNNAMED_SERIES, values: numbers(input, name) }];
  else if (Array.isArray(input)) {
    list = input.map((r, i) => {
      if (!(r instanceof LatencyResult)) throw new ERR_INVALID_ARG_TYPE(`${name}[${i}]`, "LatencyResult", r);
      return { name: r.label, values: r.samples.slice(), unit: r.unit };
    });
  } else if (input !== null && typeof input === "object") {
    list = Object.entries(input).map(([key, v]) => ({
      name: key,
      values: numbers(v, `${name}.${key}`),
      unit: v instanceof LatencyResult ? v.unit : undefined,
    }));
  } else {
    throw new ERR_INVALID_ARG_TYPE(name, "an object of named series or LatencyResult(s)", input);
  }
  if (list.length === 0) throw new ERR_INVALID_ARG_VALUE_RANGE(name, input, "has no series to plot");
  for (const s of list)
    if (s.values.length === 0) throw new ERR_INVALID_ARG_VALUE_RANGE(`${name}.${s.name}`, s.values, "is empty");
  return list;
}

/**
 * Whether `input` is one series of numbers: a typed array, or an array whose first element is a
 * number (the rest are checked as numbers, so `[1, "2"]` is an error about `series[1]`, not about
 * LatencyResults). An empty array is no series at all ("has no series to plot").
 */
function isNumberSeries(input: unknown): input is ArrayLike<number> {
  if (ArrayBuffer.isView(input)) return !(input instanceof DataView);
  return Array.isArray(input) && typeof input[0] === "number";
}

function unitOf(list: Series[]): string | undefined {
  const u = list[0].unit;
  return u && list.every((s) => s.unit === u) ? (UNIT_TEXT[u] ?? u) : undefined;
}

/** Options of `plot.lines`. */
export interface LinesOptions extends PlotOptions {
  mode?: "lines" | "markers" | "lines+markers";
  logX?: boolean;
  logY?: boolean;
}

/** Lines over a sweep: x against one y series, or several named ones, of the same length. */
export function lines(
  x: ArrayLike<number> | string[],
  series: Record<string, ArrayLike<number>> | ArrayLike<number>,
  opts: LinesOptions = {},
): Figure {
  opts = validateOptions<LinesOptions>(opts, "options");
  if (x === null || typeof x !== "object" || typeof (x as ArrayLike<unknown>).length !== "number") {
    throw new ERR_INVALID_ARG_TYPE("x", "an array", x);
  }
  const xs = Array.from(x as ArrayLike<number | string>);
  if (xs.length === 0) throw new ERR_INVALID_ARG_VALUE_RANGE("x", xs, "is empty");
  const list = toSeries(series, "series");
  for (const s of list) {
    if (s.values.length !== xs.length) {
      throw new ERR_INVALID_ARG_VALUE_RANGE(
        `series.${s.name}`,
        s.values,
        `has ${s.values.length} values for ${xs.length} x values`,
      );
    }
  }
  const data = list.map((s) => ({
    type: "scatter",
    mode: opts.mode ?? "lines+markers",
    name: s.name,
    x: xs,
    y: s.values,
  }));
  const layout = layoutOf(opts, {}, {});
  if (opts.logX) (layout.xaxis as Record<string, unknown>).type = "log";
  if (opts.logY) (layout.yaxis as Record<string, unknown>).type = "log";
  return new Figure(data, layout, summaryOf("lines", opts, list.length, xs.length * list.length));
}

/** Options of `plot.histogram`. */
export interface HistogramOptions extends PlotOptions {
  /** Approximate number of bins (plotly picks the edges). Default: plotly's choice. */
  bins?: number;
  /** Show the share of samples per bin instead of counts, so series of different sizes compare. */
  percent?: boolean;
  logX?: boolean;
}

/** Histograms of one series of samples, or of several overlaid. */
export function histogram(series: SeriesInput, opts: HistogramOptions = {}): Figure {
  opts = validateOptions<HistogramOptions>(opts, "options");
  const list = toSeries(series, "series");
  const unit = unitOf(list);
  const data = list.map((s) => {
    const trace: Record<string, unknown> = {
      type: "histogram",
      name: s.name,
      x: s.values,
      opacity: list.length > 1 ? 0.6 : 1,
    };
    if (opts.bins !== undefined) trace.nbinsx = opts.bins;
    if (opts.percent) trace.histnorm = "percent";
    return trace;
  });
  const layout = layoutOf(
    opts,
    { xTitle: unit ? `latency (${unit})` : "value", yTitle: opts.percent ? "% of samples" : "samples" },
    { barmode: "overlay" },
  );
  if (opts.logX) (layout.xaxis as Record<string, unknown>).type = "log";
  const points = list.reduce((a, s) => a + s.values.length, 0);
  return new Figure(data, layout, summaryOf("histogram", opts, list.length, points));
}

/** Most points an ECDF trace carries; more are thinned to evenly spaced ranks (all of them real samples). */
const ECDF_MAX_POINTS = 4000;

/** Options of `plot.ecdf`. */
export interface EcdfOptions extends PlotOptions {
  logX?: boolean;
}

/** Empirical CDFs of one series or several: for each value, the fraction of samples at or below it. */
export function ecdf(series: SeriesInput, opts: EcdfOptions = {}): Figure {
  opts = validateOptions<EcdfOptions>(opts, "options");
  const list = toSeries(series, "series");
  const unit = unitOf(list);
  const data = list.map((s) => {
    const sorted = Float64Array.from(s.values).sort();
    const n = sorted.length;
    const step = Math.max(1, Math.ceil(n / ECDF_MAX_POINTS));
    const x: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < n; i += step) {
      x.push(sorted[i]);
      y.push((i + 1) / n);
    }
    if (x.length === 0 || y[y.length - 1] !== 1) {
      x.push(sorted[n - 1]);
      y.push(1);
    }
    return { type: "scatter", mode: "lines", line: { shape: "hv" }, name: s.name, x, y };
  });
  const layout = layoutOf(
    opts,
    { xTitle: unit ? `latency (${unit})` : "value", yTitle: "fraction of samples ≤ x" },
    {},
  );
  (layout.yaxis as Record<string, unknown>).range = [0, 1.02];
  if (opts.logX) (layout.xaxis as Record<string, unknown>).type = "log";
  const points = list.reduce((a, s) => a + s.values.length, 0);
  return new Figure(data, layout, summaryOf("ECDF", opts, list.length, points));
}

/** Options of `plot.residency`. */
export interface ResidencyPlotOptions extends PlotOptions {
  /** Rows drawn at most; pages are grouped into this many bins (fraction resident). Default 256. */
  rows?: number;
  /** Label frames by their time in ms (default) or by frame number. */
  timeAxis?: "ms" | "frame";
}

/** The residency heatmap of a recording: pages (rows) × time (columns), dark = resident. */
export function residency(recording: ResidencyRecording, opts: ResidencyPlotOptions = {}): Figure {
  opts = validateOptions<ResidencyPlotOptions>(opts, "options");
  if (!(recording instanceof ResidencyRecording)) {
    throw new ERR_INVALID_ARG_TYPE(
      "recording",
      "a ResidencyRecording (from recordResidency or a ResidencySampler)",
      recording,
    );
  }
  if (recording.frames.length === 0) throw new ERR_INVALID_ARG_VALUE_RANGE("recording", recording, "has no frames");
  const rows = Math.min(opts.rows ?? 256, recording.pages);
  const per = recording.pagesPerRow(rows);
  const z = recording.matrix(rows);
  const byFrame = opts.timeAxis === "frame";
  const x = byFrame ? recording.frames.map((_, i) => i) : recording.times.map((t) => Number(t.toFixed(3)));
  const y = z.map((_, i) => i * per);
  const fig = heatmap(z, {
    title: opts.title ?? recording.title,
    xTitle: opts.xTitle ?? (byFrame ? "sample" : "time (ms)"),
    yTitle: opts.yTitle ?? (per > 1 ? `page (rows of ${per} pages)` : "page"),
    width: opts.width,
    height: opts.height,
    x,
    y,
    zmin: 0,
    zmax: 1,
    colorscale: [
      [0, "#f7fbff"],
      [1, "#08306b"],
    ],
    colorbarTitle: per > 1 ? "resident share" : "resident",
  });
  fig.summary = `Figure: residency heatmap of ${opts.title ?? recording.title}, ${recording.pages} pages x ${recording.frames.length} samples`;
  return fig;
}

/** Options of `plot.bar`. */
export interface BarOptions extends PlotOptions {
  /** "group" (default) or "stack" when there are several series. */
  barmode?: "group" | "stack";
  logY?: boolean;
}

/** A bar chart: categories against one series (array) or several named ones. */
export function bar(
  labels: string[],
  values: ArrayLike<number> | Record<string, ArrayLike<number>>,
  opts: BarOptions = {},
): Figure {
  opts = validateOptions<BarOptions>(opts, "options");
  if (!Array.isArray(labels) || labels.length === 0)
    throw new ERR_INVALID_ARG_TYPE("labels", "a non-empty array of strings", labels);
  const cats = labels.map(String);
  const named =
    values !== null && typeof values === "object" && typeof (values as ArrayLike<number>).length !== "number"
      ? (values as Record<string, ArrayLike<number>>)
      : { [opts.yTitle ?? "value"]: values as ArrayLike<number> };
  const list = toSeries(named, "values");
  for (const s of list) {
    if (s.values.length !== cats.length) {
      throw new ERR_INVALID_ARG_VALUE_RANGE(
        `values.${s.name}`,
        s.values,
        `has ${s.values.length} values for ${cats.length} labels`,
      );
    }
  }
  const data = list.map((s) => ({ type: "bar", name: s.name, x: cats, y: s.values }));
  const layout = layoutOf(opts, {}, { barmode: opts.barmode ?? "group", showlegend: list.length > 1 });
  if (opts.logY) (layout.yaxis as Record<string, unknown>).type = "log";
  return new Figure(data, layout, summaryOf("bar chart", opts, list.length, cats.length * list.length));
}

/**
 * The plot helpers under one name, for notebook cells: plot.histogram(...), plot.ecdf(...).
 *
 * @example
 * {@includeCode ../../docs/examples/plot.ts}
 */
/**
 * Figures from measurements, drawn by plotly.js: each returns a `Figure` that shows itself in
 * the kernel as one output with the plotly JSON, offline HTML, text and (once rendered) PNG.
 *
 * @example
 * {@includeCode ../../docs/examples/plot.ts}
 */
export const plot = {
  /** Lines over `x`: one series (an array of numbers), or one line per named series. */
  lines,
  /** Histograms of samples: one series (an array of numbers), or one per named series or LatencyResult. */
  histogram,
  /** Empirical cumulative distributions of samples: one series (an array of numbers), or several. */
  ecdf,
  /** A heatmap of a matrix (rows × columns). */
  heatmap,
  /** A pages × time heatmap of a residency recording. */
  residency,
  /** Bars: one value per label. */
  bar,
  /** A pages × time heatmap of page states (not cached, clean, dirty, writeback) from a PageStateSampler. */
  pageStates: (recording: PageStateRecording, opts?: PageStatesPlotOptions) => pageStatesFigure(recording, opts),
  /** The order pages became resident, next to the fault counts, one panel per FaultTimeline. */
  faultTimeline: (timelines: FaultTimeline | FaultTimeline[], opts?: FaultTimelinePlotOptions) =>
    faultTimelineFigure(timelines, opts),
};
