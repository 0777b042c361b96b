// Replace pages of this process with a file's pages that hold the same bytes.
//
// Invariants:
// - The one place in the project that maps with a true MAP_FIXED, which replaces whatever is at
//   the address. The library's mmap never does (it turns MAP_FIXED into MAP_FIXED_NOREPLACE), so
//   the kernel's snapshot pages (kernel/snapshot-pages.js) come here instead.
// - The caller has checked that the file's bytes equal the memory's, page for page: the mapping
//   is MAP_PRIVATE and PROT_READ | PROT_WRITE, so the memory reads the same before and after, and
//   a write, were there one, would get a private copy and never reach the file.
// - It maps nothing when Linux could refuse the mapping after removing the old pages: the only
//   such refusal is the process's mapping limit (vm.max_map_count), so it keeps a margin below it.
//   Every other refusal (a bad descriptor, a file not open for reading, a bad offset) comes
//   before Linux touches the range, and throws an IpcError with the errno.
import fs from "fs";
import { constants as osConstants } from "os";
import { errno as lastErrno, fn, isFailedPointer } from "../ffi/libc";
import { IpcError, throwErrno } from "../errors";
import { ERR_INVALID_ARG_VALUE_RANGE } from "../codes";
import { validateInt32, validateInteger } from "../validators";
import { MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "./constants";
import { checkAddr } from "./mman";
import { pageSize } from "./page";

const { EINVAL, ENOMEM } = osConstants.errno;
/**
 * Mappings to keep free below vm.max_map_count: the replacement can split the old mapping in
 * three, and the engine's own threads may map memory between the count and the call.
 */
const MAP_COUNT_MARGIN = 64;

/** How many more mappings this process may make before Linux refuses (Infinity when unknown). */
function mappingsLeft(): number {
  try {
    const limit = Number(fs.readFileSync("/proc/sys/vm/max_map_count", "utf8"));
    const used = fs.readFileSync("/proc/self/maps", "utf8").split("\n").length - 1;
    return Number.isFinite(limit) ? limit - used : Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * @internal For the kernel's snapshot pages. mmap(address, length, PROT_READ | PROT_WRITE,
 * MAP_PRIVATE | MAP_FIXED, fd, offset): the `length` bytes at `address` become the file's bytes
 * from `offset`, as clean file pages (not resident until read, shared through the page cache).
 *
 * The caller must have compared the memory with the file: this function cannot tell memory in
 * use from memory that may be replaced. `address`, `length` and `offset` are page multiples.
 * Throws a RangeError or TypeError for a bad argument and an IpcError (ENOMEM near the mapping
 * limit; EBADF, EACCES, ENODEV, ... from mmap) otherwise, in every case with the memory as it was.
 */
export function replacePagesWithFile(address: bigint, length: number, fd: number, offset: number): void {
  const at = checkAddr(address);
  if (at === null) throw new ERR_INVALID_ARG_VALUE_RANGE("address", address, "must be an address");
  validateInteger(length, "length", 1);
  validateInt32(fd, "fd", 0);
  validateInteger(offset, "offset", 0);
  for (const [name, value] of [
    ["length", length],
    ["offset", offset],
  ] as const) {
    if (value % pageSize() !== 0) {
      throw new ERR_INVALID_ARG_VALUE_RANGE(name, value, `must be a multiple of the page size (${pageSize()})`);
    }
  }
  if (mappingsLeft() < MAP_COUNT_MARGIN) {
    throw new IpcError("ENOMEM", "ENOMEM: cannot allocate memory, mmap (too close to vm.max_map_count)", {
      errno: ENOMEM,
      syscall: "mmap",
    });
  }
  const got = fn.mmap(at, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, offset);
  if (isFailedPointer(got)) throwErrno(lastErrno(), "mmap");
  if (BigInt(got) !== at) {
    // MAP_FIXED maps at the address or fails; anything else is a broken libc. Say so loudly.
    throw new IpcError("EINVAL", `EINVAL: invalid argument, mmap mapped at ${got}, not at ${at}`, {
      errno: EINVAL,
      syscall: "mmap",
    });
  }
}
