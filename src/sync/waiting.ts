// Waiting without blocking a notebook: an attempt that may block the thread for a short slice
// (a futex wait, a timed mutex lock), then a turn of the event loop, again and again until it
// succeeds, times out, is aborted by an AbortSignal, or is interrupted by SIGINT (what Jupyter
// sends to interrupt a cell). The CPU sleeps in the kernel during each slice, so a long wait
// costs almost nothing, and the cell stays responsive to interrupts.
import { constants as osConstants } from "os";
import { performance } from "perf_hooks";
import { IpcError } from "../errors";
import { ERR_INVALID_ARG_TYPE } from "../codes";
import { validateInteger, validateOptions } from "../validators";
import { onInterrupt } from "../process/lifecycle";

/**
 * How long an asynchronous wait may take, and the `AbortSignal` that cancels it (an interrupt in the
 * kernel does).
 */
export interface WaitOptions {
  /** Give up after this many milliseconds (default: wait forever). */
  timeoutMs?: number;
  /** Abort the wait: the promise rejects with an IpcError whose code is 'ABORT_ERR'. */
  signal?: AbortSignal;
  /** How long one blocking attempt may hold the thread (default 5 ms). */
  sliceMs?: number;
}

/** Returned by an attempt that did not block and should be retried after a short sleep. */
export const LATER = Symbol("later");

const DEFAULT_SLICE_MS = 5;

export function checkWaitOptions(options: unknown): WaitOptions {
  const o = validateOptions<WaitOptions>(options, "options");
  if (o.timeoutMs !== undefined && o.timeoutMs !== Infinity)
    validateInteger(o.timeoutMs, "options.timeoutMs", 0, 0x7fffffff);
  if (o.sliceMs !== undefined) validateInteger(o.sliceMs, "options.sliceMs", 1, 1000);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
    throw new ERR_INVALID_ARG_TYPE("options.signal", "AbortSignal", o.signal);
  return o;
}

// ---- SIGINT interrupts pending waits ---------------------------------------------------------

const pending = new Set<(error: Error) => void>();
let stopWatching: (() => void) | null = null;

// Whether SIGINT then also ends the process is the lifecycle's policy (src/process/lifecycle.ts):
// in a kernel the host handles interrupts and the process lives; in a plain program it dies.
function onSigint(): void {
  const error = new IpcError("EINTR", "EINTR: interrupted system call (SIGINT while waiting)", {
    errno: osConstants.errno.EINTR,
  });
  for (const interrupt of [...pending]) interrupt(error);
}

function watchInterrupt(interrupt: (error: Error) => void): void {
  pending.add(interrupt);
  stopWatching ??= onInterrupt(onSigint);
}

function unwatchInterrupt(interrupt: (error: Error) => void): void {
  if (pending.delete(interrupt) && pending.size === 0 && stopWatching) {
    stopWatching();
    stopWatching = null;
  }
}

function abortError(signal: AbortSignal, what: string): IpcError {
  const error = new IpcError("ABORT_ERR", `ABORT_ERR: the operation was aborted, ${what}`);
  (error as { cause?: unknown }).cause = signal.reason;
  return error;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls `attempt(sliceMs)` until it returns a result. `undefined` means "not yet" (it already
 * blocked for the slice); LATER means "not yet, and I did not block" (we sleep a slice).
 * When the time is up, returns (or throws) what `onTimeout` gives.
 */
export async function retryUntil<T>(
  attempt: (sliceMs: number) => T | undefined | typeof LATER,
  options: WaitOptions,
  what: string,
  onTimeout: () => T,
): Promise<T> {
  const { signal } = options;
  const slice = options.sliceMs ?? DEFAULT_SLICE_MS;
  const timeout = options.timeoutMs ?? Infinity;
  const deadline = performance.now() + timeout;
  if (signal?.aborted) throw abortError(signal, what);
  // First attempt and first turn before listening to SIGINT: the call may run inside a cell's
  // synchronous part, which tslab executes with vm's breakOnSigint. Node then removes the SIGINT
  // listeners and, when the script ends, puts back a SIGINT handler that kills the process,
  // undone only if the listeners come back to an empty list. A listener added in between
  // would leave that handler in place, and the next Jupyter interrupt would kill the kernel.
  let result = attempt(Math.min(slice, Math.max(0, deadline - performance.now())));
  if (result !== undefined && result !== LATER) return result;
  let interrupted: Error | undefined;
  const interrupt = (error: Error) => {
    interrupted = error;
  };
  let watching = false;
  try {
    for (;;) {
      const remaining = Math.max(0, deadline - performance.now());
      if (result === LATER && remaining > 0) await sleep(Math.min(slice, remaining));
      else await nextTurn();
      if (!watching) {
        watchInterrupt(interrupt);
        watching = true;
      }
      if (interrupted)
        throw new IpcError("EINTR", `${interrupted.message}, ${what}`, { errno: osConstants.errno.EINTR });
      if (signal?.aborted) throw abortError(signal, what);
      if (performance.now() >= deadline) return onTimeout();
      result = attempt(Math.min(slice, Math.max(0, deadline - performance.now())));
      if (result !== undefined && result !== LATER) return result;
    }
  } finally {
    if (watching) unwatchInterrupt(interrupt);
  }
}
