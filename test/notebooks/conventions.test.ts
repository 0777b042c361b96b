// The static part of notebooks/CONVENTIONS.md, for every notebook in notebooks/ (fast: no
// kernel): the kernelspec, learning goals first, exercises with solution and check cells,
// a cleanup cell, nbformat 4.
import path from "path";
import { listNotebooks, readNotebook, sourceOf, tagsOf } from "../../src/handouts";

const files = listNotebooks(path.join(__dirname, "..", "..", "notebooks"));
const suite = files.length === 0 ? describe.skip : describe;

suite("notebooks follow CONVENTIONS.md", () => {
  test.each(files.map((f) => [path.basename(f), f]))("%s", (_name, file) => {
    const nb = readNotebook(file);
    const problems: string[] = [];
    if (!/^\d\d-[a-z0-9-]+\.ipynb$/.test(path.basename(file))) problems.push("name is not NN-topic.ipynb");
    if (nb.nbformat !== 4) problems.push(`nbformat ${nb.nbformat}, expected 4`);
    const spec = nb.metadata.kernelspec as { name?: string } | undefined;
    if (spec?.name !== "tslab-ipc") problems.push(`kernelspec ${JSON.stringify(spec?.name)}, expected "tslab-ipc"`);
    const first = nb.cells[0];
    if (!first || first.cell_type !== "markdown" || !/learning goals/i.test(sourceOf(first))) {
      problems.push("the first cell is not a markdown cell with the Learning goals");
    }
    // An exercise cell is tagged (solution / check) or carries nbgrader's metadata (solution / grade).
    const nbgrader = (c: (typeof nb.cells)[number], key: "solution" | "grade") => (c.metadata?.nbgrader as Record<string, unknown> | undefined)?.[key] === true;
    const tagged = (tag: string) => nb.cells.filter((c) => tagsOf(c).includes(tag) || nbgrader(c, tag === "check" ? "grade" : "solution"));
    if (tagged("solution").length === 0) problems.push("no cell tagged solution (exercises)");
    if (tagged("check").length === 0) problems.push("no cell tagged check (exercises)");
    for (const c of [...tagged("solution"), ...tagged("check")]) {
      if (c.cell_type !== "code") problems.push("a solution/check tag on a non-code cell");
    }
    const headings = nb.cells.filter((c) => c.cell_type === "markdown").map(sourceOf);
    if (!headings.some((h) => /^#+\s*clean ?up/im.test(h))) problems.push("no Cleanup section");
    if (!nb.cells.slice(-3).some((c) => c.cell_type === "code")) problems.push("no code cell at the end (cleanup)");
    expect(problems).toEqual([]);
  });
});
