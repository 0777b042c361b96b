// A process-shared, robust mutex living inside shared memory: a pthread_mutex_t initialised
// with PTHREAD_PROCESS_SHARED and PTHREAD_MUTEX_ROBUST, as C programs do. "Mutual exclusion
// must be provided by processes using the shared memory" (the lecture): this is how.
//
// - Robust: if the holder dies (even by SIGKILL) the kernel marks the mutex; the next locker
//   gets it with `ownerDied: true` (EOWNERDEAD), the mutex is made consistent again, and the
//   caller can repair what the lock protects.
// - Error-checking: locking it again from the process that holds it says EDEADLK instead of
//   hanging forever; unlocking a lock this process does not hold says EPERM.
// - All calls run on the JavaScript thread, which is the owner glibc and the kernel see (the
//   owner is a thread id: the main thread's id is the pid).
import { constants as osConstants } from "os";
import { fn, type Pointer } from "../ffi/libc";
import { IpcError, ipcErrorFromErrno } from "../errors";
import { validateFunction, validateOptions } from "../validators";
import type { Region } from "../sys/region";
import { checkBeforeEachUse, checkPlacement } from "./placement";
import { BLOCKING_SLICE_MS, blockUntil } from "./blocking";
import { LATER, checkWaitOptions, retryUntil, type WaitOptions } from "./waiting";

const { EBUSY, EDEADLK, EINVAL, EPERM, ETIMEDOUT } = osConstants.errno;
// Linux's values; os.constants.errno does not list these two.
const EOWNERDEAD = 130;
const ENOTRECOVERABLE = 131;

const PTHREAD_PROCESS_SHARED = 1;
const PTHREAD_MUTEX_ROBUST = 1;
const PTHREAD_MUTEX_ERRORCHECK = 2;
// glibc's __kind field (offset 16 on x86_64 and aarch64) after init with the attributes above.
const KIND_OFFSET = 16;
const KIND_ROBUST = 16;
const KIND_PSHARED = 128;
// The robust-futex word (offset 0) holds the owner's thread id in its low 30 bits (kernel ABI).
const FUTEX_TID_MASK = 0x3fffffff;

/** `abstime` set `ms` from now on CLOCK_REALTIME, the clock of pthread_mutex_timedlock's deadline. */
function deadlineIn(abstime: { tv_sec: number; tv_nsec: number }, ms: number): { tv_sec: number; tv_nsec: number } {
  const until = Date.now() + ms;
  abstime.tv_sec = Math.floor(until / 1000);
  abstime.tv_nsec = Math.floor((until % 1000) * 1e6);
  return abstime;
}

/** What a successful lock tells the caller. */
export interface LockStatus {
  /** The previous holder died holding the lock; what it protects may be half-updated. */
  readonly ownerDied: boolean;
}

// Preallocated, so locking allocates nothing.
const ALIVE: LockStatus = Object.freeze({ ownerDied: false });
const DIED: LockStatus = Object.freeze({ ownerDied: true });

/** Options of `ShmLock.init`/`open`. */
export interface ShmLockOptions {
  /** Called (holding the lock) when a lock call finds that the previous holder died; repair the protected state here. */
  onOwnerDied?: (lock: ShmLock) => void;
}

// Locks this process holds, kept reachable so their memory (and glibc's robust list running
// through it) stays mapped until unlock even if the program drops its last reference.
const heldHere = new Set<ShmLock>();

/**
 * A process-shared, robust, error-checking `pthread_mutex_t` inside shared memory (a segment or a shared
 * mapping): "mutual exclusion must be provided by processes using the shared memory". If the holder dies,
 * even by SIGKILL, the next locker gets `{ ownerDied: true }` and can repair what the lock protects;
 * relocking from the holder throws `EDEADLK`, unlocking a lock one does not hold `EPERM`. It takes
 * `ShmLock.SIZE` bytes at an offset that is a multiple of 8. `init` makes one, `open` uses it in another
 * process; `lock`/`unlock`/`tryLock`/`withLockSync` block (child processes), `acquire`/`withLock` wait
 * without blocking the kernel.
 *
 * @example
 * {@includeCode ../../docs/examples/ShmLock.ts}
 */
export class ShmLock {
  /** sizeof(pthread_mutex_t): 40 bytes on x86_64, 48 on aarch64. */
  static readonly SIZE: number = process.arch === "arm64" ? 48 : 40;
  /** Required alignment of the offset. */
  static readonly ALIGN = 8;

  readonly region: Region;
  readonly offset: number;
  /** The mutex's address in this process: region.address + offset. */
  readonly address: Pointer;
  /** Called (holding the lock) when a lock call finds that the previous holder died; repair the protected state here. */
  onOwnerDied: ((lock: ShmLock) => void) | undefined;
  /** The robust futex word (the first 4 bytes of the mutex): the owner's thread id. */
  readonly #futexWord: Int32Array;
  /** Detached, read-only, past a file's end: checked before each call, since pthread on such memory faults. */
  readonly #check: () => void;

  private constructor(region: Region, offset: number, options: ShmLockOptions) {
    this.region = region;
    this.offset = offset;
    this.address = region.address + BigInt(offset);
    this.onOwnerDied = options.onOwnerDied;
    // Taking a view makes a later detach/unmap leave a placeholder instead of a hole, so
    // glibc's robust list can never point into unmapped memory.
    const buf = region.buffer;
    this.#futexWord = new Int32Array(buf.buffer, buf.byteOffset + offset, 1);
    this.#check = checkBeforeEachUse(region, "lock", offset, ShmLock.SIZE);
  }

  /**
   * Initialises a new lock at `offset` in shared memory (once, by one process, before others
   * open it; never while anyone uses it). Returns it unlocked.
   */
  static init(region: Region, offset = 0, options?: ShmLockOptions): ShmLock {
    const at = checkPlacement(region, offset, ShmLock.SIZE, ShmLock.ALIGN, "lock");
    const opts = checkLockOptions(options);
    const attr = Buffer.alloc(16); // pthread_mutexattr_t is 4 bytes; room to spare
    throwIfError(fn.pthread_mutexattr_init(attr), "pthread_mutexattr_init");
    try {
      throwIfError(fn.pthread_mutexattr_settype(attr, PTHREAD_MUTEX_ERRORCHECK), "pthread_mutexattr_settype");
      throwIfError(fn.pthread_mutexattr_setpshared(attr, PTHREAD_PROCESS_SHARED), "pthread_mutexattr_setpshared");
      throwIfError(fn.pthread_mutexattr_setrobust(attr, PTHREAD_MUTEX_ROBUST), "pthread_mutexattr_setrobust");
      throwIfError(fn.pthread_mutex_init(region.address + BigInt(at), attr), "pthread_mutex_init");
    } finally {
      fn.pthread_mutexattr_destroy(attr);
    }
    return new ShmLock(region, at, opts);
  }

  /** The lock another process initialised at `offset` of the same shared memory. */
  static open(region: Region, offset = 0, options?: ShmLockOptions): ShmLock {
    const at = checkPlacement(region, offset, ShmLock.SIZE, ShmLock.ALIGN, "lock");
    const opts = checkLockOptions(options);
    const kind = region.buffer.readInt32LE(at + KIND_OFFSET);
    if ((kind & (KIND_ROBUST | KIND_PSHARED)) !== (KIND_ROBUST | KIND_PSHARED)) {
      throw new IpcError(
        "EINVAL",
        `EINVAL: invalid argument, no process-shared robust lock at offset ${at} (call ShmLock.init there first)`,
        { errno: EINVAL },
      );
    }
    return new ShmLock(region, at, opts);
  }

  /**
   * Blocks until the lock is ours (for child processes and benchmarks; in a notebook cell use
   * `acquire`, though an interrupt stops this one too, within 0.1 s: src/sync/blocking.ts).
   */
  lock(): LockStatus {
    this.#check();
    // Free (or its holder died, or it is ours: EDEADLK): what pthread_mutex_lock would say at once.
    const rc = fn.pthread_mutex_lock_first(this.address);
    if (rc !== EBUSY) return this.locked(rc, "pthread_mutex_lock");
    // Held: wait in timed locks, each of a slice at most (no limit: a slice too, the signals then
    // at their default; src/sync/blocking.ts).
    const abstime = { tv_sec: 0, tv_nsec: 0 };
    return blockUntil((ms) => {
      const timed = fn.pthread_mutex_timedlock(this.address, deadlineIn(abstime, ms ?? BLOCKING_SLICE_MS));
      return timed === ETIMEDOUT ? undefined : this.locked(timed, "pthread_mutex_lock");
    }, Infinity)!;
  }

  /** Takes the lock if it is free: its status, or null when someone holds it. */
  tryLock(): LockStatus | null {
    this.#check();
    const rc = fn.pthread_mutex_trylock(this.address);
    // Held by someone else (EBUSY) or by this process (EDEADLK: maybe another async task).
    if (rc === EBUSY || rc === EDEADLK) return null;
    return this.locked(rc, "pthread_mutex_trylock");
  }

  /**
   * Waits for the lock without blocking the event loop for more than a slice (default 5 ms)
   * at a time and without spinning: each slice sleeps in pthread_mutex_timedlock. Rejects with
   * an IpcError: 'ETIMEDOUT' after `timeoutMs`, 'ABORT_ERR' when `signal` aborts, 'EINTR' on
   * SIGINT (a Jupyter interrupt). If another task of this same process holds it, waits for
   * that task to unlock.
   */
  acquire(options?: WaitOptions): Promise<LockStatus> {
    let opts: WaitOptions;
    try {
      opts = checkWaitOptions(options);
      this.#check();
    } catch (e) {
      return Promise.reject(e);
    }
    const abstime = { tv_sec: 0, tv_nsec: 0 };
    const attempt = (sliceMs: number): LockStatus | undefined | typeof LATER => {
      this.#check();
      const rc = fn.pthread_mutex_timedlock(this.address, deadlineIn(abstime, sliceMs));
      if (rc === ETIMEDOUT) return undefined;
      if (rc === EDEADLK) return LATER; // held by this process: its holder runs between our turns
      return this.locked(rc, "pthread_mutex_timedlock");
    };
    return retryUntil(attempt, opts, `waiting for ${this.nameInMessages()}`, () => {
      const owner = this.ownerPid;
      throw new IpcError(
        "ETIMEDOUT",
        `ETIMEDOUT: timed out after ${opts.timeoutMs} ms waiting for ${this.nameInMessages()}` +
          (owner ? ` (held by ${owner === process.pid ? "this process" : `pid ${owner}`})` : ""),
        { errno: ETIMEDOUT, syscall: "pthread_mutex_timedlock" },
      );
    });
  }

  /** Releases the lock. IpcError EPERM if this process does not hold it. */
  unlock(): void {
    this.#check();
    const rc = fn.pthread_mutex_unlock(this.address);
    if (rc !== 0) {
      if (rc === EPERM) {
        const owner = this.ownerPid;
        throw new IpcError(
          "EPERM",
          `EPERM: operation not permitted, pthread_mutex_unlock (this process does not hold ${this.nameInMessages()}` +
            `${owner ? `; pid ${owner} does` : "; nobody does"})`,
          { errno: EPERM, syscall: "pthread_mutex_unlock" },
        );
      }
      throw ipcErrorFromErrno(rc, "pthread_mutex_unlock");
    }
    heldHere.delete(this);
  }

  /** await acquire(options), run `fn`, unlock (also when `fn` throws). Returns what `fn` returns. */
  async withLock<T>(body: (status: LockStatus) => T | Promise<T>, options?: WaitOptions): Promise<T> {
    checkFunction(body);
    const status = await this.acquire(options);
    try {
      return await body(status);
    } finally {
      this.unlock();
    }
  }

  /** lock(), run `fn`, unlock (also when `fn` throws). Blocking: for child processes. */
  withLockSync<T>(body: (status: LockStatus) => T): T {
    checkFunction(body);
    const status = this.lock();
    try {
      return body(status);
    } finally {
      this.unlock();
    }
  }

  /** The pid holding the lock now (0 when free). A snapshot: it may change at once. */
  get ownerPid(): number {
    this.#check();
    return Atomics.load(this.#futexWord, 0) & FUTEX_TID_MASK;
  }

  /** Whether this process holds it. */
  get heldByMe(): boolean {
    return heldHere.has(this) || this.ownerPid === process.pid;
  }

  /** One line for logs: where the lock lives and its state. */
  toString(): string {
    const owner = this.region.attached ? this.ownerPid : 0;
    return `ShmLock { offset: ${this.offset}, ${owner ? `held by pid ${owner}` : "free"} }`;
  }

  private nameInMessages(): string {
    return `the lock at offset ${this.offset}`;
  }

  /** Turns a lock call's return code into a status or an error. */
  private locked(rc: number, call: string): LockStatus {
    if (rc === 0) {
      heldHere.add(this);
      return ALIVE;
    }
    if (rc === EOWNERDEAD) {
      // We hold it now, marked inconsistent: make it usable again, then let the caller repair.
      throwIfError(fn.pthread_mutex_consistent(this.address), "pthread_mutex_consistent");
      heldHere.add(this);
      if (this.onOwnerDied) {
        try {
          this.onOwnerDied(this);
        } catch (e) {
          this.unlock();
          throw e;
        }
      }
      return DIED;
    }
    if (rc === EDEADLK) {
      throw new IpcError(
        "EDEADLK",
        `EDEADLK: resource deadlock avoided, ${call} (this process already holds ${this.nameInMessages()})`,
        {
          errno: EDEADLK,
          syscall: call,
        },
      );
    }
    if (rc === ENOTRECOVERABLE) {
      throw new IpcError(
        "ENOTRECOVERABLE",
        `ENOTRECOVERABLE: state not recoverable, ${call} (a holder died and the next one unlocked without ` +
          `pthread_mutex_consistent; ShmLock.init it again)`,
        { errno: ENOTRECOVERABLE, syscall: call },
      );
    }
    throw ipcErrorFromErrno(rc, call);
  }
}

/** pthread calls return the error number instead of setting errno. */
function throwIfError(rc: number, call: string): void {
  if (rc !== 0) throw ipcErrorFromErrno(rc, call);
}

function checkLockOptions(options: unknown): ShmLockOptions {
  const o = validateOptions<ShmLockOptions>(options, "options");
  if (o.onOwnerDied !== undefined) validateFunction(o.onOwnerDied, "options.onOwnerDied");
  return o;
}

function checkFunction(body: unknown): void {
  validateFunction(body, "fn");
}
