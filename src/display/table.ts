// table(columns, rows): a table of measurements as one output, HTML in a notebook and aligned text
// elsewhere. The one copy of the helper notebooks 09-11 used to define for themselves.
import { ERR_INVALID_ARG_VALUE_RANGE } from "../codes";
import { validateArray, validateStringArray } from "../validators";
import { recordsTable, recordsText } from "./html";
import { JUPYTER_DISPLAY, type MimeBundle } from "./mime";

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

  /** HTML and aligned text. */
  [JUPYTER_DISPLAY](): MimeBundle {
    return { "text/html": recordsTable(this.caption, this.columns, this.rows), "text/plain": this.toString() };
  }

  /** The aligned text form. */
  toString(): string {
    const text = recordsText(this.caption, this.columns, this.rows);
    return this.caption ? text : text.slice(text.indexOf("\n") + 1);
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
