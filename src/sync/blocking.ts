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
//   timer in the kernel, ~3% of a ping-pong's round trips on one CPU.
import { performance } from "perf_hooks";
import { hostHandlesInterrupts, listensToSignals, withDefaultSignals } from "../process/lifecycle";

/** How long one blocking attempt lasts where it must come back to JavaScript. */
export const BLOCKING_SLICE_MS = 100;

/**
 * Calls `attempt(ms)` until it returns a result, or until `timeoutMs` has passed (then
 * undefined). `attempt` blocks for at most `ms` milliseconds (null: without a limit) and returns
 * undefined when its time ran out first.
 */
export function blockUntil<T>(attempt: (ms: number | null) => T | undefined, timeoutMs: number): T | undefined {
  const deadline = timeoutMs === Infinity ? Infinity : performance.now() + timeoutMs;
  const left = () => (deadline === Infinity ? Infinity : Math.max(0, deadline - performance.now()));
  const sliced = hostHandlesInterrupts();
  if (!sliced && !listensToSignals()) return attemptUntil(attempt, left, Infinity);
  const first = attempt(Math.min(BLOCKING_SLICE_MS, left()));
  if (first !== undefined || left() === 0) return first;
  return sliced
    ? attemptUntil(attempt, left, BLOCKING_SLICE_MS)
    : withDefaultSignals(() => attemptUntil(attempt, left, Infinity));
}

function attemptUntil<T>(
  attempt: (ms: number | null) => T | undefined,
  left: () => number,
  slice: number,
): T | undefined {
  for (;;) {
    const ms = Math.min(slice, left());
    const result = attempt(ms === Infinity ? null : ms);
    if (result !== undefined || left() === 0) return result;
  }
}
