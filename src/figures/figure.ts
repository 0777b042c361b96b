// A plotly figure that shows itself in the kernel: one output carrying the plotly JSON (for
// JupyterLab's plotly renderer), self-contained HTML (classic Notebook, nbconvert HTML, no
// internet needed), a one-line text summary, and a PNG once one is attached.
import { ERR_INVALID_ARG_TYPE } from "../codes";
import { JUPYTER_DISPLAY, type MimeBundle } from "../display/mime";
import { figureHtml } from "./html";

/** The MIME type of a plotly figure's JSON, which Jupyter front ends with plotly support draw. */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** The JSON plotly.js draws: traces and layout. */
export interface PlotlyFigure {
  data: Record<string, unknown>[];
  layout: Record<string, unknown>;
}

export class Figure implements PlotlyFigure {
  data: Record<string, unknown>[];
  layout: Record<string, unknown>;
  /** What the text/plain output says: "Figure: histogram of msync latency, 2 series, 2000 points". */
  summary: string;
  /** A PNG of the figure once attachPng/renderPng gave one (handouts, untrusted viewers). */
  png: Buffer | null = null;

  constructor(data: Record<string, unknown>[], layout: Record<string, unknown>, summary: string) {
    this.data = data;
    this.layout = layout;
    this.summary = summary;
  }

  /** {data, layout}: what plotly.js and the plotly MIME type take. */
  toJSON(): PlotlyFigure {
    return { data: this.data, layout: this.layout };
  }

  /** Attaches a PNG (e.g. from renderFigurePng): the bundle then carries image/png too. */
  attachPng(png: Buffer): this {
    if (!Buffer.isBuffer(png)) throw new ERR_INVALID_ARG_TYPE("png", "Buffer", png);
    this.png = png;
    return this;
  }

  /**
   * The MIME bundle of one output. Each call makes fresh HTML: the first HTML made in this
   * process carries plotly.js itself, later ones use the copy already in the page
   * (`includeLibrary: true` forces a copy into this one).
   */
  mimeBundle(options: { includeLibrary?: boolean | "auto" } = {}): MimeBundle {
    const bundle: MimeBundle = {
      [PLOTLY_MIME]: this.toJSON(),
      "text/html": figureHtml(this.toJSON(), {
        summary: this.summary,
        png: this.png,
        includeLibrary: options.includeLibrary,
      }),
      "text/plain": this.summary,
    };
    if (this.png) bundle["image/png"] = this.png.toString("base64");
    return bundle;
  }

  /** The MIME bundle the kernel shows: plotly JSON, offline HTML, text, and PNG once rendered. */
  [JUPYTER_DISPLAY](): MimeBundle {
    return this.mimeBundle();
  }

  toString(): string {
    return this.summary;
  }
}
