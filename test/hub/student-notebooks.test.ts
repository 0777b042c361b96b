// What the hub and the single-user image give students (deploy/student-notebooks.js): the
// student version of every course notebook, never the source with its solutions and hidden
// tests (until 6 December the hub copied the sources into every student's ~/notebooks).
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { readNotebook, sourceOf } from "../../src/handouts";
import { repoRoot } from "../helpers";

const script = path.join(repoRoot, "deploy", "student-notebooks.js");
const sourceDir = path.join(repoRoot, "notebooks");

const cellTexts = (file: string) => readNotebook(file).cells.map(sourceOf);

let tmp = "";
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-student-notebooks-"));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

test("every course notebook, with its solutions stubbed and its hidden tests removed, and nothing else changed", () => {
  const target = path.join(tmp, "notebooks");
  const r = spawnSync(process.execPath, [script, sourceDir, target], { encoding: "utf8" });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  const sources = fs.readdirSync(sourceDir).filter((f) => /\.(ipynb|md)$/.test(f));
  expect(fs.readdirSync(target).sort()).toEqual(sources.sort());
  for (const name of sources.filter((f) => f.endsWith(".ipynb"))) {
    const source = cellTexts(path.join(sourceDir, name));
    const student = cellTexts(path.join(target, name));
    expect(student).toHaveLength(source.length);
    // The sources have exercises (so the check below means something) and the copies none.
    expect(source.some((t) => t.includes("### BEGIN SOLUTION"))).toBe(true);
    expect(student.filter((t) => /### (BEGIN|END) (SOLUTION|HIDDEN TESTS)/.test(t))).toEqual([]);
    source.forEach((text, i) => {
      if (text.includes("### BEGIN SOLUTION")) expect(student[i]).toContain("// YOUR CODE HERE");
      else if (!text.includes("### BEGIN HIDDEN TESTS")) expect(student[i]).toBe(text);
    });
  }
});

test("a notebook that is not a valid assignment stops it with why, and writes nothing", () => {
  const source = path.join(tmp, "source");
  fs.mkdirSync(source);
  fs.copyFileSync(path.join(sourceDir, "01-why-ipc.ipynb"), path.join(source, "01-why-ipc.ipynb"));
  const nb = JSON.parse(fs.readFileSync(path.join(sourceDir, "02-system-v-shared-memory.ipynb"), "utf8"));
  const exercise = nb.cells.find(
    (c: { metadata: { nbgrader?: { solution?: boolean } } }) => c.metadata.nbgrader?.solution,
  );
  delete exercise.metadata.nbgrader.grade_id;
  fs.writeFileSync(path.join(source, "02-broken.ipynb"), JSON.stringify(nb));
  const target = path.join(tmp, "notebooks");
  const r = spawnSync(process.execPath, [script, source, target], { encoding: "utf8" });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/not a valid assignment: cell \d+: nbgrader metadata without a grade_id/);
  expect(fs.existsSync(target)).toBe(false);
});
