// feedback/<student>.html: one self-contained page per submission. Every test cell with its
// points, its error and its output; what the grader noted (edited locked cells, deleted
// cells, a kernel death, a timeout) and the IPC objects it leaked. Hidden tests stay hidden:
// a test cell is shown as the student version has it.
import { sourceOf, type Notebook, type NotebookOutput } from "../handouts/notebook";
import type { SubmissionGrade } from "./grade";
import { gradeIdOf, releasedSource } from "./nbgrader";

const escapeHtml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
// ANSI colour codes in tracebacks (ESC [ … letter), built from a string: no control character in a literal.
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, "g");
const plain = (s: string) => s.replace(ANSI, "");
const joined = (v: unknown) => (Array.isArray(v) ? v.join("") : typeof v === "string" ? v : "");

/** What a cell printed, as text: streams, text/plain results, errors with their traceback. */
export function outputText(outputs: NotebookOutput[] | undefined, limit = 4000): string {
  const text = (outputs ?? [])
    .map((o) => {
      if (o.output_type === "stream") return joined(o.text);
      if (o.output_type === "error") return plain((o.traceback ?? []).join("\n") || `${o.ename}: ${o.evalue}`);
      if (o.data && "text/plain" in o.data) return joined(o.data["text/plain"]);
      if (o.data && "image/png" in o.data) return "[figure]";
      return "";
    })
    .filter((t) => t !== "")
    .join("\n");
  return text.length > limit ? text.slice(0, limit) + `\n… (${text.length - limit} more characters)` : text;
}

const STYLE = `body{font:15px/1.45 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f6f6;padding:.6em;border-radius:4px}
.ok{color:#176b1a}.fail{color:#a31515}section{border-top:1px solid #ddd;margin-top:1.2em}`;

export function feedbackHtml(grade: SubmissionGrade, source: Notebook): string {
  const sourceById = new Map(source.cells.map((c) => [gradeIdOf(c), c]));
  const parts: string[] = [];
  parts.push(
    `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Feedback: ${escapeHtml(grade.student)}</title><style>${STYLE}</style></head><body>`,
  );
  parts.push(`<h1>Feedback for ${escapeHtml(grade.student)}</h1>`);
  parts.push(`<p><strong>${grade.total} / ${grade.maxPoints} points</strong> — ${escapeHtml(grade.file)}</p>`);
  if (grade.status !== "graded")
    parts.push(
      `<p class="fail"><strong>${grade.status === "invalid" ? "Not a valid notebook" : "Grading failed"}:</strong> ${escapeHtml(grade.reason ?? "")}</p>`,
    );
  parts.push("<table><tr><th>test cell</th><th>points</th><th>result</th></tr>");
  for (const c of grade.cells) {
    parts.push(
      `<tr><td><a href="#${escapeHtml(c.gradeId)}">${escapeHtml(c.gradeId)}</a></td><td>${c.points} / ${c.maxPoints}</td><td class="${c.status === "ok" ? "ok" : "fail"}">${escapeHtml(c.status === "ok" ? "passed" : (c.error ?? c.status))}</td></tr>`,
    );
  }
  parts.push("</table>");
  if (grade.notes.length)
    parts.push(`<h2>Notes</h2><ul>${grade.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>`);
  parts.push(
    `<h2>Leaks</h2>${grade.leaks.length ? `<p class="fail">IPC objects still there after the kernel shut down (removed by the grader):</p><ul>${grade.leaks.map((l) => `<li><code>${escapeHtml(l)}</code></li>`).join("")}</ul>` : "<p>None: nothing was left behind.</p>"}`,
  );
  for (const c of grade.cells) {
    const src = sourceById.get(c.gradeId);
    const ran = c.index !== null && grade.executed ? grade.executed.cells[c.index] : undefined;
    parts.push(
      `<section id="${escapeHtml(c.gradeId)}"><h3>${escapeHtml(c.gradeId)}: <span class="${c.status === "ok" ? "ok" : "fail"}">${c.points} / ${c.maxPoints}</span></h3>`,
    );
    if (src)
      parts.push(
        `<pre><code>${escapeHtml(src.cell_type === "code" ? releasedSource(src) : sourceOf(src))}</code></pre>`,
      );
    if (c.error) parts.push(`<p class="fail"><strong>Error:</strong> ${escapeHtml(c.error)}</p>`);
    const out = outputText(ran?.outputs);
    if (out) parts.push(`<p>Output:</p><pre>${escapeHtml(out)}</pre>`);
    parts.push("</section>");
  }
  parts.push(
    `<p><small>Graded in ${grade.seconds.toFixed(1)} s${grade.kernelSeconds !== null ? ` (kernel start ${grade.kernelSeconds.toFixed(1)} s)` : ""}.</small></p></body></html>\n`,
  );
  return parts.join("\n");
}
