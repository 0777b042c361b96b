// @ts-check
// Between cells, the kernel gives back the memory its cells left fragmented.
//
// Why: every cell builds a TypeScript program and type checker that live just long enough to be
// promoted to V8's old space, and then die there. V8's major GCs free them but move (compact)
// only a few of the pages they leave sparse, and the others stay committed. Measured on Node 20
// through jupyter_client, 900 cells of the bench's three kinds: old space 184 MB of pages
// holding 63 MB of live objects, and the kernel at 382 MiB RSS idle, against 219 MiB after its
// first cell (the live heap grew 71 -> 78 MB: not a leak). On a course server that is the
// number of students per machine.
//
// What: once no cell has run for IDLE_MS (a person reading an output; Run All never waits that
// long), and V8's heap has grown by MIN_GROWTH_BYTES since the kernel started or last
// compacted, the kernel runs one full GC that compacts every page (V8's
// --compact-on-every-full-gc, on for that GC only). It runs in the cell queue, so never during
// a cell; a request that arrives meanwhile waits for it (~0.1 s). Measured after the 900 cells:
// old space 175-183 -> 63-64 MB, and the kernel 380-383 -> 234-235 MiB 7 s after the last cell
// (two kernels each way); the GC took 126 ms in a cell that ran it by hand. After 90 cells (the
// old space 94 MB, 29 MB above its size after the first cell): 269-271 -> 229-234 MiB idle,
// two kernels each way, and the GC 108 ms; hence a threshold that 90 cells pass.
//
// Invariants:
// - At most one compaction per idle period, none while a cell runs, none before a cell (the
//   warm-up counts) has ended.
// - V8's flags are as they were after it, but for --expose-gc (the gc() function is taken from a
//   new context, as Jest's leak detector does; cells run in the main context and see no `gc`).

const v8 = require("v8");
const vm = require("vm");

/**
 * No cell for this long: the kernel is idle. Long enough, too, for V8 to see the allocation rate
 * low at that GC, which is when it shrinks the young generation: measured on 7 December (the
 * bench's 180 cells, then a GC from a cell), a GC 5 or 8 s after the last cell left the young
 * generation at 33.6 MB and the kernel at 149 MiB; one 12 s after it, 1 MB and 121-122 MiB.
 */
const IDLE_MS = 12_000;
/** Compact when the heap has grown this much since the last baseline (~50 cells). */
const MIN_GROWTH_BYTES = 16 * 1024 * 1024;

/**
 * Bytes of pages V8's heap holds now, every space's (the young generation's too): since the
 * kernel stopped promoting its cells' type checkers (kernel/typescript-edits.js), a run of cells
 * grows the old space by little, but the young generation to its largest (two 16 MiB
 * semi-spaces), which only a full GC at a quiet moment gives back. Measured on 7 December
 * through jupyter_client, the bench's 180 cells then 40 s idle: the old space alone never
 * reached the threshold, and the kernel stayed at 154-158 MiB idle (young generation 33.6 MB).
 * @returns {number}
 */
function heapSize() {
  return v8.getHeapStatistics().total_heap_size;
}

/** @type {(() => void) | null} */
let gc = null;

/** One full GC that compacts every page of the old space. */
function compactingGc() {
  if (!gc) {
    v8.setFlagsFromString("--expose-gc");
    gc = vm.runInNewContext("gc");
  }
  v8.setFlagsFromString("--compact-on-every-full-gc");
  try {
    /** @type {() => void} */ (gc)();
  } finally {
    v8.setFlagsFromString("--no-compact-on-every-full-gc");
  }
}

/**
 * Compacts V8's heap when the kernel has been idle after a cell (see the header).
 * @param {{ enqueue(task: () => Promise<unknown>): Promise<unknown> }} cells the kernel's cell queue
 * @param {{ idleMs?: number, minGrowthBytes?: number, onCompact?: (before: number, after: number, ms: number) => void }} [options]
 *   onCompact: told the heap's size before and after (bytes) and how long the GC took
 * @returns {{ cellEnded(): void }} to be told when each cell (the warm-up too) has ended
 */
function compactWhenIdle(cells, options = {}) {
  const idleMs = options.idleMs ?? IDLE_MS;
  const minGrowth = options.minGrowthBytes ?? MIN_GROWTH_BYTES;
  /** The heap's size to grow from: at the first cell's end, then after each compaction. */
  let baseline = 0;
  let ended = 0;
  /** @type {NodeJS.Timeout | null} */
  let timer = null;
  return {
    cellEnded() {
      const mine = ++ended;
      if (mine === 1) baseline = heapSize();
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        cells.enqueue(async () => {
          const before = heapSize();
          if (ended !== mine || before < baseline + minGrowth) return;
          const started = performance.now();
          compactingGc();
          baseline = heapSize();
          options.onCompact?.(before, baseline, performance.now() - started);
        });
      }, idleMs);
      timer.unref();
    },
  };
}

module.exports = { compactWhenIdle };
