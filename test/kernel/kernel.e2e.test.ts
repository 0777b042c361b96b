// End to end through real Jupyter: the kernelspec is registered into a temporary Jupyter data
// folder (the user's registry is not touched), notebooks are executed by nbconvert/nbclient from
// a folder with no node_modules, and the kernel is driven by jupyter_client for interrupts.
// One notebook run serves many assertions: each kernel start costs 1-2 s.
import { spawn, spawnSync, type SpawnSyncReturns } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { bareTempBase, privateJupyterEnv, segmentExists } from "../helpers";

const repo = path.resolve(__dirname, "..", "..");
const PY = "/usr/bin/python3";
const hasJupyter = spawnSync(PY, ["-c", "import nbclient, nbconvert, jupyter_client"]).status === 0;
// Without Jupyter at /usr/bin/python3 there is nothing to run the kernel with.
const describeWithJupyter = hasJupyter ? describe : describe.skip;

jest.setTimeout(180_000);

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}
interface Cell {
  cell_type: string;
  source: string;
  metadata: Record<string, unknown>;
  outputs?: Output[];
  execution_count?: number | null;
}

let tmp = "";
let env: NodeJS.ProcessEnv = {};
let notebookDir = "";

function text(v: unknown): string {
  return Array.isArray(v) ? v.join("") : String(v ?? "");
}

function notebook(cells: Array<string | { source: string; tags: string[] }>): object {
  return {
    nbformat: 4,
    nbformat_minor: 4,
    metadata: {
      kernelspec: { name: "tslab-ipc", display_name: "TypeScript (IPC)", language: "typescript" },
      language_info: { name: "typescript" },
    },
    cells: cells.map((c) => {
      const { source, tags } = typeof c === "string" ? { source: c, tags: [] as string[] } : c;
      return { cell_type: "code", source, metadata: tags.length ? { tags } : {}, outputs: [], execution_count: null };
    }),
  };
}

function nbconvert(name: string, nb: object): { run: SpawnSyncReturns<string>; cells: Cell[] } {
  const input = path.join(notebookDir, `${name}.ipynb`);
  const output = path.join(notebookDir, `${name}.out.ipynb`);
  fs.writeFileSync(input, JSON.stringify(nb));
  const run = spawnSync(
    PY,
    [
      "-m",
      "nbconvert",
      "--to",
      "notebook",
      "--execute",
      "--ExecutePreprocessor.timeout=120",
      "--output",
      output,
      input,
    ],
    { cwd: notebookDir, env, encoding: "utf8" },
  );
  const cells: Cell[] = fs.existsSync(output) ? JSON.parse(fs.readFileSync(output, "utf8")).cells : [];
  return { run, cells };
}

function pidAlive(pid: number): boolean {
  return fs.existsSync(`/proc/${pid}`) && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
}

function installKernel(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [path.join(repo, "kernel", "install.js"), ...args], { env, encoding: "utf8" });
}

beforeAll(() => {
  if (!hasJupyter) return;
  tmp = fs.mkdtempSync(path.join(bareTempBase() ?? os.tmpdir(), "tslab-ipc-kernel-test-"));
  env = privateJupyterEnv(tmp);
  // A folder with no node_modules anywhere above it.
  notebookDir = path.join(tmp, "notebooks");
  fs.mkdirSync(notebookDir);
  const r = installKernel("install", "--user");
  if (r.status !== 0) throw new Error(`kernel install failed: ${r.stdout}${r.stderr}`);
});

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describeWithJupyter("kernelspec registration", () => {
  test("registers tslab-ipc with absolute paths, interrupt by signal, idempotently", () => {
    const spec = JSON.parse(
      fs.readFileSync(path.join(env.JUPYTER_DATA_DIR!, "kernels", "tslab-ipc", "kernel.json"), "utf8"),
    );
    expect(spec.display_name).toBe("TypeScript (IPC)");
    expect(spec.language).toBe("typescript");
    expect(spec.interrupt_mode).toBe("signal");
    // kernel/start.sh runs kernel/main.js with this Node (from the user's start-up snapshot when there is one).
    expect(spec.argv).toEqual([
      "/bin/sh",
      path.join(repo, "kernel", "start.sh"),
      process.execPath,
      "{connection_file}",
    ]);
    const again = installKernel("install", "--user");
    expect(again.status).toBe(0);
    const list = spawnSync(PY, ["-m", "jupyter", "kernelspec", "list", "--json"], { env, encoding: "utf8" });
    const specs = JSON.parse(list.stdout).kernelspecs;
    expect(specs["tslab-ipc"].resource_dir).toBe(path.join(env.JUPYTER_DATA_DIR!, "kernels", "tslab-ipc"));
  });
});

describeWithJupyter("a notebook executed by nbconvert with the kernel", () => {
  let cells: Cell[] = [];
  let run: SpawnSyncReturns<string>;

  beforeAll(() => {
    ({ run, cells } = nbconvert(
      "main",
      notebook([
        /* 0 */ "[typeof ftok, typeof shmget, typeof shmat, IPC_CREAT === 0o1000].join(' ')",
        /* 1 */ [
          "const segId = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600);",
          'console.log("SEGMENT " + segId);',
          "const att = shmat(segId);",
          'att.writeString("hello");',
          "att",
        ].join("\n"),
        /* 2 */ "shmctl(segId, IPC_STAT)",
        /* 3 */ {
          source: "// a missing file\nftok('/nonexistent/tslab-ipc-kernel-test', 'R')",
          tags: ["raises-exception"],
        },
        /* 4 */ { source: 'const wrong: number = "text";', tags: ["raises-exception"] },
        /* 5 */ [
          "display(",
          '  { "text/html": "<b>bold</b>", "text/plain": "bold", "application/json": { n: 1 }, "image/png": Buffer.from("89504e47", "hex") },',
          '  { metadata: { "image/png": { width: 10 } } },',
          ");",
        ].join("\n"),
        /* 6 */ [
          'import { readFileSync } from "fs";',
          'import { ftok as ftokAgain } from "tslab-ipc";',
          "[readFileSync('/proc/self/stat', 'utf8').length > 0, typeof ftokAgain].join(' ')",
        ].join("\n"),
        /* 7 */ "const child = await runTs('process.kill(process.pid, \"SIGSEGV\")', { quiet: true });\nchild.signal",
        /* 8 */ "'alive after ' + child.summary",
        /* 9 */ "process.pid",
        /* 10 */ 'display.markdown("*ours, called like tslab\'s*")',
        /* 11 */ 'import { display } from "tslab";\ndisplay.html("<i>tslab display</i>")',
        /* 12 */ "const later = 7;",
        /* 13 */ "const both = { later, PROT_READ };\nJSON.stringify(both) + ' ' + (await (async () => 3)()) + ' ' + (await (Promise.resolve(4)))",
        /* 14 */ { source: "await runTs('const x: number = ;')", tags: ["raises-exception"] },
        /* 15 */ "Object.keys(require.cache).filter((f) => f.endsWith('/lib/typescript.js')).map((f) => f.slice(f.indexOf('/node_modules/'))).join(' ')",
        /* 16 */ [
          "const started = require('fs').readFileSync('/proc/self/environ', 'utf8').split(String.fromCharCode(0)).filter((v) => v.startsWith('MALLOC_') || v.startsWith('GLIBC_TUNABLES=')).sort();",
          "const childEnv = await runTs('console.log(Object.keys(process.env).filter((k) => k.startsWith(`MALLOC_`) || k === `GLIBC_TUNABLES`).join(`,`) || `none`)', { quiet: true });",
          "started.join(' ') + ' | ' + childEnv.stdout.trim()",
        ].join("\n"),
      ]),
    ));
  });

  const result = (i: number) => cells[i].outputs!.find((o) => o.output_type === "execute_result");
  const errorOf = (i: number) => cells[i].outputs!.find((o) => o.output_type === "error");

  test("the run succeeds (failing cells are tagged raises-exception)", () => {
    expect(run.stderr).not.toMatch(/CellExecutionError/);
    expect(run.status).toBe(0);
    expect(cells).toHaveLength(17);
  });

  test("shorthand properties of earlier cells' and preloaded names, and await (expr), work (tslab alone fails both)", () => {
    expect(errorOf(13)).toBeUndefined();
    expect(text(result(13)?.data?.["text/plain"])).toBe(`'{"later":7,"PROT_READ":1} 3 4'`);
  });

  test("the library's exports are preloaded", () => {
    expect(text(result(0)?.data?.["text/plain"])).toBe("'function function function true'");
  });

  test("an attachment is an execute_result with an HTML table and a text fallback", () => {
    const segId = Number(
      /SEGMENT (\d+)/.exec(text(cells[1].outputs!.find((o) => o.output_type === "stream")?.text))?.[1],
    );
    expect(segId).toBeGreaterThanOrEqual(0); // 0 is the first id in a fresh IPC namespace
    const out = result(1)!;
    expect(text(out.data?.["text/html"])).toMatch(new RegExp(`<table[^]*Attachment[^]*${segId}[^]*attached`));
    expect(text(out.data?.["text/plain"])).toContain(`shmid     ${segId}`);
    const stat = text(result(2)?.data?.["text/html"]);
    expect(stat).toMatch(/shm_segsz[\s\S]*4096/);
    expect(stat).toMatch(/shm_nattch[\s\S]*<code>1<\/code>/);
  });

  test("an exception is a Jupyter error with ename, evalue and a traceback at the cell line", () => {
    const e = errorOf(3)!;
    expect(e.ename).toBe("IpcError");
    expect(e.evalue).toMatch(/^ENOENT: no such file or directory, ftok '\/nonexistent\/tslab-ipc-kernel-test'/);
    expect(e.traceback!.length).toBeGreaterThan(1);
    expect(e.traceback!.join("\n")).toMatch(/line 2\b[\s\S]*ftok\('\/nonexistent/);
    expect(result(3)).toBeUndefined();
  });

  test("a TypeScript error is a Jupyter error too", () => {
    const e = errorOf(4)!;
    expect(e.ename).toBe("TSError");
    expect(e.evalue).toMatch(/1:7 - Type 'string' is not assignable to type 'number'/);
    expect(e.traceback!.join("\n")).toContain('const wrong: number = "text";');
  });

  test("display(bundle) is one output with every MIME type and its metadata", () => {
    const shown = cells[5].outputs!.filter((o) => o.output_type === "display_data");
    expect(shown).toHaveLength(1);
    const data = shown[0].data!;
    expect(Object.keys(data).sort()).toEqual(["application/json", "image/png", "text/html", "text/plain"]);
    expect(text(data["text/html"])).toBe("<b>bold</b>");
    expect(text(data["text/plain"])).toBe("bold");
    expect(data["application/json"]).toEqual({ n: 1 });
    expect(text(data["image/png"])).toBe(Buffer.from("89504e47", "hex").toString("base64"));
    expect(shown[0].metadata).toEqual({ "image/png": { width: 10 } });
  });

  test("display has tslab's methods, and tslab's own display still works when imported", () => {
    const ours = cells[10].outputs!.filter((o) => o.output_type === "display_data");
    expect(ours.map((o) => text(o.data?.["text/markdown"]))).toEqual(["*ours, called like tslab's*"]);
    const tslabShown = cells[11].outputs!.filter((o) => o.output_type === "display_data");
    expect(tslabShown.map((o) => text(o.data?.["text/html"]))).toEqual(["<i>tslab display</i>"]);
  });

  test("a notebook with no node_modules imports from fs and tslab-ipc", () => {
    for (let d = notebookDir; path.dirname(d) !== d; d = path.dirname(d))
      expect(fs.existsSync(path.join(d, "node_modules"))).toBe(false);
    expect(errorOf(6)).toBeUndefined();
    expect(text(result(6)?.data?.["text/plain"])).toBe("'true function'");
  });

  test("a child killed by SIGSEGV is reported and the kernel survives", () => {
    expect(text(result(7)?.data?.["text/plain"])).toBe("'SIGSEGV'");
    expect(text(result(8)?.data?.["text/plain"])).toMatch(/alive after child \d+ was killed by SIGSEGV/);
  });

  test("a child's TypeScript is transpiled by the cells' own compiler: no second TypeScript is loaded", () => {
    const e = errorOf(14)!;
    expect(e.ename).toBe("SyntaxError");
    expect(e.evalue).toMatch(/the child's TypeScript does not compile:\n\S+:1:19 - error TS1109: Expression expected/);
    const loaded = text(result(15)?.data?.["text/plain"]);
    expect(loaded).toMatch(/typescript-for-tslab/); // the cells' compiler, as tslab loads it
    expect(loaded).not.toMatch(/node_modules\/typescript\/lib/); // this package's own, which runTs would load
  });

  test("the kernel runs with start.sh's malloc settings, and its children with the user's environment", () => {
    expect(text(result(16)?.data?.["text/plain"])).toBe(
      "'GLIBC_TUNABLES=glibc.malloc.hugetlb=1 MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 | none'",
    );
  });

  test("after shutdown the kernel process is gone and its segment removed", () => {
    const segId = Number(
      /SEGMENT (\d+)/.exec(text(cells[1].outputs!.find((o) => o.output_type === "stream")?.text))?.[1],
    );
    const pid = Number(text(result(9)?.data?.["text/plain"]));
    expect(pid).toBeGreaterThan(0);
    expect(pidAlive(pid)).toBe(false);
    expect(segmentExists(segId)).toBe(false);
  });
});

describeWithJupyter("a failing cell without raises-exception", () => {
  test("stops nbconvert, which reports the error", () => {
    const { run } = nbconvert(
      "failing",
      notebook(["1 + 1", "ftok('/nonexistent/tslab-ipc-kernel-test', 'R')", "console.log('NOT REACHED')"]),
    );
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/CellExecutionError/);
    expect(run.stderr).toMatch(/IpcError: ENOENT: no such file or directory, ftok/);
    expect(run.stderr).not.toContain("NOT REACHED");
  });
});

describeWithJupyter("the kernel under jupyter_client", () => {
  let report: Record<string, { reply: Record<string, unknown>; outputs: Output[] }> & {
    exited_after_shutdown_request?: boolean;
    exited_after_sigterm?: boolean;
    alive_after_idle_interrupt?: boolean;
    exited_after_shutdown_kernel?: boolean;
    history_after_first_cell?: Array<[number, number, string]>;
  } = {};
  /** drive_kernel.py's stderr, with the kernels' own (their start-up phases). */
  let driveStderr = "";

  beforeAll(() => {
    const r = spawnSync(PY, [path.join(__dirname, "fixtures", "drive_kernel.py"), notebookDir], {
      env,
      encoding: "utf8",
      cwd: notebookDir,
    });
    if (r.status !== 0) throw new Error(`drive_kernel.py failed: ${r.stderr}`);
    driveStderr = r.stderr;
    report = JSON.parse(r.stdout.trim().split("\n").pop()!);
  });

  // drive_kernel.py reports iopub messages as { type, ...content }.
  const value = (step: string) =>
    report[step].outputs.find((o) => (o as Output & { type?: string }).type === "execute_result")?.data?.["text/plain"];

  test("the kernel's warm-up after its first kernel_info leaves no trace: the first cell is In[1], alone in the history", () => {
    expect(driveStderr).toContain("tslab-ipc kernel: warm-up done");
    expect(report.pid.reply.execution_count).toBe(1);
    expect(report.history_after_first_cell?.map(([, n, input]) => [n, input])).toEqual([[1, "process.pid"]]);
  });

  test("an interrupt while idle is harmless: the kernel lives, its state is kept", () => {
    expect(report.alive_after_idle_interrupt).toBe(true);
    expect(value("after_idle")).toBe("'number'");
  });

  test("a cell's execute_input reaches the client before the cell is compiled and run, as ipykernel's does", () => {
    // The cell waits for the file the driver creates on its execute_input: false after 10 s if
    // the message left only once the cell's synchronous part was over.
    expect(report.execute_input_first.reply.status).toBe("ok");
    expect(value("execute_input_first")).toBe("true");
  });

  test("an interrupt stops a busy loop, a busy loop after an await, an endless await and a blocking wait; the kernel runs the next cell", () => {
    for (const step of ["busy", "busy_after_await", "pending", "blocked"]) {
      expect(report[step].reply.status).toBe("error");
      expect(report[step].reply.ename).toBe("Interrupted");
    }
    expect(value("after_busy")).toBe("42");
    expect(value("after_busy_after_await")).toBe("'next cell runs'");
    expect(value("kept_after_interrupt")).toBe("42"); // a name the interrupted cell assigned
    expect(value("after_pending")).toBe("'still alive'");
    expect(value("after_blocked")).toBe("'awake'");
  });

  test("input() sends input_request (with password) and returns the line; an interrupt cancels it", () => {
    const request = (step: string) =>
      report[step].outputs.find((o) => (o as Output & { type?: string }).type === "input_request") as unknown as {
        prompt: string;
        password: boolean;
      };
    expect(request("input")).toMatchObject({ prompt: "name? ", password: false });
    expect(value("input")).toBe("'ADA'");
    expect(request("password")).toMatchObject({ prompt: "secret: ", password: true });
    expect(value("password")).toBe("7");
    expect(request("input_interrupted")).toMatchObject({ prompt: "never answered: " });
    expect(report.input_interrupted.reply.ename).toBe("Interrupted");
    expect(value("after_input_interrupted")).toBe("'kernel still here'");
  });

  test("shutdown_kernel() (an interrupt, then shutdown_request) removes the kernel's segment", () => {
    const shmid = Number(value("segment3"));
    expect(shmid).toBeGreaterThanOrEqual(0);
    expect(report.exited_after_shutdown_kernel).toBe(true);
    expect(pidAlive(Number(value("pid3")))).toBe(false);
    expect(segmentExists(shmid)).toBe(false);
  });

  test("a cell printing thousands of lines delivers them all and ends", () => {
    const many = report.many_lines as unknown as { reply: { status: string }; count: number; last: string };
    expect(many.reply.status).toBe("ok");
    expect(many.count).toBe(3000);
    expect(many.last).toBe("2999");
  });

  test("an interrupt leaves the kernel's segments alone", () => {
    expect(Number(value("segment"))).toBeGreaterThanOrEqual(0);
    expect(value("segment_after_interrupts")).toBe("4096");
  });

  test("shutdown_request (restart) removes the kernel's segment and the process exits by itself", () => {
    expect(report.exited_after_shutdown_request).toBe(true);
    expect(pidAlive(Number(value("pid")))).toBe(false);
    expect(segmentExists(Number(value("segment")))).toBe(false);
  });

  test("SIGTERM removes the restarted kernel's segment and ends it", () => {
    const shmid = Number(value("segment2"));
    expect(shmid).toBeGreaterThanOrEqual(0);
    expect(Number(value("pid2"))).not.toBe(Number(value("pid")));
    expect(report.exited_after_sigterm).toBe(true);
    expect(pidAlive(Number(value("pid2")))).toBe(false);
    expect(segmentExists(shmid)).toBe(false);
  });
});

describeWithJupyter("a kernel whose client dies without a shutdown", () => {
  // As ipykernel's parent poller: the kernel ends by itself, and here it also removes what it
  // created (ipykernel exits at once); a cell stuck in a loop does not keep it alive.
  for (const mode of ["idle", "spinning"]) {
    test(`ends within seconds and removes its segment (${mode})`, async () => {
      // Asynchronously: the kernel inherits the client's stdout, so the pipe closes only when
      // the kernel has ended too; the first line (printed before the client dies) is read as it comes.
      // The client dies when its stdin ends: after the segment is seen to exist (a CI run on
      // 5 December read the line after the kernel had already removed it).
      const client = spawn(PY, [path.join(__dirname, "fixtures", "orphan_kernel.py"), notebookDir, mode], {
        env,
        cwd: notebookDir,
        stdio: ["pipe", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      client.stderr.on("data", (d) => (err += d));
      const line = await new Promise<string>((resolve, reject) => {
        client.stdout.on("data", (d) => {
          out += d;
          if (out.includes("\n")) resolve(out.split("\n")[0]);
        });
        client.on("close", () => reject(new Error(`orphan_kernel.py printed nothing: ${err}`)));
      });
      const { pid, shmid, status, connectionFile } = JSON.parse(line);
      try {
        expect(status).toBe("ok");
        expect(segmentExists(shmid)).toBe(true);
        client.stdin.end();
        const deadline = Date.now() + 15_000;
        while (pidAlive(pid) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
        expect(pidAlive(pid)).toBe(false);
        expect(segmentExists(shmid)).toBe(false);
      } finally {
        // Whatever failed, no orphan is left spinning, and no connection file (with its key) in /tmp.
        client.stdin.end();
        if (pidAlive(pid)) process.kill(pid, "SIGKILL");
        fs.rmSync(connectionFile, { force: true });
      }
    });
  }
});

describeWithJupyter("a kernel whose client dies while it starts", () => {
  // The kernel looked for its client's death as a change of its parent, from the parent it
  // found at start: a client killed before then (a Ctrl-C of \`npm start\` while a notebook's
  // kernel started) left it waiting forever, its parent already init.
  test("ends within seconds", async () => {
    const r = spawnSync(PY, [path.join(__dirname, "fixtures", "orphan_kernel.py"), notebookDir, "starting"], {
      env,
      cwd: notebookDir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 30_000,
    });
    const { pid, connectionFile } = JSON.parse(r.stdout.split("\n")[0] || "{}");
    expect(typeof pid).toBe("number");
    try {
      const deadline = Date.now() + 15_000;
      while (pidAlive(pid) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
      expect(pidAlive(pid)).toBe(false);
    } finally {
      if (pidAlive(pid)) process.kill(pid, "SIGKILL");
      fs.rmSync(connectionFile, { force: true });
    }
  });
});

describeWithJupyter("kernelspec removal", () => {
  test("kernel:uninstall removes the registration", () => {
    const ours = path.join(env.JUPYTER_DATA_DIR!, "kernels", "tslab-ipc");
    expect(fs.existsSync(ours)).toBe(true);
    expect(installKernel("uninstall").status).toBe(0);
    expect(fs.existsSync(ours)).toBe(false);
    // A system-wide registration (npm install as root) may remain; ours must not be listed.
    const list = spawnSync(PY, ["-m", "jupyter", "kernelspec", "list", "--json"], { env, encoding: "utf8" });
    expect(JSON.parse(list.stdout).kernelspecs["tslab-ipc"]?.resource_dir).not.toBe(ours);
  });
});
