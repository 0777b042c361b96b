// @ts-check
// Interrupts (Jupyter's interrupt_mode "signal": SIGINT, sent by jupyter_client to the kernel's
// whole process group). Three cases, three mechanisms:
// - The kernel is idle or a cell awaits: the SIGINT listener (main.js) stops the cell.
// - A cell's synchronous part runs: tslab runs it with vm's breakOnSigint, whose watchdog
//   thread stops it. When that script ends, Node puts back a SIGINT handler that KILLS the
//   process if a listener was added meanwhile (the library adds its own on first use), so after
//   every such run we re-arm the listeners: `rearmSigintAfterVm`.
// - A cell's code after an `await` spins (`while (true) {}`): no JavaScript of the main thread
//   runs, and Node delivers signals through it. A watchdog thread (a Worker) then does what
//   Node's own breakOnSigint does: it terminates the main thread's JavaScript, through the
//   inspector (Runtime.terminateExecution). The worker learns of the SIGINT from a sentinel
//   child in the kernel's process group (`cat`, which SIGINT kills), and acts only when the
//   main thread neither answers a probe within PROBE_MS nor is between cells. The terminated
//   loop unwinds, the pending SIGINT reaches the listener, and the cell ends "Interrupted".
// ipykernel gets this from Python's eval loop checking for signals; V8 has no such check.
// The same thread ends a kernel whose client died (see watchParent): a stuck cell cannot keep
// an orphan spinning.

const vm = require("vm");
const { Worker } = require("worker_threads");

/** How long the main thread has to answer before it counts as stuck in a cell. */
const PROBE_MS = 300;
/** How often a kernel started by Jupyter checks that its client lives (ipykernel: 1 s). */
const PARENT_POLL_MS = 1000;
/** Indexes in the shared flags. */
const RUNNING = 0;
const PONG = 1;

/**
 * Wraps vm.runInThisContext (once): a run with breakOnSigint is a cell's own code starting
 * (tslab compiles first, then runs), so `onUserCode` is told; when it returns, the SIGINT
 * listeners are re-armed.
 * @param {() => void} onUserCode
 */
function watchCellRuns(onUserCode) {
  const original = vm.runInThisContext;
  if (/** @type {any} */ (original).__tslabIpcRearm) return;
  /** @this {unknown} @param {string} code @param {any} options */
  const wrapped = function (code, options) {
    const cell = Boolean(options && typeof options === "object" && options.breakOnSigint);
    if (cell) onUserCode();
    try {
      return original.call(this, code, options);
    } finally {
      if (cell) rearmSigint();
    }
  };
  /** @type {any} */ (wrapped).__tslabIpcRearm = true;
  vm.runInThisContext = /** @type {any} */ (wrapped);
}

/** Removes and re-adds the SIGINT listeners, so that Node installs its handler again. */
function rearmSigint() {
  const listeners = process.rawListeners("SIGINT");
  process.removeAllListeners("SIGINT");
  for (const l of listeners) process.on("SIGINT", /** @type {(...args: any[]) => void} */ (l));
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require("worker_threads");
const { spawn } = require("child_process");
const inspector = require("inspector");
const flags = new Int32Array(workerData.shared);
let probe = 0;
/** Stops the JavaScript the main thread is running, as Node's own breakOnSigint does. */
function terminateMainThread() {
  // Connected only for this: a session left open makes Node print "Waiting for the debugger
  // to disconnect..." when the kernel exits.
  const session = new inspector.Session();
  session.connectToMainThread();
  session.post("Runtime.terminateExecution", () => session.disconnect());
}
function sentinel() {
  const child = spawn(workerData.cat, [], { stdio: ["pipe", "ignore", "ignore"] });
  child.on("error", () => {});
  child.on("exit", (code, signal) => {
    if (signal !== "SIGINT") return;
    sentinel();
    const asked = ++probe;
    parentPort.postMessage(asked);
    const before = Atomics.load(flags, ${PONG});
    if (before !== asked) Atomics.wait(flags, ${PONG}, before, ${PROBE_MS});
    if (Atomics.load(flags, ${PONG}) !== asked && Atomics.load(flags, ${RUNNING}) === 1) terminateMainThread();
  });
}
sentinel();
// The client died (see watchParent): stop a stuck cell, so the main thread can take the
// SIGTERM watchParent sent and clean up.
if (workerData.parentPid) {
  setInterval(() => {
    if (process.ppid !== workerData.parentPid && Atomics.load(flags, ${RUNNING}) === 1) terminateMainThread();
  }, ${PARENT_POLL_MS}).unref();
}
`;

/**
 * Starts the watchdog of cells stuck after an await (see the header).
 * @returns {{ setRunning(running: boolean): void }} what the kernel tells it: whether a cell's
 *   own code may be running (from its first line to the end of the cell, not while compiling)
 */
function startInterruptWatchdog() {
  const shared = new SharedArrayBuffer(8);
  const flags = new Int32Array(shared);
  const cat = require("fs").existsSync("/bin/cat") ? "/bin/cat" : "cat";
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { shared, cat, parentPid: jupyterParent() } });
  worker.on("message", (/** @type {number} */ asked) => {
    Atomics.store(flags, PONG, asked);
    Atomics.notify(flags, PONG);
  });
  worker.on("error", () => {});
  worker.unref();
  return {
    setRunning(running) {
      Atomics.store(flags, RUNNING, running ? 1 : 0);
    },
  };
}

/**
 * The kernel's interrupt handling: SIGINT calls `interrupt` (idle: harmless), vm runs re-arm
 * it, and the watchdog (started with the first cell, off the start-up path) covers code spinning
 * after an await.
 * @param {() => void} interrupt stops the running cell
 * @param {(hook: () => void) => unknown} onInterrupt registers a SIGINT hook (the library's lifecycle.onInterrupt)
 * @returns {{ cellEnded(): void }}
 */
function installInterrupts(interrupt, onInterrupt) {
  onInterrupt(interrupt);
  /** @type {ReturnType<typeof startInterruptWatchdog> | null} */
  let watchdog = null;
  watchCellRuns(() => {
    watchdog ??= startInterruptWatchdog();
    watchdog.setRunning(true);
  });
  return {
    cellEnded() {
      watchdog?.setRunning(false);
    },
  };
}

/**
 * The parent a kernel started by Jupyter began with (jupyter_client sets JPY_PARENT_PID for
 * its kernels, as ipykernel reads it), else 0: a kernel started by hand has no client to outlive.
 */
function jupyterParent() {
  return process.env.JPY_PARENT_PID ? process.ppid : 0;
}

/**
 * Ends the kernel when the client that started it dies without a shutdown (a console killed
 * with its terminal, a notebook server SIGKILLed): as ipykernel's parent poller does, but through
 * SIGTERM, so the library removes what the kernel created (ipykernel exits at once). The
 * process is reparented when its parent dies, so a changed ppid is the sign; a cell stuck in a
 * loop is stopped by the watchdog thread above, which checks the same.
 */
function watchParent() {
  const parent = jupyterParent();
  if (!parent) return;
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, "SIGTERM");
  }, PARENT_POLL_MS).unref();
}

module.exports = { installInterrupts, rearmSigint, startInterruptWatchdog, watchParent, PROBE_MS };
