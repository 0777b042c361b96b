// A small seeded PRNG (mulberry32) so every random choice of a test or stress run can be
// replayed: print the seed, run again with it, get the same sequence.

function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A generator with helpers; `seed` is a 32-bit unsigned integer. */
function prng(seed) {
  const next = mulberry32(seed);
  const r = {
    seed: seed >>> 0,
    /** [0, 1) */
    float: next,
    /** integer in [lo, hi] */
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    /** true with probability p */
    chance: (p) => next() < p,
    pick: (list) => list[Math.floor(next() * list.length)],
    /** a new independent seed drawn from this stream */
    seed32: () => Math.floor(next() * 4294967296) >>> 0,
  };
  return r;
}

/**
 * The seed from `TSLAB_IPC_SEED` (decimal or 0x hex) if set; else `fallback` if given (the
 * tests use a fixed one, so `npm test` is repeatable), else a fresh random one (stress).
 */
function seedFromEnv(env = process.env, fallback) {
  const text = env.TSLAB_IPC_SEED;
  if (text !== undefined && text !== "") {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
      throw new RangeError(`TSLAB_IPC_SEED must be a 32-bit unsigned integer. Received ${text}`);
    return n >>> 0;
  }
  if (fallback !== undefined) return fallback >>> 0;
  return require("crypto").randomBytes(4).readUInt32LE(0);
}

module.exports = { prng, seedFromEnv };
