// Dropping a file from the page cache, so the next access through a mapping takes major
// faults (read from disk) instead of minor ones.
import fs from "fs";
import { fsCall } from "../errors";
import { ERR_INVALID_ARG_TYPE } from "../codes";
import { validateCString, validateInt32 } from "../validators";
import { MAP_SHARED, POSIX_FADV_DONTNEED, PROT_READ } from "../sys/constants";
import { countResident, mmap } from "../sys/mman";
import { posix_fadvise } from "../sys/resource";
import { openForMapping } from "../memory/mapfile";

function withFd<T>(file: string | number, use: (fd: number) => T): T {
  if (typeof file === "number") return use(validateInt32(file, "fd", 0));
  if (typeof file !== "string") throw new ERR_INVALID_ARG_TYPE("file", "a path or a file descriptor", file);
  const fd = openForMapping(validateCString(file, "file"), fs.constants.O_RDONLY);
  try {
    return use(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Evicts a file's pages from the page cache: fsync (dirty pages cannot be dropped), then
 * posix_fadvise(POSIX_FADV_DONTNEED). Pages still mapped by some process stay cached, so
 * munmap first. Takes a path or a descriptor. Returns the pages still cached afterwards.
 *
 * @example
 * {@includeCode ../../docs/examples/dropFromPageCache.ts}
 */
export function dropFromPageCache(file: string | number): number {
  return withFd(file, (fd) => {
    const details = typeof file === "string" ? { path: file } : {};
    fsCall("fsync", details, () => fs.fsyncSync(fd));
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    return cachedPages(fd).resident;
  });
}

/** How many of a file's pages are in the page cache (mincore over a read-only mapping, which touches nothing). */
export function cachedPages(file: string | number): { pages: number; resident: number } {
  return withFd(file, (fd) => {
    const size = fsCall("fstat", {}, () => fs.fstatSync(fd).size);
    if (size === 0) return { pages: 0, resident: 0 };
    const m = mmap(null, size, PROT_READ, MAP_SHARED, fd, 0);
    try {
      const vec = m.residency();
      return { pages: vec.length, resident: countResident(vec) };
    } finally {
      m.unmap();
    }
  });
}
