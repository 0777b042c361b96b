// Whether an executed notebook passed, by the rules of notebooks/CONVENTIONS.md: no error
// output except in cells tagged `raises-exception` (and those must raise), every check (a cell
// tagged `check`, or an nbgrader test cell) ran without an error. Used by `npm start` and by
// the notebook tests.
import { isGrade } from "../assign/nbgrader";
import { sourceOf, tagsOf, type Notebook } from "./notebook";

export interface CellProblem {
  /** Index of the cell in the notebook (0-based, markdown cells counted). */
  cell: number;
  /** "unexpected error", "expected an error", "check failed", "not executed". */
  kind: string;
  detail: string;
}

export interface Judgement {
  codeCells: number;
  /** Code cells with an execution count (the kernel ran them). */
  executed: number;
  checks: { total: number; passed: number };
  problems: CellProblem[];
  ok: boolean;
}

function firstLine(text: string): string {
  const line = text.split("\n").find((l) => l.trim() !== "") ?? "";
  return line.length > 160 ? line.slice(0, 157) + "..." : line;
}

export function judgeNotebook(nb: Notebook): Judgement {
  const problems: CellProblem[] = [];
  let codeCells = 0;
  let executed = 0;
  let checks = 0;
  let checksPassed = 0;
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type !== "code") return;
    const tags = tagsOf(cell);
    // Cells tagged `interactive` wait for a person (input()); nbrun.py does not run them.
    if (tags.includes("interactive")) return;
    codeCells++;
    // nbgrader's graded test cells count as checks, like the older `check` tag.
    const check = tags.includes("check") || isGrade(cell);
    const ran = typeof cell.execution_count === "number";
    if (ran) executed++;
    const errors = (cell.outputs ?? []).filter((o) => o.output_type === "error");
    const errorText = errors.map((e) => `${e.ename}: ${e.evalue}`).join("; ");
    if (sourceOf(cell).trim() !== "" && !ran)
      problems.push({ cell: i, kind: "not executed", detail: firstLine(sourceOf(cell)) });
    if (tags.includes("raises-exception")) {
      if (ran && errors.length === 0)
        problems.push({
          cell: i,
          kind: "expected an error",
          detail: `tagged raises-exception but raised nothing: ${firstLine(sourceOf(cell))}`,
        });
    } else if (errors.length > 0) {
      problems.push({ cell: i, kind: check ? "check failed" : "unexpected error", detail: firstLine(errorText) });
    }
    if (check) {
      checks++;
      if (ran && errors.length === 0) checksPassed++;
    }
  });
  return { codeCells, executed, checks: { total: checks, passed: checksPassed }, problems, ok: problems.length === 0 };
}
