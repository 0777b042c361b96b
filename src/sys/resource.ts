// getrusage(2) and posix_fadvise(2), C-shaped: what the instruments read and ask of the kernel.
import { errno as lastErrno, fn, type RawRusage } from "../ffi/libc";
import { ipcErrorFromErrno, throwErrno } from "../errors";
import { validateInt32, validateInteger } from "../validators";
import { POSIX_FADV_NOREUSE, POSIX_FADV_NORMAL } from "./constants";

export const RUSAGE_SELF = 0;
export const RUSAGE_THREAD = 1;

// One reusable out-struct: a measured window must not allocate more than it has to.
const out = {} as RawRusage;

/** getrusage(who): this process's (RUSAGE_SELF) or this thread's (RUSAGE_THREAD) usage. The object is reused by the next call. */
export function getrusage(who: number = RUSAGE_SELF): Readonly<RawRusage> {
  if (fn.getrusage(who, out) !== 0) throwErrno(lastErrno(), "getrusage");
  return out;
}

/** posix_fadvise(fd, offset, len, advice): POSIX_FADV_* hints; DONTNEED drops clean cached pages. */
export function posix_fadvise(fd: number, offset: number, len: number, advice: number): 0 {
  validateInt32(fd, "fd", 0);
  validateInteger(offset, "offset", 0, Number.MAX_SAFE_INTEGER);
  validateInteger(len, "len", 0, Number.MAX_SAFE_INTEGER);
  validateInteger(advice, "advice", POSIX_FADV_NORMAL, POSIX_FADV_NOREUSE);
  const rc = fn.posix_fadvise(fd, offset, len, advice);
  // posix_fadvise returns the error number itself rather than setting errno.
  if (rc !== 0) throw ipcErrorFromErrno(rc, "posix_fadvise");
  return 0;
}
