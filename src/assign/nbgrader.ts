// nbgrader's assignment format (schema_version 3), read and written, for TypeScript notebooks.
//
// Invariants:
// - A cell's role comes only from `metadata.nbgrader`: `solution` (the student writes it),
//   `grade` (a test worth `points`), `locked` (the student may not change it). As in nbgrader,
//   a grade cell that is not a solution is locked whatever its `locked` says.
// - Solution regions lie between lines containing `BEGIN SOLUTION` / `END SOLUTION`, hidden
//   tests between `BEGIN HIDDEN TESTS` / `END HIDDEN TESTS`; the marker may sit in a comment
//   (`// ### BEGIN SOLUTION`). A solution code cell without markers is a solution as a whole.
// - The student version is a pure function of the source: stubs for solutions, no hidden tests,
//   no outputs in nbgrader cells, and a checksum (nbgrader's utils.compute_checksum) in every
//   nbgrader cell, so a tampered locked cell is recognised from the source alone.
// - Notebooks still tagged the old way (`solution` / `check`) convert on the fly: the tags stay,
//   nbgrader metadata and markers are added where a cell has none.
import crypto from "crypto";
import { copyJson, sourceOf, tagsOf, type Notebook, type NotebookCell } from "../handouts/notebook";
import { withCode } from "../codes";

export const SCHEMA_VERSION = 3;
export const BEGIN_SOLUTION = "BEGIN SOLUTION";
export const END_SOLUTION = "END SOLUTION";
export const BEGIN_HIDDEN_TESTS = "BEGIN HIDDEN TESTS";
export const END_HIDDEN_TESTS = "END HIDDEN TESTS";
/** What a solution region becomes in the student version: it type-checks wherever a statement may stand (a function body keeps its signature). */
export const SOLUTION_STUB = ["// YOUR CODE HERE", 'throw new Error("not implemented");'];
/** nbgrader's text for a markdown solution. */
export const MARKDOWN_STUB = "YOUR ANSWER HERE";

export interface NbgraderMetadata {
  grade: boolean;
  solution: boolean;
  locked: boolean;
  grade_id: string;
  schema_version: number;
  points?: number;
  checksum?: string;
  cell_type?: string;
  [key: string]: unknown;
}

export function nbgraderOf(cell: NotebookCell): NbgraderMetadata | null {
  const m = cell.metadata?.nbgrader;
  return m && typeof m === "object" ? (m as NbgraderMetadata) : null;
}
export const isGrade = (cell: NotebookCell): boolean => nbgraderOf(cell)?.grade === true;
export const isSolution = (cell: NotebookCell): boolean => nbgraderOf(cell)?.solution === true;
/** nbgrader's is_locked: solutions never, tests always, others when they say so. */
export function isLocked(cell: NotebookCell): boolean {
  const m = nbgraderOf(cell);
  if (!m || m.solution === true) return false;
  return m.grade === true || m.locked === true;
}
export const gradeIdOf = (cell: NotebookCell): string | null => {
  const id = nbgraderOf(cell)?.grade_id;
  return typeof id === "string" && id !== "" ? id : null;
};
export const pointsOf = (cell: NotebookCell): number => Number(nbgraderOf(cell)?.points ?? 0) || 0;

/** Python's str(float(x)) for the values points take (2 → "2.0", 0.5 → "0.5"). */
function pythonFloat(x: number): string {
  return Number.isInteger(x) ? `${x}.0` : String(x);
}
const pythonBool = (b: boolean) => (b ? "True" : "False");

/** nbgrader's utils.compute_checksum: md5 over source, type, roles, grade_id and points. */
export function computeChecksum(cell: NotebookCell): string {
  const m = crypto.createHash("md5");
  m.update(sourceOf(cell), "utf8");
  m.update(cell.cell_type, "utf8");
  m.update(pythonBool(isGrade(cell)));
  m.update(pythonBool(isSolution(cell)));
  m.update(pythonBool(isLocked(cell)));
  m.update(gradeIdOf(cell) ?? "", "utf8");
  if (isGrade(cell)) m.update(pythonFloat(Number(nbgraderOf(cell)?.points ?? 0)));
  return m.digest("hex");
}

/**
 * Replaces each region between `begin` and `end` lines by `replacement` (indented like the
 * begin line; none removes the region). Throws when a region is not closed.
 */
function replaceRegions(
  source: string,
  begin: string,
  end: string,
  replacement: string[] | null,
  where: string,
): { text: string; found: boolean } {
  const out: string[] = [];
  let inside = false;
  let found = false;
  for (const line of source.split("\n")) {
    if (!inside && line.includes(begin)) {
      inside = true;
      found = true;
      const indent = /^\s*/.exec(line)![0];
      if (replacement) out.push(...replacement.map((r) => indent + r));
    } else if (inside && line.includes(end)) {
      inside = false;
    } else if (!inside) {
      out.push(line);
    }
  }
  if (inside) throw withCode(new Error(`${where}: "${begin}" without "${end}"`), "ERR_INVALID_ASSIGNMENT");
  return { text: out.join("\n"), found };
}

/** The student's text of a solution cell: regions (or the whole cell) replaced by the stub. */
export function stubSolution(cell: NotebookCell, where = gradeIdOf(cell) ?? "a solution cell"): string {
  const stub = cell.cell_type === "markdown" ? [MARKDOWN_STUB] : SOLUTION_STUB;
  const r = replaceRegions(sourceOf(cell), BEGIN_SOLUTION, END_SOLUTION, stub, where);
  return r.found ? r.text : stub.join("\n");
}

/** The text without its hidden tests. */
export function withoutHiddenTests(source: string, where = "a test cell"): string {
  return replaceRegions(source, BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS, null, where).text;
}

/** Whether the text already carries solution or hidden-test markers. */
export function hasMarkers(source: string): boolean {
  return [BEGIN_SOLUTION, BEGIN_HIDDEN_TESTS].some((m) => source.includes(m));
}

/** What the student sees of one source cell (no outputs cleared here). */
export function releasedSource(cell: NotebookCell): string {
  const where = gradeIdOf(cell) ?? "a cell";
  let text = sourceOf(cell);
  if (isSolution(cell)) text = stubSolution(cell, where);
  return withoutHiddenTests(text, where);
}

/** Whether any cell carries nbgrader metadata. */
export function isAssignment(nb: Notebook): boolean {
  return nb.cells.some((c) => nbgraderOf(c) !== null);
}

/** Whether a cell still uses the old tags and has no nbgrader metadata. */
function legacyRole(cell: NotebookCell): "solution" | "check" | null {
  if (cell.cell_type !== "code" || nbgraderOf(cell)) return null;
  const tags = tagsOf(cell);
  return tags.includes("solution") ? "solution" : tags.includes("check") ? "check" : null;
}

export function hasLegacyTags(nb: Notebook): boolean {
  return nb.cells.some((c) => legacyRole(c) !== null);
}

// A legacy solution that is one function keeps its signature in the student version (the
// checks then compile and fail with "not implemented"); anything else is a region as a whole.
const FUNCTION_HEAD = /^(export\s+)?(async\s+)?function\b[^\n]*\{\s*$/;

function markSolution(source: string): string {
  const lines = source.replace(/\s+$/, "").split("\n");
  if (lines.length >= 2 && FUNCTION_HEAD.test(lines[0]) && lines[lines.length - 1] === "}") {
    return [lines[0], `  // ### ${BEGIN_SOLUTION}`, ...lines.slice(1, -1), `  // ### ${END_SOLUTION}`, "}"].join("\n");
  }
  return [`// ### ${BEGIN_SOLUTION}`, ...lines, `// ### ${END_SOLUTION}`].join("\n");
}

/**
 * nbgrader metadata for cells tagged `solution` / `check` that have none: a solution starts
 * exercise k (`<name>-ex<k>-solution`, markers around its code); the first check after it is
 * `<name>-ex<k>-check`, other checks `<name>-check<cell index>`; a check is worth 1 point.
 * Returns a converted copy; cells already in nbgrader's format are left as they are.
 */
export function convertLegacy(nb: Notebook, name: string): Notebook {
  const copy = copyJson(nb);
  const taken = new Set(copy.cells.map(gradeIdOf).filter((id): id is string => id !== null));
  const unique = (id: string) => {
    let candidate = id;
    for (let n = 2; taken.has(candidate); n++) candidate = `${id}-${n}`;
    taken.add(candidate);
    return candidate;
  };
  let exercise = 0;
  let openExercise: number | null = null;
  copy.cells.forEach((cell, index) => {
    const role = legacyRole(cell);
    if (role === "solution") {
      exercise++;
      openExercise = exercise;
      const text = sourceOf(cell);
      cell.source = hasMarkers(text) ? text : markSolution(text);
      cell.metadata = {
        ...cell.metadata,
        nbgrader: {
          grade: false,
          solution: true,
          locked: false,
          grade_id: unique(`${name}-ex${exercise}-solution`),
          schema_version: SCHEMA_VERSION,
        },
      };
    } else if (role === "check") {
      const id = openExercise !== null ? `${name}-ex${openExercise}-check` : `${name}-check${index}`;
      openExercise = null;
      cell.metadata = {
        ...cell.metadata,
        nbgrader: {
          grade: true,
          solution: false,
          locked: true,
          points: 1,
          grade_id: unique(id),
          schema_version: SCHEMA_VERSION,
        },
      };
    }
  });
  return copy;
}

/** The notebook in nbgrader's format: converted from tags where needed (name: the notebook's). */
export function asAssignment(nb: Notebook, name: string): Notebook {
  return hasLegacyTags(nb) ? convertLegacy(nb, name) : nb;
}

/** Checks what nbgrader's CheckCellMetadata checks; returns the problems (empty: fine). */
export function metadataProblems(nb: Notebook): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  nb.cells.forEach((cell, i) => {
    const m = nbgraderOf(cell);
    if (!m) return;
    const id = gradeIdOf(cell);
    if (!id) problems.push(`cell ${i}: nbgrader metadata without a grade_id`);
    else if (!/^[a-zA-Z0-9_-]+$/.test(id))
      problems.push(`cell ${i}: grade_id "${id}" has characters other than letters, digits, _ and -`);
    else if (seen.has(id)) problems.push(`cell ${i}: grade_id "${id}" is used twice`);
    if (id) seen.add(id);
    if (m.grade === true && !(Number(m.points) >= 0))
      problems.push(`cell ${i} (${id}): a graded cell needs points >= 0`);
    try {
      releasedSource(cell);
    } catch (e) {
      problems.push(`cell ${i}: ${(e as Error).message}`);
    }
  });
  return problems;
}

const cleared = (cell: NotebookCell): NotebookCell =>
  cell.cell_type === "code" ? { ...cell, outputs: [], execution_count: null } : { ...cell };

/**
 * Whether `nb` is a student version rather than its source: it has solution cells, and each
 * already holds only the stub (graded against it, no hidden test would run).
 */
export function isStudentVersion(nb: Notebook): boolean {
  const solutions = nb.cells.filter(isSolution);
  const stubbed = (cell: NotebookCell) => {
    const text = sourceOf(cell);
    const stub = cell.cell_type === "markdown" ? [MARKDOWN_STUB] : SOLUTION_STUB;
    const lines = text.split("\n").map((l) => l.trim());
    return !text.includes(BEGIN_SOLUTION) && lines.some((_, i) => stub.every((s, k) => lines[i + k] === s));
  };
  return solutions.length > 0 && solutions.every(stubbed);
}

/**
 * The student version (nbgrader's generate_assignment): solution regions stubbed, hidden tests
 * removed, outputs of nbgrader cells cleared (other cells keep theirs: figures stay in the
 * handout), locked cells marked not editable/deletable, and every nbgrader cell checksummed.
 * The input is left alone; legacy tags are converted first (`name` names their grade_ids).
 */
export function studentVersion(source: Notebook, name = "notebook"): Notebook {
  const problems = metadataProblems(asAssignment(source, name));
  if (problems.length > 0)
    throw withCode(new Error(`not a valid assignment: ${problems.join("; ")}`), "ERR_INVALID_ASSIGNMENT");
  const nb = copyJson(asAssignment(source, name));
  nb.cells = nb.cells.map((cell) => {
    const m = nbgraderOf(cell);
    if (!m) return cell;
    const out = cleared(cell);
    out.source = releasedSource(cell);
    const meta: NbgraderMetadata = { ...m, schema_version: SCHEMA_VERSION, cell_type: cell.cell_type };
    out.metadata = { ...cell.metadata, nbgrader: meta };
    if (isLocked(cell)) Object.assign(out.metadata, { editable: false, deletable: false });
    meta.checksum = computeChecksum(out);
    return out;
  });
  return nb;
}
