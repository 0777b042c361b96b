// POSIX shared memory, C-shaped: shm_open and shm_unlink. The descriptor is a real OS
// descriptor: size it with fs.ftruncateSync, map it with mmap, close it with fs.closeSync.
import { errno as lastErrno, fn } from "../ffi/libc";
import { throwErrno } from "../errors";
import { ERR_INVALID_ARG_VALUE, ERR_INVALID_ARG_VALUE_RANGE } from "../codes";
import { validateCString, validateFlags, validateInteger, validateOptions } from "../validators";
import { O_CREAT, O_EXCL } from "./constants";
import { SHM_OPEN_MASK } from "./masks";
import { track, untrack } from "./registry";

const NAME_MAX = 255;

/** A POSIX shm name: "/name", one leading slash, no other slash, not "." or "..", no NUL, at most 255 bytes. */
export function checkShmName(name: unknown): string {
  const n = validateCString(name, "name");
  const rest = n.slice(1);
  if (!n.startsWith("/") || rest.length === 0 || rest.includes("/")) {
    throw new ERR_INVALID_ARG_VALUE("name", n, 'must look like "/name" (one leading slash, no other)');
  }
  if (rest === "." || rest === ".." || rest.includes("..")) {
    throw new ERR_INVALID_ARG_VALUE("name", n, 'must not contain ".."');
  }
  if (Buffer.byteLength(rest) > NAME_MAX) {
    throw new ERR_INVALID_ARG_VALUE_RANGE(
      "name",
      n,
      `is too long: at most ${NAME_MAX} bytes after the slash, not ${Buffer.byteLength(rest)}`,
    );
  }
  return n;
}

/** Options of `shm_open` beyond C's arguments. */
export interface ShmOpenOptions {
  /** Keep the object when this process exits (by default what this process creates is unlinked). */
  persist?: boolean;
}

/**
 * shm_open(name, oflag, mode = 0o600): open or create a POSIX shared memory object and return
 * its descriptor. New objects default to mode 0600. What this process creates is unlinked when
 * it exits unless `{ persist: true }`.
 *
 * @example
 * {@includeCode ../../docs/examples/shm_open.ts}
 */
export function shm_open(name: string, oflag: number, mode = 0o600, options?: ShmOpenOptions): number {
  const n = checkShmName(name);
  const flags = validateFlags(oflag, "oflag", SHM_OPEN_MASK, "O_RDONLY | O_RDWR | O_CREAT | O_EXCL | O_TRUNC");
  validateInteger(mode, "mode", 0, 0o7777);
  const opts = validateOptions<ShmOpenOptions>(options, "options");
  let fd: number;
  let created = false;
  if (flags & O_CREAT && !(flags & O_EXCL)) {
    // Try to create exclusively first, so we know whether the object is ours to clean up.
    fd = fn.shm_open(n, flags | O_EXCL, mode);
    if (fd >= 0) created = true;
    else fd = fn.shm_open(n, flags, mode);
  } else {
    fd = fn.shm_open(n, flags, mode);
    created = fd >= 0 && (flags & O_EXCL) !== 0;
  }
  if (fd < 0) throwErrno(lastErrno(), "shm_open", { path: n });
  if (created && !opts.persist) track({ kind: "posix", name: n });
  if (opts.persist) untrack({ kind: "posix", name: n });
  return fd;
}

/** shm_unlink(name): remove the name; the memory lives on while mapped. */
export function shm_unlink(name: string): 0 {
  const n = checkShmName(name);
  if (fn.shm_unlink(n) !== 0) throwErrno(lastErrno(), "shm_unlink", { path: n });
  untrack({ kind: "posix", name: n });
  return 0;
}
