// Executes EVERY notebook in notebooks/ through real Jupyter (nbclient) with this checkout's
// kernel and checks the conventions: no error outputs except in cells tagged
// `raises-exception` (which must raise), every `check` cell (nbgrader: graded cell) passes, every
// `claim` cell states its sentences (a prose claim never contradicts its output), nothing is left in
// `ipcs -m` or /dev/shm. Two passes: pass 1 runs each notebook top to bottom twice in ONE
// kernel (a re-run), pass 2 once more in a fresh kernel (after a restart). Prints the time of
// each pass (target: one pass < 90 s).
//
// NOTEBOOK_JOBS (default 2) notebooks run at the same time, which also shows that two kernels
// side by side do not collide (one at a time where runs get no IPC namespace of their own).
import fs from "fs";
import os from "os";
import path from "path";
import { performance } from "perf_hooks";
import {
  executeNotebook,
  ipcNamespaceAvailable,
  judgeNotebook,
  privateDevShmAvailable,
  jupyterUnavailableReason,
  listNotebooks,
  projectKernel,
  readNotebook,
  tagsOf,
  type ExecuteResult,
  type NotebookOutput,
  type Judgement,
  type KernelEnvironment,
} from "../../src/handouts";

const root = path.join(__dirname, "..", "..");
const notebooksDir = path.join(root, "notebooks");
// NOTEBOOKS (comma-separated names without .ipynb) runs only those: the other-Node subset uses one.
const only = process.env.NOTEBOOKS?.split(",").filter(Boolean);
const files = listNotebooks(notebooksDir, only);
const unavailable = jupyterUnavailableReason();
// Side by side only where each run has an IPC namespace of its own: otherwise one run's leak
// check would see the other's live segments (npm start runs them one at a time then too).
const jobs = ipcNamespaceAvailable() ? Math.max(1, Number(process.env.NOTEBOOK_JOBS ?? 2)) : 1;

interface Run {
  result: ExecuteResult;
  /** One per Run All in the kernel (null: that run's notebook was not written). */
  judgements: (Judgement | null)[];
}

function segments(): { shmid: number; cpid: number }[] {
  return fs
    .readFileSync("/proc/sysvipc/shm", "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .map((f) => ({ shmid: Number(f[1]), cpid: Number(f[7]) }));
}

/** What a cell said, for comparing two runs: streams, text/plain, error names and messages. */
function outputText(outputs: NotebookOutput[] | undefined): string {
  const join = (v: unknown) => (Array.isArray(v) ? v.join("") : typeof v === "string" ? v : "");
  return (outputs ?? [])
    .map((o) => {
      if (o.output_type === "stream") return `${o.name}: ${join(o.text)}`;
      if (o.output_type === "error") return `error: ${o.ename}: ${o.evalue}`;
      return `data: ${join(o.data?.["text/plain"])}`;
    })
    .join("\n");
}

function alive(pid: number): boolean {
  return fs.existsSync(`/proc/${pid}`);
}

async function runPass(
  kernel: KernelEnvironment,
  outDir: string,
  runsPerKernel: number,
): Promise<{ runs: Map<string, Run>; seconds: number }> {
  const started = performance.now();
  const runs = new Map<string, Run>();
  const queue = [...files];
  const worker = async () => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      const name = path.basename(file, ".ipynb");
      const out = path.join(outDir, `${name}.ipynb`);
      const result = await executeNotebook(file, out, {
        env: kernel.env,
        cwd: notebooksDir,
        timeoutSeconds: 120,
        runs: runsPerKernel,
      });
      runs.set(name, {
        result,
        judgements: result.runFiles.map((f) => (fs.existsSync(f) ? judgeNotebook(readNotebook(f)) : null)),
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, worker));
  return { runs, seconds: (performance.now() - started) / 1000 };
}

function describeRun(name: string, run: Run | undefined): string {
  if (!run) return `${name}: not run`;
  if (!run.result.ok) return `${name}: the run broke: ${run.result.error}`;
  return run.judgements
    .map(
      (j, k) =>
        `${name} (Run All #${k + 1}): ${j ? j.problems.map((p) => `cell ${p.cell} ${p.kind}: ${p.detail}`).join("\n  ") : "no executed notebook"}`,
    )
    .join("\n");
}

const suite = unavailable || files.length === 0 ? describe.skip : describe;
if (unavailable) console.warn(`notebook tests skipped: ${unavailable}`);
if (files.length === 0) console.warn("notebook tests skipped: no notebooks in notebooks/");

suite("every notebook, executed twice with the project's kernel", () => {
  let kernel: KernelEnvironment;
  let outDir: string;
  const passes: { runs: Map<string, Run>; seconds: number }[] = [];
  let segmentsBefore: Set<number>;
  let devShmBefore: Set<string>;

  beforeAll(async () => {
    segmentsBefore = new Set(segments().map((s) => s.shmid));
    devShmBefore = new Set(fs.readdirSync("/dev/shm"));
    kernel = projectKernel();
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-nbtest-"));
    for (const pass of [1, 2]) {
      const dir = path.join(outDir, `pass${pass}`);
      fs.mkdirSync(dir);
      passes.push(await runPass(kernel, dir, pass === 1 ? 2 : 1));
    }
    const isolation = privateDevShmAvailable()
      ? "each with its own IPC namespace and /dev/shm"
      : ipcNamespaceAvailable()
        ? "each in its own IPC namespace"
        : "in the machine's IPC namespace";
    const lines = passes.map(
      (p, i) =>
        `pass ${i + 1}: ${files.length} notebooks ${i === 0 ? "run twice in one kernel each" : "run once in a fresh kernel"} in ${p.seconds.toFixed(1)} s (${jobs} at a time, ${isolation})`,
    );
    for (const [i, p] of passes.entries()) {
      for (const [name, run] of p.runs) {
        const ok = run.result.ok && run.judgements.every((j) => j?.ok);
        lines.push(`  pass ${i + 1} ${name}: ${run.result.seconds.toFixed(1)} s${ok ? "" : " FAILED"}`);
      }
    }
    fs.mkdirSync(path.join(root, "test-results"), { recursive: true });
    fs.writeFileSync(path.join(root, "test-results", "notebooks-timing.txt"), lines.join("\n") + "\n");
    console.log(lines.join("\n"));
  }, 900_000);

  afterAll(() => {
    kernel?.dispose();
    if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
  });

  const names = files.map((f) => path.basename(f, ".ipynb"));
  describe.each([
    [1, "twice in one kernel"],
    [2, "again in a fresh kernel"],
  ])("pass %i (%s)", (pass) => {
    test.each(names)("%s: runs to the end, no unexpected errors, raises-exception cells raise, checks pass", (name) => {
      const run = passes[pass - 1].runs.get(name);
      expect(run?.result.ok ? "" : describeRun(name, run)).toBe("");
      expect(run!.judgements.every((j) => j?.ok) ? "" : describeRun(name, run)).toBe("");
      for (const j of run!.judgements) {
        expect(j!.executed).toBe(j!.codeCells);
        expect(j!.checks.passed).toBe(j!.checks.total);
      }
      // Segments that appeared during the run and outlived the kernel (exact when the run had its
      // own IPC namespace; otherwise other programs' segments could show up here too).
      expect(run!.result.segmentsLeft).toEqual([]);
      if (run!.result.privateDevShm) expect(run!.result.devShmLeft).toEqual([]);
    });
  });

  // CONVENTIONS.md: cells whose output changes from run to run are tagged nondeterministic, so
  // a comparison of two runs ignores them. The others must say the same thing in both fresh
  // kernels (text outputs, streams, error names and messages; not tracebacks or HTML).
  test.each(names)("%s: cells not tagged nondeterministic print the same in two fresh kernels", (name) => {
    const [first, second] = [
      passes[0].runs.get(name)?.result.runFiles[0],
      passes[1].runs.get(name)?.result.runFiles[0],
    ];
    if (!first || !second || !fs.existsSync(first) || !fs.existsSync(second))
      throw new Error(`${name}: no executed notebooks to compare`);
    const a = readNotebook(first);
    const b = readNotebook(second);
    const differing: string[] = [];
    a.cells.forEach((cell, i) => {
      if (cell.cell_type !== "code" || tagsOf(cell).includes("nondeterministic")) return;
      const x = outputText(cell.outputs);
      const y = outputText(b.cells[i]?.outputs);
      if (x !== y)
        differing.push(`cell ${i}: ${JSON.stringify(x.slice(0, 200))} then ${JSON.stringify(y.slice(0, 200))}`);
    });
    expect(differing).toEqual([]);
  });

  // CONVENTIONS.md: a sentence about a measurement is a claim(holds, sentence) in a cell tagged
  // `claim`: shown only when this run's values bear it out, a ClaimError otherwise. So a prose
  // claim that contradicts its own output fails here, by name, in every run of every pass.
  test.each(names)("%s: every claim cell showed its sentences and none contradicted its measurement", (name) => {
    const contradicted: string[] = [];
    for (const pass of passes) {
      for (const file of pass.runs.get(name)?.result.runFiles ?? []) {
        if (!fs.existsSync(file)) continue;
        readNotebook(file).cells.forEach((cell, i) => {
          if (!tagsOf(cell).includes("claim")) return;
          const outputs = cell.outputs ?? [];
          const failed = outputs.filter((o) => o.output_type === "error").map((o) => `${o.ename}: ${o.evalue}`);
          const said = outputs.filter(
            (o) => o.output_type === "display_data" && o.data?.["text/markdown"] !== undefined,
          );
          if (failed.length > 0) contradicted.push(`cell ${i}: ${failed.join("; ")}`);
          else if (said.length === 0) contradicted.push(`cell ${i}: tagged claim but stated nothing`);
        });
      }
    }
    expect(contradicted).toEqual([]);
  });

  test("ipcs -m and /dev/shm are unchanged afterwards", async () => {
    // Other test files run beside this one: a segment whose creator is alive (a jest worker)
    // is theirs; what the notebooks leave has a dead creator (kernels and their children exit).
    // When the notebooks ran in their own IPC namespaces (and /dev/shm), what they left was
    // checked per run above and cannot appear here.
    const all = passes.flatMap((p) => [...p.runs.values()]);
    const isolated = all.every((r) => r.result.isolated);
    const privateDevShm = all.every((r) => r.result.privateDevShm);
    let leftSegments: number[] = [];
    let leftNames: string[] = [];
    for (let attempt = 0; attempt < 20; attempt++) {
      leftSegments = isolated
        ? []
        : segments()
            .filter((s) => !segmentsBefore.has(s.shmid) && !alive(s.cpid))
            .map((s) => s.shmid);
      leftNames = privateDevShm ? [] : fs.readdirSync("/dev/shm").filter((n) => !devShmBefore.has(n));
      if (leftSegments.length === 0 && leftNames.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect({ segments: leftSegments, devShm: leftNames }).toEqual({ segments: [], devShm: [] });
  });
});
