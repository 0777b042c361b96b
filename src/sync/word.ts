// A 32-bit word in shared memory that processes can wait on and wake each other through:
// Atomics for the value, futex(2) for the sleeping, without FUTEX_PRIVATE_FLAG so waiters and
// wakers may be different processes. What C does with `syscall(SYS_futex, …)`.
//
// The Atomics work on the region's Buffer although it is not a SharedArrayBuffer: V8 emits the
// same locked instructions for both (the multi-process tests check that no increment is lost).
import { constants as osConstants } from "os";
import { errno as lastErrno, fn, type Pointer } from "../ffi/libc";
import { ipcErrorFromErrno } from "../errors";
import { validateInt32 } from "../validators";
import type { Region } from "../sys/region";
import { checkBeforeEachUse, checkPlacement } from "./placement";
import { blockUntil } from "./blocking";
import { checkWaitOptions, retryUntil, type WaitOptions } from "./waiting";

const SYS_futex = process.arch === "arm64" ? 98 : 202;
const FUTEX_WAIT = 0;
const FUTEX_WAKE = 1;
const { EAGAIN, EINTR, ETIMEDOUT } = osConstants.errno;

/** Like Atomics.wait: woken ("ok"), the value was not `expected` ("not-equal"), or "timed-out". */
export type WaitResult = "ok" | "not-equal" | "timed-out";

// One relative timeout for every wait of this process (the JavaScript thread is the only
// caller), written as two 64-bit little-endian fields through 32-bit halves: no allocation.
const timeout = new Int32Array(4);

function setTimeoutMs(ms: number): Int32Array {
  const sec = Math.floor(ms / 1000);
  timeout[0] = sec;
  timeout[1] = 0;
  timeout[2] = Math.floor((ms - sec * 1000) * 1e6);
  timeout[3] = 0;
  return timeout;
}

/**
 * A 32-bit word in shared memory with atomic `load`, `store`, `add`, `exchange`, `compareExchange`, and
 * futex waiting across processes: `wait(expected, timeoutMs?)` blocks (child processes),
 * `waitAsync(expected, options?)` does not (cells); both resolve `"ok"`, `"not-equal"` or `"timed-out"`;
 * `notify(count?)` wakes waiters.
 *
 * @example
 * {@includeCode ../../docs/examples/SharedWord.ts}
 */
export class SharedWord {
  static readonly SIZE = 4;
  static readonly ALIGN = 4;

  readonly region: Region;
  readonly offset: number;
  /** The word's address in this process: region.address + offset (what the futex calls get). */
  readonly address: Pointer;
  readonly #cell: Int32Array;
  /** Detached, read-only, past a file's end: checked before each use, since a futex on such memory faults. */
  readonly #check: () => void;

  /** The word at `offset` of shared memory (an Attachment, or a MAP_SHARED Mapping). Its value is left as it is. */
  constructor(region: Region, offset = 0) {
    const at = checkPlacement(region, offset, SharedWord.SIZE, SharedWord.ALIGN, "shared word");
    this.region = region;
    this.offset = at;
    this.address = region.address + BigInt(at);
    const buf = region.buffer;
    this.#cell = new Int32Array(buf.buffer, buf.byteOffset + at, 1);
    this.#check = checkBeforeEachUse(region, "shared word", at, SharedWord.SIZE);
  }

  /** Reads the word atomically. */
  load(): number {
    this.#check();
    return Atomics.load(this.#cell, 0);
  }

  /** Atomically stores `value`; returns it. Does not wake anyone: call notify(). */
  store(value: number): number {
    this.#check();
    return Atomics.store(this.#cell, 0, validateInt32(value, "value"));
  }

  /** Atomically adds `delta`; returns the value before. */
  add(delta: number): number {
    this.#check();
    return Atomics.add(this.#cell, 0, validateInt32(delta, "delta"));
  }

  /** Atomically stores `value`; returns the value before. */
  exchange(value: number): number {
    this.#check();
    return Atomics.exchange(this.#cell, 0, validateInt32(value, "value"));
  }

  /** Atomically: if the value is `expected`, replace it with `replacement`. Returns the value before. */
  compareExchange(expected: number, replacement: number): number {
    this.#check();
    return Atomics.compareExchange(
      this.#cell,
      0,
      validateInt32(expected, "expected"),
      validateInt32(replacement, "replacement"),
    );
  }

  /**
   * Sleeps while the word holds `expected`, until notify() or `timeoutMs` (default: forever).
   * Blocks the thread: for child processes and benchmarks; in a notebook cell use waitAsync
   * (there an interrupt still stops it, within 0.1 s; src/sync/blocking.ts). As with every futex,
   * "ok" may come without a change of value: wait in a loop that checks it.
   */
  wait(expected: number, timeoutMs = Infinity): WaitResult {
    validateInt32(expected, "expected");
    if (timeoutMs !== Infinity) validateInt32(timeoutMs, "timeoutMs", 0);
    this.#check();
    let first = true;
    const woken = blockUntil((ms): WaitResult | undefined => {
      const rc = fn.syscall_futex_wait(
        SYS_futex,
        this.address,
        FUTEX_WAIT,
        expected,
        ms === null ? null : setTimeoutMs(ms),
      );
      if (rc === 0) return "ok";
      const e = lastErrno();
      if (e === EAGAIN) return first ? "not-equal" : "ok";
      if (e !== ETIMEDOUT && e !== EINTR) throw ipcErrorFromErrno(e, "futex");
      // Its time ran out, or a signal handler ran: woken if the value moved, else sleep on.
      first = false;
      return Atomics.load(this.#cell, 0) !== expected ? "ok" : undefined;
    }, timeoutMs);
    return woken ?? "timed-out";
  }

  /**
   * Waits while the word holds `expected` without blocking the event loop: futex waits of one
   * slice (default 5 ms) with a turn of the event loop between them. Resolves "not-equal" at
   * once if the value differs, "ok" when woken or changed, "timed-out" after `timeoutMs`;
   * rejects with an IpcError 'ABORT_ERR' (options.signal) or 'EINTR' (SIGINT: a Jupyter interrupt).
   */
  waitAsync(expected: number, options?: WaitOptions): Promise<WaitResult> {
    let opts: WaitOptions;
    try {
      validateInt32(expected, "expected");
      opts = checkWaitOptions(options);
      if (this.load() !== expected) return Promise.resolve("not-equal");
    } catch (e) {
      return Promise.reject(e);
    }
    const attempt = (sliceMs: number): WaitResult | undefined => {
      this.#check();
      const rc = fn.syscall_futex(SYS_futex, this.address, FUTEX_WAIT, expected, setTimeoutMs(sliceMs), null, 0);
      if (rc === 0) return "ok";
      const e = lastErrno();
      if (e === EAGAIN) return "ok"; // it changed since we looked
      if (e === ETIMEDOUT || e === EINTR) return Atomics.load(this.#cell, 0) !== expected ? "ok" : undefined;
      throw ipcErrorFromErrno(e, "futex");
    };
    return retryUntil(attempt, opts, `waiting on the shared word at offset ${this.offset}`, () => "timed-out" as const);
  }

  /** Wakes up to `count` waiters (default: all), in any process. Returns how many were woken. */
  notify(count = Infinity): number {
    const n = count === Infinity ? 0x7fffffff : validateInt32(count, "count", 0);
    this.#check();
    const rc = fn.syscall_futex_wake(SYS_futex, this.address, FUTEX_WAKE, n);
    if (rc < 0) throw ipcErrorFromErrno(lastErrno(), "futex");
    return Number(rc);
  }

  /** One line for logs: where the word lives and its value. */
  toString(): string {
    return `SharedWord { offset: ${this.offset}, value: ${this.region.attached ? Atomics.load(this.#cell, 0) : "(detached)"} }`;
  }
}
