// A 32-bit word in shared memory that processes can wait on and wake each other through:
// Atomics for the value, futex(2) for the sleeping, without FUTEX_PRIVATE_FLAG so waiters and
// wakers may be different processes. What C does with `syscall(SYS_futex, …)`.
//
// The Atomics work on the region's Buffer although it is not a SharedArrayBuffer: V8 emits the
// same locked instructions for both (the multi-process tests check that no increment is lost).
import { constants as osConstants } from "os";
import { errno as lastErrno, fn, type Pointer } from "../ffi/libc";
import { ipcErrorFromErrno } from "../errors";
import { ERR_INVALID_ARG_VALUE } from "../codes";
import { validateInt32, validateOptions } from "../validators";
import type { Region } from "../sys/region";
import { checkBeforeEachUse, checkPlacement } from "./placement";
import { blockUntil } from "./blocking";
import { checkWaitOptions, retryUntil, type WaitOptions } from "./waiting";
import { FUTEX_WAIT, FUTEX_WAKE, SYS_futex, WAKE_ALL } from "./futex";

const { EAGAIN, EINTR, ETIMEDOUT } = osConstants.errno;

/** Like Atomics.wait: woken ("ok"), the value was not `expected` ("not-equal"), or "timed-out". */
export type WaitResult = "ok" | "not-equal" | "timed-out";

/** Where a SharedWord counts its sleepers, if anywhere. */
export interface SharedWordOptions {
  /**
   * The offset (in the same region) of a second 32-bit word that counts who sleeps on this one.
   * `wait` adds 1 to it before it sleeps and takes it away after; `notify` makes no system call
   * while it is 0. This is how glibc's semaphores and condition variables skip a wake that
   * nobody needs, and it is a protocol: every process that waits on the word (or notifies it)
   * must keep the same count, C ones with `atomic_fetch_add`/`atomic_fetch_sub` around their
   * `FUTEX_WAIT` (a waiter that does not count itself may sleep through a notify). Change the
   * value with the atomic operations (`store`, `add`, ...), never with a plain write.
   */
  waitersAt?: number;
}

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
 * `notify(count?)` wakes waiters. With `{ waitersAt }` a second word counts the sleepers, and a
 * notify that finds nobody asleep is free (a ping-pong makes a third fewer system calls).
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
  /** The offset of the word that counts its sleepers (options.waitersAt), or null. */
  readonly waitersAt: number | null;
  readonly #cell: Int32Array;
  readonly #waiters: Int32Array | null;
  /** Detached, read-only, past a file's end: checked before each use, since a futex on such memory faults. */
  readonly #check: () => void;

  /**
   * The word at `offset` of shared memory (an Attachment, or a MAP_SHARED Mapping). Its value
   * is left as it is, and so is the count at `options.waitersAt` (zero it once, before anyone waits).
   */
  constructor(region: Region, offset = 0, options?: SharedWordOptions) {
    const at = checkPlacement(region, offset, SharedWord.SIZE, SharedWord.ALIGN, "shared word");
    const { waitersAt } = validateOptions<SharedWordOptions>(options, "options");
    let count: number | null = null;
    if (waitersAt !== undefined) {
      count = checkPlacement(region, waitersAt, 4, SharedWord.ALIGN, "shared word's waiter count");
      if (count === at)
        throw new ERR_INVALID_ARG_VALUE("options.waitersAt", count, "must not be the word's own offset");
    }
    this.region = region;
    this.offset = at;
    this.waitersAt = count;
    this.address = region.address + BigInt(at);
    const buf = region.buffer;
    this.#cell = new Int32Array(buf.buffer, buf.byteOffset + at, 1);
    this.#waiters = count === null ? null : new Int32Array(buf.buffer, buf.byteOffset + count, 1);
    // One check over both words (and what lies between: a file truncated there has cut the far one off).
    const from = count === null ? at : Math.min(at, count);
    const to = count === null ? at + 4 : Math.max(at, count) + 4;
    this.#check = checkBeforeEachUse(region, "shared word", from, to - from);
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
    const waiters = this.#waiters;
    if (waiters === null) return this.#sleep(expected, timeoutMs);
    // Counted. Look first: a word that already moved costs no system call. Then count ourselves
    // before the futex looks again (in the kernel, under its lock): a notify that stores after
    // that look sees the count, since both sides are sequentially consistent, and one that stored
    // before it makes the futex return at once.
    if (Atomics.load(this.#cell, 0) !== expected) return "not-equal";
    Atomics.add(waiters, 0, 1);
    try {
      return this.#sleep(expected, timeoutMs);
    } finally {
      Atomics.sub(waiters, 0, 1);
    }
  }

  #sleep(expected: number, timeoutMs: number): WaitResult {
    this.#expected = expected;
    this.#slept = false;
    return blockUntil(this.#attempt, timeoutMs, this.address) ?? "timed-out";
  }

  // The wait in progress (one at a time: the thread is blocked in it), for #attempt: state on
  // the word, not a closure made for each wait (see timeLeft in ./blocking.ts).
  #expected = 0;
  #slept = false;

  /** One futex wait of at most `ms` (null: no limit) while the word holds #expected. */
  readonly #attempt = (ms: number | null): WaitResult | undefined => {
    const expected = this.#expected;
    const rc = fn.syscall_futex_wait(
      SYS_futex,
      this.address,
      FUTEX_WAIT,
      expected,
      ms === null ? null : setTimeoutMs(ms),
    );
    if (rc === 0) {
      this.#slept = true; // woken; if by the slice watchdog, blockUntil asks again
      return "ok";
    }
    const e = lastErrno();
    if (e === EAGAIN) return this.#slept ? "ok" : "not-equal";
    if (e !== ETIMEDOUT && e !== EINTR) throw ipcErrorFromErrno(e, "futex");
    // Its time ran out, or a signal handler ran: woken if the value moved, else sleep on.
    this.#slept = true;
    return Atomics.load(this.#cell, 0) !== expected ? "ok" : undefined;
  };

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
    const waiting = () =>
      retryUntil(attempt, opts, `waiting on the shared word at offset ${this.offset}`, () => "timed-out" as const);
    const waiters = this.#waiters;
    if (waiters === null) return waiting();
    // Counted before the first slice sleeps, uncounted once the wait ends, unless the region
    // went meanwhile (then its memory is no longer ours to touch).
    Atomics.add(waiters, 0, 1);
    return waiting().finally(() => {
      if (this.region.attached) Atomics.sub(waiters, 0, 1);
    });
  }

  /** Wakes up to `count` waiters (default: all), in any process. Returns how many were woken. */
  notify(count = Infinity): number {
    const n = count === Infinity ? WAKE_ALL : validateInt32(count, "count", 0);
    this.#check();
    if (this.#waiters !== null && Atomics.load(this.#waiters, 0) === 0) return 0;
    const rc = fn.syscall_futex_wake(SYS_futex, this.address, FUTEX_WAKE, n);
    if (rc < 0) throw ipcErrorFromErrno(lastErrno(), "futex");
    return Number(rc);
  }

  /** One line for logs: where the word lives and its value. */
  toString(): string {
    const attached = this.region.attached;
    const waiters =
      this.#waiters === null
        ? ""
        : `, waiters: ${attached ? Atomics.load(this.#waiters, 0) : "(detached)"} at ${this.waitersAt}`;
    return `SharedWord { offset: ${this.offset}, value: ${attached ? Atomics.load(this.#cell, 0) : "(detached)"}${waiters} }`;
  }
}
