// One error class for failed system calls, shaped like Node's fs errors (code, errno, syscall,
// path). Argument checks live in src/validators.ts, their coded errors in src/codes.ts.
import { getSystemErrorName } from "util";
import { captureCallerStack } from "./caller-stack";
import { fn } from "./ffi/libc";

/** What an `IpcError` names besides the errno: the path, key or shmid involved. */
export interface IpcErrorDetails {
  /** The path involved (ftok, shm_open, a mapped file). */
  path?: string;
  /** The System V key involved. */
  key?: number;
  /** The System V segment id involved. */
  shmid?: number;
}

/**
 * A failed system call or a use of memory that is no longer there.
 *
 * @example
 * {@includeCode ../docs/examples/IpcError.ts}
 */
export class IpcError extends Error {
  /** 'ENOENT', 'EEXIST', … or 'ERR_DETACHED' for an object that no longer owns its memory. */
  readonly code: string;
  /** The positive errno value (undefined for ERR_* codes that are not errnos). */
  declare readonly errno?: number;
  declare readonly syscall?: string;
  declare readonly path?: string;
  declare readonly key?: number;
  declare readonly shmid?: number;

  constructor(code: string, message: string, fields?: ({ errno?: number; syscall?: string } & IpcErrorDetails) | null) {
    super(String(message));
    fields = fields ?? {};
    this.name = "IpcError";
    this.code = String(code);
    if (fields.errno !== undefined) this.errno = fields.errno;
    if (fields.syscall !== undefined) this.syscall = fields.syscall;
    if (fields.path !== undefined) this.path = fields.path;
    if (fields.key !== undefined) this.key = fields.key;
    if (fields.shmid !== undefined) this.shmid = fields.shmid;
    // The stack starts at the call the user made (shmget), not at the helper that threw.
    captureCallerStack(this, new.target);
  }
}

/** 'ENOENT' for 2; Node's own table, so names match what fs errors say. */
export function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `E${errno}`;
  }
}

/** strerror(3), lower-cased at the start: what perror() on the slides prints, in Node's style. */
export function errnoMessage(errno: number): string {
  const text = String(fn.strerror(errno) ?? `errno ${errno}`);
  return text.charAt(0).toLowerCase() + text.slice(1);
}

export function formatKey(key: number): string {
  return "0x" + (key >>> 0).toString(16).padStart(8, "0");
}

/** Builds the IpcError for `errno` raised by `syscall`, e.g. `EEXIST: file exists, shmget key 0x52010203`. */
export function ipcErrorFromErrno(errno: number, syscall: string, details: IpcErrorDetails = {}): IpcError {
  const code = errnoName(errno);
  let where = syscall;
  if (details.path !== undefined) where += ` '${details.path}'`;
  if (details.key !== undefined) where += ` key ${formatKey(details.key)}`;
  if (details.shmid !== undefined) where += ` shmid ${details.shmid}`;
  return new IpcError(code, `${code}: ${errnoMessage(errno)}, ${where}`, { errno, syscall, ...details });
}

/** Node's own fs error (ENOENT from fs.openSync, …) as our IpcError; anything else unchanged. */
export function fromNodeError(e: unknown, syscall: string, details: IpcErrorDetails = {}): unknown {
  const err = e as NodeJS.ErrnoException;
  return typeof err?.errno === "number" && err.errno < 0 ? ipcErrorFromErrno(-err.errno, syscall, details) : e;
}

/** Runs a Node fs call, turning its errno errors into IpcError. */
export function fsCall<T>(syscall: string, details: IpcErrorDetails, call: () => T): T {
  try {
    return call();
  } catch (e) {
    throw fromNodeError(e, syscall, details);
  }
}

/**
 * Throws the IpcError of a failed libc call, from the `errno` the caller read right after it:
 * `throwErrno(errno(), "shmget", { key })`, errno first, before anything else runs. JavaScript
 * run in between (the details' object literal, a function's entry) may let V8 take a contended
 * lock or collect garbage, and their own failed system calls (futex: EAGAIN) overwrite errno.
 * Node 24 did so about once in 200,000 failed shmget calls when errno was read after the
 * details were built.
 */
export function throwErrno(errno: number, syscall: string, details: IpcErrorDetails = {}): never {
  throw ipcErrorFromErrno(errno, syscall, details);
}

/** The error for an object whose memory was detached or unmapped. */
export function detachedError(what: string, action: string): IpcError {
  return new IpcError("ERR_DETACHED", `ERR_DETACHED: ${what} is no longer attached, cannot ${action}`);
}
