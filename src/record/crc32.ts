// CRC-32 (IEEE 802.3, the one zlib and Python's zlib.crc32 compute). Node 20 has no
// zlib.crc32, and a record's checksum must be computed over shared memory without copying.
import { validateBuffer, validateInteger } from "../validators";

const TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** Unchecked: for the record's own hot path, whose arguments are known to be right. */
export function crc32Range(bytes: Uint8Array, start: number, end: number, crc: number): number {
  let c = ~crc;
  for (let i = start; i < end; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * CRC-32 of bytes[start, end), continuing from `crc` (0 to start), as zlib.crc32 computes it.
 * Returns an unsigned 32-bit number: crc32(Buffer.from("123456789")) === 0xcbf43926.
 */
export function crc32(bytes: Uint8Array, start = 0, end?: number, crc = 0): number {
  validateBuffer(bytes, "bytes");
  const from = validateInteger(start, "start", 0, bytes.length);
  const to = end === undefined ? bytes.length : validateInteger(end, "end", from, bytes.length);
  validateInteger(crc, "crc", 0, 0xffffffff);
  return crc32Range(bytes, from, to, crc);
}

const word = new Uint8Array(4);

/** CRC-32 of a 32-bit little-endian word, continuing from `crc`. */
export function crc32Word(value: number, crc = 0): number {
  word[0] = value & 0xff;
  word[1] = (value >>> 8) & 0xff;
  word[2] = (value >>> 16) & 0xff;
  word[3] = (value >>> 24) & 0xff;
  return crc32Range(word, 0, 4, crc);
}
