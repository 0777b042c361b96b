// Counting the library's calls into libc: the spy behind checks that must see the technique
// (a notebook check that wants "one msync(MS_SYNC)", not only the right bytes in the file).
//
// Invariants:
// - Counting happens at the one koffi table (`fn` in ffi/libc.ts), so every path through the
//   library is seen: msync() and Mapping.sync(), mmap() and mapFile(), the lock's
//   pthread_mutex_lock. Calls a program makes without the library (fs.readFileSync) are not
//   calls into this table, which is the point.
// - While no counter is active the table holds the original functions: no cost outside a spy.
// - Several counters may be active at once; each sees every call made while it is active.
//   A stand-in (a replacement function, for "break it" exercises and tests that must show a
//   check fails without the call) belongs to one counter and ends with it.
import fs from "fs";
import { fn } from "../ffi/libc";
import { JUPYTER_DISPLAY } from "../display/mime";
import { MAP_FIXED } from "./constants";
import {
  validateFunction,
  validateInteger,
  validateObject,
  validateOneOf,
  validateOptions,
  validateStringArray,
} from "../validators";

type TableKey = keyof typeof fn;
type AnyFunction = (...args: unknown[]) => unknown;

/** C names whose calls go through more than one entry of the table (or an entry named otherwise). */
const ALIASES: Record<string, TableKey[]> = {
  shmctl: ["shmctl_buf", "shmctl_nobuf"],
  futex: ["syscall_futex", "syscall_futex_wait", "syscall_futex_wake"],
  // Releasing memory a Buffer view still points into replaces the range in place with an
  // anonymous placeholder (a real MAP_FIXED mmap, see sys/region.ts) instead of munmap/shmdt:
  // those mmap calls count as the munmap or shmdt they stand for, never as mmap.
  munmap: ["munmap", "mmap"],
  shmdt: ["shmdt", "mmap"],
  // ShmLock.lock() is one pthread_mutex_lock, as in C: its first attempt is a try that counts as
  // the lock, and its waiting (timed locks of a slice, src/sync/blocking.ts) as timed locks.
  pthread_mutex_lock: ["pthread_mutex_lock", "pthread_mutex_lock_first"],
};

/** The table entries a C name is counted at. */
function keysOf(name: string): TableKey[] {
  if (Object.hasOwn(ALIASES, name)) return ALIASES[name];
  const key = `syscall_${name}`;
  if (Object.hasOwn(fn, name)) return [name as TableKey];
  if (Object.hasOwn(fn, key)) return [key as TableKey];
  return [];
}

/** The C name of a table entry: shmctl for shmctl_buf, futex for syscall_futex. */
function cNameOf(key: TableKey): string {
  if (key.startsWith("shmctl_")) return "shmctl";
  if (key.startsWith("syscall_futex")) return "futex";
  if (key.startsWith("syscall_")) return key.slice("syscall_".length);
  if (key === "pthread_mutex_lock_first") return "pthread_mutex_lock";
  return key;
}

/** What the memory at `address` is, from /proc/self/maps: a System V attachment shows as /SYSV<key>. */
function isSysvAttachment(address: unknown): boolean {
  if (typeof address !== "bigint") return false;
  const head = address.toString(16) + "-";
  try {
    const line = fs
      .readFileSync("/proc/self/maps", "utf8")
      .split("\n")
      .find((l) => l.startsWith(head) || l.startsWith(head.padStart(9, "0")));
    return line !== undefined && /\/SYSV[0-9a-f]+/.test(line);
  } catch {
    return false;
  }
}

/** The C call a call of table entry `key` stands for. */
function callName(key: TableKey, args: unknown[]): string {
  if (key === "mmap" && typeof args[3] === "number" && (args[3] & MAP_FIXED) !== 0) {
    // Only the library's own release passes MAP_FIXED itself (a caller's MAP_FIXED becomes MAP_FIXED_NOREPLACE).
    return isSysvAttachment(args[0]) ? "shmdt" : "munmap";
  }
  return cNameOf(key);
}

/** Every name countCalls accepts: the libc functions the library calls, by their C names. */
export function countableCalls(): string[] {
  const names = new Set<string>(Object.keys(ALIASES));
  for (const key of Object.keys(fn)) names.add(cNameOf(key as TableKey));
  return [...names].sort();
}

/** One recorded call: the C name and the arguments as the library passed them to libc. */
export interface RecordedCall {
  name: string;
  args: unknown[];
}

/** How `countCalls` counts: stand-ins that replace calls, and how many recorded calls to keep. */
export interface CountCallsOptions {
  /**
   * Replacements, by C name, that run instead of the real function while this counter is
   * active, e.g. `{ msync: () => 0 }`: a msync that claims success and writes nothing.
   */
  standIns?: Record<string, (...args: never[]) => unknown>;
  /** Calls kept in `.calls` with their arguments (the counts are always complete). Default 1000. */
  keep?: number;
}

const originals = new Map<TableKey, AnyFunction>();
const listeners = new Map<TableKey, Set<CallCounter>>();
const table = fn as unknown as Record<TableKey, AnyFunction>;

function install(key: TableKey, counter: CallCounter): void {
  let set = listeners.get(key);
  if (!set) {
    set = new Set();
    listeners.set(key, set);
    const original = table[key];
    originals.set(key, original);
    const observers = set;
    table[key] = function counted(this: unknown, ...args: unknown[]): unknown {
      const name = callName(key, args);
      let standIn: AnyFunction | undefined;
      for (const c of observers) standIn = c._record(name, args) ?? standIn;
      return (standIn ?? original).apply(this, args);
    };
  }
  set.add(counter);
}

function uninstall(key: TableKey, counter: CallCounter): void {
  const set = listeners.get(key);
  if (!set) return;
  set.delete(counter);
  if (set.size === 0) {
    table[key] = originals.get(key) as AnyFunction;
    originals.delete(key);
    listeners.delete(key);
  }
}

/** What countCalls returns: live counts by C name, the recorded calls, and stop(). */
export class CallCounter {
  /** Calls so far, by the C names asked for (0 for a name never called). */
  readonly counts: Record<string, number> = {};
  /** The first `keep` calls, in order, with their arguments. */
  readonly calls: RecordedCall[] = [];
  #keep: number;
  #keys = new Set<TableKey>();
  #standIns = new Map<string, AnyFunction>();
  #active = true;

  /** @internal Use countCalls(). */
  constructor(names: string[], options: CountCallsOptions) {
    this.#keep = options.keep ?? 1000;
    const all = [...names, ...Object.keys(options.standIns ?? {})];
    for (const name of all) {
      this.counts[name] = 0;
      for (const key of keysOf(name)) this.#keys.add(key);
    }
    for (const [name, standIn] of Object.entries(options.standIns ?? {}))
      this.#standIns.set(name, standIn as AnyFunction);
    for (const key of this.#keys) install(key, this);
  }

  /** @internal Called by the counting wrapper with the C name of the call; returns this counter's stand-in for it, if any. */
  _record(name: string, args: unknown[]): AnyFunction | undefined {
    if (!(name in this.counts)) return undefined;
    this.counts[name]++;
    if (this.calls.length < this.#keep) this.calls.push({ name, args: args.slice() });
    return this.#standIns.get(name);
  }

  /** Whether the counter still counts. */
  get active(): boolean {
    return this.#active;
  }

  /** Calls of `name` so far (what `counts[name]` says). */
  count(name: string): number {
    return this.counts[name] ?? 0;
  }

  /** Stops counting (and ends the stand-ins). Stopping twice is a no-op. Returns the counts. */
  stop(): Record<string, number> {
    if (this.#active) {
      this.#active = false;
      for (const key of this.#keys) uninstall(key, this);
    }
    return this.counts;
  }

  /** Stops counting (the `using` statement calls it). */
  [Symbol.dispose](): void {
    this.stop();
  }

  /** In the kernel: the counts as one line of text. */
  [JUPYTER_DISPLAY](): Record<string, string> {
    return { "text/plain": this.toString() };
  }

  /** One line: each counted call and how often it ran. */
  toString(): string {
    const parts = Object.entries(this.counts).map(([n, c]) => `${n}: ${c}`);
    return `CallCounter { ${parts.join(", ")}${this.#active ? "" : " (stopped)"} }`;
  }
}

/**
 * Counts the library's calls into libc by C name until `.stop()`:
 *
 *   const spy = countCalls(["msync", "mmap"]);
 *   try { work(); } finally { spy.stop(); }
 *   spy.counts.msync   // how many msync calls the library made
 *   spy.calls          // [{ name: "msync", args: [address, length, flags] }, ...]
 *
 * Counts are of calls into libc, named by what they do: releasing memory that a Buffer view
 * still points into (Mapping.unmap, Attachment.detach after `.buffer` was used) maps a
 * placeholder over the range (a MAP_FIXED mmap) instead of calling munmap/shmdt, and that call
 * counts as the munmap or shmdt it stands for.
 *
 * With `{ standIns: { msync: () => 0 } }` the named calls run the stand-in instead (and are
 * still counted): a way to show that a check fails when the call does nothing.
 * Names: countableCalls() lists them (shmget, shmat, shmdt, shmctl, mmap, munmap, msync,
 * mprotect, madvise, mincore, pthread_mutex_lock, futex, cachestat, ...).
 */
export function countCalls(names: string[], options?: CountCallsOptions): CallCounter {
  validateStringArray(names, "names");
  const opts = validateOptions<CountCallsOptions>(options);
  for (const [i, name] of names.entries()) validateOneOf(name, `names[${i}]`, countableCalls());
  if (opts.standIns !== undefined) {
    for (const [name, standIn] of Object.entries(validateObject(opts.standIns, "options.standIns"))) {
      validateOneOf(name, "options.standIns key", countableCalls());
      validateFunction(standIn, `options.standIns.${name}`);
    }
  }
  if (opts.keep !== undefined) validateInteger(opts.keep, "options.keep", 0);
  return new CallCounter(names, opts);
}
