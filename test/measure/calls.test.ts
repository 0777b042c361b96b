// countCalls sees every path through the library into libc, and nothing else; stand-ins replace a call.
import fs from "fs";
import path from "path";
import {
  CallCounter,
  MS_ASYNC,
  MS_SYNC,
  SharedSegment,
  countCalls,
  countableCalls,
  mapAnonymous,
  mapFile,
  msync,
} from "../../src";
import { fn } from "../../src/ffi/libc";
import { tempDir } from "../helpers";

const PAGE = 4096;

test("counts msync through msync() and Mapping.sync, with the arguments, and mmap/munmap through mapFile", () => {
  const dir = tempDir();
  const spy = countCalls(["msync", "mmap", "munmap"]);
  try {
    const m = mapFile(path.join(dir, "f"), { create: 4 * PAGE });
    m.buffer[0] = 1;
    msync(m, PAGE, MS_SYNC);
    m.sync(MS_ASYNC, PAGE, PAGE);
    fs.writeFileSync(path.join(dir, "g"), "not a library call");
    m.unmap();
  } finally {
    spy.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  expect(spy.counts).toEqual({ msync: 2, mmap: 1, munmap: 1 });
  const syncs = spy.calls.filter((c) => c.name === "msync");
  expect(syncs.map((c) => [c.args[1], c.args[2]])).toEqual([
    [PAGE, MS_SYNC],
    [PAGE, MS_ASYNC],
  ]);
  expect(spy.active).toBe(false);
  expect(String(spy)).toBe("CallCounter { msync: 2, mmap: 1, munmap: 1 (stopped) }");
});

test("after stop() the table holds the original functions again, and later calls are not counted", () => {
  const original = fn.msync;
  const a = countCalls(["msync"]);
  const b = countCalls(["msync"]);
  expect(fn.msync).not.toBe(original);
  const m = mapAnonymous(PAGE);
  try {
    m.sync(MS_SYNC);
    a.stop();
    expect(fn.msync).not.toBe(original); // b still counts
    m.sync(MS_SYNC);
    b.stop();
    expect(fn.msync).toBe(original);
    m.sync(MS_SYNC);
  } finally {
    m.unmap();
  }
  expect(a.count("msync")).toBe(1);
  expect(b.count("msync")).toBe(2);
});

test("a stand-in runs instead of the call and ends with its counter", () => {
  const m = mapAnonymous(PAGE);
  const seen: unknown[] = [];
  const spy = countCalls([], {
    standIns: {
      msync: (...args: never[]) => {
        seen.push(args);
        return 0;
      },
    },
  });
  try {
    m.sync(MS_SYNC);
  } finally {
    spy.stop();
    m.unmap();
  }
  expect(spy.counts).toEqual({ msync: 1 });
  expect(seen).toHaveLength(1);
});

test("C names with more than one table entry (shmctl) and bad input", () => {
  expect(countableCalls()).toEqual(expect.arrayContaining(["msync", "mmap", "shmctl", "futex", "pthread_mutex_lock"]));
  expect(countableCalls()).not.toContain("shmctl_buf");
  const spy = countCalls(["shmctl"]);
  spy.stop();
  expect(spy).toBeInstanceOf(CallCounter);
  expect(() => countCalls(["readFileSync"])).toThrow(
    expect.objectContaining({
      code: "ERR_INVALID_ARG_VALUE",
      message: expect.stringMatching(/'names\[0\]' must be one of: .*'shmget'.*Received 'readFileSync'/),
    }),
  );
  expect(() => countCalls("msync" as never)).toThrow(TypeError);
  expect(() => countCalls([], { standIns: { msync: 0 as never } })).toThrow(TypeError);
});

test("releasing memory a view still points into counts as munmap or shmdt, not as mmap", () => {
  // The first segment a process creates maps the registry's journal (an mmap of the library's
  // own): done here, before counting.
  SharedSegment.create({ size: PAGE })[Symbol.dispose]();
  const spy = countCalls(["mmap", "munmap", "shmdt", "shmat"]);
  let segment: SharedSegment | undefined;
  try {
    const m = mapAnonymous(PAGE);
    m.buffer[0] = 1; // a view exists: unmap replaces the range in place
    m.unmap();
    segment = SharedSegment.create({ size: PAGE });
    const a = segment.attach();
    a.buffer[0] = 1;
    a.detach();
  } finally {
    spy.stop();
    segment?.[Symbol.dispose]();
  }
  expect(spy.counts).toEqual({ mmap: 1, munmap: 1, shmdt: 1, shmat: 1 });
});
