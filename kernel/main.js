#!/usr/bin/env node
// @ts-check
// The "TypeScript (IPC)" Jupyter kernel: tslab's own kernel pieces (ZmqServer,
// JupyterHandlerImpl, createExecutor from node_modules/tslab; its converter in kernel/converter.js) composed with
// what teaching needs. Jupyter runs: node kernel/main.js <connection_file>, in the notebook's folder.
//
// Start-up does what tslab's startKernel does (warm the Node converter, bind the sockets) plus:
// make tslab-ipc and @types/node resolvable from the notebook's folder, reap what dead kernels
// left behind, and run the prelude that preloads the library's exports.

const started = performance.now();
// V8 optimizes TypeScript's scanner, checker and emitter on another thread as they warm up, and
// a kernel's cells rarely stay hot long enough to pay that back. A kernel that runs a notebook
// once, top to bottom (npm start, release, grading: the private kernelspec those write sets
// TSLAB_IPC_BATCH=1), asks for ten times V8's usual warmth before optimizing (Node 20: the
// interrupt budget, 67,584 by default; Node 22+: the invocation counts of TurboFan and Maglev,
// 3,000 and 400). Measured per notebook, its kernel's CPU: Node 20 -15% to -33%, Node 26 -13%,
// the same time alone; on two cores shared by two notebooks, Chromium and nbconvert, CPU is time.
// Under Node 20 an interactive kernel does the same. Measured through jupyter_client (2
// December), the bench's three cells in turn, four kernels each way, medians of trivial /
// function / API cells: the first 30 rounds 10.3 / 14.3 / 16.3 ms -> 8.6 / 12.0 / 11.8, rounds
// 100-120 7.1 / 8.6 / 10.4 -> 6.0 / 7.4 / 8.9; notebooks 02, 05 and 08 run cell by cell, three
// times each way: 10.4-11.8 s -> 8.9-10.8 s, kernel CPU 11.9-13.1 s -> 8.2-10.4. Under Node 26
// the interactive kernel keeps V8's defaults: the same cells were no faster with the counts
// (rounds 100-120: 5.7 / 7.2 / 7.8 ms against 7.0 / 9.2 / 10.3). A loop in a cell that runs long
// is still optimized. Measured again on 6 December, with the lighter compile of today (three or
// four kernels each way; bench/analysis.md, the kernel section): V8's own budget made the bench's
// small cells back to back 9-18% faster, but notebooks run cell by cell 6% slower, with 11% more
// kernel CPU; a notebook is what a student runs, so the budget stays.
//
// No allocation-site pretenuring: V8 otherwise learns that the objects a literal in the type
// checker makes outlive a scavenge, and from then on makes them in the old generation, where they
// die with their cell but, old, keep every young object they point to (the cell's checker) alive
// through every scavenge until a full collection. With it off and kernel/typescript-edits.js's
// edits (the other way the checkers were kept), a scavenge in the bench's cells promotes
// 0.04-0.06 MB instead of 3.1, and pauses 1.1-4.5 ms instead of 3.6-14 on a host whose page faults
// cost 14 us (bench/analysis.md, the kernel section, 7 December). The flag alone left 3.1 MB a
// scavenge, the edits alone 2.7.
{
  const nodeMajor = Number(process.versions.node.split(".")[0]);
  require("v8").setFlagsFromString("--no-allocation-site-pretenuring");
  if (nodeMajor < 22) require("v8").setFlagsFromString("--interrupt-budget=675840");
  else if (process.env.TSLAB_IPC_BATCH === "1")
    require("v8").setFlagsFromString("--invocation-count-for-turbofan=30000 --invocation-count-for-maglev=4000");
}
const path = require("path");
const os = require("os");

// kernel/start.sh tuned glibc's malloc for this process (read at its first allocation); the
// settings it made are taken out of the environment, so children get the user's.
for (const name of (process.env.TSLAB_IPC_MALLOC_DEFAULTS ?? "").split(" "))
  if (name.startsWith("MALLOC_") || name === "GLIBC_TUNABLES") delete process.env[name];
delete process.env.TSLAB_IPC_MALLOC_DEFAULTS;

// The sockets first, so they listen while the rest loads: jupyter_client connected its own as it
// started the kernel, and zeromq retries a refused connection only every 100-200 ms
// (kernel/sockets.js). Nothing reads them until the handler is ready.
const configPath = process.argv[2];
if (!configPath) {
  process.stderr.write("usage: node kernel/main.js <connection_file>\n");
  process.exit(2);
}
/** @type {import("./sockets").BoundSockets} */
let sockets;
try {
  sockets = require("./sockets").bindKernelSockets(configPath);
} catch (e) {
  process.stderr.write(`tslab-ipc: cannot make the kernel's sockets from ${configPath}: ${e}\n`);
  process.exit(1);
}

// Node 22.1+ caches the compiled code of tslab, TypeScript and the library between kernel starts
// (module.enableCompileCache). The cache lives in this user's own cache folder, never in a shared
// /tmp (another user could plant code there). Node 20 has no such cache and starts without it.
const nodeModule = /** @type {{ enableCompileCache?: (dir: string) => unknown }} */ (
  /** @type {unknown} */ (require("module"))
);
if (typeof nodeModule.enableCompileCache === "function" && process.env.TSLAB_IPC_COMPILE_CACHE !== "0") {
  const cacheHome = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  try {
    nodeModule.enableCompileCache(path.join(cacheHome, "tslab-ipc", `node-${process.versions.node}`));
  } catch {
    // No writable cache folder: start without one.
  }
}

// TSLAB_IPC_KERNEL_TIMING=1: start-up phases on the kernel's own stderr (Jupyter's log), for the
// benchmarks; handler.js's logToTerminal, since once a cell has run, process.stderr.write is
// that cell's output.
const timing = process.env.TSLAB_IPC_KERNEL_TIMING === "1";
const lap = (/** @type {string} */ phase) => {
  if (timing)
    logToTerminal(
      `tslab-ipc kernel: ${phase} at ${(performance.now() - started).toFixed(0)} ms (epoch ${Date.now()})\n`,
    );
};

// ts: the TypeScript the cells compile with (tslab's own copy), so our wrapping of ts.sys is the one it sees.
const { createConverter, seedsTaken, ts } = require("./converter");
const { createExecutor } = require("tslab/dist/executor");
const { withPlainWrites } = require("./cell-namespace");
const { installRuntimeResolution, installTypeResolution, repoRoot } = require("./resolve");
const { describeThrown, installCellNames, installCellStacks } = require("./traceback");
const { exitKernel, guardExit } = require("./exit-guard");
const { keepingFailedCells } = require("./failed-cell");
const { IpcJupyterHandler, IpcZmqServer, createExecutorConsole, logToTerminal } = require("./handler");
const { kernelPrelude } = require("./prelude");
const { openUserHistory } = require("./history");
const { installCellApi } = require("./cell-api");
const { installInterrupts, watchParent } = require("./interrupt");
const { compactWhenIdle } = require("./idle-gc");
const { mapPages: mapSnapshotPages, mapStrings: mapSnapshotStrings } = require("./snapshot-pages");
const snapshot = require("./snapshot");

lap(`modules loaded (${snapshot.startedFrom()} start)`);

function main() {
  const cwd = process.cwd();
  installTypeResolution(ts, cwd);
  installCellNames();
  installCellStacks();
  guardExit();

  // The library, as cells will see it (require("tslab-ipc") resolves to this same module).
  const lib = require(repoRoot);
  // Children's TypeScript (runTs, spawnTs) is transpiled by the compiler the cells are checked
  // with, not by a second TypeScript loaded at the first runTs (src/process/transpile.ts).
  require(path.join(repoRoot, "dist", "process", "transpile")).useTypeScript(ts);
  // The kernel is the host: SIGINT interrupts a cell and never ends the kernel; SIGTERM and
  // SIGHUP end it when it says so (installProcessHooks), after the library's cleanup.
  lib.lifecycle.setHost({ handlesInterrupts: true, handlesTermination: true });
  lap("library loaded");
  try {
    const reaped = lib.reap();
    if (reaped.removed.length)
      console.log(`tslab-ipc: removed ${reaped.removed.length} object(s) left by dead kernels`);
  } catch (e) {
    console.error("tslab-ipc: reap failed:", e);
  }

  // tslab's ConverterSetImpl is not exported: the same lazily-built pair, Node one warmed now.
  /** @type {any} */
  let node;
  /** @type {any} */
  let browser;
  const convs = {
    get node() {
      return (node ??= keepingFailedCells(createConverter({ isJS: false, isBrowser: false, bundleModules: true })));
    },
    get browser() {
      return (browser ??= createConverter({ isJS: false, isBrowser: true, bundleModules: true }));
    },
    close() {
      node?.close();
      browser?.close();
    },
  };
  convs.node;
  lap("converter warmed");

  const { target, console: executorConsole } = createExecutorConsole();
  const executor = withPlainWrites(() => createExecutor(cwd, convs, executorConsole));
  installRuntimeResolution();

  let history = null;
  try {
    history = openUserHistory();
  } catch (e) {
    console.error("tslab-ipc: no input history this session:", e);
  }
  const handler = new IpcJupyterHandler(executor, target, lib, {
    history,
    repoRoot,
    ts,
    // What the cell assigned before it threw stays declared (kernel/failed-cell.js).
    onRunFailed: () =>
      convs.node.ranUntilFailure(
        (/** @type {string} */ name) => Object.hasOwn(executor.locals, name) && executor.locals[name] !== undefined,
      ),
  });
  installCellApi(handler);
  let cleanedUp = false;
  const cleanup = () => {
    if (cleanedUp) return;
    cleanedUp = true;
    try {
      lib.cleanupCreated();
    } catch (e) {
      console.error("tslab-ipc: cleanup failed:", e);
    }
    // The database folds its write-ahead log back into the file and lets go of it.
    history?.close();
  };
  const server = new IpcZmqServer(handler, configPath, cleanup, sockets);
  server.onIopubJoin = (how) => lap(`iopub ${how}`);
  // While the student reads a cell's output, the next cell's declarations are made ready (the
  // converter's prepare: their tree made from the last one, bound and printed, and what a cell
  // that declares no earlier name again keeps of it), in the cell queue, so never during a cell:
  // on the next turn of the event loop after the reply, unless a request has come since. It is
  // work the next cell, declaring or not, would otherwise do first; a client that runs cells back
  // to back sends the next ~1 ms after the reply, and that cell waits for what is left of it.
  // Measured in one kernel (the bench's cells back to back in blocks of five rounds with and
  // without each step, ABBA; bench/analysis.md, the kernel section), the trivial cell after the
  // API cell and a round of the three cells: the parse, against nothing (6 December, five
  // kernels), 1.31-2.89 and 0.54-6.66 ms less; the bind too, against the parse (7 December, 19
  // kernels), less in 17 and 14 (medians 0.41 and 0.45 ms); the print too (16 kernels), less in
  // 14 and 12 (medians 0.44 and 0.73 ms); what a cell keeps too, once a cell that declares only
  // new names took it from there (14 kernels), less in 12 and 10 (medians 0.18 and 0.40 ms). Until
  // then that last step waited for 10 ms without a request: done at once, it made the API cell,
  // which worked it out again for itself, slower in six kernels of six (median 0.41 ms).
  server.afterExecute = () => {
    const read = server.requestsRead;
    setImmediate(() => {
      if (server.requestsRead !== read || convs.node.nextPrepared()) return;
      handler
        .enqueue(async () => convs.node.prepareNext())
        .catch((e) => console.error("tslab-ipc: preparing the next cell failed:", e));
    });
  };
  server.afterFirstKernelInfo = () => {
    handler.enqueue(() => warmUp(executor, target, handler));
    // Read off the start's path, before the first cell needs it (a history_request reads it at once).
    handler.enqueue(async () => history?.load());
    // The snapshot's copy in this process, and the large strings in its heap (TypeScript's source,
    // declaration texts), go back to the page cache (kernel/snapshot-pages.js); not for a batch
    // kernel, which ends with its notebook.
    if (process.env.TSLAB_IPC_BATCH !== "1") {
      handler.enqueue(async () => {
        for (const [what, map] of /** @type {const} */ ([
          ["snapshot pages", mapSnapshotPages],
          ["the heap's large strings", mapSnapshotStrings],
        ])) {
          const t0 = performance.now();
          const r = map();
          const ms = (performance.now() - t0).toFixed(0);
          lap(
            "bytes" in r
              ? `${what} mapped: ${(r.bytes / 2 ** 20).toFixed(1)} MiB in ${ms} ms`
              : `${what} not mapped: ${r.skipped}`,
          );
        }
      });
    }
  };

  const interrupts = installProcessHooks({ handler, cleanup, lifecycle: lib.lifecycle });
  // Between cells, the memory the cells left fragmented goes back (kernel/idle-gc.js).
  const mb = (/** @type {number} */ bytes) => (bytes / 2 ** 20).toFixed(0);
  const idleGc = compactWhenIdle(handler, {
    onCompact: (before, after, ms) =>
      lap(`idle compaction: heap ${mb(before)} -> ${mb(after)} MB in ${ms.toFixed(0)} ms`),
  });
  handler.onCellEnd = () => {
    interrupts.cellEnded();
    idleGc.cellEnded();
  };
  const bound = server.init().then(
    () => lap("sockets bound"),
    (e) => {
      // A port taken between Jupyter choosing it and us binding it: die loudly, do not hang.
      console.error("tslab-ipc: cannot bind the kernel's sockets:", e);
      cleanup();
      exitKernel(1);
    },
  );

  // The prelude is first in the cell queue, so every cell sees it. It compiles as soon as the
  // sockets are bound, before the kernel reads its first request: the client's first cell, which
  // needs it, is answered a quarter second sooner than if it waited for the client, and
  // kernel_info is answered after it, so the requests a client sends once it has that reply
  // (history_request, which jupyter console gives up on after 1 s) never wait for it.
  const prelude = kernelPrelude(lib, repoRoot);
  handler.ready = handler.enqueue(async () => {
    await bound;
    const ok = await runOwnCode(executor, target, prelude, "prelude");
    if (!ok) console.error('tslab-ipc: the prelude failed; import from "tslab-ipc" explicitly');
    lap(
      `prelude done (from the snapshot: resolutions ${seedsTaken.resolutions}, compiled prelude ${seedsTaken.compiledCell}, lib bundle ${seedsTaken.libBundle}, node bundle ${seedsTaken.nodeBundle}, module bundles ${seedsTaken.moduleBundles})`,
    );
    // No snapshot for this Node and checkout, or one whose files changed (its modules, or the
    // library's .d.ts its prelude was compiled against): the next start has a fresh one.
    if (snapshot.startedFrom() !== "snapshot" || !seedsTaken.compiledCell) snapshot.buildInBackground();
  });
}

/**
 * Runs the kernel's own code (the prelude, the warm-up cell) through tslab's executor as a cell
 * runs, but silently: what it prints is dropped, and its errors go to the kernel's log, after
 * `tslab-ipc <name>:`. Never rejects.
 * @param {{ execute(src: string): Promise<boolean> }} executor tslab's
 * @param {ReturnType<typeof createExecutorConsole>["target"]} target where the executor's output goes
 * @param {string} src @param {string} name
 * @returns {Promise<boolean>} whether it compiled and ran
 */
function runOwnCode(executor, target, src, name) {
  target.error = (...args) => console.error(`tslab-ipc ${name}:`, ...args);
  target.log = () => {};
  return executor.execute(src).catch((/** @type {unknown} */ e) => {
    console.error(`tslab-ipc ${name}:`, e);
    return false;
  });
}

/**
 * A throwaway cell the kernel compiles and runs once, silently, right after its first
 * kernel_info reply: a cell with no names, so it changes nothing a user's cell can see.
 */
const WARM_UP_CELL = "0";

/**
 * Compiles and runs WARM_UP_CELL through tslab's executor, outside the handler: no execution
 * count, no history, no message to the client. Why: a kernel from the start-up snapshot starts
 * with V8's code cold (no type feedback, functions compiled on first call), and its first cell
 * took ~50 ms where the next took ~20. jupyter_client (so nbclient, the notebook server, the
 * bench) listens 0.2 s for late iopub messages after the first kernel_info reply before it sends
 * anything, and a person is slower still: the warm-up runs then, in the cell queue, so a request
 * that does arrive meanwhile waits for it and finds the code warm.
 * @param {{ execute(src: string): Promise<boolean> }} executor tslab's
 * @param {ReturnType<typeof createExecutorConsole>["target"]} target where the executor's output goes
 * @param {{ count: number, onCellEnd(): void }} handler its cells run so far; told when the run is over (the interrupt watchdog)
 */
async function warmUp(executor, target, handler) {
  // A cell that arrived before the reply left has run already, cold: nothing left to warm.
  if (handler.count > 0) return;
  await runOwnCode(executor, target, WARM_UP_CELL, "warm-up");
  handler.onCellEnd();
  lap("warm-up done");
}

/**
 * The kernel's process hooks, registered with the library's one owner of them
 * (src/process/lifecycle.ts): SIGINT stops the running cell and keeps the kernel (idle: nothing
 * happens); SIGTERM and SIGHUP (Jupyter's shutdown by signal) exit, and the exit hooks remove
 * what the kernel created.
 * @param {{ handler: InstanceType<typeof IpcJupyterHandler>, cleanup: () => void, lifecycle: typeof import("../src/process/lifecycle") }} kernel
 * @returns {{ cellEnded(): void }} the interrupt handling, to be told when each cell has ended
 */
function installProcessHooks({ handler, cleanup, lifecycle }) {
  const interrupts = installInterrupts(() => handler.interrupt(), lifecycle.onInterrupt);
  lifecycle.onExit(cleanup);
  lifecycle.onTerminate(() => exitKernel(0));
  watchParent();
  // Not signals: a cell's stray error is logged, not fatal (tslab does the same), in the output of
  // the cell running then (or of the last one), traced as a cell's error is: its cell lines, not
  // vm's and tslab's frames.
  const report = (/** @type {string} */ what, /** @type {unknown} */ thrown) =>
    console.error(`${what} ${describeThrown(thrown).traceback.join("\n")}`);
  process.on("uncaughtException", (err) => report("UncaughtException:", err));
  process.on("unhandledRejection", (reason) => report("UnhandledPromiseRejection:", reason));
  return interrupts;
}

main();
