// What the Node runners (ours.js, node-peers.js) share: the clock, the fault counter, the
// result line, and the one-word/argument protocol of bench/c/bench.c.

/** Monotonic time in nanoseconds, as a number (hrtime's bigint is exact; the doubles are fine for spans). */
function nowNs() {
  return Number(process.hrtime.bigint());
}

/** Minor page faults of this process so far (getrusage ru_minflt). */
function minorFaults() {
  return process.resourceUsage().minorPageFault;
}

/** Prints the one JSON line the orchestrator reads. */
function emit(result) {
  process.stdout.write(JSON.stringify(result) + "\n");
}

/** Prints a skip with its reason; the orchestrator shows the reason in the table. */
function skip(reason) {
  emit({ skipped: reason });
}

/** Fills `size` private bytes with a pattern so the pages are real (not the shared zero page). */
function sourceBuffer(size) {
  const src = Buffer.allocUnsafeSlow(size);
  src.fill(0x5a);
  return src;
}

/**
 * Runs `main(workload, args)` and turns a thrown error into a non-zero exit with the message,
 * which the orchestrator prints as the reason.
 */
function runMain(main) {
  const [workload, ...args] = process.argv.slice(2);
  Promise.resolve()
    .then(() => main(workload, args))
    .catch((err) => {
      process.stderr.write(`${err?.stack ? err.stack : err}\n`);
      process.exitCode = 1;
    });
}

/**
 * Times `cycles` calls of `once` per batch, `batches` batches, after a warm-up of at least
 * 5000 calls: V8 tiers code up (Sparkplug, Maglev, TurboFan) over thousands of calls, and the
 * steady state is what compares with C. Returns µs per call for each batch.
 */
function timeBatches(cycles, batches, once) {
  const us = [];
  let check = 0;
  for (let i = 0; i < Math.max(5000, cycles); i++) check += once(i % cycles);
  for (let b = 1; b <= batches; b++) {
    const t0 = nowNs();
    for (let i = 0; i < cycles; i++) check += once(i);
    const t1 = nowNs();
    us.push((t1 - t0) / 1e3 / cycles);
  }
  return { samples: us, check };
}

const PAGE = 4096;
// Calls before a batched msync measurement starts: V8 tiers code up over thousands of calls.
const WARM_CALLS = 10000;

/**
 * Bulk write (`buf.fill`) or, with `copy`, bulk copy-in (`buf.set` of a private source, a
 * memmove) of all `size` bytes of `buf`, `reps` timed reps after one that faults the pages in.
 * Returns GB/s per rep. Our runner and the Node peers' time this one loop, so a gap between
 * them is the mapping's, not the loop's; each runner is its own process, so V8 sees one caller.
 */
function timeBulk(buf, size, copy, reps) {
  const src = copy ? sourceBuffer(size) : null;
  const samples = [];
  let check = 0;
  for (let r = 0; r <= reps; r++) {
    const value = (r & 0x7f) | 1;
    if (src) src[r] = value;
    const t0 = nowNs();
    if (src) buf.set(src);
    else buf.fill(value);
    const t1 = nowNs();
    check += buf[r] + buf[size - 1];
    if (r > 0) samples.push(size / (t1 - t0));
  }
  return { samples, check };
}

/**
 * First touch: one write per page of a fresh segment from `open()` (which returns its `buf` and
 * a `close`), `reps` timed reps after one that warms the loop up. Returns ns and minor faults
 * per page for each rep.
 */
function timeFirstTouch(open, size, reps) {
  const pages = size / PAGE;
  const samples = [],
    faults = [];
  let check = 0;
  for (let r = 0; r <= reps; r++) {
    const t = open();
    const buf = t.buf;
    const f0 = minorFaults();
    const t0 = nowNs();
    for (let i = 0; i < size; i += PAGE) buf[i] = 1;
    const t1 = nowNs();
    const f1 = minorFaults();
    check += buf[size - PAGE];
    if (r > 0) {
      samples.push((t1 - t0) / pages);
      faults.push((f1 - f0) / pages);
    }
    t.close();
  }
  return { samples, faults, check };
}

module.exports = {
  PAGE,
  WARM_CALLS,
  nowNs,
  minorFaults,
  emit,
  skip,
  sourceBuffer,
  runMain,
  timeBatches,
  timeBulk,
  timeFirstTouch,
};

/** Round trips per second in windows of 100 ms, the first one warm-up (as bench.c does). */
class Windows {
  constructor(seconds) {
    this.start = this.windowStart = nowNs();
    this.end = this.start + seconds * 1e9 + Windows.NS;
    this.trips = 0;
    this.inWindow = 0;
    this.rates = [];
  }

  /** Counts `trips` more; returns false when time is up. */
  tick(trips) {
    this.trips += trips;
    this.inWindow += trips;
    const t = nowNs();
    if (t - this.windowStart >= Windows.NS) {
      if (this.windowStart > this.start) this.rates.push(this.inWindow / ((t - this.windowStart) / 1e9));
      this.windowStart = t;
      this.inWindow = 0;
    }
    return t < this.end;
  }

  result() {
    return { samples: this.rates, trips: this.trips };
  }
}
Windows.NS = 1e8;
module.exports.Windows = Windows;
