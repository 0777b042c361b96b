// judgeNotebook counts nbgrader's graded cells as checks, and leaves cells tagged `interactive`
// (not run by nbrun.py: they wait for a person) out of the count of code cells.
import { judgeNotebook, type Notebook, type NotebookCell } from "../../src/handouts";

const graded = {
  nbgrader: { grade: true, solution: false, locked: true, points: 1, grade_id: "01-ex1-check", schema_version: 3 },
};
function cell(
  source: string,
  metadata: NotebookCell["metadata"],
  outputs: NotebookCell["outputs"] = [],
  count: number | null = 1,
): NotebookCell {
  return { cell_type: "code", source, metadata, outputs, execution_count: count };
}
const nb = (cells: NotebookCell[]): Notebook => ({ cells, metadata: {}, nbformat: 4, nbformat_minor: 5 });

test("a graded nbgrader cell is a check: counted when it passes, 'check failed' when it raises", () => {
  const ok = judgeNotebook(nb([cell("check()", graded, [{ output_type: "stream", name: "stdout", text: "✓" }])]));
  expect(ok).toMatchObject({ ok: true, checks: { total: 1, passed: 1 } });
  const failed = judgeNotebook(
    nb([cell("check()", graded, [{ output_type: "error", ename: "Error", evalue: "wrong", traceback: [] }])]),
  );
  expect(failed.problems).toEqual([{ cell: 0, kind: "check failed", detail: "Error: wrong" }]);
});

test("an interactive cell that was not run is no problem and not counted", () => {
  const j = judgeNotebook(nb([cell("await input('x')", { tags: ["interactive"] }, [], null), cell("1", {})]));
  expect(j).toMatchObject({ ok: true, codeCells: 1, executed: 1 });
});
