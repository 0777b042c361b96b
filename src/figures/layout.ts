// What every figure shares: the options of titles and size, the layout they make, and the
// one-line summary a figure's text form shows. plot.ts, heatmap.ts and pages.ts take them from here.

/** Options every figure takes: titles of the plot and the axes, and its size in pixels. */
export interface PlotOptions {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  /** Pixel size; by default the figure fills the output's width and is 450 px high. */
  width?: number;
  height?: number;
}

/** The plotly layout of `opts`: margins, axis titles (or the defaults), size, and `extra`. */
export function layoutOf(
  opts: PlotOptions,
  defaults: { xTitle?: string; yTitle?: string },
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const layout: Record<string, unknown> = {
    margin: { t: opts.title ? 50 : 20, r: 20, b: 50, l: 60 },
    xaxis: { title: { text: opts.xTitle ?? defaults.xTitle ?? "" } },
    yaxis: { title: { text: opts.yTitle ?? defaults.yTitle ?? "" } },
    height: opts.height ?? 450,
    ...extra,
  };
  if (opts.title) layout.title = { text: opts.title };
  if (opts.width !== undefined) layout.width = opts.width;
  return layout;
}

/** "Figure: lines of <title>, 2 series, 40 points": the text a figure shows where nothing draws. */
export function summaryOf(kind: string, opts: PlotOptions, series: number, points: number): string {
  const of = opts.title ? ` of ${opts.title}` : "";
  return `Figure: ${kind}${of}, ${series} series, ${points} points`;
}
