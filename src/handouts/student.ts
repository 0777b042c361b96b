// The student version of a notebook: each `solution` cell's code replaced by a stub and its
// outputs cleared; `check` cells kept (so students can test their work) with their outputs
// cleared too, since those outputs are the solution's results.
import { tagsOf, type Notebook, type NotebookCell } from "./notebook";

export const SOLUTION_STUB = "// your solution here\n";

function cleared(cell: NotebookCell): NotebookCell {
  return { ...cell, outputs: [], execution_count: null };
}

export function studentVersion(nb: Notebook): Notebook {
  const copy = JSON.parse(JSON.stringify(nb)) as Notebook;
  copy.cells = copy.cells.map((cell) => {
    if (cell.cell_type !== "code") return cell;
    const tags = tagsOf(cell);
    if (tags.includes("solution")) return { ...cleared(cell), source: SOLUTION_STUB };
    if (tags.includes("check")) return cleared(cell);
    return cell;
  });
  return copy;
}
