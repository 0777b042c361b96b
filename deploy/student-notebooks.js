#!/usr/bin/env node
// @ts-check
// The course notebooks as students may see them, for the hub and the single-user image:
//
//   node deploy/student-notebooks.js SOURCE_DIR TARGET_DIR
//
// TARGET_DIR (made anew) gets the student version of every SOURCE_DIR/*.ipynb: solutions stubbed,
// hidden tests removed, as `npm start` and `release` make them (src/assign/nbgrader.ts), and the
// folder's .md files. The sources hold every solution and hidden test: a student who was given
// them could read the answers and pass every test. A notebook that is not a valid assignment
// stops it (exit 1, and no TARGET_DIR): the course then starts with no notebooks rather than
// with one that gives its answers away. Needs the build (`npm install`).

const fs = require("fs");
const path = require("path");

const DIST = path.join(__dirname, "..", "dist");

/** @param {string} sourceDir @param {string} targetDir */
function writeStudentNotebooks(sourceDir, targetDir) {
  const { studentVersion } = require(path.join(DIST, "assign", "nbgrader.js"));
  const { readNotebook, writeNotebook } = require(path.join(DIST, "handouts", "notebook.js"));
  const names = fs
    .readdirSync(sourceDir)
    .filter((f) => /\.(ipynb|md)$/.test(f) && !f.startsWith("."))
    .sort();
  // Every notebook is made before the folder is written: one that fails leaves no half a course.
  const made = names.map((name) => {
    const file = path.join(sourceDir, name);
    if (!name.endsWith(".ipynb")) return { name, write: (/** @type {string} */ to) => fs.copyFileSync(file, to) };
    const student = studentVersion(readNotebook(file), path.basename(name, ".ipynb"));
    return { name, write: (/** @type {string} */ to) => writeNotebook(to, student) };
  });
  fs.rmSync(targetDir, { recursive: true, force: true });
  fs.mkdirSync(targetDir, { recursive: true });
  for (const { name, write } of made) write(path.join(targetDir, name));
  return names;
}

if (require.main === module) {
  const [sourceDir, targetDir] = process.argv.slice(2);
  if (!sourceDir || !targetDir) {
    console.error("usage: node deploy/student-notebooks.js SOURCE_DIR TARGET_DIR");
    process.exit(2);
  }
  try {
    const names = writeStudentNotebooks(sourceDir, targetDir);
    console.log(`${names.length} files written to ${targetDir} (student versions of the notebooks)`);
  } catch (e) {
    console.error(`student-notebooks: ${/** @type {Error} */ (e).message}`);
    process.exit(1);
  }
}

module.exports = { writeStudentNotebooks };
