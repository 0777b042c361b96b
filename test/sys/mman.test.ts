// The mmap family: the slides' examples, each errno, bad arguments, stale views.
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import {
  MADV_DONTNEED,
  MADV_SEQUENTIAL,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MS_ASYNC,
  MS_INVALIDATE,
  MS_SYNC,
  Mapping,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  _SC_PAGESIZE,
  _SC_PAGE_SIZE,
  madvise,
  mapAnonymous,
  mapFile,
  mincore,
  mmap,
  mprotect,
  msync,
  munmap,
  sysconf,
} from "../../src";
import { _checkFileEndWithDescriptor } from "../../src/sys/mman";
import { caught, distIndex, runNode, tempDir } from "../helpers";

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const PAGE = 4096;

function fileWith(name: string, content: Buffer | string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
}

const err = caught;

test("sysconf(_SC_PAGESIZE) is the page size; bad names are EINVAL or RangeError", () => {
  expect(sysconf(_SC_PAGESIZE)).toBe(PAGE);
  expect(sysconf(_SC_PAGE_SIZE)).toBe(PAGE);
  expect(err(() => sysconf(99999))).toMatchObject({ code: "EINVAL", syscall: "sysconf" });
  expect(() => sysconf(-1)).toThrow(RangeError);
  expect(() => sysconf("x" as never)).toThrow(TypeError);
});

test("the slides' mmap example: map the first 4 KiB of a file read-only, close the fd, read an int", () => {
  const buf = Buffer.alloc(PAGE);
  buf.writeInt32LE(0x12345678, 0);
  const file = fileWith("ints.bin", buf);
  const fd = fs.openSync(file, "r");
  const pregion = mmap(null, 4096, PROT_READ, MAP_SHARED, fd, 0);
  fs.closeSync(fd);
  expect(pregion).toBeInstanceOf(Mapping);
  expect(pregion.readInt32(0)).toBe(0x12345678);
  expect(pregion.path).toBe(file);
  expect(munmap(pregion, 4096)).toBe(0);
  expect(pregion.state).toBe("detached");
});

test("MAP_SHARED writes reach the file; MAP_PRIVATE writes do not", () => {
  const file = fileWith("shared.bin", Buffer.alloc(PAGE));
  const fd = fs.openSync(file, "r+");
  const shared = mmap(null, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const priv = mmap(null, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  fs.closeSync(fd);
  shared.writeString("shared");
  expect(priv.readString()).toBe("shared"); // not yet copied: sees the file's page
  priv.writeString("private");
  expect(fs.readFileSync(file, "utf8").slice(0, 6)).toBe("shared");
  expect(shared.readString()).toBe("shared");
  expect(priv.readString()).toBe("private");
  shared.unmap();
  priv.unmap();
});

test("msync(MS_SYNC) returns 0; MS_ASYNC|MS_SYNC together is refused; flags checked", () => {
  const m = mapFile(fileWith("sync.bin", Buffer.alloc(2 * PAGE)));
  m.writeString("This is a test");
  expect(msync(m, PAGE, MS_SYNC)).toBe(0);
  expect(msync(m, 2 * PAGE, MS_ASYNC | MS_INVALIDATE)).toBe(0);
  m.sync();
  expect(() => msync(m, PAGE, MS_SYNC | MS_ASYNC)).toThrow(RangeError);
  expect(() => msync(m, PAGE, 64)).toThrow(RangeError);
  // Past the end: the message names the argument given (msync takes no offset).
  expect(() => msync(m, 3 * PAGE, MS_SYNC)).toThrow(/^The value of "length" is out of range\. It must be <= /);
  expect(() => m.sync(MS_SYNC, PAGE, 2 * PAGE)).toThrow(/^The value of "offset \+ length" is out of range/);
  expect(() => msync({} as never, PAGE, MS_SYNC)).toThrow(TypeError);
  m.unmap();
  expect(err(() => msync(m, PAGE, MS_SYNC))).toMatchObject({ code: "ENOMEM" });
});

test("errnos: write-mapping a read-only fd is EACCES, a closed fd EBADF, length 0 EINVAL, neither shared nor private EINVAL", () => {
  const file = fileWith("ro.bin", Buffer.alloc(PAGE));
  const fd = fs.openSync(file, "r");
  expect(err(() => mmap(null, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0))).toMatchObject({
    code: "EACCES",
    syscall: "mmap",
  });
  fs.closeSync(fd);
  expect(err(() => mmap(null, PAGE, PROT_READ, MAP_SHARED, fd, 0))).toMatchObject({ code: "EBADF" });
  expect(err(() => mmap(null, 0, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0))).toMatchObject({ code: "EINVAL" });
  expect(err(() => mmap(null, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0))).toMatchObject({ code: "EINVAL" });
});

test("bad arguments are refused before the syscall", () => {
  expect(() => mmap(null, -1, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)).toThrow(RangeError);
  expect(() => mmap(null, 10.5, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)).toThrow(RangeError);
  expect(() => mmap(null, PAGE, 0x40, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)).toThrow(/unknown bits/);
  expect(() => mmap(null, PAGE, PROT_READ, 0x8000000, -1, 0)).toThrow(/unknown bits/);
  expect(() => mmap(null, PAGE, PROT_READ, MAP_SHARED, 3, 100)).toThrow(/multiple of the page size/);
  expect(() => mmap(null, PAGE, PROT_READ, MAP_SHARED, -2, 0)).toThrow(RangeError);
  expect(() => mmap("0x1000" as never, PAGE, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0)).toThrow(TypeError);
  expect(() => mmap(123n, PAGE, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0)).toThrow(RangeError);
  expect(() => mmap(null, PAGE, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)).toThrow(RangeError);
});

test("MAP_FIXED never replaces memory in use: EEXIST instead of a corrupted process", () => {
  const m = mapAnonymous(PAGE);
  m.writeString("keep me");
  expect(err(() => mmap(m.address, PAGE, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))).toMatchObject({
    code: "EEXIST",
  });
  expect(m.readString()).toBe("keep me");
  // A free address works: map, unmap (no view taken, so the range is really freed), map there.
  const probe = mapAnonymous(PAGE);
  const addr = probe.address;
  probe.unmap();
  const fixed = mmap(addr, PAGE, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  expect(fixed.address).toBe(addr);
  fixed.unmap();
  m.unmap();
});

test("a stale buffer after munmap reads zeros and takes writes without faulting; munmap twice is a no-op", () => {
  const m = mapAnonymous(3 * PAGE);
  const stale = m.buffer;
  stale.fill(0xab);
  expect(munmap(m)).toBe(0);
  expect(stale[0]).toBe(0);
  expect(stale[3 * PAGE - 1]).toBe(0);
  stale.fill(1);
  expect(munmap(m)).toBe(0);
  expect(m.unmap()).toBe(false);
  expect(() => m.buffer).toThrow(/ERR_DETACHED/);
  expect(() => munmap(m, 5)).toThrow(RangeError);
  expect(() => munmap({} as never)).toThrow(TypeError);
});

test("a mapping is not an array either: mapping[0] throws ERR_NOT_AN_ARRAY naming mapping.buffer[0]", () => {
  const m = mmap(null, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  try {
    expect(() => (m as unknown as number[])[0]).toThrow(/^Mapping is not an array: its bytes are mapping\.buffer\[0\]/);
    expect(m.buffer[0]).toBe(0);
  } finally {
    m.unmap();
  }
});

test("mprotect: PROT_READ makes the helpers refuse writes; PROT_NONE refuses reads; back to RW works", () => {
  const m = mapAnonymous(PAGE);
  m.writeInt32(0, 42);
  expect(mprotect(m, PAGE, PROT_READ)).toBe(0);
  expect(m.prot).toBe(PROT_READ);
  expect(m.readInt32(0)).toBe(42);
  expect(err(() => m.writeInt32(0, 1))).toMatchObject({ code: "EACCES" });
  m.protect(PROT_NONE);
  expect(err(() => m.readInt32(0))).toMatchObject({ code: "EACCES" });
  m.protect(PROT_READ | PROT_WRITE);
  m.writeInt32(0, 7);
  expect(m.readInt32(0)).toBe(7);
  expect(() => mprotect(m, PAGE, 0x10)).toThrow(RangeError);
  // A shared file mapping of a read-only descriptor cannot gain PROT_WRITE.
  const file = fileWith("prot.bin", Buffer.alloc(PAGE));
  const fd = fs.openSync(file, "r");
  const ro = mmap(null, PAGE, PROT_READ, MAP_SHARED, fd, 0);
  fs.closeSync(fd);
  expect(err(() => mprotect(ro, PAGE, PROT_READ | PROT_WRITE))).toMatchObject({ code: "EACCES", syscall: "mprotect" });
  ro.unmap();
  m.unmap();
});

test("mincore and madvise: pages become resident when touched and go away with MADV_DONTNEED", () => {
  const m = mapAnonymous(8 * PAGE);
  expect([...mincore(m)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  m.buffer[0] = 1;
  m.buffer[5 * PAGE] = 1;
  expect([...m.residency()]).toEqual([1, 0, 0, 0, 0, 1, 0, 0]);
  expect(madvise(m, 8 * PAGE, MADV_DONTNEED)).toBe(0);
  expect([...mincore(m)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  expect(m.buffer[0]).toBe(0); // anonymous private pages come back zeroed
  m.advise(MADV_SEQUENTIAL);
  expect(() => madvise(m, PAGE, 999)).toThrow(RangeError);
  expect(mincore(m, PAGE)).toHaveLength(1);
  m.unmap();
  const pop = mapAnonymous(4 * PAGE, { populate: true });
  expect([...pop.residency()]).toEqual([1, 1, 1, 1]);
  pop.unmap();
  const pop2 = mmap(null, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  expect([...pop2.residency()]).toEqual([1, 1]);
  pop2.unmap();
});

test("helpers refuse a touch past the end of a truncated file (SIGBUS in C)", () => {
  const file = fileWith("trunc.bin", Buffer.alloc(4 * PAGE, 1));
  const m = mapFile(file);
  expect(m.readInt32(3 * PAGE)).toBe(0x01010101);
  fs.truncateSync(file, PAGE + 10);
  expect(m.readInt32(PAGE + 100)).toBe(0); // the rest of the last page reads zeros
  expect(err(() => m.readInt32(3 * PAGE))).toMatchObject({ code: "ERR_PAST_EOF" });
  expect(err(() => m.writeString("x", 2 * PAGE))).toMatchObject({ code: "ERR_PAST_EOF" });
  m.unmap();
});

test("mapFile: defaults to the whole file, shared and writable; options are checked", () => {
  const file = fileWith("whole.bin", "hello mmap\0");
  const m = mapFile(file);
  expect(m.length).toBe(11);
  expect(m.readString()).toBe("hello mmap");
  m.writeString("HELLO");
  m.unmap();
  expect(fs.readFileSync(file, "utf8").startsWith("HELLO\0")).toBe(true);
  const ro = mapFile(file, { writable: false });
  expect(err(() => ro.writeString("x"))).toMatchObject({ code: "EACCES" });
  ro.unmap();
  expect(err(() => mapFile(path.join(dir, "nope")))).toMatchObject({ code: "ENOENT", syscall: "open" });
  expect(() => mapFile(fileWith("empty.bin", ""))).toThrow(RangeError);
  const created = mapFile(path.join(dir, "made.bin"), { create: PAGE });
  expect(created.length).toBe(PAGE);
  expect(fs.statSync(path.join(dir, "made.bin")).mode & 0o777).toBe(0o600);
  created.unmap();
  expect(() => mapFile(file, { offset: 3 })).toThrow(RangeError);
  expect(() => mapFile(file, 5 as never)).toThrow(TypeError);
});

test("mapFile's createSize makes a missing file of that size; create, its first name, still does", () => {
  for (const [option, name] of [
    ["createSize", "sized.bin"],
    ["create", "sized-old-name.bin"],
  ] as const) {
    const m = mapFile(path.join(dir, name), { [option]: 2 * PAGE });
    expect({ option, length: m.length, size: fs.statSync(path.join(dir, name)).size }).toEqual({
      option,
      length: 2 * PAGE,
      size: 2 * PAGE,
    });
    m.unmap();
  }
  expect(caught(() => mapFile(path.join(dir, "zero.bin"), { createSize: 0 }))).toMatchObject({
    code: "ERR_OUT_OF_RANGE",
    message: expect.stringMatching(/"options\.createSize"/),
  });
  expect(fs.existsSync(path.join(dir, "zero.bin"))).toBe(false);
});

test("an unreachable mapping and its views are unmapped by the garbage collector", () => {
  // In a child with --expose-gc: count mappings of the file in /proc/self/maps before and after.
  const file = fileWith("gc-probe.bin", Buffer.alloc(4 * PAGE));
  const r = runNode(
    `
    const fs = require("fs");
    const file = ${JSON.stringify(file)};
    const count = () => fs.readFileSync("/proc/self/maps", "utf8").split("\\n").filter((l) => l.includes(file)).length;
    (function () {
      for (let i = 0; i < 50; i++) { const m = ipc.mapFile(file); if (i % 2) m.buffer[0] = 1; }
    })();
    const before = count();
    (async () => {
      for (let i = 0; i < 10; i++) { global.gc(); await new Promise((r) => setTimeout(r, 20)); }
      console.log(JSON.stringify({ before, after: count() }));
    })();`,
    { nodeArgs: ["--expose-gc"] },
  );
  expect(r.stderr).toBe("");
  const { before, after } = JSON.parse(r.stdout);
  expect(before).toBe(50);
  expect(after).toBe(0);
});

test("findings of the fuzzer stay fixed: partial mprotect, readString past EOF, made-up regions, huge or wrapping addresses", () => {
  const m = mapAnonymous(2 * PAGE, { shared: true });
  mprotect(m, 1, PROT_READ); // only the first page becomes read-only
  expect(err(() => m.writeInt32(PAGE, 1))).toMatchObject({ code: "EACCES" }); // conservative: the whole region
  m.protect(PROT_READ | PROT_WRITE);
  m.writeInt32(PAGE, 1);
  expect(() => m.writeInt32(0, 5n as never)).toThrow(TypeError);
  expect(() => m.writeInt32(0, 2 ** 31)).toThrow(RangeError);
  expect(() => m.writeBigInt64(0, 5 as never)).toThrow(TypeError);
  expect(() => m.writeBigInt64(0, 1n << 63n)).toThrow(RangeError);
  m.unmap();

  const file = fileWith("shrinks.bin", Buffer.alloc(2 * PAGE, 0x41)); // no NUL anywhere
  const f = mapFile(file);
  expect(f.readString(PAGE).length).toBe(PAGE);
  fs.truncateSync(file, 10);
  expect(f.readString(0)).toBe("A".repeat(10)); // the scan stops at the last page with file behind it
  expect(err(() => f.readString(PAGE))).toMatchObject({ code: "ERR_PAST_EOF" });
  f.unmap();

  expect(
    () => new (Mapping as never as new (...a: unknown[]) => Mapping)(Symbol("x"), 0x1000n, 4096, 3, 0x22, -1, 0),
  ).toThrow(TypeError);
  expect(() => mmap(2n ** 64n, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)).toThrow(RangeError);
  expect(() => mmap(0x1000n, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)).toThrow(RangeError);
});

test("mapFile refuses FIFOs without blocking (ENODEV), and a failed create leaves no file", () => {
  const fifo = path.join(dir, "pipe");
  require("child_process").execFileSync("mkfifo", [fifo]);
  expect(err(() => mapFile(fifo, { writable: false }))).toMatchObject({ code: "ENODEV", syscall: "open" });
  expect(() => mapFile(path.join(dir, "ro-create.bin"), { writable: false, create: PAGE })).toThrow(RangeError);
  expect(fs.existsSync(path.join(dir, "ro-create.bin"))).toBe(false);
});

/**
 * Descriptors this process has open on `file` now. Only those on the file: a count of all the
 * process's descriptors moves with whatever else the runtime opens and closes meanwhile (under
 * Node 26 it fell by three in the middle of a test), which says nothing about the mapping.
 */
const descriptorsOn = (file: string): number => {
  const target = fs.realpathSync(file);
  let count = 0;
  for (const fd of fs.readdirSync("/proc/self/fd")) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) === target) count++;
    } catch {
      // closed between the listing and the readlink (the listing's own descriptor is one)
    }
  }
  return count;
};

test("a file mapping holds no descriptor of its own, and still refuses a touch past the end after the caller closed its fd", () => {
  const file = fileWith("nofd.bin", Buffer.alloc(2 * PAGE, 7));
  const fd = fs.openSync(file, "r+");
  const m = mmap(null, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  fs.closeSync(fd);
  expect(descriptorsOn(file)).toBe(0);
  fs.truncateSync(file, 10);
  expect(m.readInt32(4)).toBe(0x07070707);
  expect(err(() => m.readInt32(PAGE))).toMatchObject({ code: "ERR_PAST_EOF" });
  expect(err(() => m.writeInt32(PAGE, 1))).toMatchObject({
    code: "ERR_PAST_EOF",
    message: expect.stringContaining(`'${file}' (10 bytes)`),
  });
  expect(m.path).toBe(file);
  m.unmap();
});

test("readString scans a long string a page, then more, at a time, and stops at the last page with file behind it", () => {
  const file = fileWith("long.bin", Buffer.alloc(8 * PAGE, 0x42)); // no NUL in 8 pages
  const m = mapFile(file);
  expect(m.readString(0)).toBe("B".repeat(8 * PAGE));
  expect(m.readString(3 * PAGE + 5)).toBe("B".repeat(5 * PAGE - 5));
  fs.truncateSync(file, 5 * PAGE); // pages 5..7 lose their file, with no NUL before them
  expect(m.readString(0)).toBe("B".repeat(5 * PAGE));
  expect(m.readString(4 * PAGE)).toBe("B".repeat(PAGE));
  expect(err(() => m.readString(5 * PAGE))).toMatchObject({ code: "ERR_PAST_EOF" });
  m.unmap();
});

test("on a kernel without MADV_POPULATE_READ, a file mapping checks the end with a dup of the descriptor", () => {
  _checkFileEndWithDescriptor(true);
  try {
    const file = fileWith("dup.bin", Buffer.alloc(4 * PAGE, 0x43));
    const fd = fs.openSync(file, "r+");
    const m = mmap(null, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    fs.closeSync(fd);
    expect(descriptorsOn(file)).toBe(1); // the mapping's own dup
    fs.truncateSync(file, PAGE + 10);
    expect(m.readInt32(PAGE + 100)).toBe(0);
    expect(err(() => m.readInt32(3 * PAGE))).toMatchObject({
      code: "ERR_PAST_EOF",
      message: expect.stringContaining(`(${PAGE + 10} bytes)`),
    });
    expect(m.readString(PAGE - 2)).toBe("C".repeat(12)); // to the file's end, in the last page
    expect(err(() => m.readString(2 * PAGE))).toMatchObject({ code: "ERR_PAST_EOF" });
    expect(m.path).toBe(file);
    m.unmap();
    expect(descriptorsOn(file)).toBe(0);
  } finally {
    _checkFileEndWithDescriptor(undefined);
  }
});

test("more unreachable mappings than one registration batch, made in one synchronous run, are all unmapped by the collector", () => {
  const file = fileWith("gc-batch.bin", Buffer.alloc(PAGE));
  const r = runNode(
    `
    const fs = require("fs");
    const file = ${JSON.stringify(file)};
    const count = () => fs.readFileSync("/proc/self/maps", "utf8").split("\\n").filter((l) => l.includes(file)).length;
    (function () {
      for (let i = 0; i < 700; i++) ipc.mapFile(file);
    })();
    const before = count();
    (async () => {
      for (let i = 0; i < 10 && count() > 0; i++) { global.gc(); await new Promise((r) => setTimeout(r, 20)); }
      console.log(JSON.stringify({ before, after: count() }));
    })();`,
    { nodeArgs: ["--expose-gc"] },
  );
  expect(r.stderr).toBe("");
  const { before, after } = JSON.parse(r.stdout);
  expect(before).toBe(700);
  expect(after).toBe(0);
});

describe("a full file system under a file mapping", () => {
  // A 1 MiB tmpfs holding a 4 MiB file: its pages past the first MiB have no room. Touched, they
  // raise SIGBUS in C; the helpers refused them, but as ERR_PAST_EOF "past the end of '…'
  // (4194304 bytes)" at 1 MiB, a file end that is not there.
  const as = process.getuid?.() === 0 ? [] : ["--map-root-user"];
  const refused =
    spawnSync("unshare", [...as, "--mount", "--propagation", "private", "true"]).status === 0
      ? null
      : "unshare --mount is refused here";
  (refused ? test.skip : test)(
    `is ENOSPC where a page finds no room, inside the file${refused ? ` [skipped: ${refused}]` : ""}`,
    () => {
      const script = `
        const t = require(${JSON.stringify(distIndex)});
        const fs = require("fs");
        const file = process.argv[1] + "/full";
        fs.writeFileSync(file, "");
        fs.truncateSync(file, 4 << 20);
        const m = t.mapFile(file);
        try {
          for (let page = 0; page < 1024; page++) m.writeString("x", page * 4096);
          console.log("no error");
        } catch (e) {
          console.log(JSON.stringify({ code: e.code, errno: e.errno, message: e.message }));
        }`;
      const dir = tempDir("tslab-ipc-fulltmpfs-");
      try {
        const r = spawnSync(
          "unshare",
          [
            ...as,
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            'mount -t tmpfs -o size=1m t "$1" && exec "$2" -e "$3" "$1"',
            "sh",
            dir,
            process.execPath,
            script,
          ],
          { encoding: "utf8", timeout: 30_000 },
        );
        expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toMatchObject({ status: 0, signal: null });
        expect(JSON.parse(r.stdout)).toMatchObject({
          code: "ENOSPC",
          errno: os.constants.errno.ENOSPC,
          message: expect.stringMatching(
            /^ENOSPC: no space left on device, writeString at \d+ of '.*\/full' \(4194304 bytes\): its file system has no page for it/,
          ),
        });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
