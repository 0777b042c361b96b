// table(columns, rows): a table of measurements as one output, HTML in a notebook and aligned text
// elsewhere. The one copy of the helper notebooks 09-11 used to define for themselves.
import { ERR_INVALID_ARG_VALUE_RANGE } from "../codes";
import { validateArray, validateStringArray } from "../validators";
import { recordsTable, recordsText } from "./html";
import { JUPYTER_DISPLAY, type MimeBundle } from "./mime";

/**
 * Rows a table shows in full. Longer, it shows its first HEAD and last TAIL rows and says how
 * many it left out (as pandas does past 60): a table of 65,536 pages was 7 MB of HTML in the
 * notebook, which the browser had to lay out. `rows` and `records()` keep every row.
 */
const SHOWN_IN_FULL = 60;
const HEAD = 30;
const TAIL = 10;

/** A table that shows itself in the notebook (display(t), or as a cell's last expression). */
export class Table {
  readonly columns: string[];
  readonly rows: unknown[][];
  readonly caption: string;

  /** @internal Use table(). */
  constructor(columns: string[], rows: unknown[][], caption: string) {
    this.columns = columns;
    this.rows = rows;
    this.caption = caption;
  }

  /** The rows as objects keyed by column, for checks: t.records()[0]["p50 µs"]. */
  records(): Record<string, unknown>[] {
    return this.rows.map((r) => Object.fromEntries(this.columns.map((c, i) => [c, r[i]])));
  }

  /** HTML and aligned text; past 60 rows, the first 30 and the last 10. */
  [JUPYTER_DISPLAY](): MimeBundle {
    const { caption, rows } = this.#shown();
    return { "text/html": recordsTable(caption, this.columns, rows), "text/plain": this.toString() };
  }

  /** The aligned text form; past 60 rows, the first 30 and the last 10. */
  toString(): string {
    const { caption, rows } = this.#shown();
    const text = recordsText(caption, this.columns, rows);
    return caption ? text : text.slice(text.indexOf("\n") + 1);
  }

  /** What the display shows: every row, or the first and last ones with a row marking the gap. */
  #shown(): { caption: string; rows: unknown[][] } {
    const n = this.rows.length;
    if (n <= SHOWN_IN_FULL) return { caption: this.caption, rows: this.rows };
    const gap = this.columns.map((_, i) => (i === 0 ? `… ${(n - HEAD - TAIL).toLocaleString("en-US")} rows` : "…"));
    const note = `${HEAD + TAIL} of ${n.toLocaleString("en-US")} rows shown; .rows and .records() hold them all`;
    return {
      caption: this.caption ? `${this.caption} (${note})` : note,
      rows: [...this.rows.slice(0, HEAD), gap, ...this.rows.slice(n - TAIL)],
    };
  }
}

/**
 * A table of `rows` under `columns`, optionally with a caption.
 * @example
 * ```ts
 * table(["pages", "faults"], [[16, 1], [4096, 256]])
 * ```
 */
export function table(columns: string[], rows: unknown[][], caption = ""): Table {
  validateStringArray(columns, "columns");
  validateArray(rows, "rows").forEach((r, i) => {
    const row = validateArray(r, `rows[${i}]`);
    if (row.length !== columns.length)
      throw new ERR_INVALID_ARG_VALUE_RANGE(`rows[${i}]`, row, `has ${row.length} cells for ${columns.length} columns`);
  });
  return new Table(
    columns,
    rows.map((r) => r.slice()),
    String(caption),
  );
}
