// Writers killed with SIGKILL in the middle of writing a SharedRecord, again and again, while
// this process reads: no read may ever return a torn record. Used by
// test/reliability/record-kill.test.ts (a few dozen kills) and `npm run stress` (hundreds).
//
// Every record describes itself, so a torn one is recognisable without trusting the helper:
// bytes 0..3 its index i, 4..7 its length, the rest filled with the byte fill(i). A torn record
// (the start of a new record over the end of an older one) has the wrong fill somewhere.

const { spawn } = require("child_process");
const path = require("path");
const { prng } = require("./prng");

const DIST = path.join(__dirname, "..", "dist", "index.js");

const fill = (i) => (Math.imul(i, 37) + 11) & 0xff;

/** Whether `bytes` is one complete record as the writer made it. */
function validRecord(bytes) {
  if (bytes.length < 8) return false;
  const i = bytes.readUInt32LE(0);
  if (bytes.readUInt32LE(4) !== bytes.length) return false;
  const f = fill(i);
  for (let k = 8; k < bytes.length; k++) if (bytes[k] !== f) return false;
  return true;
}

// The writer: opens the record the parent made and writes records forever, until killed.
const WRITER = `
const ipc = require(${JSON.stringify(DIST)});
const shmid = Number(process.env.RK_SHMID), first = Number(process.env.RK_FIRST);
const record = ipc.SharedRecord.open(ipc.shmat(shmid), 0);
const cap = record.capacity, scratch = Buffer.alloc(cap);
const fill = (i) => (Math.imul(i, 37) + 11) & 0xff;
process.stdout.write("ready\\n");
for (let i = first; ; i++) {
  // Lengths between half and all of the capacity: a write takes long enough to be hit mid-way.
  const len = (cap >> 1) + (Math.imul(i, 2654435761) >>> 0) % ((cap >> 1) + 1);
  scratch.fill(fill(i), 8, len);
  scratch.writeUInt32LE(i >>> 0, 0);
  scratch.writeUInt32LE(len, 4);
  record.write(scratch.subarray(0, len));
}
`;

function startWriter(shmid, first) {
  const child = spawn(process.execPath, ["-e", WRITER], {
    env: { ...process.env, RK_SHMID: String(shmid), RK_FIRST: String(first) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stderr })));
  /** @type {Promise<void>} */
  const ready = new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("ready\n")) resolve();
    });
    exited.then((e) => reject(new Error(`writer ended before it was ready: ${JSON.stringify(e)}`)));
  });
  return { child, ready, exited };
}

/**
 * Runs `iterations` writer lifetimes, each killed after a random 0..maxDelayMs of writing.
 * Returns the counts; `invalidAccepted` must be 0 and `readFailures` empty.
 */
async function recordKillExperiment({
  iterations = 30,
  seed = 1,
  capacity = 256 * 1024,
  maxDelayMs = 15,
  log = /** @param {string} _line */ (_line) => {},
} = {}) {
  const ipc = require(DIST);
  const rng = prng(seed);
  const segment = ipc.SharedSegment.create({ size: ipc.SharedRecord.byteLength(capacity) });
  const attachment = segment.attach();
  const stats = {
    seed,
    iterations,
    capacity,
    kills: 0,
    killedMidWrite: 0, // the writer's pid was still in the header: it died inside write()
    tornLeftInMemory: 0, // ...and the slot it was writing holds a torn record (what a naive reader would see)
    readsWhileWriting: 0,
    readsAccepted: 0,
    invalidAccepted: 0, // reads that returned a torn/invalid record: must stay 0
    lastGeneration: 0,
    readFailures: /** @type {string[]} */ ([]),
    writerFailures: /** @type {string[]} */ ([]),
  };
  const check = (snapshot, when) => {
    if (snapshot === null) return;
    stats.readsAccepted++;
    if (!validRecord(snapshot.data)) {
      stats.invalidAccepted++;
      if (stats.readFailures.length < 5) stats.readFailures.push(`${when}: generation ${snapshot.generation} is torn`);
    }
    if (snapshot.generation < stats.lastGeneration) {
      stats.readFailures.push(`${when}: generation went back from ${stats.lastGeneration} to ${snapshot.generation}`);
    }
    stats.lastGeneration = snapshot.generation;
  };
  try {
    const record = ipc.SharedRecord.init(attachment, 0, capacity);
    const slotSize = 16 + Math.ceil(capacity / 8) * 8;
    for (let it = 0; it < iterations; it++) {
      const w = startWriter(segment.id, it * 1_000_000);
      await w.ready;
      // Read as fast as we can while it writes, then kill it at a random moment.
      const deadline = Date.now() + rng.int(0, maxDelayMs);
      do {
        stats.readsWhileWriting++;
        check(record.readSnapshot(), `iteration ${it}, while writing`);
      } while (Date.now() < deadline);
      w.child.kill("SIGKILL");
      const end = await w.exited;
      if (end.signal !== "SIGKILL") {
        stats.writerFailures.push(`iteration ${it}: writer ended with ${JSON.stringify(end)}`);
        continue;
      }
      stats.kills++;
      if (record.abandoned) {
        stats.killedMidWrite++;
        // The slot after the published one is the one it was writing: look at it the naive way.
        const slot = (record.generation + 1) & 1;
        const payload = 32 + slot * slotSize + 16;
        const buf = attachment.buffer;
        const len = buf.readUInt32LE(payload + 4);
        const naive =
          len >= 8 && len <= capacity ? buf.subarray(payload, payload + len) : buf.subarray(payload, payload + 8);
        if (!validRecord(naive)) stats.tornLeftInMemory++;
      }
      check(record.readSnapshot(), `iteration ${it}, after the kill`);
      log(`iteration ${it}: generation ${record.generation}${record.abandoned ? " (killed mid-write)" : ""}`);
    }
  } finally {
    segment[Symbol.dispose]();
  }
  return stats;
}

module.exports = { recordKillExperiment, validRecord };
