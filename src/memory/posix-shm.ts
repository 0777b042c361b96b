// A POSIX shared memory object as an everyday object: create/open by name, size, map, unlink.
import fs from "fs";
import { constants as osConstants } from "os";
import { IpcError, fsCall } from "../errors";
import { validateInteger, validateOptions } from "../validators";
import { MAP_SHARED, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, PROT_READ, PROT_WRITE } from "../sys/constants";
import { mmap, type Mapping } from "../sys/mman";
import { checkShmName, shm_open, shm_unlink } from "../sys/posix";
import { SHM_DIR } from "../sys/registry";

/** How `PosixShm.create` makes an object: mode (0600 by default) and whether it outlives this process. */
export interface PosixShmCreateOptions {
  /** Permission bits; default 0o600. */
  mode?: number;
  /** Keep the object after this process exits (default: unlinked at exit). */
  persist?: boolean;
}

const { ENOSPC } = osConstants.errno;

/**
 * Throws ENOSPC, as ftruncate itself does not, unless /dev/shm has room for `bytes` more. tmpfs
 * takes an object of any size and finds no page for it only when the page is first touched: a
 * SIGBUS for a write through the buffer (in a kernel that made a 2 GiB object in a student's
 * 1 GiB /dev/shm, the hub's share, once its pages outgrew the share), ENOSPC for a checked one
 * (src/sys/mman.ts). The room may still go to others later, as in C; this refuses what cannot
 * fit now, and changes nothing.
 */
function assertRoom(name: string, bytes: number): void {
  if (bytes <= 0) return;
  const fsInfo = fs.statfsSync(SHM_DIR);
  const free = fsInfo.bavail * fsInfo.bsize;
  if (free >= bytes) return;
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  throw new IpcError(
    "ENOSPC",
    `ENOSPC: no space left on device, ftruncate '${name}' (${mib(bytes)} more wanted, ${mib(free)} free in ${SHM_DIR}: its pages could not all be touched)`,
    { errno: ENOSPC, syscall: "ftruncate", path: name },
  );
}

/**
 * A POSIX shared memory object (`/dev/shm/<name>`) with a lifetime: `create` or `open`, then `map()`,
 * `resize()`, `close()`, `unlink()`. Disposing it closes its descriptor and unlinks the name if this
 * object created it.
 *
 * @example
 * {@includeCode ../../docs/examples/PosixShm.ts}
 */
export class PosixShm {
  readonly name: string;
  /** The descriptor (a real one: fs.fstatSync works on it). -1 once closed. */
  #fd: number;
  readonly readonly: boolean;
  readonly created: boolean;
  #unlinked = false;

  private constructor(name: string, fd: number, readonly: boolean, created: boolean) {
    this.name = name;
    this.#fd = fd;
    this.readonly = readonly;
    this.created = created;
  }

  /** shm_open(name, O_CREAT|O_EXCL|O_RDWR, mode) + ftruncate(size). Fails with EEXIST if it exists. */
  static create(name: string, size: number, options?: PosixShmCreateOptions): PosixShm {
    checkShmName(name);
    validateInteger(size, "size", 1);
    const opts = validateOptions<PosixShmCreateOptions>(options, "options");
    assertRoom(name, size);
    const fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, opts.mode ?? 0o600, { persist: opts.persist });
    try {
      fs.ftruncateSync(fd, size);
    } catch (e) {
      fs.closeSync(fd);
      shm_unlink(name);
      throw e;
    }
    return new PosixShm(name, fd, false, true);
  }

  /** shm_open(name, O_RDWR or O_RDONLY): an existing object. */
  static open(name: string, options?: { readonly?: boolean }): PosixShm {
    const opts = validateOptions<{ readonly?: boolean }>(options, "options");
    const fd = shm_open(name, opts.readonly ? O_RDONLY : O_RDWR);
    return new PosixShm(name, fd, !!opts.readonly, false);
  }

  /** The open descriptor (a real OS file descriptor, usable with Node's `fs`). */
  get fd(): number {
    return this.#fd;
  }

  /** Current size in bytes (fstat). */
  get size(): number {
    return fsCall("fstat", { path: this.name }, () => fs.fstatSync(this.#fd).size);
  }

  /** ftruncate: grow (zero-filled) or shrink. Shrinking under a live mapping makes the tail raise SIGBUS in C. */
  resize(size: number): void {
    validateInteger(size, "size", 0);
    assertRoom(this.name, size - this.size);
    fsCall("ftruncate", { path: this.name }, () => fs.ftruncateSync(this.#fd, size));
  }

  /** mmap the whole object (or `length` bytes), MAP_SHARED. */
  map(options?: { length?: number; readonly?: boolean }): Mapping {
    const opts = validateOptions<{ length?: number; readonly?: boolean }>(options, "options");
    const ro = this.readonly || !!opts.readonly;
    const length = opts.length === undefined ? this.size : validateInteger(opts.length, "options.length", 1);
    return mmap(null, length, PROT_READ | (ro ? 0 : PROT_WRITE), MAP_SHARED, this.#fd, 0);
  }

  /** Close the descriptor (mappings stay valid). */
  close(): void {
    if (this.#fd >= 0) {
      fs.closeSync(this.#fd);
      this.#fd = -1;
    }
  }

  /** shm_unlink: the name goes away; mappings stay valid. Unlinking twice is a no-op. */
  unlink(): void {
    if (this.#unlinked) return;
    shm_unlink(this.name);
    this.#unlinked = true;
  }

  /** Close, and unlink if this object created it. */
  [Symbol.dispose](): void {
    this.close();
    if (this.created && !this.#unlinked) {
      try {
        this.unlink();
      } catch {
        this.#unlinked = true;
      }
    }
  }

  /** One line for logs: name, size and state. */
  toString(): string {
    return `PosixShm { name: '${this.name}', fd: ${this.#fd}${this.#unlinked ? ", unlinked" : ""} }`;
  }
}
