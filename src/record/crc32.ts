// CRC-32 (IEEE 802.3, the one zlib and Python's zlib.crc32 compute). Node 20 has no
// zlib.crc32, and a record's checksum must be computed over shared memory without copying.

const TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 of bytes[start, end), continuing from `crc` (0 to start). Returns an unsigned 32-bit number. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length, crc = 0): number {
  let c = ~crc;
  for (let i = start; i < end; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const word = new Uint8Array(4);

/** CRC-32 of a 32-bit little-endian word, continuing from `crc`. */
export function crc32Word(value: number, crc = 0): number {
  word[0] = value & 0xff;
  word[1] = (value >>> 8) & 0xff;
  word[2] = (value >>> 16) & 0xff;
  word[3] = (value >>> 24) & 0xff;
  return crc32(word, 0, 4, crc);
}
