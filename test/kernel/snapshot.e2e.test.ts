// The kernel's start-up snapshot (kernel/snapshot.js, kernel/snapshot-entry.js, kernel/start.sh),
// through real Jupyter: a kernel started from it says so, and every cell says what it says in a
// kernel started without it (values, type errors, tracebacks with the cell's line, the prelude,
// the working folder). A blob whose files changed, a NODE_OPTIONS, and a snapshot folder of
// another user each mean a start without it, never a dead kernel.
//
// It also carries the prelude compiled at build time and the module resolutions: a kernel takes
// them, and after the library's .d.ts changes it compiles the prelude itself, says the same, and
// builds a fresh blob.
//
// Everything runs on a copy of kernel/ and dist/ (node_modules linked) with its own
// cache folder, so the copy's files can change without touching this checkout or its users.
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { executeNotebook, jupyterUnavailableReason, writeNotebook } from "../../src/handouts";

const repo = path.join(__dirname, "..", "..");
const unavailable = jupyterUnavailableReason();
const snapshot = require(path.join(repo, "kernel", "snapshot.js")) as {
  enabled(env: NodeJS.ProcessEnv): boolean;
  SNAPSHOT_MAJORS: number[];
};
/** This Node can start kernels from a snapshot (not 22 or 24: see kernel/snapshot.js). */
const supported = snapshot.enabled({ ...process.env, TSLAB_IPC_SNAPSHOT: "1" });
const suite = unavailable ? describe.skip : describe;
if (unavailable) console.warn(`snapshot tests skipped: ${unavailable}`);
const whereSupported = supported ? test : test.skip;
const unsupportedNote = supported
  ? ""
  : ` [skipped: Node ${process.version} has no snapshots here (only ${snapshot.SNAPSHOT_MAJORS.join(", ")})]`;

const CELLS = [
  'globalThis[Symbol.for("tslab-ipc.snapshot")] ?? "plain"',
  "const n: number = 1;\nconst s: string = n;",
  'const missing = "/nonexistent/tslab-ipc-snapshot-test";\nftok(missing, 1);',
  "typeof shmget + typeof IPC_PRIVATE",
  "process.cwd()",
  "function twice(x: number) { return 2 * x; }\ntwice(21)",
  // A child process, after the interrupt watchdog (a worker thread) has started with the first cell.
  '(await runTs("console.log(6 * 7)")).stdout',
  // The lib's overloads, in their order (from the snapshot, the lib is one tree: kernel/converter.js).
  "new Date().toLocaleString(1)",
];

/** What a cell said: values, streams, and errors without the kernel's own frames. */
function said(outputs: { output_type: string; [k: string]: unknown }[]): string {
  return outputs
    .map((o) => {
      if (o.output_type === "error") {
        const frames = (o.traceback as string[]).filter((l) => !l.includes("/kernel/") && !l.includes("node_modules"));
        return `error ${o.ename}: ${o.evalue}\n${frames.join("\n")}`;
      }
      if (o.output_type === "stream") return `${o.name}: ${[o.text].flat().join("")}`;
      return [(o.data as Record<string, unknown>)?.["text/plain"]].flat().join("");
    })
    .join("\n");
}

suite("the kernel's start-up snapshot", () => {
  let dir: string;
  let copy: string;
  let notebooks: string;
  let env: NodeJS.ProcessEnv;

  const snapshotJs = () => path.join(copy, "kernel", "snapshot.js");
  const blob = () => spawnSync(process.execPath, [snapshotJs(), "path"], { env, encoding: "utf8" }).stdout.trim();
  const fresh = () =>
    spawnSync(
      process.execPath,
      [
        "-e",
        `process.stdout.write(String(require(${JSON.stringify(snapshotJs())}).isFresh(${JSON.stringify(blob())})))`,
      ],
      {
        env,
        encoding: "utf8",
      },
    ).stdout;

  /** The copy's blob, built unless it is there and fresh (each test can run alone). */
  function ensureBuilt(): void {
    if (fresh() === "true") return;
    const r = spawnSync(process.execPath, [snapshotJs(), "build"], { env, encoding: "utf8" });
    expect(r.stderr).toBe("");
  }

  async function run(extraEnv: NodeJS.ProcessEnv = {}, cells: string[] = CELLS): Promise<string[]> {
    const input = path.join(notebooks, "snapshot.ipynb");
    const output = path.join(notebooks, "out.ipynb");
    writeNotebook(input, {
      cells: cells.map((source) => ({ cell_type: "code", metadata: {}, execution_count: null, outputs: [], source })),
      metadata: { kernelspec: { name: "tslab-ipc", display_name: "TypeScript (IPC)", language: "typescript" } },
      nbformat: 4,
      nbformat_minor: 4,
    });
    const result = await executeNotebook(input, output, { env: { ...env, ...extraEnv }, cwd: notebooks });
    expect(result.error).toBeNull();
    return JSON.parse(fs.readFileSync(output, "utf8")).cells.map((c: { outputs: never[] }) => said(c.outputs));
  }

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-snapshot-"));
    copy = path.join(dir, "checkout");
    fs.mkdirSync(copy);
    fs.cpSync(path.join(repo, "kernel"), path.join(copy, "kernel"), { recursive: true });
    fs.copyFileSync(path.join(repo, "package.json"), path.join(copy, "package.json"));
    fs.symlinkSync(path.join(repo, "node_modules"), path.join(copy, "node_modules"));
    // A copy: a test changes the library's .d.ts.
    fs.cpSync(path.join(repo, "dist"), path.join(copy, "dist"), { recursive: true });
    notebooks = path.join(dir, "notebooks");
    fs.mkdirSync(notebooks);
    env = {
      ...process.env,
      XDG_CACHE_HOME: path.join(dir, "cache"),
      JUPYTER_DATA_DIR: path.join(dir, "jupyter"),
      TSLAB_IPC_SNAPSHOT: undefined,
      NODE_OPTIONS: undefined,
    };
    const r = spawnSync(process.execPath, [path.join(copy, "kernel", "install.js"), "install", "--user"], {
      env: { ...env, TSLAB_IPC_SNAPSHOT: "0" }, // no background build: the tests build when they mean to
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
  }, 60_000);

  (supported ? test.skip : test)(
    `on a Node without snapshots, build refuses with its reason and kernels start without one${supported ? " [skipped: this Node has snapshots]" : ""}`,
    async () => {
      const r = spawnSync(process.execPath, [snapshotJs(), "build"], { env, encoding: "utf8" });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`no start-up snapshot for Node ${process.version}`);
      const cells = await run();
      expect(cells[0]).toBe("'plain'");
      expect(cells[5]).toBe("42");
      expect(fs.existsSync(path.join(dir, "cache", "tslab-ipc", "snapshot"))).toBe(false);
    },
    120_000,
  );

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  whereSupported(
    `build writes a blob only this user can read, in a folder only this user can enter${unsupportedNote}`,
    () => {
      const r = spawnSync(process.execPath, [snapshotJs(), "build"], { env, encoding: "utf8" });
      expect(r.status).toBe(0);
      const file = r.stdout.trim();
      expect(file).toBe(blob());
      expect(path.dirname(file)).toBe(path.join(dir, "cache", "tslab-ipc", "snapshot"));
      expect((fs.statSync(file).mode & 0o777).toString(8)).toBe("600");
      expect((fs.statSync(path.dirname(file)).mode & 0o777).toString(8)).toBe("700");
      expect(fresh()).toBe("true");
      // Beside it, the copy of it a kernel holds, as a file to map (kernel/snapshot-pages.js).
      const pages = fs.statSync(`${file}.pages`);
      expect((pages.mode & 0o777).toString(8)).toBe("600");
      expect(pages.size % 4096).toBe(0);
      expect(pages.size).toBeGreaterThan(16 << 20);
      // And the heap's large strings (TypeScript's source, ~8 MB, the largest declaration texts).
      const source = fs.statSync(`${file}.strings`);
      expect((source.mode & 0o777).toString(8)).toBe("600");
      expect(source.size % 4096).toBe(0);
      expect(source.size).toBeGreaterThan(8 << 20);
    },
    60_000,
  );

  whereSupported(
    `a kernel started from it maps the blob's pages over its copy and the large strings over its heap's, and still starts threads and contexts${unsupportedNote}`,
    async () => {
      ensureBuilt();
      const cells = await run({}, [
        'globalThis[Symbol.for("tslab-ipc.snapshot")] ?? "plain"',
        'require("fs").readFileSync("/proc/self/maps", "utf8").split("\\n").some((l) => l.endsWith(".blob.pages"))',
        'require("fs").readFileSync("/proc/self/maps", "utf8").split("\\n").some((l) => l.endsWith(".blob.strings"))',
        // A cell that awaits starts the interrupt watchdog (a worker thread); then a cell's own worker and a new context.
        'await new Promise((r) => setTimeout(r, 10)); require("vm").runInNewContext("6 * 7")',
        'const { Worker } = require("worker_threads");\nawait new Promise((resolve) => new Worker("require(\'worker_threads\').parentPort.postMessage(6 * 7)", { eval: true }).once("message", resolve))',
      ]);
      expect(cells).toEqual(["'snapshot'", "true", "true", "42", "42"]);
    },
    120_000,
  );

  whereSupported(
    `a kernel started from it says every cell's result as one started without it${unsupportedNote}`,
    async () => {
      ensureBuilt();
      const withSnapshot = await run();
      const without = await run({ TSLAB_IPC_SNAPSHOT: "0" });
      expect(withSnapshot[0]).toBe("'snapshot'");
      expect(without[0]).toBe("'plain'");
      expect(withSnapshot.slice(1)).toEqual(without.slice(1));
      // And they are the right results, not the same failure twice.
      expect(without[1]).toMatch(
        /error TSError: 2:7 - Type 'number' is not assignable to type 'string'[\s\S]*cell line 2, column 7/,
      );
      expect(without[2]).toMatch(/error IpcError: ENOENT[\s\S]*line 2\b[\s\S]*ftok\(missing/);
      expect(without[3]).toBe("'functionnumber'");
      expect(without[4]).toBe(`'${notebooks}'`);
      expect(without[5]).toBe("42");
      expect(without[6]).toBe("stdout: 42\n\n'42\\n'"); // streamed by the child, then the cell's value
    },
    120_000,
  );

  (supported && process.getuid?.() === 0 ? test : test.skip)(
    `the machine's blob (root's, kernel/install.js builds it for a system-wide kernel) starts a user who has none, unless others could write its folder${supported ? (process.getuid?.() === 0 ? "" : " [skipped: builds as root]") : unsupportedNote}`,
    async () => {
      const system = path.join(dir, "system");
      // A user without a blob of their own, who builds none in the background ("use").
      const user = {
        TSLAB_IPC_SNAPSHOT_SYSTEM_DIR: system,
        XDG_CACHE_HOME: path.join(dir, "empty-cache"),
        TSLAB_IPC_SNAPSHOT: "use",
      };
      const r = spawnSync(process.execPath, [snapshotJs(), "build", "--system"], {
        env: { ...env, TSLAB_IPC_SNAPSHOT_SYSTEM_DIR: system },
        encoding: "utf8",
      });
      expect(r.stderr).toBe("");
      const file = r.stdout.trim();
      expect(path.dirname(file)).toBe(system);
      expect(path.basename(file)).toBe(path.basename(blob()));
      expect((fs.statSync(file).mode & 0o777).toString(8)).toBe("644");
      expect((fs.statSync(system).mode & 0o777).toString(8)).toBe("755");
      const cells = await run(user);
      expect(cells[0]).toBe("'snapshot'");
      expect(cells[5]).toBe("42");
      fs.chmodSync(system, 0o775);
      try {
        expect((await run(user))[0]).toBe("'plain'");
      } finally {
        fs.chmodSync(system, 0o755);
      }
    },
    180_000,
  );

  whereSupported(
    `NODE_OPTIONS, or a snapshot folder this user does not own, means a start without it${unsupportedNote}`,
    async () => {
      ensureBuilt();
      expect((await run({ NODE_OPTIONS: "--max-old-space-size=2048" }))[0]).toBe("'plain'");
      if (process.getuid?.() === 0) {
        const folder = path.dirname(blob());
        fs.chownSync(folder, 65534, 65534);
        try {
          expect((await run())[0]).toBe("'plain'");
        } finally {
          fs.chownSync(folder, 0, 0);
        }
      }
    },
    120_000,
  );

  whereSupported(
    `a blob whose files changed is not used, and the kernel builds a fresh one${unsupportedNote}`,
    async () => {
      ensureBuilt();
      fs.appendFileSync(path.join(copy, "kernel", "resolve.js"), "\n// changed after the snapshot was built\n");
      expect(fresh()).toBe("false");
      const cells = await run();
      expect(cells[0]).toBe("'stale'");
      expect(cells[5]).toBe("42");
      // Built in the background after that kernel's start, at nice 19: on a machine the rest of
      // the suite keeps busy, its ~3 s of CPU can take a while.
      const deadline = Date.now() + 180_000;
      while (fresh() !== "true" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
      expect(fresh()).toBe("true");
      expect((await run())[0]).toBe("'snapshot'");
    },
    300_000,
  );

  whereSupported(
    `a kernel takes the prelude compiled at build time, and the library's declarations as one file, until the library's .d.ts changes, then compiles it itself and a fresh blob is built${unsupportedNote}`,
    async () => {
      ensureBuilt();
      const converter = JSON.stringify(path.join(copy, "kernel", "converter.js"));
      const cells = [`JSON.stringify(require(${converter}).seedsTaken)`, ...CELLS.slice(1)];
      const taken = await run({}, cells);
      expect(taken[0]).toBe(
        `'{"compiledCell":true,"resolutions":true,"libBundle":true,"nodeBundle":true,"moduleBundles":2}'`,
      );
      const plain = await run({ TSLAB_IPC_SNAPSHOT: "0" }, cells);
      expect(taken.slice(1)).toEqual(plain.slice(1));
      expect(plain[3]).toBe("'functionnumber'");
      expect(plain[7]).toContain("Overload 1 of 3");

      // The .d.ts written anew (a checkout, an edit undone): same text, a new modification time.
      const dts = path.join(copy, "dist", "index.d.ts");
      const later = new Date(fs.statSync(dts).mtimeMs + 5_000);
      fs.utimesSync(dts, later, later);
      expect(fresh()).toBe("false");
      const recompiled = await run({}, cells);
      // The library's bundle is not served from the snapshot any more; undici-types' still is.
      expect(recompiled[0]).toBe(
        `'{"compiledCell":false,"resolutions":true,"libBundle":true,"nodeBundle":true,"moduleBundles":1}'`,
      );
      expect(recompiled.slice(1)).toEqual(plain.slice(1));
      const deadline = Date.now() + 180_000;
      while (fresh() !== "true" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
      expect(fresh()).toBe("true");
      expect((await run({}, cells))[0]).toBe(
        `'{"compiledCell":true,"resolutions":true,"libBundle":true,"nodeBundle":true,"moduleBundles":2}'`,
      );
    },
    300_000,
  );
});
