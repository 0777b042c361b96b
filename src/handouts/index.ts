// Handouts: execute the notebooks with the project's kernel and write executed, HTML and
// student versions (npm start); judge executed notebooks by the conventions (also for tests).
export { buildHandouts, summaryTable, listNotebooks } from "./build";
export type { HandoutOptions, HandoutReport, NotebookReport } from "./build";
export { judgeNotebook } from "./judge";
export type { Judgement, CellProblem } from "./judge";
export { studentVersion, SOLUTION_STUB } from "./student";
export {
  executeNotebook,
  exportHtml,
  projectKernel,
  ipcNamespaceAvailable,
  privateDevShmAvailable,
  isolationPrefix,
  jupyterPython,
  jupyterUnavailableReason,
  KERNEL_NAME,
} from "./jupyter";
export type { ExecuteResult, KernelEnvironment } from "./jupyter";
export { readNotebook, writeNotebook, tagsOf, sourceOf } from "./notebook";
export type { Notebook, NotebookCell, NotebookOutput } from "./notebook";
