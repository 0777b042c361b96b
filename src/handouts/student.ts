// The student version of a notebook is nbgrader's release (src/assign/nbgrader.ts): solution
// regions replaced by a stub that throws "not implemented", hidden tests removed, outputs of
// nbgrader cells cleared, checksums in locked cells. Notebooks still tagged `solution` /
// `check` are converted on the fly.
export { studentVersion, SOLUTION_STUB } from "../assign/nbgrader";
