// The slice watchdog (src/sync/slice-watchdog.ts): in a program that listens to signals, a loop
// of blocking waits sleeps without a timer in the kernel, and a wait that lasts still ends its
// first slice, so that Ctrl-C ends the program as it ends a C one.
import { IPC_CREAT, IPC_PRIVATE, IPC_RMID, killChildren, shmat, shmctl, shmget, spawnTs } from "../../src";
import { fn } from "../../src/ffi/libc";
import { FUTEX_WAIT, SYS_futex } from "../../src/sync/futex";
import { NOT_WATCHED, _ticketsFrom, endSleep, watchSleep } from "../../src/sync/slice-watchdog";
import { segmentsMadeBy } from "../helpers";
import { catches, futexArgs, signalWhenBlocked } from "./blocked";

afterAll(() => {
  killChildren("SIGKILL");
});

test("a loop's waits sleep without a timer while the listeners hold Ctrl-C, and a lasting one still ends at it", async () => {
  const child = spawnTs(
    `import { SharedSegment, SharedWord } from "tslab-ipc";
     const seg = SharedSegment.create({ size: 4096 });
     const w = new SharedWord(seg.attach(), 0);
     // Two waits of one synchronous run (the value differs: they return at once) start the
     // watchdog; the run goes on while its thread comes up, then sleeps for good.
     w.wait(1);
     w.wait(1);
     Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
     console.log("waiting");
     w.wait(0);`,
    { quiet: true },
  );
  // In its first slice the sleep is in futex with no timeout (argument 4 is NULL) while our
  // SIGINT listener is on: without the watchdog, nothing would ever end that slice.
  let untimed = false;
  const until = Date.now() + 20000;
  while (!untimed && Date.now() < until) {
    const futex = child.stdout.includes("waiting") ? futexArgs(child.pid) : null;
    untimed = futex !== null && futex[3] === "0x0" && catches(child.pid, 2);
    if (!untimed) await new Promise((r) => setTimeout(r, 2));
  }
  expect(untimed).toBe(true);
  // Then the watchdog ends that slice: the listeners go, and SIGINT ends the process.
  expect(await signalWhenBlocked(child, "SIGINT")).toMatchObject({ signal: "SIGINT", stdout: "waiting\n" });
  expect(segmentsMadeBy(child.pid)).toEqual([]);
});

describe("in this process", () => {
  const id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600);
  const seg = shmat(id, null, 0);
  afterAll(() => {
    seg.detach();
    shmctl(id, IPC_RMID);
  });

  /** A watched sleep's ticket, once the watchdog (started by two unwatched sleeps) is ready. */
  async function watched(): Promise<number> {
    for (const until = Date.now() + 20000; Date.now() < until; ) {
      // Two in one run: the second starts the thread, or either is watched once it is ready.
      for (let i = 0; i < 2; i++) {
        const ticket = watchSleep(seg.address);
        if (ticket !== NOT_WATCHED) return ticket;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error("the watchdog never became ready");
  }

  test("the watchdog wakes a sleep that lasts, and says so; a short one it leaves alone", async () => {
    const ticket = await watched();
    expect(ticket % 2).not.toBe(0);
    // A sleep with nothing to wake it but the watchdog (its own timeout, 5 s, is only a guard).
    const timeout = new BigInt64Array([5n, 0n]);
    const t0 = performance.now();
    const rc = fn.syscall_futex_wait(SYS_futex, seg.address, FUTEX_WAIT, 0, timeout);
    const ms = performance.now() - t0;
    expect(endSleep(ticket)).toBe(true);
    expect(rc).toBe(0);
    console.log(`the watchdog ended a sleep after ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(2000);
    const short = watchSleep(seg.address);
    expect(endSleep(short)).toBe(false);
  });

  test("tickets stay odd and unlike NOT_WATCHED when they run through the negative numbers", async () => {
    endSleep(await watched());
    _ticketsFrom(2 ** 31 - 1 - 1);
    const last = watchSleep(seg.address);
    expect(last).toBe(2 ** 31 - 1);
    expect(endSleep(last)).toBe(false);
    _ticketsFrom(-2);
    const minusOne = watchSleep(seg.address);
    expect(minusOne).toBe(-1);
    expect(minusOne).not.toBe(NOT_WATCHED);
    expect(endSleep(minusOne)).toBe(false);
    const one = watchSleep(seg.address);
    expect(one).toBe(1);
    expect(endSleep(one)).toBe(false);
  });
});
