// @ts-check
// A kernel started from the start-up snapshot gives the snapshot's copy in its memory back to the
// page cache.
//
// Why: Node reads the V8 part of the blob into a heap block it keeps for the life of the process
// (V8 reads it again only to start a Worker: the interrupt watchdog, a cell's own). Under Node 20
// that block is 39 MiB of anonymous memory in every kernel, ~21% of one after its first cell,
// resident though nothing reads it.
//
// What: the snapshot builder writes `<blob>.pages` beside the blob, from a process started from
// it: a file whose byte o is the block's byte o, counted from the block's first page (that page
// holds malloc's header, so it is not replaced). A kernel started from the blob finds the block,
// checks that every page it will replace equals the file's, and maps the file over them
// (MAP_PRIVATE | MAP_FIXED, through src/sys/replace-pages.ts): the same bytes at the same
// addresses, now file-backed and clean. They leave the kernel's resident memory until something
// reads them, and then come from the page cache, shared by every kernel started from that blob.
//
// The same for TypeScript's source (`<blob>.source`): V8 keeps a script's text in its heap for as
// long as the script lives (lazy compilation reads it), one byte a character: 8.1 MB that every
// kernel deserializes from the blob and holds as anonymous memory, though it reads little of it.
// The builder writes the text as it compiled it (kernel/snapshot-entry.js), a process started
// from the new blob finds where V8 holds it and writes its whole pages as `<blob>.source`, and a
// kernel maps that file over the same pages. V8 never writes a string's characters and never
// moves a large object, and the string lives as long as TypeScript's functions: the process.
//
// Invariants:
// - Memory changes only where each replaced page equals the file's byte for byte, checked just
//   before the mapping; anything unexpected (no such block, a differing page, a file that is not
//   the blob's owner's or is writable by others) maps nothing, and the kernel runs as before.
// - A pages file is never written in place: the builder renames a new one over it. Pages of a
//   private file mapping not yet read would show such a write, so a mapped file never changes.
// - MAP_PRIVATE: V8 never writes to its startup data; were it to, it would get a private copy,
//   as before.

const fs = require("fs");
const path = require("path");

const PAGE = 4096;
/** Where the block's bytes begin in its first page: malloc's header on 64-bit glibc. */
const HEADER = 16;
/** The block is at least this large (the kernel's is ~39 MiB). */
const MIN_BLOCK = 1 << 20;
/** Bytes of the block's first page looked up in the blob to find where its copy starts. */
const PROBE = 512;
/** Of the blob, how far in Node's header can end. */
const HEADER_SPAN = 1 << 20;
/** Compared in chunks of this size: no large buffers. */
const CHUNK = 1 << 20;

/** The path of the pages file of `blob`. @param {string} blob */
function pagesFile(blob) {
  return `${blob}.pages`;
}

/** The path of the file of TypeScript's source pages of `blob`. @param {string} blob */
function sourceFile(blob) {
  return `${blob}.source`;
}

/**
 * Opens a file written for `blob` to be mapped: a regular file of the blob's owner, writable by
 * no one else, of whole pages (at least `minPages`). The caller closes the descriptor.
 * @param {string} file @param {string} blob @param {number} minPages
 * @returns {{ fd: number, size: number } | { skipped: string }}
 */
function openForMapping(file, blob, minPages) {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  const st = fs.fstatSync(fd);
  /** @type {string | null} */
  let refused = null;
  if (!st.isFile() || st.uid !== fs.statSync(blob).uid || (st.mode & 0o022) !== 0)
    refused = `${file} is not the blob's owner's alone`;
  else if (st.size % PAGE !== 0 || st.size < minPages * PAGE) refused = `${file} is not whole pages`;
  if (refused === null) return { fd, size: st.size };
  fs.closeSync(fd);
  return { skipped: refused };
}

/**
 * Whether this process's `length` bytes at `address` equal the file's from `offset`.
 * @param {number} mem a descriptor of /proc/self/mem @param {number} address
 * @param {number} fd @param {number} offset @param {number} length
 */
function sameAsFile(mem, address, fd, offset, length) {
  const inMemory = Buffer.alloc(CHUNK);
  const onDisk = Buffer.alloc(CHUNK);
  for (let at = 0; at < length; at += CHUNK) {
    const n = Math.min(CHUNK, length - at);
    if (fs.readSync(mem, inMemory, 0, n, address + at) !== n || fs.readSync(fd, onDisk, 0, n, offset + at) !== n)
      return false;
    if (!inMemory.subarray(0, n).equals(onDisk.subarray(0, n))) return false;
  }
  return true;
}

/**
 * Where `bytes` first appear in this process's anonymous mappings of at least `minSize` bytes,
 * outside `skip` ([start, size] of mappings not to search), at an address whose remainder by a
 * page is `phase` (any when null), or -1.
 * @param {number} mem @param {Buffer} bytes @param {number} minSize
 * @param {Array<[number, number]>} skip @param {number | null} phase
 */
function findInMappings(mem, bytes, minSize, skip, phase) {
  const chunk = Buffer.alloc(CHUNK + bytes.length);
  for (const [start, size] of anonymousMappings()) {
    if (size < minSize || skip.some(([s]) => s === start)) continue;
    for (let at = start; at < start + size; at += CHUNK) {
      let n;
      try {
        n = fs.readSync(mem, chunk, 0, Math.min(chunk.length, start + size - at), at);
      } catch {
        break; // unmapped since /proc/self/maps was read
      }
      for (
        let i = chunk.subarray(0, n).indexOf(bytes);
        i >= 0 && i < CHUNK;
        i = chunk.subarray(0, n).indexOf(bytes, i + 1)
      ) {
        if (phase === null || (at + i) % PAGE === phase) return at + i;
      }
    }
  }
  return -1;
}

/** The blob this process started from (`--snapshot-blob`), or null. */
function startedBlob() {
  const i = process.execArgv.indexOf("--snapshot-blob");
  return i >= 0 && process.execArgv[i + 1] ? path.resolve(process.execArgv[i + 1]) : null;
}

/**
 * The anonymous mappings of this process large enough to be the block, as [start, size].
 * @returns {Array<[number, number]>}
 */
function anonymousMappings() {
  /** @type {Array<[number, number]>} */
  const found = [];
  for (const line of fs.readFileSync("/proc/self/maps", "utf8").split("\n")) {
    const [range, perms, offset, , inode, name] = line.split(/\s+/);
    if (perms !== "rw-p" || offset !== "00000000" || inode !== "0" || name) continue;
    const [start, end] = range.split("-").map((x) => Number.parseInt(x, 16));
    if (Number.isSafeInteger(end) && end - start >= MIN_BLOCK) found.push([start, end - start]);
  }
  return found;
}

/**
 * The mappings that may be the block holding the blob's V8 data: those whose first page's bytes
 * after the header appear exactly once in the blob's first HEADER_SPAN bytes, right after the
 * data's length (Node writes the V8 data as a 32-bit length and its bytes), largest first.
 * @param {number} mem a descriptor of /proc/self/mem
 * @param {Buffer} blobHead the blob's first bytes
 * @param {number} blobSize the blob's size
 * @returns {Array<{ start: number, size: number, dataAt: number, dataBytes: number }>} dataAt:
 *   the blob offset of the block's byte HEADER; dataBytes: the V8 data's length
 */
function findBlocks(mem, blobHead, blobSize) {
  const page = Buffer.alloc(PAGE);
  const found = [];
  for (const [start, size] of anonymousMappings()) {
    try {
      fs.readSync(mem, page, 0, PAGE, start);
    } catch {
      continue; // unmapped since /proc/self/maps was read (V8 frees pages on its own threads)
    }
    const probe = page.subarray(HEADER, HEADER + PROBE);
    if (probe.every((b) => b === 0)) continue;
    const at = blobHead.indexOf(probe);
    if (at < 4 || blobHead.indexOf(probe, at + 1) >= 0) continue;
    const dataBytes = blobHead.readInt32LE(at - 4);
    if (dataBytes >= MIN_BLOCK && at + dataBytes <= blobSize && HEADER + dataBytes <= size) {
      found.push({ start, size, dataAt: at, dataBytes });
    }
  }
  return found.sort((a, b) => b.size - a.size);
}

/**
 * Writes `<blob>.pages` (see the header), in a process started from `blob`: the builder's.
 * @param {string} blob
 * @returns {number} the bytes written
 */
function writePages(blob) {
  const data = fs.readFileSync(blob);
  const mem = fs.openSync("/proc/self/mem", "r");
  try {
    const [block] = findBlocks(mem, data.subarray(0, HEADER_SPAN), data.length);
    if (!block) throw new Error("this process holds no copy of the blob's V8 data");
    // The file's byte o is the block's byte o: HEADER bytes that are not the blob's, then its data.
    const image = Buffer.alloc(HEADER + block.dataBytes);
    data.copy(image, HEADER, block.dataAt, block.dataAt + block.dataBytes);
    // Whole pages from the second on, as long as the block holds the same bytes.
    const page = Buffer.alloc(PAGE);
    let pages = 1;
    while ((pages + 1) * PAGE <= image.length) {
      fs.readSync(mem, page, 0, PAGE, block.start + pages * PAGE);
      if (!page.equals(image.subarray(pages * PAGE, (pages + 1) * PAGE))) break;
      pages++;
    }
    if (pages < 2) throw new Error("the blob's V8 data is not where its first page says");
    const out = pagesFile(blob);
    const partial = `${out}.${process.pid}`;
    fs.writeFileSync(partial, image.subarray(0, pages * PAGE), { mode: fs.statSync(blob).mode & 0o644 });
    fs.renameSync(partial, out);
    return pages * PAGE;
  } finally {
    fs.closeSync(mem);
  }
}

/**
 * Maps `<blob>.pages` over the block that holds the blob's V8 data (see the header).
 * @param {string | null} [blob] the blob this process started from, by default
 * @returns {{ bytes: number } | { skipped: string }} what was mapped, or why nothing was
 */
function mapPages(blob = startedBlob()) {
  if (!blob) return { skipped: "not started from a snapshot" };
  const file = pagesFile(blob);
  /** @type {number | null} */
  let fd = null;
  let mem = null;
  try {
    const opened = openForMapping(file, blob, 2);
    if ("skipped" in opened) return opened;
    fd = opened.fd;
    const size = opened.size;
    mem = fs.openSync("/proc/self/mem", "r");
    const blobSize = fs.statSync(blob).size;
    const head = Buffer.alloc(Math.min(HEADER_SPAN, blobSize));
    const blobFd = fs.openSync(blob, "r");
    try {
      fs.readSync(blobFd, head, 0, head.length, 0);
    } finally {
      fs.closeSync(blobFd);
    }
    const block = findBlocks(mem, head, blobSize).find((b) => HEADER + b.dataBytes >= size);
    if (!block) return { skipped: "no copy of the blob's V8 data as large as the file" };
    if (!sameAsFile(mem, block.start + PAGE, fd, PAGE, size - PAGE))
      return { skipped: `${file} differs from the block` };
    const { repoRoot } = require("./resolve");
    const { replacePagesWithFile } = require(path.join(repoRoot, "dist", "sys", "replace-pages"));
    replacePagesWithFile(BigInt(block.start + PAGE), size - PAGE, fd, PAGE);
    return { bytes: size - PAGE };
  } catch (e) {
    return { skipped: /** @type {Error} */ (e).message };
  } finally {
    if (fd !== null) fs.closeSync(fd);
    if (mem !== null) fs.closeSync(mem);
  }
}

/**
 * Writes `<blob>.source` (see the header), in a process started from `blob`: the whole pages of
 * TypeScript's source where V8 holds it. `image` is the source as the builder compiled it, one
 * byte a character. Node's copy of the blob holds the same bytes, serialized: not searched.
 * @param {string} blob @param {string} image
 * @returns {number} the bytes written
 */
function writeSource(blob, image) {
  const text = fs.readFileSync(image);
  if (text.length < 3 * PAGE) throw new Error(`${image} is too short to have whole pages`);
  const mem = fs.openSync("/proc/self/mem", "r");
  try {
    const data = fs.readFileSync(blob);
    const copies = findBlocks(mem, data.subarray(0, HEADER_SPAN), data.length).map(
      (b) => /** @type {[number, number]} */ ([b.start, b.size]),
    );
    const at = findInMappings(mem, text.subarray(0, PAGE), text.length, copies, null);
    if (at < 0) throw new Error("this process holds no copy of TypeScript's source");
    const fd = fs.openSync(image, "r");
    try {
      if (!sameAsFile(mem, at, fd, 0, text.length)) throw new Error("TypeScript's source differs from the image");
    } finally {
      fs.closeSync(fd);
    }
    const first = Math.ceil(at / PAGE) * PAGE;
    const end = Math.floor((at + text.length) / PAGE) * PAGE;
    const out = sourceFile(blob);
    const partial = `${out}.${process.pid}`;
    fs.writeFileSync(partial, text.subarray(first - at, end - at), { mode: fs.statSync(blob).mode & 0o644 });
    fs.renameSync(partial, out);
    return end - first;
  } finally {
    fs.closeSync(mem);
  }
}

/**
 * Maps `<blob>.source` over the pages of TypeScript's source in V8's heap (see the header).
 * @param {string | null} [blob] the blob this process started from, by default
 * @returns {{ bytes: number } | { skipped: string }} what was mapped, or why nothing was
 */
function mapSource(blob = startedBlob()) {
  if (!blob) return { skipped: "not started from a snapshot" };
  /** @type {number | null} */
  let fd = null;
  let mem = null;
  try {
    const opened = openForMapping(sourceFile(blob), blob, 2);
    if ("skipped" in opened) return opened;
    fd = opened.fd;
    const firstPage = Buffer.alloc(PAGE);
    fs.readSync(fd, firstPage, 0, PAGE, 0);
    mem = fs.openSync("/proc/self/mem", "r");
    const at = findInMappings(mem, firstPage, opened.size, [], 0);
    if (at < 0) return { skipped: "no copy of TypeScript's source at a page's start" };
    if (!sameAsFile(mem, at, fd, 0, opened.size)) return { skipped: `${sourceFile(blob)} differs from the heap` };
    const { repoRoot } = require("./resolve");
    const { replacePagesWithFile } = require(path.join(repoRoot, "dist", "sys", "replace-pages"));
    replacePagesWithFile(BigInt(at), opened.size, fd, 0);
    return { bytes: opened.size };
  } catch (e) {
    return { skipped: /** @type {Error} */ (e).message };
  } finally {
    if (fd !== null) fs.closeSync(fd);
    if (mem !== null) fs.closeSync(mem);
  }
}

module.exports = { mapPages, writePages, pagesFile, mapSource, writeSource, sourceFile };

// The builder runs this file in a process started from the new blob: write <blob>.pages and,
// given TypeScript's source as it compiled it, <blob>.source. Each is written whole or not at all.
if (require.main === module && process.argv[2] === "write" && process.argv[3]) {
  const blob = path.resolve(process.argv[3]);
  let failed = false;
  for (const [what, write] of /** @type {Array<[string, () => number]>} */ ([
    ["pages", () => writePages(blob)],
    ["source", () => (process.argv[4] ? writeSource(blob, path.resolve(process.argv[4])) : 0)],
  ])) {
    try {
      write();
    } catch (e) {
      failed = true;
      process.stderr.write(`snapshot ${what}: ${/** @type {Error} */ (e).message}\n`);
    }
  }
  process.exitCode = failed ? 1 : 0;
}
