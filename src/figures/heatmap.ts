// A heatmap of a matrix: plot.heatmap, and what the page figures (src/figures/pages.ts) draw.
import { ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE_RANGE } from "../codes";
import { validateNumberArray, validateOptions } from "../validators";
import { Figure } from "./figure";
import { layoutOf, summaryOf, type PlotOptions } from "./layout";

/** Options of `plot.heatmap`. */
export interface HeatmapOptions extends PlotOptions {
  /** Column coordinates (length = z[0].length) and row coordinates (length = z.length). */
  x?: ArrayLike<number> | string[];
  y?: ArrayLike<number> | string[];
  colorscale?: string | [number, string][];
  zmin?: number;
  zmax?: number;
  colorbarTitle?: string;
}

/** A heatmap of z[row][column]. */
export function heatmap(z: ArrayLike<number>[], opts: HeatmapOptions = {}): Figure {
  opts = validateOptions<HeatmapOptions>(opts, "options");
  if (!Array.isArray(z) || z.length === 0) throw new ERR_INVALID_ARG_TYPE("z", "a non-empty array of rows", z);
  const rows = z.map((r, i) => validateNumberArray(r, `z[${i}]`));
  const cols = rows[0].length;
  rows.forEach((r, i) => {
    if (r.length !== cols)
      throw new ERR_INVALID_ARG_VALUE_RANGE(`z[${i}]`, r, `has ${r.length} values, z[0] has ${cols}`);
  });
  const trace: Record<string, unknown> = { type: "heatmap", z: rows, colorscale: opts.colorscale ?? "Blues" };
  if (opts.x) trace.x = Array.from(opts.x as ArrayLike<number | string>);
  if (opts.y) trace.y = Array.from(opts.y as ArrayLike<number | string>);
  if (opts.zmin !== undefined) trace.zmin = opts.zmin;
  if (opts.zmax !== undefined) trace.zmax = opts.zmax;
  if (opts.colorbarTitle) trace.colorbar = { title: { text: opts.colorbarTitle } };
  const layout = layoutOf(opts, {}, {});
  return new Figure([trace], layout, summaryOf("heatmap", opts, 1, rows.length * cols));
}
