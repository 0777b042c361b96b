// Grading a folder of submissions against the source notebook (npm run grade, tslab-ipc grade).
//
//   DIR/grades.csv                student, one column per graded cell (notebook order), total, max
//   DIR/feedback/<student>.html   every test cell with its points, error and output; notes; leaks
//
// Invariants:
// - Tests and points come from the source (merge.ts); a submission only supplies solutions.
// - Each submission runs in a sandbox of its own (sandbox.ts) with a minimal environment: the
//   instructor's environment variables never reach student code.
// - Whatever a submission does (invalid file, segfault, endless loop, fork, leak), the run
//   goes on and ends with exit 0; what went wrong is in its row and its feedback.
// - The grading work folder (kernelspec, per-submission folders) is removed at the end.
import { spawn, spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { performance } from "perf_hooks";
import { jupyterPython, KERNEL_NAME, projectKernel, type KernelEnvironment } from "../handouts/jupyter";
import { tempFolder } from "../process/temp-folder";
import { inPool } from "../process/pool";
import { readNotebook, type Notebook } from "../handouts/notebook";
import { packageRoot, realPathSoFar } from "../process/paths";
import { feedbackHtml } from "./feedback";
import { assembleForGrading, parseSubmission } from "./merge";
import { asAssignment, gradeIdOf, isGrade, isStudentVersion, metadataProblems, pointsOf } from "./nbgrader";
import { chooseSandbox, DEFAULT_LIMITS, machineFolders, type Limits, type Sandbox, type SandboxView } from "./sandbox";
import { placeSandboxSnapshot, prepareSandboxSnapshot, SNAPSHOT_MODES, type SnapshotMode } from "./sandbox-snapshot";
import { readSubmissionText, trustedLinkMakers } from "./submission-file";
import { ERR_INVALID_ARG_VALUE, withCode } from "../codes";
import { validateOneOf } from "../validators";

export interface GradeOptions {
  /** The instructor's notebook (nbgrader format, or legacy tags). */
  source: string;
  /** A folder of <student>.ipynb files or <student>/ folders. */
  submissions: string;
  outDir: string;
  /** Per-cell timeout, seconds (default 30). */
  timeoutSeconds?: number;
  /** Submissions graded side by side (default: the number of cores). */
  jobs?: number;
  /** Wall time of one submission, seconds (default: 60 + timeout × code cells). */
  wallSeconds?: number;
  limits?: Partial<Limits>;
  /**
   * The kernel's start-up snapshot in the sandbox (src/assign/sandbox-snapshot.ts): "auto" (the
   * default) uses the grader's own when it is fresh and builds one for a run of 10 or more
   * submissions; "always" builds one when there is none; "never" starts every kernel without.
   */
  snapshot?: SnapshotMode;
  log?: (line: string) => void;
}

export type CellStatus = "ok" | "error" | "timeout" | "dead" | "not-run" | "deleted" | "manual";

export interface CellGrade {
  gradeId: string;
  points: number;
  maxPoints: number;
  status: CellStatus;
  /** Why it got 0, or null. */
  error: string | null;
  /** Index in the graded notebook (null: not there). */
  index: number | null;
}

export interface SubmissionGrade {
  student: string;
  file: string;
  /** "graded", or "invalid" (not a notebook: 0 points), or "failed" (the sandbox broke). */
  status: "graded" | "invalid" | "failed";
  reason: string | null;
  cells: CellGrade[];
  total: number;
  maxPoints: number;
  notes: string[];
  leaks: string[];
  /** The signal that killed the kernel, or null. */
  signal: string | null;
  seconds: number;
  /** Time to a ready kernel, seconds (null: it never became ready). */
  kernelSeconds: number | null;
  /** The graded notebook with its outputs (null for invalid files). */
  executed: Notebook | null;
}

export interface GradeReport {
  gradeIds: string[];
  maxPoints: number;
  submissions: SubmissionGrade[];
  seconds: number;
  sandbox: string;
  jobs: number;
}

interface DriverCell {
  index: number;
  status: "ok" | "error" | "timeout" | "dead" | "not-run" | "skipped";
  ename: string | null;
  evalue: string | null;
}
interface DriverResult {
  kernel_seconds: number | null;
  seconds: number;
  cells: DriverCell[];
  death: { signal: string | null; code: number | null; cell: number } | null;
  stuck: string | null;
  leaks: string[];
  notebook: Notebook;
}

export function gradeScript(root = packageRoot()): string {
  return path.join(root, "src", "assign", "grade.py");
}

/**
 * <student>.ipynb, or <student>/<source name>.ipynb (else the folder's first notebook), each
 * possibly a symbolic link (a folder of links to where the notebooks were collected). A link
 * that leads nowhere is listed too, and graded as invalid with why: no student is left out of
 * the grades without a word. A student with both a notebook and a folder is listed twice, each
 * with `problem` saying so (graded as invalid): which one counts is the instructor's call, and
 * one feedback page each would have replaced the other. The grader's own output in the folder
 * (`outDir`, and an earlier run's; outputEntries) is no student's.
 */
export function listSubmissions(
  dir: string,
  sourceName: string,
  outDir?: string,
): { student: string; file: string; problem?: string }[] {
  const found: { student: string; file: string; problem?: string }[] = [];
  const outputs = outDir === undefined ? new Set<string>() : outputEntries(dir, outDir);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith(".") || outputs.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    const target = entry.isSymbolicLink() ? fs.statSync(full, { throwIfNoEntry: false }) : entry;
    const notebook = entry.name.endsWith(".ipynb");
    const student = notebook ? entry.name.slice(0, -".ipynb".length) : entry.name;
    // (A FIFO or socket named like a notebook is listed too, and refused with why when read.)
    if (!target || (!target.isDirectory() && notebook)) found.push({ student, file: full });
    else if (target.isDirectory()) {
      const books = fs
        .readdirSync(full)
        .filter((f) => f.endsWith(".ipynb") && !f.startsWith("."))
        .sort();
      const pick = books.includes(`${sourceName}.ipynb`) ? `${sourceName}.ipynb` : books[0];
      found.push({ student: entry.name, file: pick ? path.join(full, pick) : full });
    }
  }
  for (const entry of found) {
    const same = found.filter((other) => other.student === entry.student);
    if (same.length > 1)
      entry.problem = `${same.length} submissions for ${entry.student} (${same.map((e) => path.relative(dir, e.file)).join(", ")}): keep one and grade again`;
  }
  return found;
}

/**
 * The entries of the submissions folder `dir` that hold the grader's output, not a student's
 * work: the one `outDir` is in (its feedback/ when `outDir` is `dir` itself), and the feedback/
 * beside a grades.csv that an earlier run with `--out DIR` left. Listed as a student, the last
 * run's feedback scored 0 in the next run's grades. A folder holding a notebook is a student's:
 * the output must not go into it (ERR_INVALID_ARG_VALUE), and it is never skipped.
 */
function outputEntries(dir: string, outDir: string): Set<string> {
  const outputs = new Set<string>();
  const notebookIn = (entry: string) => {
    const full = path.join(dir, entry);
    return fs.statSync(full, { throwIfNoEntry: false })?.isDirectory()
      ? fs.readdirSync(full).some((f) => f.endsWith(".ipynb"))
      : false;
  };
  const rel = path.relative(realPathSoFar(dir), realPathSoFar(outDir));
  if (!rel.startsWith("..") && !path.isAbsolute(rel)) {
    const entry = rel === "" ? "feedback" : rel.split(path.sep)[0];
    if (notebookIn(entry))
      throw new ERR_INVALID_ARG_VALUE(
        "options.outDir",
        outDir,
        `would put the grades in ${path.join(dir, entry)}, which holds a student's notebook: choose a folder that is no submission`,
      );
    outputs.add(entry);
  }
  if (fs.existsSync(path.join(dir, "grades.csv")) && !notebookIn("feedback")) outputs.add("feedback");
  return outputs;
}

/** A submission's notebook, or why it cannot be graded (then `submission` is null). */
function readSubmission(
  entry: { file: string; problem?: string },
  name: string,
  trusted: number[],
  maxBytes: number,
): { submission: Notebook; reason: null } | { submission: null; reason: string } {
  if (entry.problem) return { submission: null, reason: entry.problem };
  try {
    // A student version released before the notebook moved to nbgrader's format still has tags.
    return {
      submission: asAssignment(parseSubmission(readSubmissionText(entry.file, trusted, maxBytes)), name),
      reason: null,
    };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason =
      code === "EISDIR"
        ? "no notebook in the folder"
        : code === "ENOENT" && fs.lstatSync(entry.file, { throwIfNoEntry: false })?.isSymbolicLink()
          ? `${entry.file} is a link to ${fs.readlinkSync(entry.file)}, which does not exist`
          : (e as Error).message;
    return { submission: null, reason };
  }
}

/** Whether the shell test `script` ("$1" is `target`) holds for `user`. */
function holdsFor(user: { uid: number; gid: number }, script: string, target: string): boolean {
  const r = spawnSync(
    "setpriv",
    [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", "--", "sh", "-c", script, "sh", target],
    { stdio: "ignore" },
  );
  return r.status === 0;
}

/** Whether `user` can read and run what the kernel needs in `root`. */
function readableBy(user: { uid: number; gid: number }, root: string): boolean {
  return holdsFor(
    user,
    'test -r "$1/kernel/main.js" && test -r "$1/dist/index.js" && test -r "$1/src/assign/grade.py" && test -r "$1/src/jupyter/kernel_start.py" && test -x "$1/node_modules"',
    root,
  );
}

/** What of a checkout the kernel and grade.py read: all a sandbox sees of it. */
const KERNEL_PARTS = [
  "package.json",
  "kernel",
  "dist",
  "node_modules",
  path.join("src", "assign"),
  path.join("src", "jupyter"),
];

/** A world-readable copy of what the kernel and grade.py need (hard links where possible). */
function readableCopy(root: string, into: string): string {
  const dest = path.join(into, "package");
  fs.mkdirSync(path.join(dest, "src"), { recursive: true });
  for (const part of KERNEL_PARTS) {
    const from = path.join(root, part);
    const to = path.join(dest, part);
    if (spawnSync("cp", ["-al", from, to]).status !== 0) spawnSync("cp", ["-a", from, to]);
  }
  spawnSync("chmod", ["-R", "a+rX", dest]);
  return dest;
}

/** The folder of the Node that runs the kernel, where it is not the system's (nvm, a tarball). */
function nodePrefix(): string[] {
  const prefix = path.dirname(path.dirname(process.execPath));
  return prefix === "/usr" || prefix === "/" ? [] : [prefix];
}

/** The folders of the Python that runs grade.py, where not the system's (a venv, conda in /opt). */
function pythonPrefixes(env: NodeJS.ProcessEnv): string[] {
  const r = spawnSync(
    jupyterPython(),
    ["-c", "import sys; print('\\n'.join({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}))"],
    { env, encoding: "utf8" },
  );
  const prefixes = r.status === 0 ? r.stdout.trim().split("\n") : [];
  return prefixes.filter((p) => path.isAbsolute(p) && p !== "/" && p !== "/usr" && !p.startsWith("/usr/"));
}

function reasonOf(cell: DriverCell | undefined, death: DriverResult["death"], stuck: string | null): string {
  if (!cell) return "not run";
  switch (cell.status) {
    case "error":
      return `${cell.ename ?? "Error"}: ${cell.evalue ?? ""}`.trim();
    case "timeout":
      return cell.evalue ?? "timed out";
    case "dead":
      return `the kernel died in this cell (${death?.signal ?? `exit code ${death?.code}`})`;
    case "not-run":
      return death
        ? `not run: the kernel died in cell ${death.cell} (${death.signal ?? `exit code ${death.code}`})`
        : `not run: ${stuck ?? "the kernel stopped"}`;
    default:
      return cell.status;
  }
}

function scoreCells(source: Notebook, graded: Notebook | null, result: DriverResult | null): CellGrade[] {
  return source.cells.filter(isGrade).map((src) => {
    const gradeId = gradeIdOf(src)!;
    const maxPoints = pointsOf(src);
    const index = graded ? graded.cells.findIndex((c) => gradeIdOf(c) === gradeId) : -1;
    if (index < 0)
      return { gradeId, points: 0, maxPoints, status: "deleted", error: "the cell was deleted", index: null };
    if (src.cell_type !== "code")
      return { gradeId, points: 0, maxPoints, status: "manual", error: "graded by hand (not a code cell)", index };
    const cell = result?.cells[index];
    if (cell?.status === "ok") return { gradeId, points: maxPoints, maxPoints, status: "ok", error: null, index };
    const status = (cell?.status === "skipped" || !cell ? "not-run" : cell.status) as CellStatus;
    return {
      gradeId,
      points: 0,
      maxPoints,
      status,
      error: reasonOf(cell, result?.death ?? null, result?.stuck ?? null),
      index,
    };
  });
}

function runDriver(
  argv: string[],
  env: NodeJS.ProcessEnv,
  notebook: string,
  wallSeconds: number,
  running: Set<() => void>,
): Promise<{
  result: DriverResult | null;
  stderr: string;
  code: number | null;
  signal: string | null;
  wallExceeded: boolean;
}> {
  return new Promise((resolve) => {
    // A process group of its own, stopped as one: unshare, and grade.py after it (whose death
    // ends the PID namespace and the kernel in it; or, without namespaces, makes the kernel's
    // parent watch end it). Killing unshare alone left grade.py running: setpriv's change of
    // user clears the parent-death signal --kill-child sets.
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ["pipe", "pipe", "pipe", "pipe"], detached: true });
    // A sandbox that fails to start closes its stdin unread: its exit says why, not EPIPE.
    child.stdin!.on("error", () => undefined);
    child.stdin!.end(notebook);
    let stderr = "";
    let json = "";
    let wallExceeded = false;
    // The kernel writes to stdout and stderr too (it inherits them): keep only the tail.
    const keep = (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8000);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    (child.stdio[3] as NodeJS.ReadableStream).on("data", (d: Buffer) => (json += d.toString()));
    const kill = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        /* gone */
      }
    };
    const stop = () => kill("SIGKILL");
    running.add(stop);
    const timer = setTimeout(() => {
      wallExceeded = true;
      kill("SIGTERM");
      setTimeout(() => kill("SIGKILL"), 5000).unref();
    }, wallSeconds * 1000);
    child.on("error", (e) => {
      running.delete(stop);
      clearTimeout(timer);
      resolve({ result: null, stderr: e.message, code: null, signal: null, wallExceeded });
    });
    child.on("close", (code, signal) => {
      running.delete(stop);
      clearTimeout(timer);
      let result: DriverResult | null = null;
      try {
        result = json ? (JSON.parse(json) as DriverResult) : null;
      } catch {
        result = null;
      }
      resolve({ result, stderr, code, signal, wallExceeded });
    });
  });
}

/**
 * One field of grades.csv. A text that starts like a formula (=, +, -, @, a tab or CR) gets a
 * leading ' so that a spreadsheet shows it as text: a student's name is the name of the file
 * they handed in, and `=HYPERLINK(…).ipynb` would otherwise run in the instructor's spreadsheet
 * (OWASP's CSV injection). Numbers are written as they are.
 */
function csvField(v: string | number): string {
  const s = typeof v === "string" && /^[=+\-@\t\r]/.test(v) ? `'${v}` : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

export function gradesCsv(report: GradeReport): string {
  const head = ["student", ...report.gradeIds, "total", "max"];
  const rows = report.submissions.map((s) => [
    s.student,
    ...report.gradeIds.map((id) => round(s.cells.find((c) => c.gradeId === id)?.points ?? 0)),
    round(s.total),
    round(s.maxPoints),
  ]);
  return [head, ...rows].map((r) => r.map(csvField).join(",")).join("\n") + "\n";
}

export function gradeSummary(report: GradeReport): string {
  const rows = report.submissions.map((s) => {
    const what =
      s.status !== "graded"
        ? `${s.status}: ${s.reason}`
        : [
            s.signal ? `kernel killed by ${s.signal}` : "",
            s.cells.some((c) => c.status === "timeout") ? "timeout" : "",
            s.notes.length ? `${s.notes.length} note(s)` : "",
            s.leaks.length ? `${s.leaks.length} leak(s) removed` : "",
          ]
            .filter(Boolean)
            .join(", ");
    return [s.student, `${round(s.total)}/${round(s.maxPoints)}`, s.seconds.toFixed(1), what || "ok"];
  });
  const head = ["student", "points", "seconds", "remarks"];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => Math.min(r[c].length, 90))));
  const line = (cols: string[]) =>
    cols
      .map((v, c) => (c === 1 || c === 2 ? v.padStart(widths[c]) : v.padEnd(widths[c])))
      .join("  ")
      .trimEnd();
  const mean = report.submissions.length
    ? report.submissions.reduce((a, s) => a + s.total, 0) / report.submissions.length
    : 0;
  return [
    line(head),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    "",
    `${report.submissions.length} submission(s), mean ${mean.toFixed(2)}/${report.maxPoints}, ${report.seconds.toFixed(1)} s with ${report.jobs} job(s); sandbox: ${report.sandbox}`,
  ].join("\n");
}

export async function gradeSubmissions(options: GradeOptions): Promise<GradeReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const started = performance.now();
  const snapshotMode = validateOneOf(options.snapshot ?? "auto", "options.snapshot", SNAPSHOT_MODES);
  const name = path.basename(options.source, ".ipynb");
  const source = asAssignment(readNotebook(options.source), name);
  const problems = metadataProblems(source);
  if (problems.length)
    throw withCode(
      new Error(`${options.source} is not a valid assignment: ${problems.join("; ")}`),
      "ERR_INVALID_ASSIGNMENT",
    );
  // A released notebook given as the source: its stubs would be "the solution", and the hidden
  // tests it no longer holds would never run, so every submission scored on the visible ones.
  if (isStudentVersion(source))
    throw withCode(
      new Error(
        `${options.source} is a student version (each solution cell holds only the stub, and hidden tests are gone): grade against the instructor's notebook it was released from`,
      ),
      "ERR_INVALID_ASSIGNMENT",
    );
  const gradeIds = source.cells.filter(isGrade).map((c) => gradeIdOf(c)!);
  const maxPoints = source.cells.filter(isGrade).reduce((a, c) => a + pointsOf(c), 0);
  const timeout = options.timeoutSeconds ?? 30;
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const sandbox: Sandbox = chooseSandbox();
  const wanted = Math.max(1, options.jobs ?? os.cpus().length);
  const jobs = sandbox.parallel ? wanted : 1;
  const entries = listSubmissions(options.submissions, name, options.outDir);
  const trusted = trustedLinkMakers(options.submissions);
  // Outside the system's folders a submission sees only these, read-only, and its run folder.
  const runtimes = [...nodePrefix(), ...pythonPrefixes({ PATH: "/usr/local/bin:/usr/bin:/bin", LANG: "C.UTF-8" })];
  const outside = machineFolders();
  const feedbackDir = path.join(options.outDir, "feedback");
  fs.mkdirSync(feedbackDir, { recursive: true });

  // The sandboxes running now, each stopped by its function.
  const running = new Set<() => void>();
  // The work folder (the kernelspec, a copy of the checkout, the run folders: ~40 MB each):
  // traversable by the sandbox user, and kept at its path inside the sandbox. It goes when the
  // grading ends, or on Ctrl-C or a closed terminal, the sandboxes stopped first (a "names" one
  // is in a process group of its own, out of the terminal's reach).
  const workFolder = tempFolder("tslab-ipc-grade-", {
    before: () => {
      for (const stop of running) stop();
    },
  });
  const work = workFolder.path;
  fs.chmodSync(work, 0o711);
  let kernel: KernelEnvironment | null = null;
  try {
    // Without namespaces the submission runs in the work folder itself, as the sandbox user:
    // where it could not get there, every submission scored 0 with a PermissionError.
    if (sandbox.kind === "names" && sandbox.user && !holdsFor(sandbox.user, 'test -x "$1"', work))
      throw withCode(
        new Error(
          `${sandbox.user.name} cannot reach ${work}, where each submission runs (no namespaces here): a folder above it is closed to others. Set TMPDIR to a folder it can pass through, such as /tmp.`,
        ),
        "ERR_GRADER_SETUP",
      );
    const copy = sandbox.user !== null && !readableBy(sandbox.user, packageRoot());
    const root = copy ? readableCopy(packageRoot(), work) : packageRoot();
    // Before the kernelspec's install, which would otherwise start a build of its own.
    const snapshot = prepareSandboxSnapshot(root, copy, work, entries.length, snapshotMode);
    // No background build for a copy: its blob would outlive the copy in the grader's cache.
    kernel = projectKernel({ parent: work, packageDir: root, buildSnapshot: !copy });
    spawnSync("chmod", ["-R", "a+rX", kernel.env.JUPYTER_DATA_DIR as string]);
    log(
      `Grading ${entries.length} submission(s) of ${name} (${gradeIds.length} graded cell(s), ${maxPoints} point(s)), ${jobs} at a time, timeout ${timeout} s per cell`,
    );
    log(`Sandbox: ${sandbox.description}${jobs < wanted ? " (so one at a time)" : ""}`);
    log(`Kernel start-up snapshot: ${snapshot ? snapshot.description : "none (each kernel starts without one)"}`);
    let done = 0;
    const submissions = await inPool(entries, jobs, async (entry, k) => {
      const t0 = performance.now();
      const base: SubmissionGrade = {
        student: entry.student,
        file: entry.file,
        status: "graded",
        reason: null,
        cells: [],
        total: 0,
        maxPoints,
        notes: [],
        leaks: [],
        signal: null,
        seconds: 0,
        kernelSeconds: null,
        executed: null,
      };
      let grade: SubmissionGrade;
      const { submission, reason } = readSubmission(entry, name, trusted, limits.notebookBytes);
      if (reason !== null)
        grade = {
          ...base,
          status: "invalid",
          reason,
          cells: scoreCells(source, null, null).map((c) => ({ ...c, status: "not-run", error: reason })),
        };
      if (submission) {
        const assembled = assembleForGrading(source, submission);
        const runDir = path.join(work, `run-${k}`);
        fs.mkdirSync(path.join(runDir, "tmp"), { recursive: true });
        fs.mkdirSync(path.join(runDir, "work"));
        if (snapshot) placeSandboxSnapshot(snapshot, path.join(runDir, "work"));
        if (sandbox.user)
          spawnSync("chown", [
            "-R",
            `${sandbox.user.uid}:${sandbox.user.gid}`,
            path.join(runDir, "tmp"),
            path.join(runDir, "work"),
          ]);
        fs.chmodSync(runDir, 0o755);
        const codeCells = assembled.notebook.cells.filter((c) => c.cell_type === "code").length;
        const wall = options.wallSeconds ?? 60 + timeout * (codeCells + 1);
        const env: NodeJS.ProcessEnv = {
          PATH: "/usr/local/bin:/usr/bin:/bin",
          LANG: "C.UTF-8",
          HOME: path.join(runDir, "work"),
          // The grader's blob, copied into this home, or none; never one built in the sandbox.
          TSLAB_IPC_SNAPSHOT: snapshot ? "use" : "0",
          TMPDIR: path.join(runDir, "tmp"),
          JUPYTER_DATA_DIR: kernel!.env.JUPYTER_DATA_DIR,
          JUPYTER_RUNTIME_DIR: path.join(runDir, "tmp", "jupyter-runtime"),
          JUPYTER_CONFIG_DIR: path.join(runDir, "tmp", "jupyter-config"),
          JUPYTER_PLATFORM_DIRS: "1",
          PYDEVD_DISABLE_FILE_VALIDATION: "1",
          PYTHONDONTWRITEBYTECODE: "1",
        };
        // The submission sees the system's folders, its run folder and what the kernel reads;
        // the rest of the machine (homes, /run's sockets, /var, /srv, /opt...: where links among
        // the submissions lead too), the rest of the work folder (other runs), the checkout (its
        // notebooks and tests), the source, the submissions and the grades are hidden. The
        // notebook, hidden tests included, reaches grade.py on its stdin only: no copy of it is
        // on any disk the kernel can read.
        const view: SandboxView = {
          writable: [runDir],
          readable: [
            ...KERNEL_PARTS.map((p) => path.join(root, p)),
            kernel!.env.JUPYTER_DATA_DIR as string,
            ...runtimes,
          ],
          hidden: [...outside, work, root, packageRoot(), options.source, options.submissions, options.outDir],
        };
        const argv = [
          ...sandbox.prefix(view, { ...limits, cpuSeconds: Math.min(limits.cpuSeconds, Math.ceil(wall)) }),
          jupyterPython(),
          gradeScript(root),
          "--kernel",
          KERNEL_NAME,
          "--timeout",
          String(timeout),
          "--grace",
          String(Math.min(10, Math.max(2, timeout))),
          "--cwd",
          path.join(runDir, "work"),
        ];
        const run = await runDriver(argv, env, JSON.stringify(assembled.notebook), wall, running);
        const r = run.result;
        const notes = [...assembled.notes];
        if (run.wallExceeded) notes.push(`the submission ran longer than ${wall} s in all and was stopped`);
        if (r?.stuck) notes.push(r.stuck);
        if (r?.death)
          notes.push(
            `the kernel was killed by ${r.death.signal ?? `exit code ${r.death.code}`} in cell ${r.death.cell}; the cells before it keep their points`,
          );
        const cells = scoreCells(source, assembled.notebook, r);
        grade = {
          ...base,
          status: r ? "graded" : "failed",
          reason: r
            ? null
            : `the sandbox ended without a result (exit ${run.code ?? run.signal}): ${run.stderr.trim().split("\n").slice(-2).join(" | ")}`,
          cells,
          total: cells.reduce((a, c) => a + c.points, 0),
          notes,
          leaks: r?.leaks ?? [],
          signal: r?.death?.signal ?? null,
          kernelSeconds: r?.kernel_seconds ?? null,
          executed: r?.notebook ?? assembled.notebook,
        };
        fs.rmSync(runDir, { recursive: true, force: true });
      }
      grade!.seconds = (performance.now() - t0) / 1000;
      fs.writeFileSync(path.join(feedbackDir, `${entry.student}.html`), feedbackHtml(grade!, source));
      done++;
      const g = grade!;
      const extra =
        g.status !== "graded" ? ` ${g.status}: ${g.reason}` : g.signal ? ` (kernel killed by ${g.signal})` : "";
      log(
        `[${done}/${entries.length}] ${g.student}: ${round(g.total)}/${maxPoints}${extra} (${g.seconds.toFixed(1)} s)`,
      );
      return g;
    });
    const report: GradeReport = {
      gradeIds,
      maxPoints,
      submissions,
      seconds: (performance.now() - started) / 1000,
      sandbox: sandbox.description,
      jobs,
    };
    fs.writeFileSync(path.join(options.outDir, "grades.csv"), gradesCsv(report));
    return report;
  } finally {
    kernel?.dispose();
    workFolder.remove();
  }
}
