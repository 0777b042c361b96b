// nbgrader's format without Jupyter: checksums as nbgrader computes them, the student version,
// the legacy-tag converter on copies of the bundled notebooks, and the notebook a submission
// is graded as.
import { spawnSync } from "child_process";
import path from "path";
import {
  assembleForGrading,
  computeChecksum,
  convertLegacy,
  gradeIdOf,
  gradesCsv,
  isSolution,
  isStudentVersion,
  metadataProblems,
  parseSubmission,
  printableCopy,
  SOLUTION_STUB,
  studentVersion,
} from "../../src/assign";
import { listNotebooks, readNotebook, sourceOf, tagsOf, type Notebook, type NotebookCell } from "../../src/handouts";
import { pythonWith, repoRoot } from "../helpers";

const fixture = path.join(__dirname, "fixtures", "assignment.ipynb");
const source = () => readNotebook(fixture);
const byId = (nb: Notebook, id: string) => nb.cells.find((c) => gradeIdOf(c) === id)!;

// nbgrader's utils.compute_checksum, transcribed in Python, run over the student version.
const NBGRADER_CHECKSUM = `
import hashlib, json, sys
def b(s): return s.encode("utf-8")
nb = json.load(sys.stdin)
out = []
for c in nb["cells"]:
    m = c["metadata"].get("nbgrader")
    if not m: continue
    grade, solution = m.get("grade", False), m.get("solution", False)
    locked = False if solution else (True if grade else m.get("locked", False))
    h = hashlib.md5()
    src = c["source"] if isinstance(c["source"], str) else "".join(c["source"])
    for part in (src, c["cell_type"], str(grade), str(solution), str(locked), m["grade_id"]): h.update(b(part))
    if grade: h.update(b(str(float(m["points"]))))
    out.append([m["grade_id"], h.hexdigest(), m["checksum"]])
print(json.dumps(out))
`;

describe("the student version", () => {
  test("stubs solution regions keeping the signature, removes hidden tests, clears test outputs", () => {
    const s = studentVersion(source());
    const sol = sourceOf(byId(s, "ex1-solution"));
    expect(sol).toBe(["function sumTo(n: number): number {", ...SOLUTION_STUB.map((l) => "  " + l), "}"].join("\n"));
    const check = sourceOf(byId(s, "ex1-check"));
    expect(check).toContain("sumTo(3)");
    expect(check).not.toContain("sumTo(100)");
    expect(check).not.toContain("HIDDEN");
    expect(byId(s, "ex1-check").metadata).toMatchObject({ editable: false, deletable: false });
    expect(JSON.stringify(s)).not.toContain("n + 1");
  });

  test("checksums are nbgrader's (compute_checksum, run in Python)", () => {
    const py = pythonWith("json", "hashlib");
    if (!py) return console.warn("skipped: no /usr/bin/python3 (apt-get install python3)");
    const s = studentVersion(source());
    const r = spawnSync(py, ["-c", NBGRADER_CHECKSUM], { input: JSON.stringify(s), encoding: "utf8" });
    const rows = JSON.parse(r.stdout) as [string, string, string][];
    expect(rows.map((x) => x[0])).toEqual(["setup", "ex1-solution", "ex1-check", "ex2-solution", "ex2-check"]);
    for (const [, python, ours] of rows) expect(ours).toBe(python);
    // Points are part of it: a changed worth is a changed cell.
    const cell = byId(s, "ex1-check");
    const richer: NotebookCell = {
      ...cell,
      metadata: { ...cell.metadata, nbgrader: { ...(cell.metadata.nbgrader as object), points: 3 } },
    };
    expect(computeChecksum(richer)).not.toBe(computeChecksum(cell));
  });

  test("is told from its source: every solution cell already the stub", () => {
    expect(isStudentVersion(studentVersion(source()))).toBe(true);
    expect(isStudentVersion(source())).toBe(false);
    // One solution written out is a source (or a submission), not a student version.
    const answered = studentVersion(source());
    byId(answered, "ex1-solution").source = "function sumTo(n: number): number {\n  return (n * (n + 1)) / 2;\n}";
    expect(isStudentVersion(answered)).toBe(false);
  });

  test("an unclosed region or a duplicated grade_id is refused", () => {
    const nb = source();
    nb.cells[3].source = "function f() {\n  // ### BEGIN SOLUTION\n  return 1;\n}";
    expect(() => studentVersion(nb)).toThrow(/BEGIN SOLUTION" without "END SOLUTION/);
    const twice = source();
    (twice.cells[4].metadata.nbgrader as { grade_id: string }).grade_id = "ex1-solution";
    expect(metadataProblems(twice).join()).toMatch(/"ex1-solution" is used twice/);
  });

  test("the print copy keeps only the PNG of a figure", () => {
    const nb = {
      cells: [
        {
          cell_type: "code",
          source: "",
          metadata: {},
          outputs: [
            {
              output_type: "display_data",
              data: {
                "text/html": "<div>",
                "image/png": "AAAA",
                "application/vnd.plotly.v1+json": {},
                "text/plain": "Figure",
              },
            },
          ],
        },
      ],
      metadata: {},
      nbformat: 4,
      nbformat_minor: 4,
    } as Notebook;
    expect(Object.keys(printableCopy(nb).cells[0].outputs![0].data!).sort()).toEqual(["image/png", "text/plain"]);
  });
});

describe("the bundled notebooks (copies), legacy tags or nbgrader's format", () => {
  const books = listNotebooks(path.join(repoRoot, "notebooks"));
  test.each(books.map((f) => [path.basename(f, ".ipynb"), f]))("%s converts to a valid assignment", (name, file) => {
    const original = readNotebook(file);
    const before = JSON.stringify(original);
    const converted = convertLegacy(original, name);
    expect(JSON.stringify(original)).toBe(before);
    expect(metadataProblems(converted)).toEqual([]);
    // Cells that had no nbgrader metadata and only tags get it from the converter.
    const legacy = original.cells.map(
      (c) => !c.metadata.nbgrader && (tagsOf(c).includes("solution") || tagsOf(c).includes("check")),
    );
    converted.cells.forEach((cell, i) => {
      if (!legacy[i]) return;
      if (tagsOf(cell).includes("solution")) expect(isSolution(cell)).toBe(true);
      else expect(cell.metadata.nbgrader).toMatchObject({ grade: true, locked: true, points: 1 });
      expect(gradeIdOf(cell)).toMatch(new RegExp(`^${name}-`));
    });
    expect(converted.cells.some((c) => isSolution(c))).toBe(true);
    // Converting again changes nothing; the student version keeps no solution code.
    expect(convertLegacy(converted, name)).toEqual(converted);
    const student = studentVersion(original, name);
    converted.cells.forEach((cell, i) => {
      if (!isSolution(cell)) return;
      const text = sourceOf(student.cells[i]);
      expect(text).toContain('throw new Error("not implemented")');
      const lines = sourceOf(cell).split("\n");
      const begin = lines.findIndex((l) => l.includes("BEGIN SOLUTION"));
      const end = lines.findIndex((l) => l.includes("END SOLUTION"));
      const inside = begin >= 0 && end > begin ? lines.slice(begin + 1, end) : lines;
      for (const line of inside.filter((l) => l.trim().length > 12)) expect(text).not.toContain(line);
      // What stands outside the region (a function's signature) stays, so the checks still compile.
      if (begin > 0) expect(text.split("\n")[0]).toBe(lines[0]);
    });
  });
});

describe("the notebook a submission is graded as", () => {
  const released = () => studentVersion(source());
  const solve = (nb: Notebook, id: string, body: string) => {
    const c = byId(nb, id);
    c.source = sourceOf(c).replace(SOLUTION_STUB.map((l) => "  " + l).join("\n"), body);
    return nb;
  };

  test("takes locked cells from the source (hidden tests back), notes an edit, ignores edited points", () => {
    const sub = released();
    const check = byId(sub, "ex1-check");
    check.source = '"all good"';
    (check.metadata.nbgrader as { points: number }).points = 100;
    solve(sub, "ex1-solution", "  return 0;");
    const { notebook, notes, tampered } = assembleForGrading(source(), sub);
    expect(sourceOf(byId(notebook, "ex1-check"))).toContain("sumTo(100)");
    expect(byId(notebook, "ex1-check").metadata.nbgrader).toMatchObject({ points: 2 });
    expect(sourceOf(byId(notebook, "ex1-solution"))).toContain("return 0;");
    expect(tampered).toEqual(["ex1-check"]);
    expect(notes.join("\n")).toMatch(/edited locked cell "ex1-check"/);
  });

  test("an unchanged submission notes nothing", () => {
    const { notes, tampered } = assembleForGrading(source(), released());
    expect(notes).toEqual([]);
    expect(tampered).toEqual([]);
  });

  test("puts a deleted test back in its place; a deleted solution stays deleted", () => {
    const sub = released();
    sub.cells = sub.cells.filter((c) => !["ex2-check", "ex1-solution"].includes(gradeIdOf(c) ?? ""));
    const { notebook, notes } = assembleForGrading(source(), sub);
    const ids = notebook.cells.map(gradeIdOf).filter(Boolean);
    expect(ids).toEqual(["setup", "ex1-check", "ex2-solution", "ex2-check"]);
    expect(notes.join("\n")).toMatch(/deleted locked cell "ex2-check" was put back/);
    expect(notes.join("\n")).toMatch(/deleted solution cell "ex1-solution"/);
  });

  test("a restored cell goes after the ordinary cell that precedes it in the source", () => {
    const nb = source();
    nb.cells.splice(4, 0, {
      cell_type: "code",
      source: "const helper = 1;",
      metadata: {},
      outputs: [],
      execution_count: null,
    });
    const sub = studentVersion(nb);
    sub.cells = sub.cells.filter((c) => gradeIdOf(c) !== "ex1-check");
    const { notebook } = assembleForGrading(nb, sub);
    const at = notebook.cells.findIndex((c) => gradeIdOf(c) === "ex1-check");
    expect(sourceOf(notebook.cells[at - 1])).toBe("const helper = 1;");
  });

  test("a cell with an unknown grade_id runs as an ordinary cell", () => {
    const sub = released();
    sub.cells.push({
      cell_type: "code",
      source: "1",
      metadata: {
        nbgrader: { grade: true, points: 50, grade_id: "bonus", solution: false, locked: true, schema_version: 3 },
      },
      outputs: [],
      execution_count: null,
    });
    const { notebook } = assembleForGrading(source(), sub);
    expect(notebook.cells[notebook.cells.length - 1].metadata.nbgrader).toBeUndefined();
  });

  test("a file that is not a notebook says why", () => {
    expect(() => parseSubmission("{ not json")).toThrow(/not valid JSON/);
    expect(() => parseSubmission('{"cells": 3}')).toThrow(/no cells list/);
    expect(() => parseSubmission('{"cells": [{"cell_type": "code"}], "nbformat": 4}')).toThrow(/cell 0 has no source/);
  });
});

describe("grades.csv", () => {
  const report = (student: string, points: number) => ({
    gradeIds: ["ex1-check"],
    maxPoints: 2,
    seconds: 1,
    sandbox: "",
    jobs: 1,
    submissions: [
      {
        student,
        cells: [{ gradeId: "ex1-check", points }],
        total: points,
        maxPoints: 2,
      },
    ],
  });
  test("a student's name that starts like a formula is text to a spreadsheet; commas and quotes are quoted", () => {
    // The name is the handed-in file's: a student chooses it.
    const csv = (student: string) => gradesCsv(report(student, 1.5) as never).split("\n")[1];
    expect(csv('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")",1.5,1.5,2`);
    expect(csv("+1")).toBe("'+1,1.5,1.5,2");
    expect(csv("-x")).toBe("'-x,1.5,1.5,2");
    expect(csv("@SUM(A1)")).toBe("'@SUM(A1),1.5,1.5,2");
    expect(csv("smith, john")).toBe('"smith, john",1.5,1.5,2');
    expect(csv("alice")).toBe("alice,1.5,1.5,2");
  });
});
