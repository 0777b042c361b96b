// The end of a blocking wait's first slice, kept by a thread instead of a timer in the kernel.
//
// In a program that listens to signals and is no host, a blocking wait's first attempt must end
// within BLOCKING_SLICE_MS (src/sync/blocking.ts): a futex restarts after libuv's handler, so an
// attempt without a limit would leave the process deaf to Ctrl-C. A futex wait with a timeout
// arms and cancels a timer in the kernel on every sleep, and on this VM that took 10-14% of a
// ping-pong's round trips on one CPU, in C as in Node (bench/analysis.md, ping-pong). So when
// one synchronous run sleeps on futex words again and again (a loop of hand-overs), the slice's
// end goes to this watchdog: a Worker that looks every POLL_MS at what the JavaScript thread
// sleeps on, and wakes the word of a sleep it has seen at two looks in a row. That sleep's slice
// is then over (after 50-100 ms, as a timed one's is after 100), and the wait goes on as after a
// timed slice.
//
// Invariants:
// - One watchdog per process, owned here. It starts at the second sleep of one synchronous run
//   (a single wait never pays for a thread), is unref'd (it never keeps a process alive), parks
//   when nobody has slept for PARK_AFTER_LOOKS looks, and leaves after IDLE_MS parked. It costs
//   a thread and ~12 MiB while it lives, and ~35 ms of CPU to start: on a CPU it shares with a
//   ping-pong, some 9,000 round trips, which the untimed sleeps win back in ~2 s (bench/analysis.md,
//   ping-pong: "A turn's first 300 ms"). A host (the kernel) never starts it.
// - A sleep is watched only while the watchdog says it is ready, and the watchdog leaves only
//   when no sleep started meanwhile (both sides look at the other's word after writing their
//   own, sequentially consistent). Otherwise the sleep is timed, as before.
// - The watchdog's wake is an ordinary FUTEX_WAKE of the word, so it may wake other sleepers on
//   it too, in any process: futex allows it (a waiter re-checks the value), and it happens at
//   most once per POLL_MS while the same sleep lasts.
import { createRequire } from "module";
import { Worker } from "worker_threads";
import { FUTEX_WAKE_DECLARATION, type Pointer } from "../ffi/libc";
import { FUTEX_WAKE, SYS_futex, WAKE_ALL } from "./futex";

/**
 * What watchSleep returns when no watchdog can end the slice: the caller times its sleep. Even,
 * so never a ticket: tickets are odd, and after 2^31 sleeps they run through the negative ones.
 */
export const NOT_WATCHED = 0;

// Half of blocking.ts's BLOCKING_SLICE_MS (100): a watched slice ends after 50-100 ms.
const POLL_MS = 50;
const PARK_AFTER_LOOKS = 4;
const IDLE_MS = 10_000;

// The words the two threads share.
const READY = 0; // 1 while the watchdog can end a slice
const TICKET = 1; // odd while the JavaScript thread sleeps (a new odd value for each sleep)
const ADDRESS_LOW = 2; // the futex word the sleep is on
const ADDRESS_HIGH = 3;
const ENDED = 4; // the ticket of the last sleep whose slice the watchdog ended
const PARKED = 5; // 1 while the watchdog waits for a sleep to start
const NAP = 6; // always 0: the watchdog's timed waits between looks
const WORDS = 7;

const WATCHDOG_SOURCE = `
const { workerData } = require("worker_threads");
const koffi = require(workerData.koffi);
const wake = koffi.load("libc.so.6").func(${JSON.stringify(FUTEX_WAKE_DECLARATION)});
const s = new Int32Array(workerData.shared);
Atomics.store(s, ${READY}, 1);
let seen = 0;
let quiet = 0;
for (;;) {
  Atomics.wait(s, ${NAP}, 0, ${POLL_MS});
  const t = Atomics.load(s, ${TICKET});
  if (t !== seen) {
    seen = t;
    quiet = 0;
  } else if ((t & 1) !== 0) {
    Atomics.store(s, ${ENDED}, t);
    const address = (BigInt(Atomics.load(s, ${ADDRESS_HIGH}) >>> 0) << 32n) | BigInt(Atomics.load(s, ${ADDRESS_LOW}) >>> 0);
    wake(${SYS_futex}, address, ${FUTEX_WAKE}, ${WAKE_ALL});
  } else if (++quiet >= ${PARK_AFTER_LOOKS}) {
    quiet = 0;
    Atomics.store(s, ${PARKED}, 1);
    const parked = Atomics.wait(s, ${TICKET}, t, ${IDLE_MS});
    Atomics.store(s, ${PARKED}, 0);
    if (parked === "timed-out") {
      Atomics.store(s, ${READY}, 0);
      if (Atomics.load(s, ${TICKET}) === t) break;
      Atomics.store(s, ${READY}, 1);
    }
  }
}
`;

let shared: Int32Array | null = null;
let watchdog: Worker | null = null;
let failed = false;
let lastAddress: Pointer = -1n;
// Sleeps of this synchronous run that no watchdog watched (reset when the stack is next empty).
let unwatchedThisRun = 0;

function start(): void {
  shared = new Int32Array(new SharedArrayBuffer(WORDS * Int32Array.BYTES_PER_ELEMENT));
  lastAddress = -1n;
  const koffi = createRequire(__filename).resolve("koffi");
  const worker = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { shared: shared.buffer, koffi } });
  worker.unref();
  worker.on("error", () => {
    failed = true; // koffi could not load there: sleeps stay timed
  });
  worker.on("exit", () => {
    if (watchdog === worker) watchdog = null;
  });
  watchdog = worker;
}

/**
 * Says that the JavaScript thread is about to sleep on the futex word at `address` without a
 * timer. Returns the sleep's ticket for endSleep, or NOT_WATCHED when no watchdog is ready (then
 * the caller times its sleep; the second such sleep of one synchronous run starts the watchdog).
 */
export function watchSleep(address: Pointer): number {
  const s = shared;
  if (s === null || watchdog === null || Atomics.load(s, READY) !== 1) {
    if (unwatchedThisRun++ === 0) queueMicrotask(() => (unwatchedThisRun = 0));
    else if (watchdog === null && !failed) start();
    return NOT_WATCHED;
  }
  if (address !== lastAddress) {
    lastAddress = address;
    Atomics.store(s, ADDRESS_LOW, Number(BigInt.asIntN(32, address)));
    Atomics.store(s, ADDRESS_HIGH, Number(BigInt.asIntN(32, address >> 32n)));
  }
  const ticket = Atomics.add(s, TICKET, 1) + 1;
  if (Atomics.load(s, READY) !== 1) {
    Atomics.add(s, TICKET, 1); // it is leaving: this sleep goes timed
    return NOT_WATCHED;
  }
  if (Atomics.load(s, PARKED) === 1) Atomics.notify(s, TICKET);
  return ticket | 0;
}

/** @internal For tests: where the next ticket counts from (`value`, even: no sleep in progress). */
export function _ticketsFrom(value: number): void {
  if (shared !== null) Atomics.store(shared, TICKET, value | 0);
}

/** The sleep of `ticket` is over. Returns whether the watchdog ended its slice (woke it). */
export function endSleep(ticket: number): boolean {
  const s = shared as Int32Array;
  // Plain accesses, no fence: a watchdog that still sees the sleep (its look raced this store)
  // wakes a word nobody sleeps on, or the next sleep on it, which then returns "ok" as futex
  // allows; the same happens when its look comes just before the sleep ends. A locked
  // instruction here cost the ping-pong some 3% of its round trips on one CPU (bench/analysis.md).
  s[TICKET] = (ticket + 1) | 0;
  if (s[ENDED] !== ticket) return false;
  s[ENDED] = NOT_WATCHED; // even: no later sleep whose ticket comes round again matches it
  return true;
}
