// Mappings as everyday objects: a file, or anonymous memory, in one call.
import fs from "fs";
import { checkOptions, checkSize, checkString, ipcErrorFromErrno } from "../errors";
import { MAP_ANONYMOUS, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from "../sys/constants";
import { mmap, type Mapping } from "../sys/mman";

export interface MapFileOptions {
  /** Bytes to map; default: from `offset` to the end of the file. */
  length?: number;
  /** Page-aligned offset into the file. */
  offset?: number;
  /** Map for writing too (default true). A read-only mapping's helpers refuse writes. */
  writable?: boolean;
  /** MAP_SHARED (default: changes reach the file and other processes) or MAP_PRIVATE (copy-on-write). */
  shared?: boolean;
  /** Create the file (mode 0o600) with this size if it does not exist. */
  create?: number;
}

/** Maps a file: open, mmap, close, as the slides do. The mapping stays valid after the close. */
export function mapFile(path: string, options?: MapFileOptions): Mapping {
  checkString(path, "path");
  const opts = checkOptions<MapFileOptions>(options, "options");
  const writable = opts.writable ?? true;
  const offset = opts.offset === undefined ? 0 : checkSize(opts.offset, "options.offset");
  if (opts.create !== undefined) checkSize(opts.create, "options.create", 1);
  if (opts.length !== undefined) checkSize(opts.length, "options.length", 1);
  let fd: number;
  try {
    fd = fs.openSync(path, (writable ? fs.constants.O_RDWR : fs.constants.O_RDONLY) | (opts.create ? fs.constants.O_CREAT : 0), 0o600);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw err.errno ? ipcErrorFromErrno(-err.errno, "open", { path }) : err;
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (opts.create && size === 0) fs.ftruncateSync(fd, opts.create);
    const fileSize = fs.fstatSync(fd).size;
    const length = opts.length ?? fileSize - offset;
    if (length <= 0) throw new RangeError(`Nothing to map: '${path}' is ${fileSize} bytes and the offset is ${offset}`);
    const prot = PROT_READ | (writable ? PROT_WRITE : 0);
    return mmap(null, length, prot, opts.shared === false ? MAP_PRIVATE : MAP_SHARED, fd, offset);
  } finally {
    fs.closeSync(fd);
  }
}

export interface MapAnonymousOptions {
  /** MAP_SHARED: shared with children forked after (default false: MAP_PRIVATE). */
  shared?: boolean;
  /** MAP_POPULATE: fault every page in now. */
  populate?: boolean;
}

/** mmap(NULL, length, PROT_READ|PROT_WRITE, MAP_ANONYMOUS|…, -1, 0): fresh zeroed memory. */
export function mapAnonymous(length: number, options?: MapAnonymousOptions): Mapping {
  checkSize(length, "length", 1);
  const opts = checkOptions<MapAnonymousOptions>(options, "options");
  const flags = MAP_ANONYMOUS | (opts.shared ? MAP_SHARED : MAP_PRIVATE) | (opts.populate ? MAP_POPULATE : 0);
  return mmap(null, length, PROT_READ | PROT_WRITE, flags, -1, 0);
}
