// Memory that a pointer-returning call (shmat, mmap) gave us, owned by one object.
//
// Why this exists: a Buffer over mapped memory outlives any detach the user asks for. In C a
// read through a stale pointer is SIGSEGV; in a notebook kernel that would kill the kernel.
// So on detach/unmap, if a view was ever handed out, the range is replaced in place
// (MAP_FIXED, one atomic mmap) by an anonymous private placeholder: stale views then read
// zeros and their writes go nowhere. The placeholder is unmapped when the last view is
// garbage-collected. Memory whose owner and views are all unreachable is released the same way.
import { errno as lastErrno, fn, view, type Pointer } from "../ffi/libc";
import { constants as bufferConstants } from "buffer";
import { IpcError, detachedError, throwErrno } from "../errors";
import { constants as osConstants } from "os";
import { captureCallerStack } from "../caller-stack";
import { ERR_ILLEGAL_CONSTRUCTOR, ERR_INVALID_ARG_TYPE, ERR_NOT_AN_ARRAY, withCode } from "../codes";
import { validateBigInt64, validateCString, validateInt32, validateInteger } from "../validators";
import { MAP_ANONYMOUS, MAP_FIXED, MAP_NORESERVE, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "./constants";
import { pageSize, roundUpToPage } from "./page";

/** Whether a region's memory is still mapped into this process. */
export type RegionState = "attached" | "detached";

/** What the finalizers need; never refers back to the Region, so the Region can be collected. */
interface Token {
  address: Pointer;
  /** Page-rounded size of the range we own in the address space. */
  span: number;
  /** 'live': the real memory is mapped; 'placeholder': anonymous stand-in; 'gone': nothing. */
  memory: "live" | "placeholder" | "gone";
  hasView: boolean;
  /** Releases the real memory (shmdt or munmap). */
  releaseLive: (address: Pointer, span: number) => void;
}

function releaseToken(token: Token): void {
  if (token.memory === "live") token.releaseLive(token.address, token.span);
  else if (token.memory === "placeholder") fn.munmap(token.address, token.span);
  token.memory = "gone";
}

// The owner died: release its memory unless a view still holds the range (the view's finalizer will).
const ownerFinalizer = new FinalizationRegistry<Token>((token) => {
  if (!token.hasView) releaseToken(token);
});
// The last view died: the owner is gone or detached, so whatever is there can go.
const viewFinalizer = new FinalizationRegistry<Token>((token) => releaseToken(token));

// Owners are registered with ownerFinalizer at the end of the synchronous run that made them
// (a microtask), not in the constructor: a finalizer can only run in a later task anyway, so
// nothing is released later than it would be, and a region released in the same run (the
// shmat/shmdt and mmap/munmap cycles) never pays for a registration (~0.1 µs, and a weak cell
// for the collector). Past PENDING_MAX waiting owners the batch is registered at once, so a
// long synchronous loop holds no more than that many owners alive.
const PENDING_MAX = 256;
let pendingOwners: Region[] = [];
let pendingTokens: Token[] = [];
let flushQueued = false;

function registerPendingOwners(): void {
  const owners = pendingOwners;
  const tokens = pendingTokens;
  pendingOwners = [];
  pendingTokens = [];
  flushQueued = false;
  for (let i = 0; i < owners.length; i++) {
    // No unregister token: we never unregister, and one makes register ~5x slower.
    if (tokens[i].memory === "live") ownerFinalizer.register(owners[i], tokens[i]);
  }
}

/**
 * A region released before its registration (the create/release cycle) leaves the waiting
 * list at once when it is the last one in, so such loops keep nothing alive for the collector
 * to copy and never reach PENDING_MAX.
 */
function forgetPendingOwner(token: Token): void {
  const last = pendingTokens.length - 1;
  if (last >= 0 && pendingTokens[last] === token) {
    pendingTokens.pop();
    pendingOwners.pop();
  }
}

function registerOwnerSoon(owner: Region, token: Token): void {
  pendingOwners.push(owner);
  pendingTokens.push(token);
  if (pendingOwners.length >= PENDING_MAX) registerPendingOwners();
  else if (!flushQueued) {
    flushQueued = true;
    queueMicrotask(registerPendingOwners);
  }
}

const textEncoder = new TextEncoder();
const { EACCES } = osConstants.errno;

/**
 * Only sys/ can make regions: a Region wraps a raw address, and one made from a made-up
 * address would fault on first use. The classes are exported for instanceof and types.
 */
export const regionToken: unique symbol = Symbol("tslab-ipc region");

/**
 * Memory a pointer-returning call (`shmat`, `mmap`) gave this process, owned by one object: the common
 * base of `Attachment` and `Mapping`. Its `.buffer` is a zero-copy `Buffer`; after detach or unmap every
 * view stays safe (reads zeros, writes go nowhere) instead of faulting. Only the library makes regions.
 * A region is not an array: its bytes are `region.buffer[i]`, and `region[i]` throws a TypeError
 * (`ERR_NOT_AN_ARRAY`) saying so.
 */
export abstract class Region {
  /** Start address in this process, as a bigint (what the C call returned). */
  readonly address: Pointer;
  /** Usable length in bytes. */
  readonly length: number;
  #token: Token;
  #buffer: Buffer | undefined;
  #prot: number;

  /** @internal Only sys/ makes regions (see regionToken). */
  protected constructor(
    token: typeof regionToken,
    address: Pointer,
    length: number,
    prot: number,
    releaseLive: (address: Pointer, span: number) => void,
  ) {
    if (token !== regionToken) {
      throw new ERR_ILLEGAL_CONSTRUCTOR(
        `${new.target.name} objects come from shmat() or mmap(); they cannot be constructed`,
      );
    }
    this.address = address;
    this.length = length;
    this.#prot = prot;
    this.#token = { address, span: roundUpToPage(length), memory: "live", hasView: false, releaseLive };
    registerOwnerSoon(this, this.#token);
  }

  /** What the object is called in messages ("segment attachment", "mapping"). */
  protected abstract get what(): string;

  /** 'attached' while the memory is ours; 'detached' after shmdt/munmap/dispose. */
  get state(): RegionState {
    return this.#token.memory === "live" ? "attached" : "detached";
  }

  /** True while the real memory is mapped into this process (false after detach/unmap). */
  get attached(): boolean {
    return this.#token.memory === "live";
  }

  /** Current protection (PROT_* bits), as set at creation or by mprotect. */
  get prot(): number {
    return this.#prot;
  }

  /** @internal Only for mprotect, after the syscall succeeded. */
  _setProt(prot: number): void {
    this.#prot = prot;
  }

  /**
   * A zero-copy Buffer over the memory. Stays safe after detach (reads zeros, writes go nowhere);
   * asking for it after detach throws. A write through it to memory without PROT_WRITE still
   * faults as it would in C: use the write helpers, which check first.
   */
  get buffer(): Buffer {
    this.assertAttached("get its buffer");
    if (!this.#buffer) {
      if (this.length > bufferConstants.MAX_LENGTH) {
        throw withCode(
          new RangeError(
            `A region of ${this.length} bytes is larger than one Buffer can be (${bufferConstants.MAX_LENGTH}): map a smaller window with an offset`,
          ),
          "ERR_BUFFER_TOO_LARGE",
        );
      }
      const ab = view(this.address, this.length);
      this.#token.hasView = true;
      viewFinalizer.register(ab, this.#token);
      this.#buffer = Buffer.from(ab, 0, this.length);
    }
    return this.#buffer;
  }

  /** Throws `IpcError` `ERR_DETACHED` naming `action` when the memory is no longer attached. */
  protected assertAttached(action: string): void {
    if (this.#token.memory !== "live") throw detachedError(this.what, action);
  }

  /**
   * Gives the memory back. Returns false if it was already detached (a no-op).
   * `releaseLive` is the real call (shmdt/munmap), used when no view was ever handed out.
   */
  protected release(): boolean {
    const token = this.#token;
    if (token.memory !== "live") return false;
    if (!token.hasView) {
      token.releaseLive(token.address, token.span);
      token.memory = "gone";
      forgetPendingOwner(token);
      return true;
    }
    // Replace the range in one step, so no view ever sees an unmapped page.
    const placeholder = fn.mmap(
      token.address,
      token.span,
      PROT_READ | PROT_WRITE,
      MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
      -1,
      0,
    );
    if (placeholder !== token.address) throwErrno(lastErrno(), "mmap");
    token.memory = "placeholder";
    this.#prot = PROT_READ | PROT_WRITE;
    return true;
  }

  // ---- helpers for the slide idioms: checked, so they never fault -------------------------

  /** Checks an access of `size` bytes at `offset` before it happens; subclasses add more (file size). */
  protected checkAccess(offset: unknown, size: number, write: boolean, action: string): number {
    this.assertAttached(action);
    const at = validateInteger(offset, "offset", 0);
    if (at + size > this.length) {
      throw withCode(
        new RangeError(
          `The value of "offset" is out of range. ${action} needs ${size} bytes at ${at}, but the ${this.what} is ${this.length} bytes`,
        ),
        "ERR_OUT_OF_RANGE",
      );
    }
    const need = write ? PROT_WRITE : PROT_READ;
    if ((this.#prot & need) === 0) {
      throw new IpcError(
        "EACCES",
        `EACCES: permission denied, ${action} on memory mapped without ${write ? "PROT_WRITE" : "PROT_READ"} ` +
          `(in C this access raises SIGSEGV)`,
        { errno: EACCES },
      );
    }
    return at;
  }

  /** strncpy/sprintf of the slides: writes `text` as UTF-8 followed by a NUL byte. Returns bytes written (without the NUL). */
  writeString(text: string, offset = 0): number {
    validateCString(text, "text");
    const bytes = textEncoder.encode(text);
    const at = this.checkAccess(offset, bytes.length + 1, true, "writeString");
    const buf = this.buffer;
    buf.set(bytes, at);
    buf[at + bytes.length] = 0;
    return bytes.length;
  }

  /**
   * Throws (ERR_DETACHED, EACCES, RangeError, ERR_PAST_EOF) unless `size` bytes at `offset` can
   * be touched now without a fault: what the helpers check first. Objects that live inside the
   * memory (locks, words, records) call it before each use.
   */
  assertTouchable(offset: number, size: number, write: boolean, action: string): void {
    this.checkAccess(offset, size, write, action);
  }

  /**
   * How far from `from` the memory can be read without a fault: the whole length here. A file
   * mapping answers a page or more at a time (about as much as `from - start` more), up to the
   * last page with file behind it, and `from` itself when nothing there can be read.
   */
  protected readableFrom(_from: number, _start: number): number {
    return this.length;
  }

  /** printf("%s") of the slides: the bytes from `offset` up to the first NUL (or the end), as UTF-8. */
  readString(offset = 0): string {
    const at = this.checkAccess(offset, 0, false, "readString");
    const buf = this.buffer;
    // The scan for the NUL never goes past what can be read: no SIGBUS on a shrunk file.
    let from = at;
    while (from < this.length) {
      const to = this.readableFrom(from, at);
      if (to <= from) {
        // Nothing readable at `at` (past the file's end): let the full check say why.
        if (from === at) this.checkAccess(at, 1, false, "readString");
        break;
      }
      const nul = buf.subarray(from, to).indexOf(0);
      if (nul >= 0) return buf.toString("utf8", at, from + nul);
      from = to;
    }
    return buf.toString("utf8", at, from);
  }

  /**
   * Reads a little-endian 32-bit signed integer at `offset` (bounds, protection and file end checked
   * first).
   */
  readInt32(offset = 0): number {
    return this.buffer.readInt32LE(this.checkAccess(offset, 4, false, "readInt32"));
  }

  /**
   * Writes a little-endian 32-bit signed integer at `offset`; throws `EACCES` on read-only memory instead
   * of faulting.
   */
  writeInt32(offset: number, value: number): void {
    validateInt32(value, "value");
    const at = this.checkAccess(offset, 4, true, "writeInt32");
    this.buffer.writeInt32LE(value, at);
  }

  /** Reads a little-endian 64-bit signed integer at `offset` (checked like `readInt32`). */
  readBigInt64(offset = 0): bigint {
    return this.buffer.readBigInt64LE(this.checkAccess(offset, 8, false, "readBigInt64"));
  }

  /** Writes a little-endian 64-bit signed integer at `offset` (checked like `writeInt32`). */
  writeBigInt64(offset: number, value: bigint): void {
    validateBigInt64(value, "value");
    const at = this.checkAccess(offset, 8, true, "writeBigInt64");
    this.buffer.writeBigInt64LE(value, at);
  }

  /** The page-rounded span this region occupies; what munmap/msync/mincore cover by default. */
  get span(): number {
    return this.#token.span;
  }

  /** Number of pages the region spans. */
  get pages(): number {
    return this.#token.span / pageSize();
  }
}

/** A property key that is an index (`data[0]`, `data[-1]`): what C does with a pointer. */
const INDEX = /^-?\d+$/;

/**
 * The last prototype of every region. `data[0] = 65`, C's indexing of the pointer shmat returned,
 * made a property of the object and left the memory as it was; the next `data[0]` read 65 back
 * from that property, while another process saw nothing. A lookup that finds nothing on a region
 * or its classes ends here: an index, read or written, throws a TypeError naming `.buffer`; any
 * other name goes on to Object.prototype as before (a missing name is undefined, an assignment
 * adds it). Every field and method is found before this, so none of them costs more. A
 * TypeError in any mode: cells run as sloppy code, where a write to a frozen object is silent.
 * What does reach it leaves V8's fast paths: a missing name, and an instanceof of a class the
 * region is not (the walk ends in V8's runtime, ~35 ns). Nothing a loop repeats may do either
 * (test/sys/region-end.test.ts); src/sync/placement.ts asks `instanceof Mapping` once.
 */
const regionsEnd = new Proxy(
  {},
  {
    get: function readOfIndex(target, key, receiver) {
      if (typeof key === "string" && INDEX.test(key)) throw notAnArray(receiver, key, readOfIndex);
      return Reflect.get(target, key, receiver);
    },
    set: function writeOfIndex(target, key, value, receiver) {
      if (typeof key === "string" && INDEX.test(key)) throw notAnArray(receiver, key, writeOfIndex);
      return Reflect.set(target, key, value, receiver);
    },
  },
);
Object.setPrototypeOf(Region.prototype, regionsEnd);

/** The error for `region[key]`; its stack starts at the student's line, the trap being no call of theirs. */
function notAnArray(region: unknown, key: string, trap: Function): Error {
  const name = (region as { constructor?: { name?: string } })?.constructor?.name ?? "Region";
  const variable = name.charAt(0).toLowerCase() + name.slice(1);
  const error = new ERR_NOT_AN_ARRAY(
    `${name} is not an array: its bytes are ${variable}.buffer[${key}] (C's data[${key}]), ` +
      `or use ${variable}.writeString(text) and ${variable}.readString()`,
  );
  captureCallerStack(error, trap, String(error.stack).split("\n")[0]);
  return error;
}

/** The one "is a Region" check: an Attachment from shmat or a Mapping from mmap. */
export function validateRegion(value: unknown, name: string): Region {
  if (!(value instanceof Region)) {
    throw new ERR_INVALID_ARG_TYPE(name, "a Region (an Attachment from shmat or a Mapping from mmap)", value);
  }
  return value;
}
