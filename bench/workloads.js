// The workloads of issue 6 and the systems that run them. Every system runs the same
// arguments through its own runner (bench/c/bench.c, bench/runners/*), which prints one JSON
// line: {samples:[...]} in the workload's unit, or {skipped: reason}.

const path = require("path");
const { CONTROL } = require("./lib/report");

const MiB = 1024 * 1024;
const RUNNERS = path.join(__dirname, "runners");
const PYTHON = "/usr/bin/python3";

/** The sizes and repetition counts of a default run and of --quick. */
function params(quick) {
  return quick
    ? {
        size: 256 * MiB,
        bulkReps: 2,
        bulkRounds: 3,
        touchReps: 1,
        touchRounds: 3,
        segCycles: 200,
        seg: 3,
        mapCycles: 500,
        map: 3,
        cycleRounds: 3,
        // Three turns a system, as the cycles: one turn met the disk in one state for everybody.
        msyncDisk: 100,
        msyncDiskRounds: 3,
        msyncShm: 100,
        msyncShmBatch: 50,
        pingSeconds: 1.0,
        pingRounds: 1,
      }
    : {
        size: 256 * MiB,
        bulkReps: 4,
        bulkRounds: 8,
        touchReps: 2,
        touchRounds: 12,
        segCycles: 500,
        seg: 3,
        mapCycles: 2000,
        map: 3,
        cycleRounds: 12,
        msyncDisk: 80,
        msyncDiskRounds: 12,
        msyncShm: 200,
        msyncShmBatch: 50,
        // A turn of a second: a Node process's first ~300 ms of hand-overs are its start (V8 tiers
        // the loop up, and ours starts its slice watchdog; on one CPU both take turns with the
        // ping-pong). In turns of 0.4 s that was one of each turn's three windows, so the median
        // measured the start as much as the protocol (bench/analysis.md, ping-pong, 7 December).
        pingSeconds: 1.0,
        pingRounds: 5,
      };
}

// Issue 13: no peer more than 3% ahead on any library workload.
const PEER_TOLERANCE = 0.03;

const PEERS = ["py-mmap", "py-shared_memory", "py-sysv_ipc", "shm-typed-array", "mmap-io"];

/**
 * `systems` with the control (ours a second time) in the middle. Turns rotate through the list as a
 * cycle, so the middle is the place furthest from ours on both sides: the control shares no more
 * of ours's moment of the host than a peer does.
 */
function withControl(systems) {
  const middle = Math.ceil(systems.length / 2);
  return [...systems.slice(0, middle), CONTROL, ...systems.slice(middle)];
}

/**
 * How each system runs a workload: [executable, argv]. `ctx` has the built C binary (cExe),
 * the compiled library (libDir) and the peers folder.
 */
function systemCommand(system, args, ctx) {
  const [workload, ...rest] = args;
  switch (system) {
    case "tslab-ipc":
    case CONTROL:
      return {
        cmd: process.execPath,
        argv: [path.join(RUNNERS, "ours.js"), ...args],
        env: { TSLAB_IPC_LIB: ctx.libDir },
      };
    case "c":
      return { cmd: ctx.cExe, argv: [workload === "pingpong" ? "pingpong-futex" : workload, ...rest] };
    case "c-pipe":
      return { cmd: ctx.cExe, argv: ["pingpong-pipe", ...rest] };
    case "node-pipe":
      return { cmd: process.execPath, argv: [path.join(RUNNERS, "node-pipe.js"), ...rest] };
    case "shm-typed-array":
    case "mmap-io":
      if (!ctx.peersOk) return { skipped: ctx.peersReason };
      return { cmd: process.execPath, argv: ["--expose-gc", path.join(RUNNERS, "node-peers.js"), system, ...args] };
    case "py-mmap":
    case "py-shared_memory":
    case "py-sysv_ipc":
      return { cmd: PYTHON, argv: [path.join(RUNNERS, "py_peers.py"), system, ...args] };
    default:
      throw new Error(`unknown system ${system}`);
  }
}

/**
 * The workloads. `args` may hold {file: dir}: each run gets a fresh path there (swept after).
 * `outputs` are the numbers reported from one measurement (a field of the runner's result and a
 * statistic over its samples); `target` is the target for that number.
 *   vsC:   ours / C (a ratio of the reported values) must satisfy `op value`
 *   peers: ours at least as good as every peer that ran; a number is a tolerance (0.03: no
 *          peer more than 3% ahead)
 *   vsCPlus: ours - C, in the unit, at most this (an absolute allowance over C)
 *   abs:   the value itself must satisfy `op value`
 */
function workloads(quick) {
  const p = params(quick);
  /** A ping-pong row: two processes handing a token back and forth, pipes shown for scale. */
  const pingPong = (name, title, extra = {}) => ({
    name,
    title,
    args: ["pingpong", p.pingSeconds],
    ...extra,
    // The wake-up of the other process comes in two modes on this VM (a few µs, or ~70 µs when
    // its vCPU has gone idle): many short turns, so each system meets both.
    rounds: p.pingRounds,
    systems: withControl(["tslab-ipc", "c", ...PEERS, "c-pipe", "node-pipe"]),
    references: ["c-pipe", "node-pipe"],
    outputs: [
      {
        name,
        unit: "round trips/s",
        higherIsBetter: true,
        target: { vsC: [">=", 0.5], peers: PEER_TOLERANCE },
      },
    ],
  });
  const all = withControl(["tslab-ipc", "c", ...PEERS]);
  const bulk = (name, what, op, kind) => ({
    name,
    title: `${what} of 256 MiB, ${kind === "sysv" ? "System V segment" : "shared mapping of a /dev/shm file"}`,
    args: [op, kind, kind === "sysv" ? "" : { file: "/dev/shm" }, p.size, p.bulkReps],
    systems: all,
    // The same code varies more between processes than within one (C's median copy into a
    // /dev/shm file 11.0–11.9 GB/s over six processes, py-shared_memory's 8.9–11.7 and py-mmap's,
    // the same Python code, 10.6–11.6): where a process's 256 MiB land decides it. So many short
    // turns, each a new process, rather than two long ones.
    rounds: p.bulkRounds,
    outputs: [{ name, unit: "GB/s", higherIsBetter: true, target: { vsC: [">=", 0.9], peers: PEER_TOLERANCE } }],
  });
  return [
    bulk("bulk-write-sysv", "Bulk write (Buffer.fill vs memset)", "fill", "sysv"),
    bulk("bulk-copy-sysv", "Bulk copy-in (Buffer.set vs memcpy)", "copy", "sysv"),
    bulk("bulk-write-file", "Bulk write (Buffer.fill vs memset)", "fill", "file"),
    bulk("bulk-copy-file", "Bulk copy-in (Buffer.set vs memcpy)", "copy", "file"),
    {
      name: "first-touch",
      title: "First touch: one write to each page of a fresh 256 MiB segment",
      args: ["touch", p.size, p.touchReps],
      // The time is the kernel's page faults, and it varies more between processes than within one
      // (six processes of ours with five touches each: medians 2,743–3,567 ns/page): two turns of
      // two touches (four samples) put ours at 1.28x C and 1.09x shm-typed-array on 3 December,
      // twenty alternated turns of three at 1.08x and 0.97x an hour later. So many short turns.
      rounds: p.touchRounds,
      systems: all,
      // multiprocessing.shared_memory can only make POSIX objects: its faults are on another
      // kind of segment, shown for scale, not counted as a peer doing the same work.
      references: ["py-shared_memory"],
      outputs: [
        {
          name: "first-touch",
          unit: "ns/page",
          higherIsBetter: false,
          target: { vsC: ["<=", 1.2], peers: PEER_TOLERANCE },
        },
        { name: "first-touch-faults", field: "faults", unit: "faults/page", higherIsBetter: false, target: null },
      ],
    },
    {
      name: "segment-cycle",
      title: "shmget + shmat + shmdt + shmctl(IPC_RMID) of a 4 KiB segment",
      args: ["segcycle", p.segCycles, p.seg],
      // The kernel's side of these calls drifts by 2x over seconds on this VM: many short
      // turns, side by side, so each system meets the same conditions. Six turns of three
      // batches put ours at 1.25x C on 3 December (our batches 12.7–20.0 µs), twelve
      // alternated turns at 1.18x an hour later: twelve turns, for this and the mmap cycles.
      rounds: p.cycleRounds,
      systems: all,
      outputs: [
        {
          name: "segment-cycle",
          unit: "µs/cycle",
          higherIsBetter: false,
          target: { vsC: ["<=", 1.25], peers: PEER_TOLERANCE },
        },
      ],
    },
    {
      name: "mmap-cycle-anon",
      title: "mmap + munmap of one page, MAP_SHARED|MAP_ANONYMOUS",
      args: ["mmapcycle", "anon", "", p.mapCycles, p.map],
      // The kernel's side of these calls drifts by 2x over seconds on this VM: many short
      // turns, side by side, so each system meets the same conditions.
      rounds: p.cycleRounds,
      systems: all,
      outputs: [
        {
          name: "mmap-cycle-anon",
          unit: "µs/cycle",
          higherIsBetter: false,
          target: { vsC: ["<=", 1.25], peers: PEER_TOLERANCE },
        },
      ],
    },
    {
      name: "mmap-cycle-file",
      title: "mmap + munmap of one page of a /dev/shm file, MAP_SHARED",
      args: ["mmapcycle", "file", { file: "/dev/shm" }, p.mapCycles, p.map],
      // The kernel's side of these calls drifts by 2x over seconds on this VM: many short
      // turns, side by side, so each system meets the same conditions.
      rounds: p.cycleRounds,
      systems: all,
      outputs: [
        {
          name: "mmap-cycle-file",
          unit: "µs/cycle",
          higherIsBetter: false,
          target: { vsC: ["<=", 1.5], peers: PEER_TOLERANCE },
        },
      ],
    },
    {
      name: "msync-disk",
      title: "msync(MS_SYNC) of one dirty page of a file in /tmp",
      args: ["msync", { file: "/tmp" }, p.msyncDisk],
      // Disk latency drifts with whatever else writes to the disk: many short turns, side by side.
      rounds: p.msyncDiskRounds,
      // A turn on the CPU that does not take the disk's interrupts is ~40% slower, whoever runs it.
      pinToDiskOf: "/tmp",
      systems: all,
      outputs: [
        {
          name: "msync-disk-p50",
          stat: 0.5,
          unit: "µs",
          higherIsBetter: false,
          target: { vsC: ["<=", 1.1], peers: PEER_TOLERANCE },
        },
        { name: "msync-disk-p99", stat: 0.99, unit: "µs", higherIsBetter: false, target: null },
        // Each turn is either all fast or all slow, as other processes' writes come and go.
        { name: "msync-disk-quiet-p50", turn: p.msyncDisk, unit: "µs", higherIsBetter: false, target: null },
      ],
    },
    {
      name: "msync-shm",
      title: `msync(MS_SYNC) of one dirty page of a file in /dev/shm (each sample: ${p.msyncShmBatch} calls, timed together)`,
      // A call about as quick as a clock read: batches, so the timer's cost is spread out.
      args: ["msync", { file: "/dev/shm" }, p.msyncShm, p.msyncShmBatch],
      systems: all,
      outputs: [
        {
          name: "msync-shm-p50",
          stat: 0.5,
          unit: "µs",
          higherIsBetter: false,
          target: { vsCPlus: 0.1, peers: PEER_TOLERANCE },
        },
        { name: "msync-shm-p99", stat: 0.99, unit: "µs", higherIsBetter: false, target: null },
      ],
    },
    pingPong(
      "ping-pong",
      "Cross-process ping-pong through shared memory (a futex wait/notify word that counts its sleepers, in C and ours); pipes for scale",
    ),
    pingPong(
      "ping-pong-one-cpu",
      "The same ping-pong with both processes on one CPU (taskset): each hand-over is a context switch, never the wake of an idle vCPU, so the rate is the protocol's own cost",
      {
        // Unpinned, the rate depends on where the scheduler puts the two processes: on one CPU a
        // round trip takes ~6-7 µs, across CPUs ~60-70 µs when the partner's vCPU has gone idle
        // and must be woken (bench/analysis.md, ping-pong). Pinned, every turn of every system
        // pays the same kind of hand-over.
        pinToCpu: 0,
      },
    ),
    {
      name: "kernel-start",
      title:
        "Kernel start (jupyter_client) to the first result of `1+1`: from the user's start-up snapshot (every start but the first), without it, and ipykernel",
      custom: "kernel-start",
      systems: ["tslab-ipc", "tslab-ipc-no-snapshot", "ipykernel"],
      // One start a turn, the systems in rotation: how much the host charges for a page fault
      // changes from minute to minute (3-6 µs in one, 12-18 µs in another), and a start from the
      // snapshot takes twice ipykernel's faults, so a block of one system's starts in an
      // expensive minute moved the ratio (bench/history.md, the run that ended at 11:43 on 3 December).
      rounds: quick ? 2 : 9,
      outputs: [
        { name: "kernel-start", unit: "s", higherIsBetter: false, target: { vs: ["ipykernel", "<=", 1.0] } },
        { name: "kernel-ready", field: "ready", unit: "s", higherIsBetter: false, target: null },
      ],
    },
    {
      name: "kernel-cells",
      title:
        "Cell latency through jupyter_client (execute_request to reply, median), back to back and after a person's pause, and memory after the first cell and idle after the last (the notes say how long), against ipykernel",
      custom: "kernel-cells",
      systems: ["tslab-ipc", "tslab-ipc-no-snapshot", "ipykernel"],
      // Three kernels a system, one after another in rotation (30 rounds of the three cells each):
      // a kernel's cells vary with its process (where its heap lands, when V8 collects and
      // compiles), so three kernels, not one.
      rounds: quick ? 1 : 3,
      outputs: [
        {
          name: "cell-trivial",
          field: "trivial",
          unit: "s",
          higherIsBetter: false,
          target: { vs: ["ipykernel", "<=", 1.0] },
        },
        {
          name: "cell-function",
          field: "function",
          unit: "s",
          higherIsBetter: false,
          target: { vs: ["ipykernel", "<=", 2.0] },
        },
        { name: "cell-api", field: "api", unit: "s", higherIsBetter: false, target: { vs: ["ipykernel", "<=", 2.0] } },
        // The same cells after a person's pause (kernel_bench.py's PAUSE_S): what a student waits
        // for. No targets of their own: the targets are measured without a pause, above.
        { name: "cell-trivial-paused", field: "trivial_paused", unit: "s", higherIsBetter: false, target: null },
        { name: "cell-function-paused", field: "function_paused", unit: "s", higherIsBetter: false, target: null },
        { name: "cell-api-paused", field: "api_paused", unit: "s", higherIsBetter: false, target: null },
        // A million additions into a name the notebook keeps (kernel_bench.py's loop cell): what a
        // student's own loop at a cell's top level costs. No target; issue 13 names none.
        { name: "cell-loop", field: "loop", unit: "s", higherIsBetter: false, target: null },
        {
          name: "kernel-memory",
          field: "rss",
          unit: "MiB",
          higherIsBetter: false,
          target: { vs: ["ipykernel", "<=", 2.0] },
        },
        // What a course server holds per student between cells: no target of its own (issue 13
        // sets it after the first cell), shown beside it.
        { name: "kernel-memory-idle", field: "rss_idle", unit: "MiB", higherIsBetter: false, target: null },
      ],
    },
    {
      name: "notebooks",
      title: "Execute every notebook in notebooks/ with the project's kernel",
      custom: "notebooks",
      systems: ["tslab-ipc"],
      outputs: [{ name: "notebooks", unit: "s", higherIsBetter: false, target: null }],
    },
    {
      name: "npm-start",
      title: "`npm start`: every notebook executed, with figures, HTML, student versions and PDF handouts",
      custom: "npm-start",
      systems: ["tslab-ipc"],
      outputs: [{ name: "npm-start", unit: "s", higherIsBetter: false, target: { abs: ["<=", 30] } }],
    },
    {
      name: "node-versions",
      title:
        "Kernel start and input history under each tested Node (20: JSONL history, no compile cache; 22+: node:sqlite and module.enableCompileCache)",
      custom: "node-versions",
      systems: ["tslab-ipc", "node-22", "node-24", "node-26", "node-24-no-compile-cache"],
      outputs: [
        { name: "node-kernel-start", unit: "s", higherIsBetter: false, target: null },
        { name: "node-history-cell", field: "history", unit: "µs", higherIsBetter: false, target: null },
        { name: "node-history-open", field: "historyOpen", unit: "ms", higherIsBetter: false, target: null },
      ],
    },
    {
      name: "grading",
      title: "Grading a typical assignment (notebooks/02, correct submissions) in the grader's sandbox",
      custom: "grading",
      // 100 submissions: several minutes even on a quiet machine.
      timeoutMs: 3600000,
      systems: ["tslab-ipc"],
      outputs: [
        { name: "grade-submission", unit: "s", higherIsBetter: false, target: null },
        { name: "grade-kernel-start", field: "kernel", unit: "s", higherIsBetter: false, target: null },
        { name: "grade-batch", field: "batch", unit: "s", higherIsBetter: false, target: null },
      ],
    },
  ];
}

module.exports = { workloads, systemCommand, params, PEERS, PYTHON };
