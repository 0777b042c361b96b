// getrusage(2) reduced to what the instruments need: the page-fault counters.
// This file and pagecache.ts are the only measure/ files that call the libc table directly
// (getrusage and posix_fadvise have no C-shaped wrapper in sys/).
import { fn, type RawRusage } from "../ffi/libc";
import { throwErrno } from "../errors";

export const RUSAGE_SELF = 0;
export const RUSAGE_THREAD = 1;

/** Page faults counted by the kernel so far. */
export interface FaultCounters {
  /** Faults served without I/O (ru_minflt): a page already in memory, or a fresh zero page. */
  minor: number;
  /** Faults that had to read from disk (ru_majflt). */
  major: number;
}

// One reusable out-struct: the measured window must not allocate more than it has to.
const out = {} as RawRusage;

/** ru_minflt/ru_majflt of this process (RUSAGE_SELF, all threads) or of the calling thread only. */
export function readFaultCounters(who: number = RUSAGE_SELF): FaultCounters {
  if (fn.getrusage(who, out) !== 0) throwErrno("getrusage");
  return { minor: Number(out.ru_minflt), major: Number(out.ru_majflt) };
}
