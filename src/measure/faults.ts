// Page-fault counting around a piece of code: the instrument behind the faults notebook.
//
// Keeping the window tight: everything that allocates or syscalls besides the code measured
// (mincore's vector, result objects) happens outside the two getrusage reads, and getrusage
// itself is warmed up first so its first (JIT-compiling, allocating) call is not inside the
// window. What is left is what the JavaScript engine does on its own while `fn` runs (a GC
// that grows the heap, a compiler thread): a handful of faults, which is why large runs are
// compared with C, not single pages.
import { ERR_INVALID_ARG_VALUE } from "../codes";
import { validateFunction, validateOptions } from "../validators";
import { JUPYTER_DISPLAY } from "../display/mime";
import { validateRegion, type Region } from "../sys/region";
import { countResident, mincore } from "../sys/mman";
import { RUSAGE_SELF, RUSAGE_THREAD, readFaultCounters, type FaultCounters } from "./rusage";

export type { FaultCounters } from "./rusage";

/**
 * A snapshot of this process's page-fault counters (getrusage RUSAGE_SELF ru_minflt/ru_majflt).
 *
 * @example
 * {@includeCode ../../docs/examples/faults.ts}
 */
export function faults(): FaultCounters {
  return readFaultCounters(RUSAGE_SELF);
}

/**
 * What `measure` watches besides faults and time: a mapping's residency, and whether to count this thread
 * only.
 */
export interface MeasureOptions {
  /** A Mapping or Attachment whose pages are checked with mincore before and after `fn`. */
  mapping?: Region;
  /** Count only the calling thread's faults (RUSAGE_THREAD), leaving out V8's helper threads. Default false. */
  threadOnly?: boolean;
}

/** What mincore says about the mapping before and after the measured call. */
export interface ResidencyChange {
  /** Pages the mapping spans. */
  pages: number;
  residentBefore: number;
  residentAfter: number;
  /** Pages not resident before and resident after. */
  becameResident: number;
  /** Pages resident before and not after (dropped by the call, e.g. MADV_DONTNEED). */
  evicted: number;
}

/** What measure() returns. */
export class Measurement<T = unknown> {
  /** Minor faults during the call. */
  minor: number;
  /** Major faults during the call. */
  major: number;
  /** Wall time of the call in nanoseconds (process.hrtime.bigint). */
  ns: number;
  /** The same in milliseconds. */
  ms: number;
  /** Present when a mapping was given. */
  residency?: ResidencyChange;
  /** What `fn` returned. */
  value: T;

  constructor(minor: number, major: number, ns: number, value: T, residency?: ResidencyChange) {
    this.minor = minor;
    this.major = major;
    this.ns = ns;
    this.ms = ns / 1e6;
    if (residency) this.residency = residency;
    this.value = value;
  }

  /** In the kernel: the one-line summary. */
  [JUPYTER_DISPLAY](): Record<string, string> {
    return { "text/plain": this.toString() };
  }

  /** One line: faults, time and residency change. */
  toString(): string {
    const r = this.residency;
    const res = r ? `, ${r.becameResident} of ${r.pages} pages became resident` : "";
    return `Measurement { minor faults: ${this.minor}, major faults: ${this.major}, ${this.ms.toFixed(3)} ms${res} }`;
  }
}

let warmed = false;
function warmUp(): void {
  if (warmed) return;
  for (let i = 0; i < 3; i++) {
    readFaultCounters(RUSAGE_SELF);
    readFaultCounters(RUSAGE_THREAD);
    process.hrtime.bigint();
  }
  warmed = true;
}

/**
 * Runs `fn` once and returns the page faults it caused (minor, major), its wall time and,
 * when `{ mapping }` is given, how many of that mapping's pages became resident (mincore).
 * `fn` must be synchronous: a promise's work would happen outside the window.
 */
export function measure<T>(fn: () => T, options?: MeasureOptions): Measurement<T> {
  validateFunction(fn, "fn");
  const opts = validateOptions<MeasureOptions>(options, "options");
  const region = opts.mapping === undefined ? undefined : validateRegion(opts.mapping, "options.mapping");
  const who = opts.threadOnly ? RUSAGE_THREAD : RUSAGE_SELF;
  warmUp();
  const before = region ? mincore(region) : null;

  const f0 = readFaultCounters(who);
  const t0 = process.hrtime.bigint();
  const value = fn();
  const t1 = process.hrtime.bigint();
  const f1 = readFaultCounters(who);

  if (value !== null && typeof value === "object" && typeof (value as { then?: unknown }).then === "function") {
    throw new ERR_INVALID_ARG_VALUE(
      "fn",
      fn,
      "must be synchronous: it returned a promise, whose work would not be counted",
    );
  }
  let change: ResidencyChange | undefined;
  if (region && before) {
    const after = mincore(region);
    let became = 0;
    let evicted = 0;
    for (let i = 0; i < after.length; i++) {
      if (after[i] && !before[i]) became++;
      else if (!after[i] && before[i]) evicted++;
    }
    change = {
      pages: after.length,
      residentBefore: countResident(before),
      residentAfter: countResident(after),
      becameResident: became,
      evicted,
    };
  }
  return new Measurement(f1.minor - f0.minor, f1.major - f0.major, Number(t1 - t0), value, change);
}
