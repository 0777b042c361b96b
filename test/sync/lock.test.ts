// ShmLock: a robust, process-shared mutex inside a System V segment or a MAP_SHARED mapping.
import fs from "fs";
import os from "os";
import path from "path";
import {
  IPC_CREAT,
  IPC_PRIVATE,
  IPC_RMID,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  SHM_RDONLY,
  SharedWord,
  ShmLock,
  countCalls,
  killChildren,
  mmap,
  reap,
  runTs,
  shmat,
  shmctl,
  shmget,
  spawnTs,
  type Attachment,
} from "../../src";
import { fn } from "../../src/ffi/libc";
import { blockingProgram, signalWhenBlocked } from "./blocked";

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

/**
 * A child that opens the lock at offset 0 of segment `segId` and takes it; resolved once it
 * holds it. It keeps it until killed, or unlocks after `holdMs` and exits.
 */
async function holder(segId: number, holdMs = -1) {
  const child = spawnTs(
    `import { shmat, ShmLock } from "tslab-ipc";
     const lock = ShmLock.open(shmat(Number(process.argv[2]), null, 0), 0);
     lock.lock();
     const hold = Number(process.argv[3]);
     if (hold >= 0) setTimeout(() => lock.unlock(), hold);
     else setInterval(() => {}, 1000);`,
    { args: [String(segId), String(holdMs)], quiet: true, label: "holder" },
  );
  const lock = ShmLock.open(seg, 0);
  const end = Date.now() + 30000;
  while (lock.ownerPid !== child.pid) {
    if (Date.now() > end) throw new Error("the holder never took the lock");
    await new Promise((r) => setTimeout(r, 10));
  }
  return { child };
}

describe("placement", () => {
  test("the mutex is a pthread_mutex_t of the platform's size, inside the segment", () => {
    expect(ShmLock.SIZE).toBe(process.arch === "arm64" ? 48 : 40);
    const lock = ShmLock.init(seg, 64);
    expect(lock.address).toBe(seg.address + 64n);
    // glibc's __kind: PTHREAD_MUTEX_ERRORCHECK (2) | robust (16) | process-shared (128).
    expect(seg.buffer.readInt32LE(64 + 16)).toBe(2 | 16 | 128);
    lock.lock();
    // The robust futex word holds the owner's thread id: our pid (JavaScript runs on the main thread).
    expect(seg.buffer.readInt32LE(64) & 0x3fffffff).toBe(process.pid);
    lock.unlock();
    expect(seg.buffer.readInt32LE(64)).toBe(0);
  });

  test("bad offsets are RangeErrors, bad regions TypeErrors, before any call", () => {
    for (const off of [4, 3, 4096 - 8, 4096, -8, 1.5]) expect(() => ShmLock.init(seg, off)).toThrow(RangeError);
    expect(() => ShmLock.init(seg, 4096 - ShmLock.SIZE)).not.toThrow();
    expect(() => ShmLock.open(seg, 12)).toThrow(RangeError);
    expect(() => ShmLock.init(seg, "0" as unknown as number)).toThrow(TypeError);
    expect(() => ShmLock.init(Buffer.alloc(64) as unknown as Attachment, 0)).toThrow(TypeError);
    const priv = mmap(null, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    try {
      expect(() => ShmLock.init(priv, 0)).toThrow(/MAP_PRIVATE/);
    } finally {
      priv.unmap();
    }
  });

  test("read-only memory and detached memory are refused, not faulted on", () => {
    const ro = shmat(id, null, SHM_RDONLY);
    try {
      expect(() => ShmLock.init(ro, 0)).toThrow(expect.objectContaining({ code: "EACCES" }));
    } finally {
      ro.detach();
    }
    const other = shmat(id, null, 0);
    const lock = ShmLock.init(other, 0);
    other.detach();
    expect(() => lock.lock()).toThrow(expect.objectContaining({ code: "ERR_DETACHED" }));
  });

  test("open() where no lock was initialised says so", () => {
    expect(() => ShmLock.open(seg, 128)).toThrow(
      expect.objectContaining({ code: "EINVAL", message: expect.stringMatching(/ShmLock\.init/) }),
    );
  });

  test("works in a MAP_SHARED mapping too", () => {
    const m = mmap(null, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    try {
      const lock = ShmLock.init(m, 8);
      expect(lock.tryLock()).toEqual({ ownerDied: false });
      lock.unlock();
    } finally {
      m.unmap();
    }
  });
});

describe("in one process", () => {
  test("lock, tryLock, unlock; relocking says EDEADLK instead of hanging; unlocking twice says EPERM", () => {
    const lock = ShmLock.init(seg, 0);
    expect(lock.ownerPid).toBe(0);
    expect(lock.lock()).toEqual({ ownerDied: false });
    expect(lock.ownerPid).toBe(process.pid);
    expect(lock.heldByMe).toBe(true);
    expect(lock.tryLock()).toBeNull();
    expect(() => lock.lock()).toThrow(expect.objectContaining({ code: "EDEADLK", syscall: "pthread_mutex_lock" }));
    lock.unlock();
    expect(() => lock.unlock()).toThrow(
      expect.objectContaining({ code: "EPERM", errno: 1, syscall: "pthread_mutex_unlock" }),
    );
    expect(lock.tryLock()).toEqual({ ownerDied: false });
    lock.unlock();
  });

  test("withLockSync and withLock unlock also when the body throws", async () => {
    const lock = ShmLock.init(seg, 0);
    expect(lock.withLockSync(() => lock.ownerPid)).toBe(process.pid);
    expect(() =>
      lock.withLockSync(() => {
        throw new Error("inside");
      }),
    ).toThrow("inside");
    expect(lock.ownerPid).toBe(0);
    await expect(
      lock.withLock(async () => {
        throw new Error("async inside");
      }),
    ).rejects.toThrow("async inside");
    expect(lock.ownerPid).toBe(0);
    await expect(lock.withLock(async (s) => s.ownerDied)).resolves.toBe(false);
  });

  test("acquire waits for another task of this process to unlock", async () => {
    const lock = ShmLock.init(seg, 0);
    lock.lock();
    setTimeout(() => lock.unlock(), 100);
    const status = await lock.acquire({ timeoutMs: 5000 });
    expect(status.ownerDied).toBe(false);
    expect(lock.ownerPid).toBe(process.pid);
    lock.unlock();
  });

  test("acquire: bad options are TypeError/RangeError; an aborted signal rejects with ABORT_ERR", async () => {
    const lock = ShmLock.init(seg, 0);
    await expect(lock.acquire({ timeoutMs: -5 })).rejects.toThrow(RangeError);
    await expect(lock.acquire({ signal: {} as AbortSignal })).rejects.toThrow(TypeError);
    await expect(lock.acquire({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: "ABORT_ERR" });
    expect(lock.ownerPid).toBe(0);
  });
});

describe("across processes", () => {
  const counterChild = `
    import { shmat, ShmLock, SharedWord } from "tslab-ipc";
    const [id, k, useLock] = process.argv.slice(2).map(Number);
    const seg = shmat(id, null, 0);
    const lock = ShmLock.open(seg, 0);
    const buf = seg.buffer;
    // Start together (a barrier on the word at offset 128), so the loops really overlap.
    const ready = new SharedWord(seg, 128);
    const n = Number(process.argv[5]);
    ready.add(1);
    for (let v = ready.load(); v < n; v = ready.load()) ready.wait(v, 50);
    ready.notify();
    for (let i = 0; i < k; i++) {
      if (useLock) lock.lock();
      buf.writeInt32LE(buf.readInt32LE(64) + 1, 64); // read, add, write: a race without the lock
      if (useLock) lock.unlock();
    }`;

  async function count(processes: number, k: number, useLock: boolean): Promise<number> {
    seg.writeInt32(64, 0);
    seg.writeInt32(128, 0);
    const results = await Promise.all(
      Array.from({ length: processes }, () =>
        runTs(counterChild, { args: [String(id), String(k), useLock ? "1" : "0", String(processes)], quiet: true }),
      ),
    );
    for (const r of results) expect(r.summary).toBe(`child ${r.pid} exited with code 0`);
    return seg.readInt32(64);
  }

  test("8 processes x 5000 increments under the lock, started together: the total is exact", async () => {
    // The control without the lock (updates lost) is test/reliability/load.test.ts.
    ShmLock.init(seg, 0);
    expect(await count(8, 5000, true)).toBe(40000);
  });

  test("a lock() is one pthread_mutex_lock to a spy, free or held (its waiting counts as timed locks)", async () => {
    // Notebook 08's check counts pthread_mutex_lock in its workers: one per batch, as in C.
    const lock = ShmLock.init(seg, 0);
    const free = countCalls(["pthread_mutex_lock", "pthread_mutex_timedlock"]);
    lock.lock();
    lock.unlock();
    expect(free.stop()).toEqual({ pthread_mutex_lock: 1, pthread_mutex_timedlock: 0 });
    const { child } = await holder(id, 400);
    const held = countCalls(["pthread_mutex_lock", "pthread_mutex_timedlock"]);
    expect(lock.lock()).toEqual({ ownerDied: false });
    lock.unlock();
    const counts = held.stop();
    expect(counts.pthread_mutex_lock).toBe(1);
    expect(counts.pthread_mutex_timedlock).toBeGreaterThanOrEqual(1);
    await child.done;
  });

  test("a holder killed with SIGKILL: the next lock() reports ownerDied and gets the lock", async () => {
    const repaired: number[] = [];
    const lock = ShmLock.init(seg, 0, { onOwnerDied: (l) => repaired.push(l.offset) });
    const { child } = await holder(id);
    expect(lock.tryLock()).toBeNull();
    child.kill("SIGKILL");
    const r = await child.done;
    expect(r.signal).toBe("SIGKILL");
    expect(lock.lock()).toEqual({ ownerDied: true });
    expect(repaired).toEqual([0]);
    expect(lock.ownerPid).toBe(process.pid);
    lock.unlock();
    // Consistent again: the next holder hears nothing of it.
    expect(lock.lock()).toEqual({ ownerDied: false });
    lock.unlock();
  });

  test("acquire() after the holder died reports ownerDied too", async () => {
    const lock = ShmLock.init(seg, 0);
    const { child } = await holder(id);
    const waiting = lock.acquire({ timeoutMs: 10000 });
    setTimeout(() => child.kill("SIGKILL"), 100);
    await expect(waiting).resolves.toEqual({ ownerDied: true });
    lock.unlock();
    await child.done;
  });

  test("acquire() with a timeout rejects with ETIMEDOUT naming the holder, sleeping in timed locks of one slice", async () => {
    const lock = ShmLock.init(seg, 0);
    const { child } = await holder(id);
    // A count, not a CPU share: a wait that spins makes thousands of attempts in 1000 ms; one
    // that sleeps a 5 ms slice in each makes at most 1000 / 5 (fewer on a busy machine).
    const attempts = jest.spyOn(fn, "pthread_mutex_timedlock");
    try {
      await expect(lock.acquire({ timeoutMs: 1000 })).rejects.toMatchObject({
        code: "ETIMEDOUT",
        message: `ETIMEDOUT: timed out after 1000 ms waiting for the lock at offset 0 (held by pid ${child.pid})`,
      });
      console.log(`acquire() made ${attempts.mock.calls.length} timed-lock attempts in 1000 ms`);
      expect(attempts.mock.calls.length).toBeGreaterThanOrEqual(1);
      expect(attempts.mock.calls.length).toBeLessThanOrEqual(1000 / 5 + 20);
    } finally {
      attempts.mockRestore();
      child.kill("SIGKILL");
      await child.done;
    }
  });

  test("acquire() resolves when the other process unlocks", async () => {
    const lock = ShmLock.init(seg, 0);
    const { child } = await holder(id, 200);
    await expect(lock.acquire({ timeoutMs: 10000 })).resolves.toEqual({ ownerDied: false });
    expect(lock.ownerPid).toBe(process.pid);
    lock.unlock();
    expect((await child.done).code).toBe(0);
  });

  test("unlock() of a lock another process holds: EPERM naming it", async () => {
    const lock = ShmLock.init(seg, 0);
    const { child } = await holder(id);
    try {
      expect(() => lock.unlock()).toThrow(
        `EPERM: operation not permitted, pthread_mutex_unlock (this process does not hold the lock at offset 0; pid ${child.pid} does)`,
      );
    } finally {
      child.kill("SIGKILL");
      await child.done;
    }
  });
});

describe("interrupts (SIGINT, what Jupyter sends)", () => {
  // In a child: a stray SIGINT here would end the test runner.
  const program = (kernelLike: boolean) => `
    import { mmap, ShmLock, PROT_READ, PROT_WRITE, MAP_SHARED, MAP_ANONYMOUS, lifecycle } from "tslab-ipc";
    ${kernelLike ? `lifecycle.setHost({ handlesInterrupts: true }); process.on("SIGINT", () => console.log("kernel: interrupt"));` : ""}
    const m = mmap(null, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    const lock = ShmLock.init(m, 0);
    lock.lock(); // held by this process: acquire() below waits for a release that never comes
    setTimeout(() => process.kill(process.pid, "SIGINT"), 200);
    try {
      await lock.acquire();
      console.log("acquired?!");
    } catch (e: any) {
      console.log("rejected " + e.code);
    }
    console.log("still running; SIGINT listeners: " + process.listenerCount("SIGINT"));`;

  test("in a kernel (someone handles SIGINT): a pending acquire rejects with EINTR, the process lives", async () => {
    const r = await runTs(program(true), { quiet: true, timeoutMs: 20000 });
    expect(r.code).toBe(0);
    // The kernel's own listener runs first; the rejection reaches the waiting code right after.
    expect(r.stdout).toBe("kernel: interrupt\nrejected EINTR\nstill running; SIGINT listeners: 1\n");
  });

  test("an acquire started inside a breakOnSigint script (how tslab runs a cell) stays interruptible", async () => {
    // Node swaps SIGINT handlers around such a script; a listener added during it used to leave
    // Node's exit-on-SIGINT handler installed, so the interrupt killed the process (the kernel).
    const r = await runTs(
      `import vm from "vm";
       import { mmap, ShmLock, PROT_READ, PROT_WRITE, MAP_SHARED, MAP_ANONYMOUS, lifecycle } from "tslab-ipc";
       lifecycle.setHost({ handlesInterrupts: true });
       process.on("SIGINT", () => console.log("kernel: interrupt"));
       const m = mmap(null, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
       const lock = ShmLock.init(m, 0);
       lock.lock();
       (globalThis as any).cellLock = lock;
       const pending: Promise<unknown> = vm.runInThisContext("cellLock.acquire()", { breakOnSigint: true });
       setTimeout(() => process.kill(process.pid, "SIGINT"), 300);
       try {
         await pending;
       } catch (e: any) {
         console.log("rejected " + e.code);
       }`,
      { quiet: true, timeoutMs: 20000 },
    );
    expect(r.signal).toBeNull();
    expect(r.stdout).toBe("kernel: interrupt\nrejected EINTR\n");
  });

  test("in a plain program (nobody handles SIGINT): SIGINT still ends the process", async () => {
    const r = await runTs(program(false), { quiet: true, timeoutMs: 20000 });
    expect(r.signal).toBe("SIGINT");
    expect(r.stdout).toBe("");
  });
});

describe("signals while lock() blocks", () => {
  // As SharedWord.wait (word.test.ts): blocked in pthread_mutex_lock, a program that had created
  // an object was deaf to Ctrl-C, SIGTERM and SIGHUP, and a cell to the interrupt button.
  const locker = (kernelLike: boolean) =>
    blockingProgram(
      kernelLike,
      "(globalThis as any).held = ShmLock.open(shmat(Number(process.argv[2]), null, 0), 0);",
      "held.lock()",
    );

  test.each([
    [
      "a plain program dies of SIGTERM, as a C program does",
      false,
      "SIGTERM",
      { signal: "SIGTERM", stdout: "waiting\n" },
    ],
    [
      "in a kernel, an interrupt ends the cell's lock() and the kernel lives",
      true,
      "SIGINT",
      { code: 0, stdout: "waiting\nScript execution was interrupted by `SIGINT`\n" },
    ],
  ] as const)("%s", async (_, kernelLike, signal, expected) => {
    const lock = ShmLock.init(seg, 0);
    lock.lock(); // held here: the child's lock() blocks
    try {
      const child = spawnTs(locker(kernelLike), { args: [String(id)], quiet: true });
      expect(await signalWhenBlocked(child, signal, !kernelLike)).toMatchObject(expected);
    } finally {
      lock.unlock();
      reap();
    }
  });
});

test("a lock in a file mapping shared by two processes", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-lockfile-"));
  const file = path.join(dir, "lockfile");
  try {
    fs.writeFileSync(file, Buffer.alloc(4096));
    const fd = fs.openSync(file, "r+");
    const m = mmap(null, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    fs.closeSync(fd);
    try {
      const lock = ShmLock.init(m, 0);
      lock.lock();
      const child = runTs(
        `import fs from "fs";
         import { mmap, ShmLock, SharedWord, PROT_READ, PROT_WRITE, MAP_SHARED } from "tslab-ipc";
         const fd = fs.openSync(process.argv[2], "r+");
         const lock = ShmLock.open(mmap(null, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), 0);
         console.log(lock.tryLock() === null ? "busy" : "free");
         const told = new SharedWord(lock.region, 64);
         told.store(1);
         told.notify();
         console.log(JSON.stringify(await lock.acquire({ timeoutMs: 10000 })));`,
        { args: [file], quiet: true },
      );
      // Unlock once the child has tried (it says so through a word in the same mapping).
      const told = new SharedWord(m, 64);
      while (told.load() === 0) await told.waitAsync(0, { timeoutMs: 10000 });
      lock.unlock();
      const r = await child;
      expect(r.stdout).toBe(`busy\n{"ownerDied":false}\n`);
    } finally {
      m.unmap();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
