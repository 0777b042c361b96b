// Assignments: nbgrader's format read and written (nbgrader.ts), release with HTML and PDF
// handouts (release.ts, pdf.ts), and a sandboxed grader (grade.ts, merge.ts, sandbox.ts,
// grade.py) with feedback pages (feedback.ts). The command line is cli.ts (tslab-ipc release|grade).
export * from "./nbgrader";
export { assembleForGrading, parseSubmission } from "./merge";
export type { Assembled } from "./merge";
export { releaseAssignment, writePdfs } from "./release";
export type { ReleaseOptions, ReleaseReport } from "./release";
export { printPdfs, printableCopy, pdfUnavailableReason, PRINT_CSS } from "./pdf";
export { gradeSubmissions, gradesCsv, gradeSummary, listSubmissions } from "./grade";
export type { GradeOptions, GradeReport, SubmissionGrade, CellGrade, CellStatus } from "./grade";
export { chooseSandbox, DEFAULT_LIMITS } from "./sandbox";
export type { Sandbox, Limits } from "./sandbox";
export { feedbackHtml } from "./feedback";
