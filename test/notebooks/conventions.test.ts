// The static part of notebooks/CONVENTIONS.md, for every notebook in notebooks/ (fast: no
// kernel): the kernelspec, learning goals first, exercises in nbgrader's format, a cleanup cell,
// nbformat 4; and, for the notebooks already held to the whole of it (STRICT), code cells of at
// most 30 lines, a takeaways cell at the end, claim cells, one "break it" exercise, "kernel" in one
// sense only, and no fixed time or ratio in prose next to a measurement.
import path from "path";
import { listNotebooks, readNotebook, sourceOf, tagsOf, type Notebook } from "../../src/handouts";

const files = listNotebooks(path.join(__dirname, "..", "..", "notebooks"));
const suite = files.length === 0 ? describe.skip : describe;
/** Notebooks held to every rule below (09-11 join when their rewrite lands). */
const STRICT = /^(0[1-9]|1[01])-/;

type Cell = Notebook["cells"][number];
interface NbgraderMeta {
  grade?: boolean;
  solution?: boolean;
  locked?: boolean;
  points?: number;
  grade_id?: string;
  schema_version?: number;
}
const nbgrader = (c: Cell) => c.metadata?.nbgrader as NbgraderMeta | undefined;

/** Problems with the exercises: nbgrader's metadata and markers (the old solution/check tags are accepted where not STRICT). */
function exerciseProblems(nb: Notebook, prefix: string, strict: boolean): string[] {
  const problems: string[] = [];
  const solutions = nb.cells.filter(
    (c) => nbgrader(c)?.solution === true || (!strict && tagsOf(c).includes("solution")),
  );
  const checks = nb.cells.filter((c) => nbgrader(c)?.grade === true || (!strict && tagsOf(c).includes("check")));
  if (solutions.length === 0) problems.push("no solution cell (exercises)");
  if (checks.length === 0) problems.push("no graded check cell (exercises)");
  const ids = new Set<string>();
  for (const c of nb.cells.filter((x) => nbgrader(x))) {
    const m = nbgrader(c)!;
    const src = sourceOf(c);
    if (c.cell_type !== "code") problems.push(`nbgrader metadata on a ${c.cell_type} cell`);
    if (m.schema_version !== 3 || !m.grade_id)
      problems.push(`cell ${m.grade_id}: schema_version 3 and a grade_id are required`);
    if (m.grade_id && ids.has(m.grade_id)) problems.push(`grade_id ${m.grade_id} twice`);
    if (m.grade_id) ids.add(m.grade_id);
    if (strict && !new RegExp(`^${prefix}-ex\\d+-(solution|check)$`).test(m.grade_id ?? ""))
      problems.push(`grade_id ${m.grade_id} is not ${prefix}-ex<k>-solution|check`);
    if (m.solution) {
      const begin = src.indexOf("BEGIN SOLUTION");
      if (begin < 0 || src.indexOf("END SOLUTION") < begin)
        problems.push(`${m.grade_id}: no BEGIN SOLUTION / END SOLUTION region`);
      else if (strict && !/\S/.test(src.slice(0, src.lastIndexOf("\n", begin) + 1)))
        problems.push(`${m.grade_id}: no typed signature before the solution region`);
      if (m.grade || m.locked) problems.push(`${m.grade_id}: a solution cell is neither graded nor locked`);
    }
    if (m.grade) {
      if (!(typeof m.points === "number" && m.points > 0) || m.locked !== true)
        problems.push(`${m.grade_id}: a graded cell needs points > 0 and locked`);
      if (src.includes("BEGIN HIDDEN TESTS") !== src.includes("END HIDDEN TESTS"))
        problems.push(`${m.grade_id}: unbalanced HIDDEN TESTS markers`);
    }
    if (strict && tagsOf(c).some((t) => t === "solution" || t === "check"))
      problems.push(`${m.grade_id}: old solution/check tag left`);
  }
  return problems;
}

/** Problems only the STRICT notebooks are held to. */
function strictProblems(nb: Notebook): string[] {
  const problems: string[] = [];
  nb.cells.forEach((c, i) => {
    const lines = sourceOf(c).split("\n").length;
    if (c.cell_type === "code" && lines > 30) problems.push(`cell ${i}: ${lines} lines of code (at most 30)`);
    // "kernel" is the Linux kernel; the Jupyter side is "this notebook's process" or "the notebook kernel".
    const jupyterKernel =
      /\b(this|our|second|the notebook's) kernel\b|\bkernel process\b|\bkernel (must not die|is alive|reads|wrote|is the)\b/i.exec(
        sourceOf(c),
      );
    if (jupyterKernel)
      problems.push(`cell ${i}: "${jupyterKernel[0]}": say "this notebook's process" (or "the notebook kernel")`);
  });
  const last = nb.cells[nb.cells.length - 1];
  if (last?.cell_type !== "markdown" || !/^#+\s*takeaways/im.test(sourceOf(last)))
    problems.push("the last cell is not a Takeaways markdown cell");
  if (!nb.cells.some((c) => tagsOf(c).includes("claim")))
    problems.push("no cell tagged claim (prose tied to its measurement)");
  if (!nb.cells.some((c) => c.cell_type === "markdown" && /break it/i.test(sourceOf(c))))
    problems.push('no "break it" exercise');
  if (!nb.cells.some((c) => c.cell_type === "markdown" && /\*\*Discuss/.test(sourceOf(c))))
    problems.push("no discussion prompt");
  // No fixed time or ratio in the prose right after a cell whose output changes from run to run
  // (a period the code sets, "every 200 ms", is a parameter, not a measurement).
  nb.cells.forEach((c, i) => {
    const before = nb.cells[i - 1];
    if (c.cell_type !== "markdown" || !before || !tagsOf(before).includes("nondeterministic")) return;
    const fixed =
      /(?<!every |%)\b\d+(\.\d+)?\s?(ms|µs|us|ns|s|KiB|MiB|GiB|MiB\/s|%)(?![\w/])|\b\d+(\.\d+)?\s?(×|x)\b|\babout (a|\w+) (hundred|thousand|times)\b/.exec(
        sourceOf(c),
      );
    if (fixed)
      problems.push(`cell ${i}: "${fixed[0]}" in prose next to a measurement: generate it from the values (say/claim)`);
  });
  return problems;
}

suite("notebooks follow CONVENTIONS.md", () => {
  test.each(files.map((f) => [path.basename(f), f]))("%s", (name, file) => {
    const nb = readNotebook(file);
    const problems: string[] = [];
    if (!/^\d\d-[a-z0-9-]+\.ipynb$/.test(name)) problems.push("name is not NN-topic.ipynb");
    if (nb.nbformat !== 4) problems.push(`nbformat ${nb.nbformat}, expected 4`);
    const spec = nb.metadata.kernelspec as { name?: string } | undefined;
    if (spec?.name !== "tslab-ipc") problems.push(`kernelspec ${JSON.stringify(spec?.name)}, expected "tslab-ipc"`);
    const first = nb.cells[0];
    if (first?.cell_type !== "markdown" || !/learning goals/i.test(sourceOf(first))) {
      problems.push("the first cell is not a markdown cell with the Learning goals");
    }
    const strict = STRICT.test(name);
    problems.push(...exerciseProblems(nb, name.slice(0, 2), strict));
    const headings = nb.cells.filter((c) => c.cell_type === "markdown").map(sourceOf);
    if (!headings.some((h) => /^#+\s*clean ?up/im.test(h))) problems.push("no Cleanup section");
    if (!nb.cells.slice(-3).some((c) => c.cell_type === "code")) problems.push("no code cell at the end (cleanup)");
    if (strict) problems.push(...strictProblems(nb));
    expect(problems).toEqual([]);
  });
});
