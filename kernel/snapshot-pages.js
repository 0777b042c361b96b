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
// The same for the heap's large strings (`<blob>.strings`): TypeScript's source, which V8 keeps as
// long as the script lives (lazy compilation reads it), 8.1 MB one byte a character, and the
// largest declaration texts the snapshot's trees keep (the lib, fs.d.ts, ...: 2.2 MB). Every
// kernel deserializes them from the blob and holds them as anonymous memory, though it reads
// little of them. The builder writes them as V8 stores them (kernel/snapshot-entry.js), a process
// started from the new blob finds where V8 holds each and writes their whole pages, and a kernel
// maps that file over the same pages. V8 never writes a string's characters and never moves a
// large object, and these strings are never freed: TypeScript's source lives as long as its code,
// and the trees' texts as long as the converter's seeded trees, which it keeps for the process's
// life (seededTrees in kernel/converter.js). So V8 never reuses those pages for other objects.
//
// Invariants:
// - Memory changes only where each replaced page equals the file's byte for byte, checked just
//   before the mapping; anything unexpected (no such block, a differing page, a file that is not
//   the blob's owner's or is writable by others) maps nothing, and the kernel runs as before.
// - A pages or strings file is never written in place: the builder renames a new one over it.
//   Pages of a private file mapping not yet read would show such a write, so a mapped file never
//   changes.
// - MAP_PRIVATE: V8 never writes to its startup data nor to a string's characters; were it to,
//   it would get a private copy, as before.

const fs = require("fs");
const path = require("path");

const PAGE = 4096;
/** Where the block's bytes begin in its first page: malloc's header on 64-bit glibc. */
const HEADER = 16;
/** The block is at least this large (the kernel's is ~39 MiB). */
const MIN_BLOCK = 1 << 20;
/** Bytes of the block's first page looked up in the blob to find where its copy starts. */
const PROBE = 512;
/** Of the blob, how far in Node's header can end (it holds a few version strings and flags: ~100 bytes). */
const HEADER_SPAN = 64 * 1024;
/** Memory is searched in reads of this size (the writer). */
const CHUNK = 1 << 20;

/** The path of the pages file of `blob`. @param {string} blob */
function pagesFile(blob) {
  return `${blob}.pages`;
}

/** The path of the file of the large strings' pages of `blob`. @param {string} blob */
function stringsFile(blob) {
  return `${blob}.strings`;
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
 * The two buffers sameAsFile compares through, made once: small, since they are memory this
 * process holds until a GC, beside the pages being given back.
 * @type {[Buffer, Buffer] | null}
 */
let compareBuffers = null;
const COMPARE_BYTES = 64 * 1024;

/**
 * Whether this process's `length` bytes at `address` equal the file's from `offset`.
 * @param {number} mem a descriptor of /proc/self/mem @param {number} address
 * @param {number} fd @param {number} offset @param {number} length
 */
function sameAsFile(mem, address, fd, offset, length) {
  compareBuffers ??= [Buffer.allocUnsafeSlow(COMPARE_BYTES), Buffer.allocUnsafeSlow(COMPARE_BYTES)];
  const [inMemory, onDisk] = compareBuffers;
  for (let at = 0; at < length; at += COMPARE_BYTES) {
    const n = Math.min(COMPARE_BYTES, length - at);
    if (fs.readSync(mem, inMemory, 0, n, address + at) !== n || fs.readSync(fd, onDisk, 0, n, offset + at) !== n)
      return false;
    if (!inMemory.subarray(0, n).equals(onDisk.subarray(0, n))) return false;
  }
  return true;
}

/**
 * Reads this process's memory from `from` to `end` into `buffer`, one read every CHUNK bytes (a
 * buffer longer than CHUNK overlaps the next read by the difference), and yields each read's
 * address and byte count; stops where the memory was unmapped since /proc/self/maps was read.
 * @param {number} mem a descriptor of /proc/self/mem @param {Buffer} buffer
 * @param {number} from @param {number} end
 * @returns {Generator<[number, number]>}
 */
function* memoryChunks(mem, buffer, from, end) {
  for (let at = from; at < end; at += CHUNK) {
    let n;
    try {
      n = fs.readSync(mem, buffer, 0, Math.min(buffer.length, end - at), at);
    } catch {
      return;
    }
    yield [at, n];
  }
}

/**
 * Where `bytes` first appear in this process's anonymous mappings of at least `minSize` bytes,
 * outside `skip` ([start, size] of blocks found by findBlocks, each running to the end of its
 * mapping: a mapping is searched up to the block it holds), or -1.
 * @param {number} mem @param {Buffer} bytes @param {number} minSize @param {Array<[number, number]>} skip
 */
function findInMappings(mem, bytes, minSize, skip) {
  const chunk = Buffer.alloc(CHUNK + bytes.length);
  for (const [start, size] of anonymousMappings(minSize)) {
    const block = skip.find(([s]) => s >= start && s < start + size);
    const end = block ? block[0] : start + size;
    for (const [at, n] of memoryChunks(mem, chunk, start, end)) {
      const i = chunk.subarray(0, n).indexOf(bytes);
      if (i >= 0 && i < CHUNK) return at + i;
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
 * The anonymous mappings of this process of at least `minSize` bytes, as [start, size].
 * @param {number} [minSize] by default, large enough to be the block
 * @returns {Array<[number, number]>}
 */
function anonymousMappings(minSize = MIN_BLOCK) {
  /** @type {Array<[number, number]>} */
  const found = [];
  for (const line of fs.readFileSync("/proc/self/maps", "utf8").split("\n")) {
    const [range, perms, offset, , inode, name] = line.split(/\s+/);
    if (perms !== "rw-p" || offset !== "00000000" || inode !== "0" || name) continue;
    const [start, end] = range.split("-").map((x) => Number.parseInt(x, 16));
    if (Number.isSafeInteger(end) && end - start >= minSize) found.push([start, end - start]);
  }
  return found;
}

/**
 * The block that starts at `at`, if its first page's bytes after the header appear exactly once
 * in the blob's first HEADER_SPAN bytes, right after the data's length (Node writes the V8 data
 * as a 32-bit length and its bytes), and the data fits both the blob and memory up to `end`.
 * @param {number} mem a descriptor of /proc/self/mem
 * @param {Buffer} page a buffer of PAGE bytes to read into
 * @param {number} at @param {number} end
 * @param {Buffer} blobHead the blob's first bytes
 * @param {number} blobSize the blob's size
 * @returns {{ start: number, size: number, dataAt: number, dataBytes: number } | null}
 */
function blockAt(mem, page, at, end, blobHead, blobSize) {
  try {
    fs.readSync(mem, page, 0, PAGE, at);
  } catch {
    return null; // unmapped since /proc/self/maps was read (V8 frees pages on its own threads)
  }
  const probe = page.subarray(HEADER, HEADER + PROBE);
  if (probe.every((b) => b === 0)) return null;
  const dataAt = blobHead.indexOf(probe);
  if (dataAt < 4 || blobHead.indexOf(probe, dataAt + 1) >= 0) return null;
  const dataBytes = blobHead.readInt32LE(dataAt - 4);
  if (dataBytes < MIN_BLOCK || dataAt + dataBytes > blobSize || HEADER + dataBytes > end - at) return null;
  return { start: at, size: end - at, dataAt, dataBytes };
}

/**
 * Whether the 16 bytes at `o` of `buf` are malloc's header of a chunk it mapped on its own, of at
 * least MIN_BLOCK bytes and ending by `room` bytes further: 0, then the chunk's size with
 * IS_MMAPPED (2) and no other flag.
 * @param {Buffer} buf @param {number} o @param {number} room
 */
function mallocChunkAt(buf, o, room) {
  if (buf.readBigUInt64LE(o) !== 0n) return false;
  const size = buf.readBigUInt64LE(o + 8);
  if ((size & 0xfffn) !== 2n) return false;
  const bytes = Number(size - 2n);
  return bytes >= MIN_BLOCK && bytes <= room;
}

/**
 * The blocks that may hold the blob's V8 data, largest first (see blockAt): [start, size) runs
 * from the block to the end of its mapping.
 *
 * Node's block is a chunk malloc maps on its own, so it usually starts a line of /proc/self/maps,
 * and only those first pages are looked at. But the kernel merges two anonymous mappings that
 * touch and have the same permissions into one line: a mapping made right below the block later
 * then comes first in its line (the writer's own read of the blob, about once in 150 runs of the
 * writer on the test's snapshot, two at a time). So when no line starts with the block, every
 * page of every line is read, in CHUNK reads, and each page that starts a malloc chunk of its own
 * is looked at: ~30 ms for 50 MiB of lines, paid only then.
 * @param {number} mem a descriptor of /proc/self/mem
 * @param {Buffer} blobHead the blob's first bytes
 * @param {number} blobSize the blob's size
 * @returns {Array<{ start: number, size: number, dataAt: number, dataBytes: number }>} dataAt:
 *   the blob offset of the block's byte HEADER; dataBytes: the V8 data's length
 */
function findBlocks(mem, blobHead, blobSize) {
  const page = Buffer.alloc(PAGE);
  const mappings = anonymousMappings();
  const found = [];
  for (const [start, size] of mappings) {
    const block = blockAt(mem, page, start, start + size, blobHead, blobSize);
    if (block) found.push(block);
  }
  if (found.length === 0) {
    const chunk = Buffer.alloc(CHUNK);
    for (const [start, size] of mappings) {
      const end = start + size;
      for (const [at, n] of memoryChunks(mem, chunk, start + PAGE, end)) {
        for (let o = 0; o + HEADER <= n; o += PAGE) {
          if (!mallocChunkAt(chunk, o, end - at - o)) continue;
          const block = blockAt(mem, page, at + o, end, blobHead, blobSize);
          if (block) found.push(block);
        }
      }
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
      try {
        fs.readSync(mem, page, 0, PAGE, block.start + pages * PAGE);
      } catch {
        break; // unmapped since /proc/self/maps was read
      }
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
 * Where V8 puts a large object's chunk: at a multiple of this (its MemoryChunk alignment, 256 KiB)
 * plus a header. The writer records each string's first whole page modulo this, and a kernel
 * looks there only: one probe per 256 KiB of its heap.
 */
const CHUNK_ALIGN = 256 * 1024;

/**
 * The strings file's header (its first page): each string's region of the file and the remainder
 * of its first whole page by CHUNK_ALIGN. JSON, padded with spaces to a page.
 * @typedef {{ regions: Array<{ name: string, offset: number, length: number, phase: number }> }} StringsHeader
 */

/**
 * Writes `<blob>.strings` (see the header), in a process started from `blob`: the whole pages of
 * each large string of the builder's list where V8 holds it. `image` holds the strings' bytes as
 * V8 stores them (one byte a character, or UTF-16), `index` their places in it. A string found
 * nowhere, or only in Node's copy of the blob (which holds them too, serialized), is left out.
 * @param {string} blob @param {string} image @param {string} index
 * @returns {number} the bytes of strings written
 */
function writeStrings(blob, image, index) {
  /** @type {Array<{ name: string, offset: number, length: number }>} */
  const entries = JSON.parse(fs.readFileSync(index, "utf8"));
  const bytes = fs.readFileSync(image);
  const mem = fs.openSync("/proc/self/mem", "r");
  const imageFd = fs.openSync(image, "r");
  try {
    const data = fs.readFileSync(blob);
    const copies = findBlocks(mem, data.subarray(0, HEADER_SPAN), data.length).map(
      (b) => /** @type {[number, number]} */ ([b.start, b.size]),
    );
    /** @type {StringsHeader["regions"]} */
    const regions = [];
    /** @type {Buffer[]} */
    const parts = [Buffer.alloc(PAGE, " ")];
    let offset = PAGE;
    for (const { name, offset: from, length } of entries) {
      if (length < 3 * PAGE) continue;
      const text = bytes.subarray(from, from + length);
      const at = findInMappings(mem, text.subarray(0, PAGE), length, copies);
      if (at < 0 || !sameAsFile(mem, at, imageFd, from, length)) continue;
      const first = Math.ceil(at / PAGE) * PAGE;
      const end = Math.floor((at + length) / PAGE) * PAGE;
      regions.push({ name, offset, length: end - first, phase: first % CHUNK_ALIGN });
      parts.push(text.subarray(first - at, end - at));
      offset += end - first;
    }
    if (regions.length === 0) throw new Error("this process holds none of the strings where V8 keeps them");
    const header = Buffer.from(JSON.stringify({ regions }));
    if (header.length > PAGE) throw new Error("too many strings for the header's page");
    header.copy(parts[0]);
    const out = stringsFile(blob);
    const partial = `${out}.${process.pid}`;
    fs.writeFileSync(partial, Buffer.concat(parts), { mode: fs.statSync(blob).mode & 0o644 });
    fs.renameSync(partial, out);
    return offset - PAGE;
  } finally {
    fs.closeSync(imageFd);
    fs.closeSync(mem);
  }
}

/**
 * The strings file's regions, if its header is well formed: within the file, whole pages each.
 * @param {number} fd @param {number} size @returns {StringsHeader["regions"] | null}
 */
function readStringsHeader(fd, size) {
  const page = Buffer.alloc(PAGE);
  fs.readSync(fd, page, 0, PAGE, 0);
  try {
    /** @type {StringsHeader} */
    const { regions } = JSON.parse(page.toString("latin1"));
    const ok = (/** @type {unknown} */ n) => Number.isSafeInteger(n) && /** @type {number} */ (n) >= 0;
    const valid =
      Array.isArray(regions) &&
      regions.every(
        (r) =>
          ok(r.offset) &&
          ok(r.length) &&
          ok(r.phase) &&
          r.offset >= PAGE &&
          r.offset % PAGE === 0 &&
          r.length >= PAGE &&
          r.length % PAGE === 0 &&
          r.offset + r.length <= size &&
          r.phase % PAGE === 0 &&
          r.phase < CHUNK_ALIGN,
      );
    return valid ? regions : null;
  } catch {
    return null;
  }
}

/**
 * Maps `<blob>.strings` over the pages of the large strings in V8's heap (see the header): each
 * region over the place in this process's anonymous memory, at its recorded remainder by
 * CHUNK_ALIGN, whose bytes are the region's, every page compared.
 * @param {string | null} [blob] the blob this process started from, by default
 * @returns {{ bytes: number, strings: number } | { skipped: string }} what was mapped, or why nothing was
 */
function mapStrings(blob = startedBlob()) {
  if (!blob) return { skipped: "not started from a snapshot" };
  /** @type {number | null} */
  let fd = null;
  let mem = null;
  try {
    const opened = openForMapping(stringsFile(blob), blob, 2);
    if ("skipped" in opened) return opened;
    fd = opened.fd;
    const regions = readStringsHeader(fd, opened.size);
    if (!regions) return { skipped: `${stringsFile(blob)} has no valid header` };
    // Each region's first bytes, by phase: one 64-byte read per probe, then the whole compare.
    const PROBE_BYTES = 64;
    /** @type {Map<number, Map<string, number[]>>} */
    const byPhase = new Map();
    const head = Buffer.alloc(PROBE_BYTES);
    regions.forEach((r, i) => {
      fs.readSync(/** @type {number} */ (fd), head, 0, PROBE_BYTES, r.offset);
      const byHead = byPhase.get(r.phase) ?? new Map();
      byPhase.set(r.phase, byHead);
      const key = head.toString("latin1");
      byHead.set(key, [...(byHead.get(key) ?? []), i]);
    });
    mem = fs.openSync("/proc/self/mem", "r");
    /** @type {Array<number | undefined>} where each region's pages are */
    const found = [];
    const probe = Buffer.alloc(PROBE_BYTES);
    for (const [start, size] of anonymousMappings(2 * PAGE)) {
      for (const [phase, byHead] of byPhase) {
        const first = start + ((phase - (start % CHUNK_ALIGN) + CHUNK_ALIGN) % CHUNK_ALIGN);
        for (let at = first; at + PAGE <= start + size; at += CHUNK_ALIGN) {
          try {
            if (fs.readSync(mem, probe, 0, PROBE_BYTES, at) !== PROBE_BYTES) break;
          } catch {
            break; // unmapped since /proc/self/maps was read
          }
          for (const i of byHead.get(probe.toString("latin1")) ?? []) {
            const r = regions[i];
            if (found[i] === undefined && at + r.length <= start + size && sameAsFile(mem, at, fd, r.offset, r.length))
              found[i] = at;
          }
        }
      }
    }
    const { repoRoot } = require("./resolve");
    const { replacePagesWithFile } = require(path.join(repoRoot, "dist", "sys", "replace-pages"));
    let bytes = 0;
    let strings = 0;
    regions.forEach((r, i) => {
      const at = found[i];
      if (at === undefined) return;
      replacePagesWithFile(BigInt(at), r.length, fd, r.offset);
      bytes += r.length;
      strings++;
    });
    return strings > 0 ? { bytes, strings } : { skipped: "none of the strings is where the file says" };
  } catch (e) {
    return { skipped: /** @type {Error} */ (e).message };
  } finally {
    if (fd !== null) fs.closeSync(fd);
    if (mem !== null) fs.closeSync(mem);
  }
}

module.exports = { mapPages, writePages, pagesFile, mapStrings, writeStrings, stringsFile };

// The builder runs this file in a process started from the new blob: write <blob>.pages and,
// given the large strings' image and index, <blob>.strings. Each is written whole or not at all.
if (require.main === module && process.argv[2] === "write" && process.argv[3]) {
  const blob = path.resolve(process.argv[3]);
  const [image, index] = process.argv.slice(4, 6).map((p) => path.resolve(p));
  let failed = false;
  for (const [what, write] of /** @type {Array<[string, () => number]>} */ ([
    ["pages", () => writePages(blob)],
    ["strings", () => (image && index ? writeStrings(blob, image, index) : 0)],
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
