// dirtyPages and cachestat read the kernel's own dirty-page accounting: exact counts, exact pages.
import fs from "fs";
import path from "path";
import {
  IpcError,
  MS_ASYNC,
  MS_SYNC,
  PAGE_CLEAN,
  PAGE_DIRTY,
  PAGE_NOT_CACHED,
  PageStateSampler,
  PosixShm,
  SharedSegment,
  cachestat,
  countCalls,
  dirtyCount,
  dirtyPages,
  fsInfo,
  mapAnonymous,
  mapFile,
  pageStateName,
  pageStates,
} from "../../src";
import { setErrno } from "../../src/ffi/libc";
import { caught, tempDir, uniqueName } from "../helpers";

const PAGE = 4096;
const ones = (v: Uint8Array) => Array.from(v).flatMap((x, i) => (x ? [i] : []));

// Dirty pages exist only on a file system with storage behind it.
const dir = tempDir("tslab-ipc-dirty-");
const onDisk = !fsInfo(dir).inMemory;
const diskTest = onDisk ? test : test.skip;
if (!onDisk)
  console.warn(
    `skipped: ${dir} is on ${fsInfo(dir).type} (in memory); point TMPDIR at a disk-backed folder to run the dirty-page tests`,
  );
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

diskTest("16 pages written: 16 dirty; MS_SYNC: 0; 4 written then MS_ASYNC: still those 4", () => {
  const m = mapFile(path.join(dir, uniqueName("dirty")), { create: 32 * PAGE });
  try {
    expect(dirtyCount(m)).toBe(0);
    for (let p = 0; p < 32; p += 2) m.buffer[p * PAGE] = 1;
    expect(ones(dirtyPages(m))).toEqual(Array.from({ length: 16 }, (_, i) => i * 2));
    expect(dirtyPages(m)).toHaveLength(32);
    m.sync(MS_SYNC);
    expect(dirtyCount(m)).toBe(0);
    for (const p of [3, 4, 5, 31]) m.buffer[p * PAGE + 7] = 2;
    m.sync(MS_ASYNC);
    expect(ones(dirtyPages(m))).toEqual([3, 4, 5, 31]);
    expect(cachestat(m)).toMatchObject({ nr_cache: 32, nr_dirty: 4 });
    expect(cachestat(m, 4 * PAGE, 2 * PAGE)).toMatchObject({ nr_cache: 2, nr_dirty: 2 });
  } finally {
    m.unmap();
  }
});

diskTest("pageStates: not cached, clean, dirty; a sampler records frames", () => {
  const file = path.join(dir, uniqueName("states"));
  fs.writeFileSync(file, Buffer.alloc(0));
  fs.truncateSync(file, 256 * PAGE); // a hole: nothing in the page cache yet
  const m = mapFile(file);
  try {
    expect(Array.from(pageStates(m))).toEqual(new Array(256).fill(PAGE_NOT_CACHED));
    const s = new PageStateSampler(m, "test");
    s.sample("start");
    m.buffer[0] = 1; // the fault reads around page 0 (clean neighbours, how many is the kernel's choice); page 0 alone is written
    expect(s.sample("written")).toMatchObject({ dirty: 1 });
    const states = pageStates(m);
    expect([states[0], states[1]]).toEqual([PAGE_DIRTY, PAGE_CLEAN]);
    m.sync(MS_SYNC);
    expect(pageStates(m)[0]).toBe(PAGE_CLEAN);
    s.sample("MS_SYNC");
    expect(s.recording.dirtyCounts).toEqual([0, 1, 0]);
    expect(s.recording.matrix(2)[0]).toEqual([PAGE_NOT_CACHED, PAGE_DIRTY, PAGE_CLEAN]);
  } finally {
    m.unmap();
  }
});

diskTest("watch: a bad option is a TypeError/RangeError before any sample; until() ends the wait", async () => {
  const m = mapFile(path.join(dir, uniqueName("watch")), { create: 2 * PAGE });
  try {
    const s = new PageStateSampler(m, "watch");
    for (const bad of [false, 0, "yes", {}]) {
      const e = await s.watch({ until: bad as never }).catch((x) => x);
      expect(e).toBeInstanceOf(TypeError);
      expect(e.code).toBe("ERR_INVALID_ARG_TYPE");
    }
    expect((await s.watch({ intervalMs: 0 }).catch((x) => x)).code).toBe("ERR_OUT_OF_RANGE");
    expect(s.recording.frames).toHaveLength(0);
    m.buffer[0] = 1;
    const seen: number[] = [];
    const rec = await s.watch({
      intervalMs: 10,
      timeoutMs: 60000,
      until: (c) => {
        seen.push(c.dirty);
        return true;
      },
    });
    expect(rec.frames).toHaveLength(1);
    expect(seen).toEqual([1]);
  } finally {
    m.unmap();
  }
});

diskTest("cachestat on a descriptor: length 0 means to the end of the file, as in C", () => {
  const file = path.join(dir, uniqueName("fd"));
  fs.writeFileSync(file, Buffer.alloc(3 * PAGE, 1));
  const fd = fs.openSync(file, "r");
  try {
    const all = cachestat(fd);
    expect(all.nr_cache).toBe(3);
    expect(all.nr_dirty).toBe(3); // just written with write(2): dirty until written back
    expect(cachestat(fd, PAGE, PAGE).nr_cache).toBe(1);
  } finally {
    fs.closeSync(fd);
  }
});

test("tmpfs: cachestat counts no dirty page whatever was written, and dirtyPages refuses to answer", () => {
  const shm = PosixShm.create("/" + uniqueName("dirty"), 4 * PAGE);
  const m = shm.map();
  try {
    m.buffer.fill(1);
    expect(cachestat(m)).toMatchObject({ nr_cache: 4, nr_dirty: 0 });
    const e = caught(() => dirtyPages(m));
    expect(e).toBeInstanceOf(IpcError);
    expect(e.code).toBe("ERR_NO_WRITEBACK");
    expect(e.message).toMatch(/is on tmpfs .*never counts its pages as dirty/);
  } finally {
    m.unmap();
    shm.close();
    shm.unlink();
  }
});

test("bad input: anonymous memory, a System V attachment, an unmapped mapping, not a mapping", () => {
  const anon = mapAnonymous(PAGE);
  expect(() => dirtyPages(anon)).toThrow(/anonymous memory, which has no file/);
  anon.unmap();
  const seg = SharedSegment.create({ size: PAGE });
  try {
    expect(() => dirtyPages(seg.attach())).toThrow(/System V attachment/);
  } finally {
    seg[Symbol.dispose]();
  }
  const m = mapFile(path.join(dir, uniqueName("gone")), { create: PAGE });
  m.unmap();
  expect(caught(() => dirtyPages(m)).code).toBe("ERR_DETACHED");
  expect(() => dirtyPages({} as never)).toThrow(TypeError);
  expect(() => cachestat("3" as never)).toThrow(TypeError);
  expect(() => cachestat(-1)).toThrow(RangeError);
  expect(caught(() => cachestat(987654)).code).toBe("EBADF");
  // A legend's name for a state: a number, or an argument error (a Symbol once reached a template).
  expect(pageStateName(PAGE_DIRTY)).toBe("dirty");
  expect(pageStateName(9)).toBe("state 9");
  expect(caught(() => pageStateName(Symbol() as never))).toMatchObject({
    name: "TypeError",
    code: "ERR_INVALID_ARG_TYPE",
  });
  expect(caught(() => pageStateName(1.5))).toMatchObject({ name: "RangeError", code: "ERR_OUT_OF_RANGE" });
});

test("a kernel without cachestat (ENOSYS) is a clear IpcError, not a crash", () => {
  const spy = countCalls([], {
    standIns: {
      cachestat: () => {
        setErrno(38);
        return -1;
      },
    },
  });
  let e: ReturnType<typeof caught>;
  try {
    e = caught(() => cachestat(0));
  } finally {
    spy.stop();
  }
  expect(e).toBeInstanceOf(IpcError);
  expect(e).toMatchObject({ code: "ENOSYS", errno: 38, syscall: "cachestat" });
  expect(e.message).toMatch(
    /^ENOSYS: function not implemented, cachestat \(Linux 6\.5 or later has it; this kernel is /,
  );
});
