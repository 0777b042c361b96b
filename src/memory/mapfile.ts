// Mappings as everyday objects: a file, or anonymous memory, in one call.
import fs from "fs";
import { constants as osConstants } from "os";
import { fsCall, ipcErrorFromErrno } from "../errors";
import { ERR_INVALID_ARG_VALUE_RANGE } from "../codes";
import { validateCString, validateInteger, validateOptions } from "../validators";
import { MAP_ANONYMOUS, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from "../sys/constants";
import { mmap, type Mapping } from "../sys/mman";

/**
 * How `mapFile` maps a file: length and offset, writable or read-only, shared or private, and the size to
 * create it with if it does not exist.
 */
export interface MapFileOptions {
  /** Bytes to map; default: from `offset` to the end of the file. */
  length?: number;
  /** Page-aligned offset into the file. */
  offset?: number;
  /** Map for writing too (default true). A read-only mapping's helpers refuse writes. */
  writable?: boolean;
  /** MAP_SHARED (default: changes reach the file and other processes) or MAP_PRIVATE (copy-on-write). */
  shared?: boolean;
  /** Create the file (mode 0o600) if it does not exist, and give it this size while it is empty. */
  createSize?: number;
  /** @deprecated The first name of `createSize`; still accepted. */
  create?: number;
}

/**
 * Opens `path` for mapping. O_NONBLOCK so a FIFO can never block the process in open(2) (a
 * kernel would hang beyond any interrupt); then only files and devices are kept: mmap of a
 * FIFO, socket or folder is ENODEV, as C's mmap says.
 */
export function openForMapping(path: string, flags: number, syscall = "open"): number {
  const fd = fsCall(syscall, { path }, () => fs.openSync(path, flags | fs.constants.O_NONBLOCK, 0o600));
  const st = fs.fstatSync(fd);
  if (!st.isFile() && !st.isBlockDevice() && !st.isCharacterDevice()) {
    fs.closeSync(fd);
    throw ipcErrorFromErrno(osConstants.errno.ENODEV, syscall, { path });
  }
  return fd;
}

/**
 * Maps a file: open, mmap, close, as the slides do. The mapping stays valid after the close.
 *
 * @example
 * {@includeCode ../../docs/examples/mapFile.ts}
 */
export function mapFile(path: string, options?: MapFileOptions): Mapping {
  validateCString(path, "path");
  const opts = validateOptions<MapFileOptions>(options, "options");
  const writable = opts.writable ?? true;
  const offset = opts.offset === undefined ? 0 : validateInteger(opts.offset, "options.offset", 0);
  const createName = opts.createSize !== undefined ? "options.createSize" : "options.create";
  const createSize = opts.createSize ?? opts.create;
  if (createSize !== undefined) {
    validateInteger(createSize, createName, 1);
    if (!writable)
      throw new ERR_INVALID_ARG_VALUE_RANGE(
        createName,
        createSize,
        "needs a writable mapping: a read-only file cannot be sized",
      );
  }
  if (opts.length !== undefined) validateInteger(opts.length, "options.length", 1);
  const existed = fs.existsSync(path);
  // Creating never follows a symlink planted at `path` (it would create or size its target).
  const create = createSize ? fs.constants.O_CREAT | fs.constants.O_NOFOLLOW : 0;
  const fd = openForMapping(path, (writable ? fs.constants.O_RDWR : fs.constants.O_RDONLY) | create);
  let mapped = false;
  try {
    if (createSize && fs.fstatSync(fd).size === 0)
      fsCall("ftruncate", { path }, () => fs.ftruncateSync(fd, createSize));
    const fileSize = fs.fstatSync(fd).size;
    const length = opts.length ?? fileSize - offset;
    if (length <= 0)
      throw new ERR_INVALID_ARG_VALUE_RANGE(
        "options.offset",
        offset,
        `leaves nothing to map: '${path}' is ${fileSize} bytes`,
      );
    const prot = PROT_READ | (writable ? PROT_WRITE : 0);
    const m = mmap(null, length, prot, opts.shared === false ? MAP_PRIVATE : MAP_SHARED, fd, offset);
    mapped = true;
    return m;
  } finally {
    fs.closeSync(fd);
    // A file this call created for a mapping that failed goes away again: nothing changes.
    if (!mapped && !existed && createSize) fs.rmSync(path, { force: true });
  }
}

/**
 * How `mapAnonymous` maps memory: shared with children or private, and whether to fault every page in now.
 */
export interface MapAnonymousOptions {
  /** MAP_SHARED: shared with children forked after (default false: MAP_PRIVATE). */
  shared?: boolean;
  /** MAP_POPULATE: fault every page in now. */
  populate?: boolean;
}

/** mmap(NULL, length, PROT_READ|PROT_WRITE, MAP_ANONYMOUS|…, -1, 0): fresh zeroed memory. */
export function mapAnonymous(length: number, options?: MapAnonymousOptions): Mapping {
  validateInteger(length, "length", 1);
  const opts = validateOptions<MapAnonymousOptions>(options, "options");
  const flags = MAP_ANONYMOUS | (opts.shared ? MAP_SHARED : MAP_PRIVATE) | (opts.populate ? MAP_POPULATE : 0);
  return mmap(null, length, PROT_READ | PROT_WRITE, flags, -1, 0);
}
