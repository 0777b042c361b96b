// getrusage(2) reduced to what the instruments need: the page-fault counters.
import { RUSAGE_SELF, RUSAGE_THREAD, getrusage } from "../sys/resource";

export { RUSAGE_SELF, RUSAGE_THREAD };

/** Page faults counted by the kernel so far. */
export interface FaultCounters {
  /** Faults served without I/O (ru_minflt): a page already in memory, or a fresh zero page. */
  minor: number;
  /** Faults that had to read from disk (ru_majflt). */
  major: number;
}

/** ru_minflt/ru_majflt of this process (RUSAGE_SELF, all threads) or of the calling thread only. */
export function readFaultCounters(who: number = RUSAGE_SELF): FaultCounters {
  const usage = getrusage(who);
  return { minor: Number(usage.ru_minflt), major: Number(usage.ru_majflt) };
}
