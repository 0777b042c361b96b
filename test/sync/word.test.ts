// SharedWord: Atomics on a word in shared memory, futex wait/notify across processes.
import {
  IPC_CREAT,
  IPC_PRIVATE,
  IPC_RMID,
  MAP_ANONYMOUS,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  SHM_RDONLY,
  SharedWord,
  countCalls,
  killChildren,
  mmap,
  runTs,
  shmat,
  shmctl,
  shmget,
  spawnTs,
  type Attachment,
} from "../../src";
import { fn } from "../../src/ffi/libc";
import { compileC, needs, segmentsMadeBy, tempDir } from "../helpers";
import fs from "fs";
import path from "path";
import { blockingProgram, inFutex, signalWhenBlocked } from "./blocked";

let id: number;
let seg: Attachment;

beforeEach(() => {
  id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600);
  seg = shmat(id, null, 0);
});

afterEach(() => {
  seg.detach();
  shmctl(id, IPC_RMID);
});

afterAll(() => {
  killChildren("SIGKILL");
});

describe("in one process", () => {
  test("bad offsets are RangeErrors, bad values TypeError/RangeError", () => {
    for (const off of [2, 4093, 4096, -4, 0.5]) expect(() => new SharedWord(seg, off)).toThrow(RangeError);
    expect(() => new SharedWord(seg, 4092)).not.toThrow();
    expect(() => new SharedWord({} as Attachment, 0)).toThrow(TypeError);
    const w = new SharedWord(seg, 8);
    expect(() => w.store(2 ** 31)).toThrow(RangeError);
    expect(() => w.add("1" as unknown as number)).toThrow(TypeError);
    expect(() => w.wait(0, -1)).toThrow(RangeError);
    expect(() => w.notify(-1)).toThrow(RangeError);
  });

  test("the word is the segment's bytes at the offset; atomic operations return the old value", () => {
    const w = new SharedWord(seg, 12);
    expect(w.address).toBe(seg.address + 12n);
    expect(w.store(7)).toBe(7);
    expect(seg.readInt32(12)).toBe(7);
    expect(w.add(5)).toBe(7);
    expect(w.load()).toBe(12);
    expect(w.exchange(-1)).toBe(12);
    expect(w.compareExchange(0, 9)).toBe(-1);
    expect(w.load()).toBe(-1);
    expect(w.compareExchange(-1, 9)).toBe(-1);
    expect(seg.readInt32(12)).toBe(9);
  });

  test("wait: 'not-equal' at once, 'timed-out' after the timeout; nobody to notify: 0", async () => {
    const w = new SharedWord(seg, 0);
    w.store(1);
    expect(w.wait(0, 1000)).toBe("not-equal");
    expect(w.wait(1, 30)).toBe("timed-out");
    expect(w.wait(1, 0)).toBe("timed-out");
    expect(w.notify()).toBe(0);
    await expect(w.waitAsync(0)).resolves.toBe("not-equal");
    await expect(w.waitAsync(1, { timeoutMs: 30 })).resolves.toBe("timed-out");
    await expect(w.waitAsync(1, { timeoutMs: 0 })).resolves.toBe("timed-out");
  });

  test("waitAsync: resolves 'ok' when this process changes the word and notifies; abort rejects", async () => {
    const w = new SharedWord(seg, 0);
    w.store(0);
    setTimeout(() => {
      w.store(1);
      w.notify();
    }, 50);
    await expect(w.waitAsync(0, { timeoutMs: 5000 })).resolves.toBe("ok");
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("stop")), 50);
    await expect(w.waitAsync(1, { signal: controller.signal })).rejects.toMatchObject({ code: "ABORT_ERR" });
  });

  test("waitAsync sleeps in the kernel between turns: futex waits of one slice, not a spin", async () => {
    const w = new SharedWord(seg, 0);
    w.store(0);
    // A count, not a CPU share: a spin makes thousands of futex calls in 1000 ms (or none at
    // all and thousands of turns); sleeping 5 ms slices makes at most 1000 / 5.
    const futex = jest.spyOn(fn, "syscall_futex");
    try {
      await expect(w.waitAsync(0, { timeoutMs: 1000 })).resolves.toBe("timed-out");
      console.log(`waitAsync made ${futex.mock.calls.length} futex waits in 1000 ms`);
      expect(futex.mock.calls.length).toBeGreaterThanOrEqual(1);
      expect(futex.mock.calls.length).toBeLessThanOrEqual(1000 / 5 + 20);
    } finally {
      futex.mockRestore();
    }
  });

  test("read-only and detached memory are refused, not faulted on", () => {
    const ro = shmat(id, null, SHM_RDONLY);
    try {
      expect(() => new SharedWord(ro, 0)).toThrow(expect.objectContaining({ code: "EACCES" }));
    } finally {
      ro.detach();
    }
    const m = mmap(null, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    const w = new SharedWord(m, 0);
    m.unmap();
    expect(() => w.load()).toThrow(expect.objectContaining({ code: "ERR_DETACHED" }));
    expect(() => w.wait(0, 10)).toThrow(expect.objectContaining({ code: "ERR_DETACHED" }));
  });
});

describe("across processes", () => {
  test("Atomics.add on the (non-shared) ArrayBuffer is atomic across processes: 4 x 100000 adds are exact", async () => {
    const child = `
      import { shmat, SharedWord } from "tslab-ipc";
      const [id, n, atomic] = process.argv.slice(2).map(Number);
      const seg = shmat(id, null, 0);
      const w = new SharedWord(seg, 0);
      const plain = new Int32Array(seg.buffer.buffer, 4, 1);
      // Start together (a barrier on the word at offset 8), so the loops really overlap.
      const ready = new SharedWord(seg, 8);
      ready.add(1);
      for (let v = ready.load(); v % 4 !== 0; v = ready.load()) ready.wait(v, 50);
      ready.notify();
      if (atomic) for (let i = 0; i < n; i++) w.add(1);
      else for (let i = 0; i < n; i++) plain[0] = plain[0] + 1;`;
    const run = async (atomic: boolean) => {
      const rs = await Promise.all(
        [0, 1, 2, 3].map(() => runTs(child, { args: [String(id), "100000", atomic ? "1" : "0"], quiet: true })),
      );
      for (const r of rs) expect(r.code).toBe(0);
    };
    await run(false);
    const plain = seg.readInt32(4);
    console.log(`plain increments: ${plain} of 400000 (${400000 - plain} lost)`);
    await run(true);
    expect(new SharedWord(seg, 0).load()).toBe(400000);
  });

  test("notify wakes a waiter in another process and says how many it woke", async () => {
    const w = new SharedWord(seg, 0);
    w.store(0);
    const child = spawnTs(
      `import { shmat, SharedWord } from "tslab-ipc";
       const w = new SharedWord(shmat(Number(process.argv[2]), null, 0), 0);
       console.log(w.wait(0, 20000));`,
      { args: [String(id)], quiet: true },
    );
    // The value never changes: only a wake can end the child's wait early.
    let woken = 0;
    const end = Date.now() + 30000;
    while (woken === 0 && Date.now() < end) {
      woken = w.notify(1);
      if (woken === 0) await new Promise((r) => setTimeout(r, 10));
    }
    expect(woken).toBe(1);
    const r = await child.done;
    expect(r.stdout).toBe("ok\n");
  });

  test("ping-pong: 1000 round trips between two processes end on the right value", async () => {
    const w = new SharedWord(seg, 0);
    w.store(0);
    const rounds = 1000;
    const ping = `
      import { shmat, SharedWord } from "tslab-ipc";
      const [id, n] = process.argv.slice(2).map(Number);
      const w = new SharedWord(shmat(id, null, 0), 0);
      const t = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        const mine = 2 * i + 1;
        w.store(mine);
        w.notify(1);
        while (w.load() === mine) w.wait(mine);
      }
      const s = Number(process.hrtime.bigint() - t) / 1e9;
      console.log(Math.round(n / s));`;
    const pong = `
      import { shmat, SharedWord } from "tslab-ipc";
      const [id, n] = process.argv.slice(2).map(Number);
      const w = new SharedWord(shmat(id, null, 0), 0);
      for (let i = 0; i < n; i++) {
        while (w.load() !== 2 * i + 1) w.wait(2 * i);
        w.store(2 * i + 2);
        w.notify(1);
      }
      console.log("done");`;
    const args = [String(id), String(rounds)];
    const [a, b] = await Promise.all([
      runTs(ping, { args, quiet: true, timeoutMs: 30000 }),
      runTs(pong, { args, quiet: true, timeoutMs: 30000 }),
    ]);
    expect(a.summary).toBe(`child ${a.pid} exited with code 0`);
    expect(b.stdout).toBe("done\n");
    expect(w.load()).toBe(2 * rounds);
    console.log(`ping-pong: ${a.stdout.trim()} round trips/s (${rounds} rounds, including warm-up)`);
  });

  test("waitAsync in a cell-like parent: woken by a child's notify, then sees its store", async () => {
    const w = new SharedWord(seg, 0);
    w.store(0);
    // The child notifies (the value still 0) until the wake reaches the parent, which waits in
    // slices: it must report one woken, never zero. Then it stores and notifies again.
    const child = runTs(
      `import { shmat, SharedWord } from "tslab-ipc";
       const w = new SharedWord(shmat(Number(process.argv[2]), null, 0), 0);
       let woke = 0;
       for (let i = 0; i < 5000 && woke === 0; i++) {
         woke = w.notify();
         if (woke === 0) await new Promise((r) => setTimeout(r, 2));
       }
       w.store(42);
       w.notify();
       console.log("woke " + woke);`,
      { args: [String(id)], quiet: true },
    );
    await expect(w.waitAsync(0, { timeoutMs: 20000 })).resolves.toBe("ok");
    expect((await child).stdout).toBe("woke 1\n");
    expect(w.load()).toBe(42);
  });
});

describe("a word that counts its sleepers (waitersAt)", () => {
  test("bad options are TypeErrors or RangeErrors and make no word", () => {
    seg.writeInt32(8, 5);
    for (const bad of [2, 4093, 4096, -4, 0.5]) {
      expect(() => new SharedWord(seg, 0, { waitersAt: bad })).toThrow(RangeError);
    }
    expect(() => new SharedWord(seg, 0, { waitersAt: "8" as unknown as number })).toThrow(
      expect.objectContaining({ name: "TypeError", code: "ERR_INVALID_ARG_TYPE" }),
    );
    expect(() => new SharedWord(seg, 8, { waitersAt: 8 })).toThrow(
      expect.objectContaining({ name: "TypeError", code: "ERR_INVALID_ARG_VALUE" }),
    );
    expect(() => new SharedWord(seg, 0, 8 as never)).toThrow(TypeError);
    // Nothing was written: the count is the caller's to zero.
    expect(seg.readInt32(8)).toBe(5);
    expect(new SharedWord(seg, 0, { waitersAt: 8 }).toString()).toBe(
      "SharedWord { offset: 0, value: 0, waiters: 5 at 8 }",
    );
  });

  test("a notify that finds nobody asleep makes no system call; an uncounted word's does", () => {
    const counted = new SharedWord(seg, 0, { waitersAt: 4 });
    const plain = new SharedWord(seg, 16);
    const calls = countCalls(["futex"]);
    expect(counted.store(1)).toBe(1);
    expect(counted.notify(1)).toBe(0);
    expect(counted.notify()).toBe(0);
    expect(counted.wait(0)).toBe("not-equal");
    expect(calls.count("futex")).toBe(0);
    expect(plain.notify(1)).toBe(0);
    expect(calls.stop()).toEqual({ futex: 1 });
  });

  test("a sleeper in another process counts itself, is woken by one notify, and uncounts itself", async () => {
    const w = new SharedWord(seg, 0, { waitersAt: 4 });
    w.store(0);
    seg.writeInt32(4, 0);
    const child = spawnTs(
      `import { shmat, SharedWord } from "tslab-ipc";
       const w = new SharedWord(shmat(Number(process.argv[2]), null, 0), 0, { waitersAt: 4 });
       console.log(w.wait(0), w.load());`,
      { args: [String(id)], quiet: true },
    );
    // Counted, and asleep in futex(2).
    const end = Date.now() + 20000;
    while (!(seg.readInt32(4) === 1 && inFutex(child.pid)) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(seg.readInt32(4)).toBe(1);
    w.store(7);
    expect(w.notify(1)).toBe(1);
    expect((await child.done).stdout).toBe("ok 7\n");
    expect(seg.readInt32(4)).toBe(0);
  });

  test("a store between a waiter's count and its sleep is seen: the wait returns at once", () => {
    // The window the count protects, made wide: the count says someone waits, the value moved
    // before its futex looked, and the futex returns at once instead of sleeping through it.
    const w = new SharedWord(seg, 0, { waitersAt: 4 });
    w.store(0);
    seg.writeInt32(4, 0);
    const futexWait = fn.syscall_futex_wait as (...args: never[]) => number;
    const sleeps = countCalls(["futex"], {
      standIns: {
        futex: (...args: never[]) => {
          expect(seg.readInt32(4)).toBe(1);
          w.store(7); // the other side's store, after the count and before the futex's look
          return futexWait(...args);
        },
      },
    });
    try {
      expect(w.wait(0, 60000)).toBe("not-equal");
    } finally {
      sleeps.stop();
    }
    expect(w.load()).toBe(7);
    expect(seg.readInt32(4)).toBe(0);
  });

  test("waitAsync counts itself while it waits, and not after it ends, is aborted, or its region went", async () => {
    const w = new SharedWord(seg, 0, { waitersAt: 4 });
    w.store(0);
    seg.writeInt32(4, 0);
    const woken = w.waitAsync(0, { timeoutMs: 5000 });
    expect(seg.readInt32(4)).toBe(1);
    w.store(1);
    w.notify();
    await expect(woken).resolves.toBe("ok");
    expect(seg.readInt32(4)).toBe(0);
    const controller = new AbortController();
    const aborted = w.waitAsync(1, { signal: controller.signal });
    expect(seg.readInt32(4)).toBe(1);
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: "ABORT_ERR" });
    expect(seg.readInt32(4)).toBe(0);
    // The region goes while a wait is counted: the wait ends with ERR_DETACHED, and nothing
    // touches the memory that is no longer there.
    const m = mmap(null, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    const gone = new SharedWord(m, 0, { waitersAt: 4 }).waitAsync(0);
    m.unmap();
    await expect(gone).rejects.toMatchObject({ code: "ERR_DETACHED" });
  });

  needs("cc").test("a C program keeps the same count: 2000 hand-overs between C and ours", async () => {
    const dir = tempDir("tslab-ipc-waiters-");
    const source = path.join(dir, "pong.c");
    // The protocol of the option's documentation, in C: count yourself around FUTEX_WAIT, and
    // wake only when someone counted.
    fs.writeFileSync(
      source,
      String.raw`#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/futex.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
  atomic_int *p = shmat(atoi(argv[1]), NULL, 0);
  atomic_int *word = p, *waiters = p + 1;
  long wakes = 0;
  for (int seen = 0;;) {
    int v = atomic_load(word);
    if (v == seen) {
      atomic_fetch_add(waiters, 1);
      while ((v = atomic_load(word)) == seen) syscall(SYS_futex, word, FUTEX_WAIT, seen, NULL, NULL, 0);
      atomic_fetch_sub(waiters, 1);
    }
    if (v < 0) break;
    seen = v + 1;
    atomic_store(word, seen);
    if (atomic_load(waiters) != 0) wakes++, syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
  }
  printf("%ld\n", wakes);
  return 0;
}
`,
    );
    const pong = compileC(source, dir);
    const w = new SharedWord(seg, 0, { waitersAt: 4 });
    w.store(0);
    seg.writeInt32(4, 0);
    const c = spawnTs(
      `import { spawnSync } from "child_process";
       const r = spawnSync(process.argv[2], [process.argv[3]], { encoding: "utf8" });
       process.stdout.write(r.stdout);
       process.exitCode = r.status ?? 1;`,
      { args: [pong, String(id)], quiet: true },
    );
    const rounds = 2000;
    const ours = await runTs(
      `import { shmat, SharedWord } from "tslab-ipc";
       const [id, n] = process.argv.slice(2).map(Number);
       const w = new SharedWord(shmat(id, null, 0), 0, { waitersAt: 4 });
       let v = 0;
       for (let i = 0; i < n; i++) {
         w.store(v + 1);
         w.notify(1);
         while ((v = w.load()) === 2 * i + 1) w.wait(2 * i + 1);
       }
       w.store(-1);
       w.notify(1);
       console.log(v);`,
      { args: [String(id), String(rounds)], quiet: true, timeoutMs: 60000 },
    );
    expect(ours.stdout).toBe(`${2 * rounds}\n`);
    const r = await c.done;
    expect(r.code).toBe(0);
    // C woke ours only when ours slept: fewer wakes than hand-overs is the option's point.
    console.log(`C made ${r.stdout.trim()} wakes for ${rounds} hand-overs`);
    expect(Number(r.stdout)).toBeLessThanOrEqual(rounds);
    expect(seg.readInt32(4)).toBe(0);
  });
});

describe("signals while wait() blocks", () => {
  // Blocked in a futex, the thread ran no listener of ours (they run on the event loop), and the
  // futex restarted after libuv's handler: a program that had created an object was deaf to
  // Ctrl-C, SIGTERM and a closed terminal, and a cell to the interrupt button, until SIGKILL.
  const waiter = (kernelLike: boolean) =>
    blockingProgram(kernelLike, "(globalThis as any).word = new SharedWord(seg.attach(), 0);", "word.wait(0)");

  test.each(["SIGINT", "SIGTERM", "SIGHUP"] as const)(
    "a plain program dies of %s, as a C program does",
    async (signal) => {
      const child = spawnTs(waiter(false), { quiet: true });
      expect(await signalWhenBlocked(child, signal)).toMatchObject({ signal, stdout: "waiting\n" });
      // Its exit hooks could not run: what it created was removed when it ended (spawnTs reaps
      // after a child a signal killed), as after a SIGKILL.
      expect(segmentsMadeBy(child.pid)).toEqual([]);
    },
  );

  test("in a kernel, an interrupt ends the cell's wait and the kernel lives", async () => {
    const child = spawnTs(waiter(true), { quiet: true });
    expect(await signalWhenBlocked(child, "SIGINT", false)).toMatchObject({
      code: 0,
      stdout: "waiting\nScript execution was interrupted by `SIGINT`\n",
    });
  });
});
