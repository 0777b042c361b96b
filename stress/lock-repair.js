// A process killed while holding the library's lock does not deadlock the others, and the next
// one to lock learns that the owner died and repairs the state. The state: two accounts whose
// sum is fixed, moved by "transfers" under a ShmLock with an undo journal. Workers are
// SIGKILLed at random points, often between the debit and the credit; after each kill this
// process locks (never blocking for ever), sees ownerDied when the victim held the lock,
// rolls back from the journal, and checks the sum. Used by test/reliability/lock-repair.test.ts
// and `npm run stress`.

const { spawn } = require("child_process");
const path = require("path");
const { prng } = require("./prng");

const DIST = path.join(__dirname, "..", "dist", "index.js");
const TOTAL = 1_000_000;
// Layout: lock at 0; accounts A, B at 64, 68; journal: active, oldA, oldB at 72, 76, 80.
const A = 64,
  B = 68,
  ACTIVE = 72,
  OLD_A = 76,
  OLD_B = 80;

// The repair both sides use: roll back an unfinished transfer.
const REPAIR = `(a) => { if (a.readInt32(${ACTIVE}) === 1) { a.writeInt32(${A}, a.readInt32(${OLD_A})); a.writeInt32(${B}, a.readInt32(${OLD_B})); a.writeInt32(${ACTIVE}, 0); return true; } return false; }`;

const WORKER = `
const ipc = require(${JSON.stringify(DIST)});
const a = ipc.shmat(Number(process.argv[1]));
const repair = ${REPAIR};
const lock = ipc.ShmLock.open(a, 0, { onOwnerDied: () => repair(a) });
process.stdout.write("ready\\n");
for (let i = 1; ; i++) {
  lock.lock();
  const amount = (i * 7919) % 1000;
  a.writeInt32(${OLD_A}, a.readInt32(${A}));
  a.writeInt32(${OLD_B}, a.readInt32(${B}));
  a.writeInt32(${ACTIVE}, 1);
  a.writeInt32(${A}, a.readInt32(${A}) - amount);
  for (let k = 0; k < 2000; k++) Math.sqrt(k); // a window between debit and credit
  a.writeInt32(${B}, a.readInt32(${B}) + amount);
  a.writeInt32(${ACTIVE}, 0);
  lock.unlock();
}
`;

async function lockRepairExperiment({ iterations = 15, seed = 1, maxDelayMs = 20, repair = true } = {}) {
  const ipc = require(DIST);
  const rng = prng(seed);
  const segment = ipc.SharedSegment.create({ size: 4096 });
  const a = segment.attach();
  // biome-ignore lint/security/noGlobalEval: REPAIR is this file's own constant, the same source the lock-repair test sends to a child
  const fix = eval(REPAIR);
  const stats = {
    seed,
    iterations,
    repair,
    kills: 0,
    ownerDied: 0,
    foundHalfDone: 0,
    repaired: 0,
    sumWrong: 0,
    workerFailures: /** @type {string[]} */ ([]),
  };
  try {
    const lock = ipc.ShmLock.init(a, 0, { onOwnerDied: () => {} });
    a.writeInt32(A, TOTAL);
    a.writeInt32(B, 0);
    for (let it = 0; it < iterations; it++) {
      const child = spawn(process.execPath, ["-e", WORKER, String(segment.id)], { stdio: ["ignore", "pipe", "pipe"] });
      let err = "";
      child.stderr.on("data", (d) => (err += d));
      const closed = new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
      await /** @type {Promise<void>} */ (
        new Promise((resolve, reject) => {
          child.stdout.on("data", (d) => String(d).includes("ready") && resolve());
          closed.then((e) => reject(new Error(`worker ended before ready: ${JSON.stringify(e)} ${err}`)));
        })
      );
      await new Promise((r) => setTimeout(r, rng.int(1, maxDelayMs)));
      child.kill("SIGKILL");
      const end = await closed;
      if (end.signal !== "SIGKILL") {
        stats.workerFailures.push(`iteration ${it}: ${JSON.stringify(end)} ${err.slice(0, 300)}`);
        continue;
      }
      stats.kills++;
      // The victim is dead: lock() cannot block for ever (free, or owner-died).
      const status = lock.lock();
      try {
        if (status.ownerDied) stats.ownerDied++;
        if (a.readInt32(ACTIVE) === 1) stats.foundHalfDone++;
        if (repair && fix(a)) stats.repaired++;
        if (a.readInt32(A) + a.readInt32(B) !== TOTAL) stats.sumWrong++;
      } finally {
        lock.unlock();
      }
    }
  } finally {
    segment[Symbol.dispose]();
  }
  return stats;
}

module.exports = { lockRepairExperiment };
