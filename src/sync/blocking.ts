// Blocking waits that signals can still end (SharedWord.wait, ShmLock.lock), as C's do.
//
// A JavaScript thread blocked in the kernel runs no signal listener (Node runs them on its
// event loop), and a futex wait restarts after libuv's handler (SA_RESTART). So once the library
// listened to SIGINT, SIGTERM and SIGHUP (from the first object a process creates: its cleanup),
// a process blocked for good was deaf to all three, Ctrl-C and a closed terminal included; and a
// notebook cell blocked so was deaf to the interrupt button. Only SIGKILL, or a restart, ended it.
//
// - In the kernel (the host handles interrupts) a wait goes in slices of BLOCKING_SLICE_MS:
//   between two, V8 ends the code an interrupt stopped (tslab runs a cell with breakOnSigint;
//   kernel/interrupt.js's watchdog stops the code after an await).
// - Elsewhere, with a listener of ours, a wait that outlasts its first slice goes on with our
//   listeners off (lifecycle's withDefaultSignals): a signal then ends the process as it ends a
//   C program blocked in the same call, and what it created is left to reap(), as after SIGKILL.
//   A signal that came during the first slice is lost with our listeners (a second one ends it).
// - With no listener of ours, the wait is one call without a limit, as before: a slice arms a
//   timer in the kernel, 10-14% of a ping-pong's round trips on one CPU on this VM.
// - For the same reason, a futex wait without a limit whose first slice the slice watchdog can
//   end (src/sync/slice-watchdog.ts: a thread, started by the second such wait of one synchronous
//   run) sleeps without a timer: the watchdog wakes it after 50-100 ms, and it goes on as after
//   a timed slice.
import { performance } from "perf_hooks";
import type { Pointer } from "../ffi/libc";
import { hostHandlesInterrupts, listensToSignals, withDefaultSignals } from "../process/lifecycle";
import { NOT_WATCHED, endSleep, watchSleep } from "./slice-watchdog";

/** How long one blocking attempt lasts where it must come back to JavaScript. */
export const BLOCKING_SLICE_MS = 100;

/**
 * Calls `attempt(ms)` until it returns a result, or until `timeoutMs` has passed (then
 * undefined). `attempt` blocks for at most `ms` milliseconds (null: without a limit) and returns
 * undefined when its time ran out first. `futexWord`: the address `attempt` sleeps on with
 * FUTEX_WAIT, when it does; its first slice may then be ended by the slice watchdog instead of a
 * timer (an attempt whose sleep that ended returns a result that is ignored).
 */
export function blockUntil<T>(
  attempt: (ms: number | null) => T | undefined,
  timeoutMs: number,
  futexWord?: Pointer,
): T | undefined {
  const deadline = timeoutMs === Infinity ? Infinity : performance.now() + timeoutMs;
  const sliced = hostHandlesInterrupts();
  if (!sliced && !listensToSignals()) return attemptUntil(attempt, deadline, Infinity);
  const first =
    futexWord !== undefined && !sliced && deadline === Infinity
      ? firstSliceWatched(attempt, futexWord)
      : attempt(Math.min(BLOCKING_SLICE_MS, timeLeft(deadline)));
  if (first !== undefined || timeLeft(deadline) === 0) return first;
  return sliced
    ? attemptUntil(attempt, deadline, BLOCKING_SLICE_MS)
    : withDefaultSignals(() => attemptUntil(attempt, deadline, Infinity));
}

// Milliseconds until `deadline` (performance.now()'s clock), Infinity for none. A function of
// the deadline, not a closure over it: a ping-pong waits some 300,000 times a second, and what
// each wait allocates is memory the next one touches for the first time.
function timeLeft(deadline: number): number {
  return deadline === Infinity ? Infinity : Math.max(0, deadline - performance.now());
}

function attemptUntil<T>(
  attempt: (ms: number | null) => T | undefined,
  deadline: number,
  slice: number,
): T | undefined {
  for (;;) {
    const ms = Math.min(slice, timeLeft(deadline));
    const result = attempt(ms === Infinity ? null : ms);
    if (result !== undefined || timeLeft(deadline) === 0) return result;
  }
}

/** The first slice of a futex wait without a limit: untimed if the watchdog can end it, else timed. */
function firstSliceWatched<T>(attempt: (ms: number | null) => T | undefined, futexWord: Pointer): T | undefined {
  const ticket = watchSleep(futexWord);
  if (ticket === NOT_WATCHED) return attempt(BLOCKING_SLICE_MS);
  let result: T | undefined;
  try {
    result = attempt(null);
  } finally {
    // Woken by the watchdog: the slice is over, whatever the attempt made of the wake.
    if (endSleep(ticket)) result = undefined;
  }
  return result;
}
