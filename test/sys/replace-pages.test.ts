// src/sys/replace-pages.ts: the one true MAP_FIXED of the project (the kernel's snapshot pages).
// Pages of memory become a file's pages with the same bytes; bad input changes nothing.
import fs from "fs";
import path from "path";
import { IpcError, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, mmap, munmap } from "../../src";
import { replacePagesWithFile } from "../../src/sys/replace-pages";
import { caught, tempDir } from "../helpers";

const PAGE = 4096;
const PAGES = 4;
const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/**
 * The smaps entry of the mapping that holds `address`: its path, Rss and Anonymous kB. An
 * anonymous mapping may share its entry with a neighbour (Linux merges them), so its counts
 * cover at least this test's pages.
 */
function smapsAt(address: bigint): { path: string; rss: number; anonymous: number } | null {
  for (const entry of fs.readFileSync("/proc/self/smaps", "utf8").split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const [head] = entry.split("\n");
    const [start, end] = head
      .split(" ")[0]
      .split("-")
      .map((x) => BigInt(`0x${x}`));
    if (address < start || address >= end) continue;
    return {
      path: head.split(/\s+/).slice(5).join(" "),
      rss: Number(/\nRss:\s+(\d+)/.exec(entry)?.[1]),
      anonymous: Number(/\nAnonymous:\s+(\d+)/.exec(entry)?.[1]),
    };
  }
  return null;
}

/** Whether the pages at `address` are still this test's anonymous memory, every one resident. */
function anonymousAt(address: bigint): boolean {
  const entry = smapsAt(address);
  return entry !== null && entry.path === "" && entry.anonymous >= PAGES * 4;
}

/** Anonymous memory holding `bytes`, and a file holding the same bytes after a first page of zeros. */
function memoryAndFile(bytes: Buffer) {
  const mapping = mmap(null, bytes.length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  bytes.copy(mapping.buffer);
  const file = path.join(dir, `pages-${process.hrtime.bigint()}`);
  fs.writeFileSync(file, Buffer.concat([Buffer.alloc(PAGE), bytes]));
  return { mapping, file };
}

const pattern = Buffer.from(Array.from({ length: PAGES * PAGE }, (_, i) => (i * 7 + 3) & 0xff));

test("the memory becomes the file's clean pages, with the same bytes and still writable in private", () => {
  const { mapping, file } = memoryAndFile(pattern);
  expect(anonymousAt(mapping.address)).toBe(true);
  const fd = fs.openSync(file, "r");
  try {
    replacePagesWithFile(mapping.address, PAGES * PAGE, fd, PAGE);
  } finally {
    fs.closeSync(fd);
  }
  // Not resident until read, and nothing anonymous: the file's pages in the page cache.
  expect(smapsAt(mapping.address)).toEqual({ path: file, rss: 0, anonymous: 0 });
  expect(Buffer.compare(mapping.buffer, pattern)).toBe(0);
  // A write gets a private copy: the memory changes, the file does not.
  mapping.buffer[5] ^= 0xff;
  expect(fs.readFileSync(file)[PAGE + 5]).toBe(pattern[5]);
  expect(smapsAt(mapping.address)?.anonymous).toBe(4);
  munmap(mapping);
  // Unmapped as any mapping is (the engine may map something new there at once).
  expect(smapsAt(mapping.address)?.path).not.toBe(file);
});

test("bad arguments throw before any mapping, and the memory stays as it was", () => {
  const { mapping, file } = memoryAndFile(pattern);
  const fd = fs.openSync(file, "r");
  try {
    const cases: [unknown[], string, string][] = [
      [[mapping.address + 1n, PAGE, fd, PAGE], "RangeError", "ERR_INVALID_ARG_VALUE"],
      [[0n, PAGE, fd, PAGE], "RangeError", "ERR_INVALID_ARG_VALUE"],
      [[1n << 48n, PAGE, fd, PAGE], "RangeError", "ERR_OUT_OF_RANGE"],
      [[Number(mapping.address), PAGE, fd, PAGE], "TypeError", "ERR_INVALID_ARG_TYPE"],
      [[mapping.address, 0, fd, PAGE], "RangeError", "ERR_OUT_OF_RANGE"],
      [[mapping.address, PAGE + 1, fd, PAGE], "RangeError", "ERR_INVALID_ARG_VALUE"],
      [[mapping.address, PAGE, -1, PAGE], "RangeError", "ERR_OUT_OF_RANGE"],
      [[mapping.address, PAGE, "3", PAGE], "TypeError", "ERR_INVALID_ARG_TYPE"],
      [[mapping.address, PAGE, fd, 100], "RangeError", "ERR_INVALID_ARG_VALUE"],
    ];
    for (const [args, name, code] of cases) {
      const e = caught(() => (replacePagesWithFile as (...a: unknown[]) => void)(...args));
      expect({ args: String(args), name: e.name, code: e.code }).toEqual({ args: String(args), name, code });
    }
  } finally {
    fs.closeSync(fd);
  }
  expect(anonymousAt(mapping.address)).toBe(true);
  expect(Buffer.compare(mapping.buffer, pattern)).toBe(0);
  munmap(mapping);
});

test("mmap's refusals are IpcErrors with the errno, and the memory stays as it was", () => {
  const { mapping, file } = memoryAndFile(pattern);
  // A descriptor that is not open: EBADF. One open for writing only: EACCES (mapping needs read).
  const writeOnly = fs.openSync(file, "a");
  const closed = fs.openSync(file, "r");
  fs.closeSync(closed);
  try {
    for (const [fd, code] of [
      [closed, "EBADF"],
      [writeOnly, "EACCES"],
    ] as const) {
      const e = caught(() => replacePagesWithFile(mapping.address, PAGES * PAGE, fd, PAGE));
      expect(e).toBeInstanceOf(IpcError);
      expect({ code: e.code, syscall: e.syscall }).toEqual({ code, syscall: "mmap" });
      expect(anonymousAt(mapping.address)).toBe(true);
      expect(Buffer.compare(mapping.buffer, pattern)).toBe(0);
    }
  } finally {
    fs.closeSync(writeOnly);
  }
  munmap(mapping);
});
