// @ts-check
// Interrupts (Jupyter's interrupt_mode "signal": SIGINT, sent by jupyter_client to the kernel's
// whole process group). Three cases, three mechanisms:
// - The kernel is idle or a cell awaits: the SIGINT listener (main.js) stops the cell.
// - A cell's synchronous part runs: tslab runs it with vm's breakOnSigint, whose watchdog
//   thread stops it. When that script ends, Node puts back a SIGINT handler that KILLS the
//   process if a listener was added meanwhile (the library adds its own on first use), so after
//   every such run we re-arm the listeners: `rearmSigint`.
// - A cell's code after an `await` spins (`while (true) {}`): no JavaScript of the main thread
//   runs, and Node delivers signals through it. A watchdog thread (a Worker) then does what
//   Node's own breakOnSigint does: it terminates the main thread's JavaScript, through the
//   inspector (Runtime.terminateExecution). It learns of the SIGINT from a sentinel child in the
//   kernel's process group (a bash loop, which SIGINT kills: a zombie until the main thread,
//   stuck, reaps it), and acts only when the main thread neither answers a probe within
//   PROBE_MS nor is between cells. The terminated loop unwinds, the pending SIGINT reaches the
//   listener, and the cell ends "Interrupted"; the main thread then starts a new sentinel.
// ipykernel gets this from Python's eval loop checking for signals; V8 has no such check.
//
// Why the watchdog thread comes and goes: under Node 20 a Worker's isolate deserializes the
// process's start-up snapshot (TypeScript's code and names included), and a live one held 30-33
// MiB of the kernel's ~205 (measured through jupyter_client, 2 December). So it runs only when
// it can be needed: it starts when a cell's own code returns a promise (a cell with a top-level
// `await`, the only cells whose code runs again after an await before they end), and it stops
// once no cell has run for WATCHDOG_IDLE_MS. It comes up in ~0.2 s on another core; the
// sentinel (~3 MiB) lives as long as the kernel, so a SIGINT sent meanwhile is not lost: the
// worker finds the sentinel dead when it comes up.
// Not covered (covered before, when the thread lived for the whole session): a cell without a
// top-level await whose promise callbacks spin before it ends
// (`Promise.resolve().then(() => { while (true) {} })`); a restart ends it.
//
// Orphans: the sentinel also ends a kernel whose client died (see watchParent) when a cell is
// stuck: once the kernel's parent is no longer the client, it sends SIGINT to the kernel (a
// synchronous loop stops) and dies by SIGINT itself (the watchdog, if running, stops a loop
// after an await), so that the main thread can take the SIGTERM watchParent sends.

const vm = require("vm");
const fs = require("fs");
const { spawn } = require("child_process");
const { Worker } = require("worker_threads");

/** How long the main thread has to answer before it counts as stuck in a cell. */
const PROBE_MS = 300;
/** How often the watchdog looks at the sentinel while a cell runs. */
const POLL_MS = 50;
/** How often a kernel started by Jupyter checks that its client lives (ipykernel: 1 s). */
const PARENT_POLL_MS = 1000;
/** No cell for this long: the watchdog thread stops (a cell after an await starts it again). */
const WATCHDOG_IDLE_MS = 10_000;
/** Indexes in the shared flags. */
const RUNNING = 0;
const PONG = 1;
const SENTINEL = 2;

/**
 * Wraps vm.runInThisContext (once). A run with breakOnSigint is a cell's own code (tslab
 * compiles first, then runs): `started` is told before it, `returned` after, with what it
 * returned (a promise for a cell with a top-level await); then the SIGINT listeners are re-armed.
 * @param {{ started(): void, returned(value: unknown): void }} hooks
 */
function watchCellRuns(hooks) {
  const original = vm.runInThisContext;
  if (/** @type {any} */ (original).__tslabIpcRearm) return;
  /** @this {unknown} @param {string} code @param {any} options */
  const wrapped = function (code, options) {
    const cell = Boolean(options && typeof options === "object" && options.breakOnSigint);
    if (!cell) return original.call(this, code, options);
    hooks.started();
    try {
      const value = original.call(this, code, options);
      hooks.returned(value);
      return value;
    } finally {
      rearmSigint();
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

/**
 * The sentinel: $1 the kernel's pid, then its client watch (see clientWatch): $2 the parent it
 * started under (0: no client to watch), $3 the client's pid when that is another process (else
 * 0). It waits on its stdin, a pipe from the kernel, a second at a time: end of file (the
 * kernel is gone) ends it. SIGINT (to the process group) kills it. When the client is gone
 * (clientGone's test), it interrupts the kernel and itself (see the header).
 */
const SENTINEL_SCRIPT = `k=$1 s=$2 c=$3
while :; do
  read -r -t 1
  [ $? -gt 128 ] || exit 0
  [ "$s" = 0 ] && continue
  read -r _ _ _ p _ < "/proc/$k/stat" || exit 0
  if [ "$p" != "$s" ] || [ "$p" = 1 ] || { [ "$c" != 0 ] && [ ! -d "/proc/$c" ]; }; then
    kill -INT "$k"; kill -INT $$
  fi
done`;

/**
 * Keeps a sentinel running for the life of the kernel, its pid in the shared flags: another
 * after each one SIGINT killed, none once the client has died (watchParent ends the kernel).
 * @param {Int32Array} flags
 */
function keepSentinel(flags) {
  const watch = clientWatch();
  const bash = fs.existsSync("/bin/bash") ? "/bin/bash" : "bash";
  const start = () => {
    // No start-up file, and of the kernel's environment only PATH (to find bash where /bin has
    // none). Node's "pipe" is a socket pair, and bash takes a socket on its stdin for rshd's: with
    // SHLVL unset or 0 (Jupyter under systemd, JupyterHub or cron) it sources ~/.bashrc, and any
    // bash -c sources BASH_ENV. On this machine root's .bashrc runs `pyenv init`: ~0.5 s of CPU
    // a kernel, and 9.3 s when an earlier rehash, killed, left its lock (4 December). The script
    // needs neither: its commands are builtins.
    const child = spawn(
      bash,
      [
        "--norc",
        "--noprofile",
        "-c",
        SENTINEL_SCRIPT,
        "tslab-ipc-interrupts",
        String(process.pid),
        String(watch?.parent ?? 0),
        String(watch?.client ?? 0),
      ],
      {
        stdio: ["pipe", "ignore", "ignore"],
        env: process.env.PATH ? { PATH: process.env.PATH } : {},
      },
    );
    child.on("error", (e) => {
      Atomics.store(flags, SENTINEL, 0);
      console.error(`tslab-ipc: no interrupt sentinel (${e.message}): a loop after an await cannot be interrupted`);
    });
    child.on("exit", (code, signal) => {
      Atomics.store(flags, SENTINEL, 0);
      const interrupted = signal !== null || (code ?? 0) > 128;
      if (interrupted && !(watch && clientGone(watch))) start();
    });
    child.unref();
    child.stdin?.on("error", () => {});
    /** @type {any} */ (child.stdin)?.unref?.();
    Atomics.store(flags, SENTINEL, child.pid ?? 0);
  };
  start();
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require("worker_threads");
const { readFileSync } = require("fs");
const inspector = require("inspector");
const flags = new Int32Array(workerData.shared);
let probe = 0;
/** The last sentinel acted on: one SIGINT, one probe. */
let handled = 0;
/** Stops the JavaScript the main thread is running, as Node's own breakOnSigint does. */
function terminateMainThread() {
  // Connected only for this: a session left open makes Node print "Waiting for the debugger
  // to disconnect..." when the kernel exits.
  const session = new inspector.Session();
  session.connectToMainThread();
  session.post("Runtime.terminateExecution", () => session.disconnect());
}
/** Whether the sentinel died: a zombie while the main thread is stuck, gone once it reaped it. */
function died(pid) {
  try {
    const stat = readFileSync("/proc/" + pid + "/stat", "latin1");
    return stat.charAt(stat.lastIndexOf(")") + 2) === "Z";
  } catch {
    return true;
  }
}
setInterval(() => {
  if (Atomics.load(flags, ${RUNNING}) !== 1) return;
  const pid = Atomics.load(flags, ${SENTINEL});
  if (pid === 0 || pid === handled || !died(pid)) return;
  handled = pid;
  const asked = ++probe;
  parentPort.postMessage(asked);
  const before = Atomics.load(flags, ${PONG});
  if (before !== asked) Atomics.wait(flags, ${PONG}, before, ${PROBE_MS});
  if (Atomics.load(flags, ${PONG}) !== asked && Atomics.load(flags, ${RUNNING}) === 1) terminateMainThread();
}, ${POLL_MS});
`;

/**
 * Starts the watchdog thread of cells stuck after an await (see the header).
 * @param {Int32Array} flags shared with it: whether a cell runs, its answers, the sentinel
 * @returns {Worker}
 */
function startWatchdog(flags) {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { shared: flags.buffer } });
  worker.on("message", (/** @type {number} */ asked) => {
    Atomics.store(flags, PONG, asked);
    Atomics.notify(flags, PONG);
  });
  worker.on("error", () => {});
  worker.unref();
  return worker;
}

/**
 * The kernel's interrupt handling: SIGINT calls `interrupt` (idle: harmless), vm runs re-arm
 * it, and the sentinel (started with the first run, the prelude's) and the watchdog thread
 * (started by a cell that awaits, stopped when idle) cover code spinning after an await.
 * @param {() => void} interrupt stops the running cell
 * @param {(hook: () => void) => unknown} onInterrupt registers a SIGINT hook (the library's lifecycle.onInterrupt)
 * @param {{ watchdogIdleMs?: number }} [options]
 * @returns {{ cellEnded(): void, watchdogRunning(): boolean }} cellEnded: to be told when each
 *   cell (the prelude and warm-up too) has ended; watchdogRunning: whether the thread lives
 */
function installInterrupts(interrupt, onInterrupt, options = {}) {
  onInterrupt(interrupt);
  const idleMs = options.watchdogIdleMs ?? WATCHDOG_IDLE_MS;
  const flags = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  let sentinel = false;
  /** @type {Worker | null} */
  let watchdog = null;
  /** @type {NodeJS.Timeout | null} */
  let stopTimer = null;
  watchCellRuns({
    started() {
      if (!sentinel) {
        sentinel = true;
        keepSentinel(flags);
      }
      if (stopTimer) clearTimeout(stopTimer);
      stopTimer = null;
      Atomics.store(flags, RUNNING, 1);
    },
    returned(value) {
      if (watchdog === null && value instanceof Promise) watchdog = startWatchdog(flags);
    },
  });
  return {
    cellEnded() {
      Atomics.store(flags, RUNNING, 0);
      if (watchdog === null || stopTimer) return;
      stopTimer = setTimeout(() => {
        stopTimer = null;
        watchdog?.terminate();
        watchdog = null;
      }, idleMs);
      stopTimer.unref();
    },
    watchdogRunning: () => watchdog !== null,
  };
}

/**
 * What tells this kernel that the client which started it is gone, read once at start, or null
 * for a kernel with no client to outlive: started by hand (no JPY_PARENT_PID, which
 * jupyter_client sets to its own pid for the kernels it starts), or by a client that is init
 * (pid 1 never goes away; ipykernel does not watch it either).
 * - `parent`: the kernel's parent then. Reparented, the kernel has lost it. Already 1, that
 *   parent died before the kernel looked: a client killed while its kernel started (a Ctrl-C
 *   of `npm start`) left kernels that waited, 165 MB each, for a client long gone. ipykernel's
 *   poller ends a kernel whose parent is 1 too. (Adopted at start by a subreaper other than
 *   init, such a kernel is not seen to be orphaned.)
 * - `client`: JPY_PARENT_PID when that is not the parent (a wrapper that forks between them)
 *   and exists at start (in this pid namespace, among the processes this user sees): gone
 *   later, the client died. Else 0.
 * @returns {{ parent: number, client: number } | null}
 */
function clientWatch() {
  const jpy = Number(process.env.JPY_PARENT_PID);
  if (!Number.isInteger(jpy) || jpy <= 1) return null;
  const parent = process.ppid;
  return { parent, client: parent !== jpy && fs.existsSync(`/proc/${jpy}`) ? jpy : 0 };
}

/**
 * Whether the client of `watch` (clientWatch) is gone; the sentinel's script makes the same test.
 * @param {{ parent: number, client: number }} watch
 */
function clientGone(watch) {
  const ppid = process.ppid;
  return ppid !== watch.parent || ppid === 1 || (watch.client !== 0 && !fs.existsSync(`/proc/${watch.client}`));
}

/**
 * Ends the kernel when the client that started it dies without a shutdown (a console killed
 * with its terminal, a notebook server SIGKILLed, a Ctrl-C of `npm start` while the kernel
 * started): as ipykernel's parent poller does, but through SIGTERM, so the library removes what
 * the kernel created (ipykernel exits at once). A cell stuck in a loop is stopped through the
 * sentinel above, which makes the same test.
 */
function watchParent() {
  const watch = clientWatch();
  if (!watch) return;
  setInterval(() => {
    if (clientGone(watch)) process.kill(process.pid, "SIGTERM");
  }, PARENT_POLL_MS).unref();
}

module.exports = { installInterrupts, rearmSigint, watchParent, PROBE_MS, WATCHDOG_IDLE_MS };
