// A record in shared memory that a reader can trust: it never returns a torn record, even
// when the writer is killed (SIGKILL) in the middle of writing one.
//
// How: two slots, each guarded by a sequence lock plus a checksum.
// - The writer fills the slot the last committed record is NOT in: it marks the slot's
//   sequence word odd ("being written"), copies the payload, stores length and CRC-32, marks
//   the sequence even again, and only then publishes the new generation number. A writer that
//   dies anywhere in between leaves the previous record complete and published.
// - A reader reads the published generation, then the slot's sequence, copies the payload,
//   reads the sequence again and checks the CRC-32 of its own copy. If the sequence moved (a
//   writer lapped the reader) or the checksum does not match, it tries again; it returns only
//   a copy whose checksum matches.
// - One writer at a time: the writer's pid sits in the header while it writes. A second live
//   writer gets EBUSY; a writer that finds the pid of a dead process there takes over.
//
// Layout at `offset` (8-aligned; 32-bit little-endian words):
//   header  [magic, capacity, generation, writerPid, 0, 0, 0, 0]                 32 bytes
//   slot 0  [sequence, length, crc32, 0] + payload (capacity, rounded up to 8)
//   slot 1  the same
import { IpcError, detachedError } from "../errors";
import { constants as osConstants } from "os";
import { ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE_RANGE, withCode } from "../codes";
import { validateInteger } from "../validators";
import { PROT_READ, PROT_WRITE } from "../sys/constants";
import { validateRegion, type Region } from "../sys/region";
import { crc32Range, crc32Word } from "./crc32";
import { isAlive as pidAlive } from "../sys/registry";

const { EACCES, EAGAIN, EBUSY, EINVAL } = osConstants.errno;

const MAGIC = 0x31434552; // "REC1"
const HEADER = 32;
const SLOT_HEADER = 16;
// Header words
const W_MAGIC = 0;
const W_CAPACITY = 1;
const W_GENERATION = 2;
const W_WRITER = 3;
// Slot header words (relative to the slot)
const S_SEQUENCE = 0;
const S_LENGTH = 1;
const S_CRC = 2;

/** Largest capacity: the payload length is a 32-bit word, and a Buffer must hold it. */
const MAX_CAPACITY = 0x3fffffff;
/** How often a read retries when a writer keeps lapping it, before it gives up with EAGAIN. */
const READ_ATTEMPTS = 1000;
/** Bytes copied between checksum updates in write(). */
const COPY_CHUNK = 16 * 1024;

function roundUp8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** The generation after `g`: never 0 (0 means "nothing written yet"), and always the other slot. */
function nextGeneration(g: number): number {
  return g >= 0xffffffff ? 2 : g + 1;
}

/** A record read back: the bytes (a private copy) and the generation that wrote them. */
export interface RecordSnapshot {
  readonly data: Buffer;
  /** 1 for the first record written, then 2, 3, … */
  readonly generation: number;
}

/**
 * A record in shared memory that a reader never sees torn, even when the writer is killed in the middle of
 * a write: two slots, each guarded by a sequence lock and a CRC-32; a reader gets the last complete record
 * or `null`. `byteLength(capacity)` is the space it takes, `init` makes one, `open` uses it elsewhere.
 * @example
 * {@includeCode ../../docs/examples/SharedRecord.ts}
 */
export class SharedRecord {
  /** Bytes of header before the slots. */
  static readonly HEADER_SIZE = HEADER;
  /** Required alignment of the offset. */
  static readonly ALIGN = 8;

  readonly region: Region;
  readonly offset: number;
  /** Largest payload in bytes. */
  readonly capacity: number;
  /** Bytes the record occupies in the region: SharedRecord.byteLength(capacity). */
  readonly byteLength: number;
  readonly #slotSize: number;
  #words: Int32Array | undefined;

  private constructor(region: Region, offset: number, capacity: number) {
    this.region = region;
    this.offset = offset;
    this.capacity = capacity;
    this.#slotSize = SLOT_HEADER + roundUp8(capacity);
    this.byteLength = HEADER + 2 * this.#slotSize;
  }

  /** Bytes needed for a record of `capacity` payload bytes (header and two slots). */
  static byteLength(capacity: number): number {
    validateInteger(capacity, "capacity", 1, MAX_CAPACITY);
    return HEADER + 2 * (SLOT_HEADER + roundUp8(capacity));
  }

  /**
   * Lays out an empty record of `capacity` bytes at `offset` (once, by one process, before
   * others open it). Returns it; read() gives null until the first write().
   */
  static init(region: Region, offset: number, capacity: number): SharedRecord {
    validateRegion(region, "region");
    checkPlacementOffset(offset);
    validateInteger(capacity, "capacity", 1, MAX_CAPACITY);
    const record = new SharedRecord(region, offset, capacity);
    record.checkFits();
    record.assertAccess(true, "init a record");
    const w = record.words();
    Atomics.store(w, W_MAGIC, 0); // not a record while we lay it out
    for (let i = 1; i < HEADER / 4; i++) Atomics.store(w, i, 0);
    for (const slot of [0, 1]) {
      const s = record.slotWord(slot);
      for (let i = 0; i < SLOT_HEADER / 4; i++) Atomics.store(w, s + i, 0);
    }
    Atomics.store(w, W_CAPACITY, capacity);
    Atomics.store(w, W_MAGIC, MAGIC);
    return record;
  }

  /** The record another process laid out at `offset` of the same shared memory. */
  static open(region: Region, offset = 0): SharedRecord {
    validateRegion(region, "region");
    checkPlacementOffset(offset);
    if (offset + HEADER > region.length) {
      throw withCode(
        new RangeError(
          `The value of "offset" is out of range. A record header needs ${HEADER} bytes at ${offset}, but the region is ${region.length} bytes`,
        ),
        "ERR_OUT_OF_RANGE",
      );
    }
    if (!region.attached) throw detachedError("the region of this record", "open it");
    if ((region.prot & PROT_READ) === 0) throw noAccess("open a record", "PROT_READ");
    // Checked reads: they refuse a file mapping that ends before the header (SIGBUS in C).
    const magic = region.readInt32(offset + W_MAGIC * 4);
    const capacity = region.readInt32(offset + W_CAPACITY * 4);
    if (magic !== MAGIC || capacity < 1 || capacity > MAX_CAPACITY) {
      throw new IpcError(
        "EINVAL",
        `EINVAL: invalid argument, no SharedRecord at offset ${offset} (call SharedRecord.init there first)`,
        { errno: EINVAL },
      );
    }
    const record = new SharedRecord(region, offset, capacity);
    record.checkFits();
    return record;
  }

  /**
   * Writes a new record (bytes, or a string as UTF-8) and publishes it. Returns its generation.
   * EBUSY if another live process is writing this record right now.
   */
  write(data: Uint8Array | string): number {
    let length: number;
    if (typeof data === "string") length = Buffer.byteLength(data, "utf8");
    else if (data instanceof Uint8Array) length = data.length;
    else throw new ERR_INVALID_ARG_TYPE("data", ["string", "Uint8Array"], data);
    if (length > this.capacity) {
      throw withCode(
        new RangeError(`The record is too long: ${length} bytes, but the record holds at most ${this.capacity}`),
        "ERR_OUT_OF_RANGE",
      );
    }
    this.assertAccess(true, "write a record");
    const w = this.words();
    this.claimWriter(w);
    try {
      const generation = nextGeneration(Atomics.load(w, W_GENERATION) >>> 0);
      const slot = generation & 1;
      const s = this.slotWord(slot);
      const payload = this.offset + HEADER + slot * this.#slotSize + SLOT_HEADER;
      const buf = this.region.buffer;
      Atomics.store(w, s + S_SEQUENCE, (2 * generation - 1) | 0); // odd: being written
      let crc: number;
      if (typeof data === "string") {
        buf.write(data, payload, length, "utf8");
        crc = checksum(generation, length, buf, payload);
      } else {
        // Copy and checksum chunk by chunk: the checksum is of the caller's bytes, read once
        // while they are in the cache.
        crc = checksumStart(generation, length);
        for (let k = 0; k < length; k += COPY_CHUNK) {
          const end = Math.min(length, k + COPY_CHUNK);
          buf.set(data.subarray(k, end), payload + k);
          crc = crc32Range(data, k, end, crc);
        }
      }
      Atomics.store(w, s + S_LENGTH, length);
      Atomics.store(w, s + S_CRC, crc | 0);
      Atomics.store(w, s + S_SEQUENCE, (2 * generation) | 0); // even: complete
      Atomics.store(w, W_GENERATION, generation | 0); // published
      return generation;
    } finally {
      Atomics.compareExchange(w, W_WRITER, process.pid, 0);
    }
  }

  /**
   * The last complete record (a private copy with its generation), or null if none was ever
   * written. Never a torn one: a record being written, or left half-written by a writer that
   * died, is not returned; the previous complete one is.
   */
  readSnapshot(): RecordSnapshot | null {
    this.assertAccess(false, "read a record");
    const w = this.words();
    const buf = this.region.buffer;
    let checksumFailures = 0;
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const generation = Atomics.load(w, W_GENERATION) >>> 0;
      if (generation === 0) return null;
      const slot = generation & 1;
      const s = this.slotWord(slot);
      const sequence = Atomics.load(w, s + S_SEQUENCE) >>> 0;
      if (sequence !== (2 * generation) >>> 0) continue; // a writer lapped us: that slot is being rewritten
      const length = Atomics.load(w, s + S_LENGTH) >>> 0;
      const crc = Atomics.load(w, s + S_CRC) >>> 0;
      if (length > this.capacity) continue;
      const payload = this.offset + HEADER + slot * this.#slotSize + SLOT_HEADER;
      const copy = Buffer.from(buf.subarray(payload, payload + length)); // a copy: checked, then never changes
      if (Atomics.load(w, s + S_SEQUENCE) >>> 0 !== sequence) continue;
      if (checksum(generation, length, copy, 0) === crc) return { data: copy, generation };
      // The sequence held but the bytes do not match: memory written outside write() (a raw
      // .buffer write), or, on a weakly ordered CPU, a copy that raced a writer. Retry a few times.
      if (++checksumFailures >= 3) {
        throw new IpcError(
          "ERR_RECORD_CORRUPT",
          `ERR_RECORD_CORRUPT: the record at offset ${this.offset} (generation ${generation}) fails its checksum: ` +
            `its memory was changed outside SharedRecord.write()`,
        );
      }
    }
    throw new IpcError(
      "EAGAIN",
      `EAGAIN: resource temporarily unavailable, the record at offset ${this.offset} was rewritten ${READ_ATTEMPTS} times while being read`,
      { errno: EAGAIN },
    );
  }

  /** The bytes of the last complete record (a copy), or null if none was ever written. */
  read(): Buffer | null {
    return this.readSnapshot()?.data ?? null;
  }

  /** The last complete record as UTF-8 text, or null if none was ever written. */
  readString(): string | null {
    return this.read()?.toString("utf8") ?? null;
  }

  /** Generation of the last complete record (0: none yet). */
  get generation(): number {
    this.assertAccess(false, "read a record");
    return Atomics.load(this.words(), W_GENERATION) >>> 0;
  }

  /** The pid writing now, or the pid of a writer that died mid-write (see `abandoned`); 0 when idle. */
  get writerPid(): number {
    this.assertAccess(false, "read a record");
    return Atomics.load(this.words(), W_WRITER);
  }

  /** A writer died in the middle of a write. Readers still get the previous complete record; the next write takes over. */
  get abandoned(): boolean {
    const pid = this.writerPid;
    return pid !== 0 && pid !== process.pid && !pidAlive(pid);
  }

  /** One line for logs: capacity, generation and writer. */
  toString(): string {
    if (!this.region.attached) return `SharedRecord { offset: ${this.offset}, capacity: ${this.capacity}, detached }`;
    const pid = this.writerPid;
    const writer = pid === 0 ? "" : this.abandoned ? `, abandoned by pid ${pid}` : `, being written by pid ${pid}`;
    return `SharedRecord { offset: ${this.offset}, capacity: ${this.capacity}, generation: ${this.generation}${writer} }`;
  }

  // ---- internals ---------------------------------------------------------------------------

  /** Takes the writer's place in the header, or throws EBUSY if a live process holds it. */
  private claimWriter(w: Int32Array): void {
    const me = process.pid;
    const holder = Atomics.compareExchange(w, W_WRITER, 0, me);
    if (holder === 0 || holder === me) return;
    if (!pidAlive(holder) && Atomics.compareExchange(w, W_WRITER, holder, me) === holder) return;
    const now = Atomics.load(w, W_WRITER);
    throw new IpcError(
      "EBUSY",
      `EBUSY: device or resource busy, the record at offset ${this.offset} is being written by pid ${now || holder} ` +
        `(one writer at a time: guard several writers with a ShmLock)`,
      { errno: EBUSY },
    );
  }

  /** Int32 index of slot `slot`'s header. */
  private slotWord(slot: number): number {
    return (HEADER + slot * this.#slotSize) / 4;
  }

  private words(): Int32Array {
    if (!this.#words) {
      const buf = this.region.buffer;
      this.#words = new Int32Array(buf.buffer, buf.byteOffset + this.offset, this.byteLength / 4);
    }
    return this.#words;
  }

  private checkFits(): void {
    if (this.offset + this.byteLength > this.region.length) {
      throw withCode(
        new RangeError(
          `The value of "offset" is out of range. A record of capacity ${this.capacity} needs ${this.byteLength} bytes at ${this.offset}, ` +
            `but the region is ${this.region.length} bytes`,
        ),
        "ERR_OUT_OF_RANGE",
      );
    }
  }

  private checkProt(write: boolean, action: string): void {
    if (!this.region.attached) throw detachedError("the region of this record", action);
    const prot = this.region.prot;
    if ((prot & PROT_READ) === 0) throw noAccess(action, "PROT_READ");
    if (write && (prot & PROT_WRITE) === 0) throw noAccess(action, "PROT_WRITE");
  }

  /** Attached, allowed, and (for a file mapping) not past the end of the file: checked before each access. */
  private assertAccess(write: boolean, action: string): void {
    this.checkProt(write, action);
    // A checked read of the record's last word: ERR_PAST_EOF if the mapped file was truncated under us.
    this.region.readInt32(this.offset + this.byteLength - 4);
  }
}

/** CRC-32 over the generation, the length and the payload, so a stale length or slot never matches. */
function checksum(generation: number, length: number, bytes: Uint8Array, start: number): number {
  return crc32Range(bytes, start, start + length, checksumStart(generation, length));
}

function checksumStart(generation: number, length: number): number {
  return crc32Word(length, crc32Word(generation));
}

function checkPlacementOffset(offset: unknown): void {
  const at = validateInteger(offset, "offset", 0, Number.MAX_SAFE_INTEGER);
  if (at % SharedRecord.ALIGN !== 0) {
    throw new ERR_INVALID_ARG_VALUE_RANGE("offset", at, `must be a multiple of ${SharedRecord.ALIGN} for a record`);
  }
}

function noAccess(action: string, missing: string): IpcError {
  return new IpcError("EACCES", `EACCES: permission denied, cannot ${action} in memory mapped without ${missing}`, {
    errno: EACCES,
  });
}
