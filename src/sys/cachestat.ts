// cachestat(2), C-shaped: how many pages of a file range are in the page cache, dirty, under
// writeback, evicted. Linux 6.5+; syscall 451 on every architecture (no glibc wrapper).
//
// Invariants:
// - Arguments are checked before the syscall; a kernel without cachestat is an IpcError ENOSYS
//   that says so, never a crash.
// - For a Mapping, offset and length are within the mapping (the file range it maps), and the
//   file asked about is the mapped file itself: opened by path, then checked against the inode
//   /proc/self/maps shows for the mapping, so a file replaced under the same name is refused.
import fs from "fs";
import { constants as osConstants } from "os";
import { errno as lastErrno, fn } from "../ffi/libc";
import { IpcError, fsCall, ipcErrorFromErrno } from "../errors";
import { ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE } from "../codes";
import { validateInteger, validateInt32 } from "../validators";
import { Mapping } from "./mman";
import { Region } from "./region";

/** cachestat's number in the generic syscall table (x86_64 and aarch64 alike). */
export const SYS_cachestat = 451;
const ENOSYS = 38;

/** struct cachestat: page counts for the range asked about. */
export interface CachestatResult {
  /** Pages of the range in the page cache. */
  nr_cache: number;
  /** Of those, pages modified and not yet written back. */
  nr_dirty: number;
  /** Pages being written back right now. */
  nr_writeback: number;
  /** Pages of the range evicted from the page cache (shadow entries left behind). */
  nr_evicted: number;
  /** Evicted pages that would still be cached had memory not been short ("recently" evicted). */
  nr_recently_evicted: number;
}

const range = Buffer.alloc(16);
const out = Buffer.alloc(40);

/** Where a file-backed mapping's file is, for the syscalls that need a descriptor. */
interface MappedFile {
  fd: number;
  /** The mapping's offset into the file. */
  offset: number;
}

/** /proc/self/maps' line for the range starting at `address`: device, inode and path. */
function mapsLine(address: bigint): { inode: number; path: string } | null {
  const hex = address.toString(16);
  const text = fs.readFileSync("/proc/self/maps", "utf8");
  for (const line of text.split("\n")) {
    const dash = line.indexOf("-");
    if (dash < 0 || line.slice(0, dash).replace(/^0+/, "") !== hex) continue;
    const f = line.split(/\s+/);
    return { inode: Number(f[4]), path: f.slice(5).join(" ") };
  }
  return null;
}

/**
 * Opens the file a Mapping maps (read-only) and runs `use` with its descriptor. Throws a
 * TypeError for anything that is not a file mapping: an Attachment, anonymous memory.
 */
export function withMappedFile<T>(mapping: Region, action: string, use: (file: MappedFile) => T): T {
  if (!(mapping instanceof Mapping)) {
    if (mapping instanceof Region) {
      throw new ERR_INVALID_ARG_VALUE(
        "mapping",
        mapping,
        `must map a file for ${action}; a System V attachment is shared memory with no file behind it`,
      );
    }
    throw new ERR_INVALID_ARG_TYPE("mapping", "Mapping", mapping);
  }
  if (!mapping.attached) {
    throw new IpcError("ERR_DETACHED", `ERR_DETACHED: the mapping is no longer mapped, cannot ${action}`);
  }
  const path = mapping.path;
  if (path === null) {
    throw new ERR_INVALID_ARG_VALUE(
      "mapping",
      mapping,
      `must map a file for ${action}; this is anonymous memory, which has no file and no page-cache entry`,
    );
  }
  const line = mapsLine(mapping.address);
  if (!line || line.inode === 0) {
    throw new ERR_INVALID_ARG_VALUE(
      "mapping",
      mapping,
      `must map a file for ${action}; /proc/self/maps shows no file at 0x${mapping.address.toString(16)}`,
    );
  }
  if (/ \(deleted\)$/.test(line.path)) {
    throw new IpcError("ENOENT", `ENOENT: the mapped file ${line.path} was removed, ${action} cannot open it`, {
      errno: osConstants.errno.ENOENT,
      syscall: action,
      path,
    });
  }
  const fd = fsCall("open", { path }, () => fs.openSync(path, fs.constants.O_RDONLY));
  try {
    if (fs.fstatSync(fd).ino !== line.inode) {
      throw new IpcError(
        "ERR_FILE_REPLACED",
        `ERR_FILE_REPLACED: '${path}' is no longer the file this mapping maps (another file took its name)`,
        { path },
      );
    }
    return use({ fd, offset: mapping.offset });
  } finally {
    fs.closeSync(fd);
  }
}

function call(fd: number, offset: number, length: number): CachestatResult {
  range.writeBigUInt64LE(BigInt(offset), 0);
  range.writeBigUInt64LE(BigInt(length), 8);
  const rc = Number(fn.syscall_cachestat(SYS_cachestat, fd, range, out, 0));
  if (rc !== 0) {
    const errno = lastErrno();
    if (errno === ENOSYS) {
      throw new IpcError(
        "ENOSYS",
        `ENOSYS: function not implemented, cachestat (Linux 6.5 or later has it; this kernel is ${release()})`,
        { errno, syscall: "cachestat" },
      );
    }
    throw ipcErrorFromErrno(errno, "cachestat");
  }
  const u64 = (at: number) => Number(out.readBigUInt64LE(at));
  return {
    nr_cache: u64(0),
    nr_dirty: u64(8),
    nr_writeback: u64(16),
    nr_evicted: u64(24),
    nr_recently_evicted: u64(32),
  };
}

function release(): string {
  try {
    return fs.readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {
    return "unknown";
  }
}

/**
 * cachestat(fd | mapping, offset, length): page-cache counts of a file range (struct cachestat).
 * `length` 0 (the default) means "to the end of the file", as in C. For a Mapping the range is
 * within the mapping (default: all of it). Pages of tmpfs files (/dev/shm, POSIX shm) are never
 * dirty for writeback: tmpfs has nothing to write back to, so nr_dirty stays 0 there.
 * Throws IpcError ENOSYS on kernels older than 6.5.
 * @example
 * ```ts
 * cachestat(fd)  // { nr_cache: 16, nr_dirty: 16, nr_writeback: 0, nr_evicted: 0, nr_recently_evicted: 0 }
 * ```
 */
export function cachestat(target: number | Region, offset = 0, length?: number): CachestatResult {
  const at = validateInteger(offset, "offset", 0);
  const len = length === undefined ? undefined : validateInteger(length, "length", 0);
  if (typeof target === "number") {
    return call(validateInt32(target, "fd", 0), at, len ?? 0);
  }
  if (!(target instanceof Region)) {
    throw new ERR_INVALID_ARG_TYPE("fd", ["number", "Mapping"], target);
  }
  const bytes = len ?? target.length - at;
  if (at + bytes > target.length) {
    throw new ERR_OUT_OF_RANGE("offset + length", `<= ${target.length} (the mapping's length)`, at + bytes);
  }
  // A zero-length range inside a mapping asks about no pages (in C, length 0 would mean "to EOF").
  return withMappedFile(target, "cachestat", ({ fd, offset: base }) =>
    bytes === 0 ? zero() : call(fd, base + at, bytes),
  );
}

function zero(): CachestatResult {
  return { nr_cache: 0, nr_dirty: 0, nr_writeback: 0, nr_evicted: 0, nr_recently_evicted: 0 };
}

/** @internal The raw call on a descriptor, for instruments that split a range (dirtyPages). */
export function cachestatFd(fd: number, offset: number, length: number): CachestatResult {
  return call(fd, offset, length);
}
