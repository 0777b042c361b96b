// The notebook that grades one submission: the student's cells, in the student's order, with
// every locked cell (tests included) taken from the source by grade_id, as nbgrader's
// OverwriteCells does; hidden tests are back because the source has them.
//
// Invariants:
// - Points and roles come from the source only: a student's edits to metadata (points, grade,
//   locked) change nothing, and a cell whose grade_id the source does not know runs as an
//   ordinary cell.
// - A locked cell the student changed runs as the source has it; the change is noted.
// - A locked cell the student deleted is put back after the cell that stands for the source
//   cell before it (by grade_id, cell id or text); a
//   solution cell the student deleted stays deleted (its tests then fail), and is noted.
import { copyJson, sourceOf, type Notebook, type NotebookCell } from "../handouts/notebook";
import { gradeIdOf, isLocked, isSolution, nbgraderOf, releasedSource } from "./nbgrader";
import { withCode } from "../codes";

export interface Assembled {
  notebook: Notebook;
  /** What the grader changed or found, for the feedback ("edited locked cell x: …"). */
  notes: string[];
  /** grade_ids of locked cells the student changed. */
  tampered: string[];
}

function fresh(cell: NotebookCell): NotebookCell {
  const copy = copyJson(cell);
  if (copy.cell_type === "code") {
    copy.outputs = [];
    copy.execution_count = null;
  }
  return copy;
}

const normalized = (text: string) => text.replace(/\s+$/, "").replace(/[ \t]+\n/g, "\n");

/** Reads a submission: a notebook object, or throws with the reason it is not one. */
export function parseSubmission(text: string): Notebook {
  let nb: unknown;
  try {
    nb = JSON.parse(text);
  } catch (e) {
    throw withCode(new Error(`not valid JSON (${(e as Error).message})`), "ERR_INVALID_NOTEBOOK");
  }
  const cells = (nb as Notebook | null)?.cells;
  if (!nb || typeof nb !== "object" || !Array.isArray(cells))
    throw withCode(new Error("not an nbformat 4 notebook (no cells list)"), "ERR_INVALID_NOTEBOOK");
  if ((nb as Notebook).nbformat !== 4)
    throw withCode(
      new Error(`not an nbformat 4 notebook (nbformat ${(nb as Notebook).nbformat})`),
      "ERR_INVALID_NOTEBOOK",
    );
  cells.forEach((c, i) => {
    if (!c || typeof c !== "object" || !["code", "markdown", "raw"].includes(c.cell_type))
      throw withCode(new Error(`cell ${i} is not a notebook cell`), "ERR_INVALID_NOTEBOOK");
    if (typeof c.source !== "string" && !(Array.isArray(c.source) && c.source.every((l) => typeof l === "string")))
      throw withCode(new Error(`cell ${i} has no source text`), "ERR_INVALID_NOTEBOOK");
    if (!c.metadata || typeof c.metadata !== "object") c.metadata = {};
  });
  return nb as Notebook;
}

export function assembleForGrading(source: Notebook, submission: Notebook): Assembled {
  const notes: string[] = [];
  const tampered: string[] = [];
  const bySourceId = new Map<string, { cell: NotebookCell; index: number }>();
  source.cells.forEach((cell, index) => {
    const id = gradeIdOf(cell);
    if (id) bySourceId.set(id, { cell, index });
  });

  // Each output cell remembers which source cell it stands for (by index), to place restored
  // cells; an ordinary cell stands for the source cell with its cell id, else with its text.
  const out: { cell: NotebookCell; sourceIndex: number | null }[] = [];
  const used = new Set<string>();
  const plainAnchors = new Map<string, number>();
  source.cells.forEach((cell, index) => {
    if (gradeIdOf(cell)) return;
    if (typeof cell.id === "string" && !plainAnchors.has(`id:${cell.id}`)) plainAnchors.set(`id:${cell.id}`, index);
    const text = `text:${normalized(sourceOf(cell))}`;
    if (!plainAnchors.has(text)) plainAnchors.set(text, index);
  });
  const anchorOf = (cell: NotebookCell): number | null =>
    (typeof cell.id === "string" ? plainAnchors.get(`id:${cell.id}`) : undefined) ??
    plainAnchors.get(`text:${normalized(sourceOf(cell))}`) ??
    null;
  for (const studentCell of submission.cells) {
    const id = gradeIdOf(studentCell);
    const match = id ? bySourceId.get(id) : undefined;
    if (!id || !match) {
      const plain = fresh(studentCell);
      if (nbgraderOf(plain)) {
        delete plain.metadata.nbgrader;
        notes.push(`a cell with grade_id "${id ?? "(none)"}", unknown to the assignment, runs as an ordinary cell`);
      }
      out.push({ cell: plain, sourceIndex: anchorOf(studentCell) });
      continue;
    }
    if (used.has(id)) {
      notes.push(
        `a second cell with grade_id "${id}" ${isLocked(match.cell) ? "is ignored" : "runs as an ordinary cell"}`,
      );
      if (!isLocked(match.cell)) {
        const plain = fresh(studentCell);
        delete plain.metadata.nbgrader;
        out.push({ cell: plain, sourceIndex: null });
      }
      continue;
    }
    used.add(id);
    if (isLocked(match.cell)) {
      if (
        normalized(sourceOf(studentCell)) !== normalized(releasedSource(match.cell)) ||
        studentCell.cell_type !== match.cell.cell_type
      ) {
        tampered.push(id);
        notes.push(`edited locked cell "${id}": the edit has no effect; the cell ran as the assignment has it`);
      }
      out.push({ cell: fresh(match.cell), sourceIndex: match.index });
    } else {
      const cell = fresh(studentCell);
      cell.cell_type = match.cell.cell_type;
      cell.metadata = { ...cell.metadata, nbgrader: copyJson(nbgraderOf(match.cell)) };
      out.push({ cell, sourceIndex: match.index });
    }
  }

  for (const [id, { cell, index }] of bySourceId) {
    if (used.has(id)) continue;
    if (isLocked(cell)) {
      // After the last output cell that stands for an earlier source cell; else first.
      let at = 0;
      out.forEach((o, k) => {
        if (o.sourceIndex !== null && o.sourceIndex < index) at = k + 1;
      });
      out.splice(at, 0, { cell: fresh(cell), sourceIndex: index });
      notes.push(`deleted locked cell "${id}" was put back`);
    } else if (isSolution(cell)) {
      notes.push(`deleted solution cell "${id}": the tests that need it fail`);
    }
  }

  const notebook: Notebook = {
    ...copyJson({ ...submission, cells: [] }),
    cells: out.map((o) => o.cell),
  };
  notebook.metadata = copyJson(source.metadata);
  // nbformat 4.4: cell ids (4.5) are dropped, so duplicated student cells cannot clash.
  notebook.nbformat = 4;
  notebook.nbformat_minor = 4;
  for (const cell of notebook.cells) delete cell.id;
  return { notebook, notes, tampered };
}
