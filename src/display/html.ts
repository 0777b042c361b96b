// Small HTML helpers for the tables our objects show in a notebook.

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );
}

/** A value as a table cell's text: dates as ISO, bigints as 0x… addresses, null as "—". */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (value instanceof Date) return value.toISOString().replace(".000Z", "Z");
  if (typeof value === "bigint") return "0x" + value.toString(16);
  return String(value);
}

/** A two-column table of name/value rows under a caption. */
export function fieldsTable(caption: string, rows: Array<[string, unknown]>): string {
  const body = rows
    .map(
      ([k, v]) =>
        `<tr><th style="text-align:left">${escapeHtml(k)}</th><td style="text-align:left"><code>${escapeHtml(cellText(v))}</code></td></tr>`,
    )
    .join("");
  return `<table class="tslab-ipc"><caption style="text-align:left"><b>${escapeHtml(caption)}</b></caption>${body}</table>`;
}

/** A table with a header row and one row per record. */
export function recordsTable(caption: string, columns: string[], rows: unknown[][]): string {
  const head = columns.map((c) => `<th style="text-align:left">${escapeHtml(c)}</th>`).join("");
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((v) => `<td style="text-align:left"><code>${escapeHtml(cellText(v))}</code></td>`).join("")}</tr>`,
    )
    .join("");
  return `<table class="tslab-ipc"><caption style="text-align:left"><b>${escapeHtml(caption)}</b></caption><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** The same rows as aligned plain text: the fallback a terminal or nbconvert --to text shows. */
export function recordsText(caption: string, columns: string[], rows: unknown[][]): string {
  const cells = [columns, ...rows.map((r) => r.map(cellText))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  const lines = cells.map((r) =>
    r
      .map((v, i) => String(v).padEnd(widths[i]))
      .join("  ")
      .trimEnd(),
  );
  return [caption, ...lines].join("\n");
}

export function fieldsText(caption: string, rows: Array<[string, unknown]>): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return [caption, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${cellText(v)}`)].join("\n");
}
