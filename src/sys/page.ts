// sysconf(3) and the page arithmetic everything else needs.
import { errno as lastErrno, fn, setErrno } from "../ffi/libc";
import { throwErrno } from "../errors";
import { validateInt32 } from "../validators";
import { _SC_PAGESIZE } from "./constants";

/**
 * sysconf(name): the value of a configurable system variable, e.g. sysconf(_SC_PAGESIZE) === 4096.
 *
 * @example
 * {@includeCode ../../docs/examples/sysconf.ts}
 */
export function sysconf(name: number): number {
  validateInt32(name, "name", 0);
  setErrno(0);
  const value = Number(fn.sysconf(name));
  // -1 with errno unchanged means "no limit"; -1 with errno set (EINVAL) is an error.
  if (value === -1) {
    const e = lastErrno();
    if (e !== 0) throwErrno(e, "sysconf");
  }
  return value;
}

let cachedPageSize = 0;

export function pageSize(): number {
  if (cachedPageSize === 0) cachedPageSize = Number(fn.sysconf(_SC_PAGESIZE));
  return cachedPageSize;
}

export function roundUpToPage(n: number): number {
  const p = pageSize();
  return Math.ceil(n / p) * p;
}
