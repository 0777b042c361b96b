// The mmap family, C-shaped: mmap, munmap, msync, mprotect, madvise, mincore.
import fs from "fs";
import { constants as osConstants } from "os";
import { errno as lastErrno, fn, isFailedPointer, type Pointer } from "../ffi/libc";
import { IpcError, throwErrno } from "../errors";
import { ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE_RANGE, ERR_OUT_OF_RANGE } from "../codes";
import { validateFlags, validateInt32, validateInteger } from "../validators";
import {
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MS_ASYNC,
  MS_SYNC,
  PROT_READ,
} from "./constants";
import { MADV_KNOWN, MAP_MASK, MS_MASK, PROT_MASK } from "./masks";
import { USER_ADDRESS_MIN, checkUserAddress } from "./address";
import { pageSize } from "./page";
import { Region, regionToken, validateRegion } from "./region";

// <fcntl.h>; Node's fs.constants has no F_* commands.
const F_DUPFD_CLOEXEC = 1030;
const { EFAULT, EINVAL, ENOMEM, ENOSPC } = osConstants.errno;
// How much of a file mapping readString probes at a time, at most (it starts with a page).
const PROBE_CHUNK_MAX = 1024 * 1024;

// One function for every mapping that holds no descriptor: no closure allocated per mmap.
const releaseMapping = (address: Pointer, span: number): void => {
  fn.munmap(address, span);
};

let populateWorks: boolean | undefined;
/**
 * Whether madvise(MADV_POPULATE_READ) exists (Linux 5.14+): asked once, with a zero length,
 * which the kernel answers (0 or EINVAL for an unknown advice) before looking at any page.
 */
function canProbe(): boolean {
  return (populateWorks ??= fn.madvise(USER_ADDRESS_MIN, 0, MADV_POPULATE_READ) === 0);
}

/**
 * @internal Tests only: true makes new file mappings check the file's end as on a kernel
 * without MADV_POPULATE_READ (a dup of the descriptor, fstat); undefined asks the kernel again.
 */
export function _checkFileEndWithDescriptor(on: boolean | undefined): void {
  populateWorks = on === undefined ? undefined : !on;
}

/** /proc/self/maps' line for the mapping that starts at `address`: its inode and path (null when none). */
function mapsEntry(address: Pointer): { inode: number; path: string } | null {
  const hex = address.toString(16);
  for (const line of fs.readFileSync("/proc/self/maps", "utf8").split("\n")) {
    const m = /^0*([0-9a-f]+)-\S+\s+\S+\s+\S+\s+\S+\s+(\d+)\s*(.*)$/.exec(line);
    if (m && m[1] === hex) return m[2] === "0" ? null : { inode: Number(m[2]), path: m[3] };
  }
  return null;
}

/**
 * A live mapping: what mmap returns. Owns the mapped range until munmap/dispose.
 *
 * A file mapping refuses, in its checked helpers, a touch of a page with no file behind it
 * (a file truncated after mmap: SIGBUS in C), even after the caller closed its descriptor, as
 * the slides do. It holds no descriptor for that: before such an access the pages are probed
 * with madvise(MADV_POPULATE_READ), which faults them in as the access would and answers
 * EFAULT, without a signal, for a page past the end of the file. So mmap and munmap of a file
 * make the same two syscalls as C. On a kernel without that advice (before 5.14) the mapping
 * keeps a CLOEXEC dup of the descriptor instead and checks the file's size with fstat.
 */
export class Mapping extends Region {
  /** MAP_* flags as passed (MAP_FIXED shown as given). */
  readonly flags: number;
  /** The descriptor passed to mmap (-1 for anonymous); may be closed after mmap, as on the slides. */
  readonly fd: number;
  readonly offset: number;
  /** Whether a file is mapped (not MAP_ANONYMOUS): the helpers check the file's end first. */
  readonly #file: boolean;
  /** Only on kernels without MADV_POPULATE_READ: our CLOEXEC dup of the mapped file, for fstat. */
  #fileFd: { fd: number } | null;
  #path: string | null | undefined;

  /** @internal Only `mmap` makes mappings. */
  constructor(
    token: typeof regionToken,
    address: Pointer,
    length: number,
    prot: number,
    flags: number,
    fd: number,
    offset: number,
  ) {
    const file = token === regionToken && !(flags & MAP_ANONYMOUS) && fd >= 0;
    // Taken before the region exists, so a failed dup leaves nothing to undo.
    const fileFd = file && !canProbe() ? { fd: fn.fcntl(fd, F_DUPFD_CLOEXEC, "int", 0) as number } : null;
    super(
      token,
      address,
      length,
      prot,
      fileFd === null || fileFd.fd < 0
        ? releaseMapping
        : (addr, span) => {
            fn.munmap(addr, span);
            closeQuietly(fileFd);
          },
    );
    this.flags = flags;
    this.fd = fd;
    this.offset = offset;
    this.#file = file;
    this.#fileFd = fileFd !== null && fileFd.fd >= 0 ? fileFd : null;
    this.#path = file ? undefined : null;
  }

  /** The mapped file, or null for anonymous memory (read from /proc on first use, while mapped). */
  get path(): string | null {
    if (this.#path === undefined) {
      let found: string | null = null;
      try {
        found = this.#fileFd
          ? fs.readlinkSync(`/proc/self/fd/${this.#fileFd.fd}`)
          : this.attached
            ? (mapsEntry(this.address)?.path ?? null)
            : null;
      } catch {
        found = null;
      }
      // Only a name actually found is kept: after munmap the answer is null, not cached.
      if (found !== null) this.#path = found;
      return found;
    }
    return this.#path;
  }

  protected get what(): string {
    return this.#file ? "mapping" : "anonymous mapping";
  }

  /** munmap. Unmapping twice is a no-op; returns whether this call unmapped. */
  unmap(): boolean {
    const done = this.release();
    if (done && this.#fileFd) closeQuietly(this.#fileFd);
    return done;
  }

  /** Unmaps (the `using` statement calls it); twice is a no-op. */
  [Symbol.dispose](): void {
    this.unmap();
  }

  /** msync over [offset, offset+length) (default: everything). flags MS_SYNC (default) or MS_ASYNC, | MS_INVALIDATE. */
  sync(flags: number = MS_SYNC, offset = 0, length?: number): void {
    msyncRange(this, flags, offset, length);
  }

  /** mprotect over the whole mapping. */
  protect(prot: number): void {
    mprotect(this, this.length, prot);
  }

  /** madvise over the whole mapping. */
  advise(advice: number): void {
    madvise(this, this.length, advice);
  }

  /** mincore over the whole mapping: one entry per page, 1 if resident in memory. */
  residency(): Uint8Array {
    return mincore(this);
  }

  /**
   * Whether the pages holding [from, to) all have file behind them (true for anonymous memory):
   * a probe with MADV_POPULATE_READ (WRITE for write-only memory), or fstat of our dup.
   */
  #backed(from: number, to: number, write: boolean): boolean {
    if (!this.#file || to <= from) return true;
    if (this.#fileFd) return to <= this.#endFromSize();
    const page = pageSize();
    const first = Math.floor(from / page) * page;
    const advice = write && (this.prot & PROT_READ) === 0 ? MADV_POPULATE_WRITE : MADV_POPULATE_READ;
    if (fn.madvise(first === 0 ? this.address : this.address + BigInt(first), to - first, advice) === 0) return true;
    const e = lastErrno();
    // EFAULT: a page with no file behind it. EINVAL: memory that cannot be populated (device
    // memory, VM_IO/VM_PFNMAP), which has no file end to pass either.
    if (e === EFAULT) return false;
    if (e === EINVAL) return true;
    return throwErrno(e, "madvise");
  }

  /** The end of the last page with file behind it, from fstat of our dup (kernels before 5.14). */
  #endFromSize(): number {
    const fileSize = fs.fstatSync((this.#fileFd as { fd: number }).fd).size;
    const lastValid = Math.ceil((fileSize - this.offset) / pageSize()) * pageSize();
    return Math.max(0, Math.min(this.length, lastValid));
  }

  /** How far from `from` can be read without a fault, probed a page, then as much as was read, at a time. */
  protected readableFrom(from: number, start: number): number {
    if (!this.#file) return this.length;
    if (this.#fileFd) return Math.max(from, this.#endFromSize());
    const page = pageSize();
    const first = Math.floor(from / page) * page;
    const chunk = Math.min(PROBE_CHUNK_MAX, Math.max(page, Math.ceil((from - start) / page) * page));
    const end = Math.min(this.length, first + chunk);
    if (this.#backed(from, end, false)) return end;
    // Part of the chunk is past the end: the first page alone may still be readable.
    const pageEnd = Math.min(this.length, first + page);
    return end > pageEnd && this.#backed(from, pageEnd, false) ? pageEnd : from;
  }

  /**
   * A touch past the end of the file raises SIGBUS in C; the helpers refuse it instead. So does a
   * touch of a page the file system has no room for (a full tmpfs: /dev/shm), inside the file.
   */
  protected checkAccess(offset: unknown, size: number, write: boolean, action: string): number {
    const at = super.checkAccess(offset, size, write, action);
    if (this.#file && size > 0 && !this.#backed(at, at + size, write)) {
      const fileSize = this.#fileSize();
      if (fileSize !== null && this.offset + at < fileSize)
        throw new IpcError(
          "ENOSPC",
          `ENOSPC: no space left on device, ${action} at ${at} of ${this.#describeFile()}: its file system has no page for it (in C this access raises SIGBUS)`,
          { errno: ENOSPC, ...(this.path === null ? {} : { path: this.path }) },
        );
      throw new IpcError(
        "ERR_PAST_EOF",
        `ERR_PAST_EOF: ${action} at ${at} is past the end of ${this.#describeFile()}: in C this access raises SIGBUS`,
      );
    }
    return at;
  }

  /** The mapped file's size, or null when the name no longer names it. */
  #fileSize(): number | null {
    const where = this.path;
    try {
      if (this.#fileFd) return fs.fstatSync(this.#fileFd.fd).size;
      if (where === null) return null;
      const entry = mapsEntry(this.address);
      const st = fs.statSync(where);
      if (entry && st.ino === entry.inode) return st.size;
    } catch {
      /* the name is gone or replaced: no size to tell */
    }
    return null;
  }

  /** 'path' (N bytes), for messages; the size only when the name still names the mapped file. */
  #describeFile(): string {
    const where = this.path;
    if (where === null) return "the mapped file";
    const size = this.#fileSize();
    return size === null ? `'${where}'` : `'${where}' (${size} bytes)`;
  }

  toString(): string {
    const where = this.#file ? (this.path ? `, path: '${this.path}'` : ", file") : ", anonymous";
    return `Mapping { address: 0x${this.address.toString(16)}, length: ${this.length}, ${this.state}${where} }`;
  }
}

function closeQuietly(holder: { fd: number }): void {
  if (holder.fd >= 0) {
    try {
      fs.closeSync(holder.fd);
    } catch {
      /* already closed */
    }
    holder.fd = -1;
  }
}

/** A mapping's address argument: null for "anywhere", else a page-aligned user-space address. */
export function checkAddr(value: unknown): Pointer | null {
  const addr = checkUserAddress(value, "addr");
  if (addr === null) return null;
  if (addr % BigInt(pageSize()) !== 0n) {
    throw new ERR_INVALID_ARG_VALUE_RANGE("addr", addr, `must be a multiple of the page size (${pageSize()})`);
  }
  return addr;
}

/**
 * mmap(addr, length, prot, flags, fd, offset): map a file (fd from fs.openSync), a POSIX shm
 * object (fd from shm_open) or anonymous memory (MAP_ANONYMOUS, fd -1). Returns the Mapping;
 * where C returns MAP_FAILED, this throws an IpcError with the errno.
 *
 * MAP_FIXED is applied as MAP_FIXED_NOREPLACE: it maps at exactly `addr` but fails with EEXIST
 * instead of silently replacing memory the JavaScript engine is using.
 *
 * @example
 * {@includeCode ../../docs/examples/mmap.ts}
 */
export function mmap(
  addr: null | 0 | bigint,
  length: number,
  prot: number,
  flags: number,
  fd: number,
  offset = 0,
): Mapping {
  const hint = checkAddr(addr);
  validateInteger(length, "length", 0);
  const p = validateFlags(prot, "prot", PROT_MASK, "PROT_READ | PROT_WRITE | PROT_EXEC");
  const f = validateFlags(
    flags,
    "flags",
    MAP_MASK,
    "MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_POPULATE | MAP_NORESERVE",
  );
  validateInt32(fd, "fd", -1);
  validateInteger(offset, "offset", 0);
  if (offset % pageSize() !== 0) {
    throw new ERR_INVALID_ARG_VALUE_RANGE("offset", offset, `must be a multiple of the page size (${pageSize()})`);
  }
  if (f & MAP_FIXED && hint === null) {
    throw new ERR_INVALID_ARG_VALUE_RANGE("addr", addr, "must be an address when flags has MAP_FIXED");
  }
  const sysFlags = f & MAP_FIXED ? (f & ~MAP_FIXED) | MAP_FIXED_NOREPLACE : f;
  const address = fn.mmap(hint, length, p, sysFlags, fd, offset) as Pointer;
  if (isFailedPointer(address)) throwErrno(lastErrno(), "mmap");
  if (!address)
    throw new IpcError("EINVAL", "EINVAL: invalid argument, mmap returned no address", {
      errno: EINVAL,
      syscall: "mmap",
    });
  return new Mapping(regionToken, address, length, p, f, fd, offset);
}

/** Validates a [offset, offset+length) subrange of a region, page-aligned at the start as C requires. */
function checkRange(
  region: Region,
  offset: unknown,
  length: unknown,
  action: string,
): { start: Pointer; bytes: number } {
  const at = validateInteger(offset, "offset", 0);
  if (at % pageSize() !== 0) {
    throw new ERR_INVALID_ARG_VALUE_RANGE("offset", at, `must be a multiple of the page size (${pageSize()})`);
  }
  const bytes = length === undefined ? region.length - at : validateInteger(length, "length", 0);
  if (at + bytes > region.span) {
    // The calls with no offset of the caller's (msync, mprotect, madvise, mincore) name `length` alone.
    throw new ERR_OUT_OF_RANGE(
      offset === 0 ? "length" : "offset + length",
      `<= ${region.span} (the region is ${region.length} bytes)`,
      at + bytes,
    );
  }
  if (!region.attached) {
    throw new IpcError("ENOMEM", `ENOMEM: cannot allocate memory, ${action} (the region is no longer mapped)`, {
      errno: ENOMEM,
      syscall: action,
    });
  }
  // at === 0 is the common case (whole mapping): no BigInt arithmetic, no allocation.
  return { start: at === 0 ? region.address : region.address + BigInt(at), bytes };
}

/**
 * munmap(mapping, length): remove the mapping (length, if given, must be the mapped length). Unmapping twice is a no-op, as in C.
 *
 * @example
 * {@includeCode ../../docs/examples/munmap.ts}
 */
export function munmap(mapping: Mapping, length?: number): 0 {
  if (!(mapping instanceof Mapping)) {
    throw new ERR_INVALID_ARG_TYPE("addr", "a Mapping returned by mmap", mapping);
  }
  if (length !== undefined) {
    validateInteger(length, "length", 0);
    if (length !== mapping.length && length !== mapping.span) {
      throw new ERR_INVALID_ARG_VALUE_RANGE(
        "length",
        length,
        `must be the mapped length (${mapping.length}): partial munmap is not supported`,
      );
    }
  }
  mapping.unmap();
  return 0;
}

function msyncRange(region: Region, flags: unknown, offset: unknown, length: unknown): 0 {
  const f = validateFlags(flags, "flags", MS_MASK, "MS_ASYNC | MS_SYNC | MS_INVALIDATE");
  const { start, bytes } = checkRange(region, offset, length, "msync");
  if (f & MS_ASYNC && f & MS_SYNC) {
    // The kernel says EINVAL too; say why before the syscall.
    throw new ERR_INVALID_ARG_VALUE_RANGE("flags", f, "must not combine MS_ASYNC and MS_SYNC");
  }
  if (fn.msync(start, bytes, f) !== 0) throwErrno(lastErrno(), "msync");
  return 0;
}

/**
 * msync(mapping, length, flags): write dirty pages back to the file (MS_SYNC waits for it).
 *
 * @example
 * {@includeCode ../../docs/examples/msync.ts}
 */
export function msync(mapping: Region, length: number, flags: number): 0 {
  validateRegion(mapping, "addr");
  // The common call (MS_SYNC or MS_ASYNC over a valid length of a live region from its start),
  // checked as msyncRange checks it but without its general offset arithmetic: msync on tmpfs
  // is a call about as quick as a clock read, so every check counts.
  if (
    (flags === MS_SYNC || flags === MS_ASYNC) &&
    typeof length === "number" &&
    Number.isInteger(length) &&
    length >= 0 &&
    length <= mapping.span &&
    mapping.attached
  ) {
    if (fn.msync(mapping.address, length, flags) !== 0) throwErrno(lastErrno(), "msync");
    return 0;
  }
  return msyncRange(mapping, flags, 0, length);
}

/**
 * mprotect(mapping, length, prot): change what is allowed on the first `length` bytes (page-rounded).
 *
 * @example
 * {@includeCode ../../docs/examples/mprotect.ts}
 */
export function mprotect(region: Region, length: number, prot: number): 0 {
  validateRegion(region, "addr");
  const p = validateFlags(prot, "prot", PROT_MASK, "PROT_READ | PROT_WRITE | PROT_EXEC | PROT_NONE");
  const { start, bytes } = checkRange(region, 0, length, "mprotect");
  if (fn.mprotect(start, bytes, p) !== 0) throwErrno(lastErrno(), "mprotect");
  // The object tracks one protection for the whole region: the new one when the whole is
  // covered, else the most restrictive of old and new, so the helpers never write into a page
  // that became read-only.
  region._setProt(bytes >= region.length ? p : region.prot & p);
  return 0;
}

/** madvise(mapping, length, advice): tell the kernel how the memory will be used (MADV_*). */
export function madvise(region: Region, length: number, advice: number): 0 {
  validateRegion(region, "addr");
  const a = validateInt32(advice, "advice", 0);
  if (!MADV_KNOWN.includes(a)) throw new ERR_INVALID_ARG_VALUE_RANGE("advice", a, "is not a known MADV_* constant");
  const { start, bytes } = checkRange(region, 0, length, "madvise");
  if (fn.madvise(start, bytes, a) !== 0) throwErrno(lastErrno(), "madvise");
  return 0;
}

/** mincore(mapping, length?): one byte per page, bit 0 set when the page is resident. */
export function mincore(region: Region, length?: number): Uint8Array {
  validateRegion(region, "addr");
  const { start, bytes } = checkRange(region, 0, length, "mincore");
  const vec = new Uint8Array(Math.ceil(bytes / pageSize()));
  if (vec.length === 0) return vec;
  if (fn.mincore(start, bytes, vec) !== 0) throwErrno(lastErrno(), "mincore");
  for (let i = 0; i < vec.length; i++) vec[i] &= 1;
  return vec;
}

/** How many pages of a mincore vector (one 0/1 entry per page) are resident. */
export function countResident(vec: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < vec.length; i++) n += vec[i];
  return n;
}
