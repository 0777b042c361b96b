// N processes attach one System V segment and each increments a shared counter M times under
// the library's ShmLock (a plain read-modify-write, not an atomic add: only the lock keeps
// updates from being lost). The total must be exactly N * M. With `lock: false` the same run
// without the lock shows what the lock prevents (lost updates). Used by
// test/reliability/load.test.ts (small) and `npm run stress` (64 x 10,000).

const { spawn } = require("child_process");
const path = require("path");
const { performance } = require("perf_hooks");

const DIST = path.join(__dirname, "..", "dist", "index.js");
const LOCK_AT = 0;
const COUNTER_AT = 64;
const READY_AT = 128;
const GO_AT = 132;

const CHILD = `
const ipc = require(${JSON.stringify(DIST)});
const [shmid, increments, useLock] = process.argv.slice(1).map(Number);
const a = ipc.shmat(shmid);
const lock = ipc.ShmLock.open(a, ${LOCK_AT});
const counter = new Int32Array(a.buffer.buffer, a.buffer.byteOffset + ${COUNTER_AT}, 1);
const ready = new ipc.SharedWord(a, ${READY_AT}), go = new ipc.SharedWord(a, ${GO_AT});
ready.add(1);
ready.notify();
while (go.load() === 0) go.wait(0, 1000); // start together: as much contention as possible
for (let i = 0; i < increments; i++) {
  if (useLock) lock.lock();
  const v = counter[0];
  counter[0] = v + 1;
  if (useLock) lock.unlock();
}
`;

async function counterExperiment({ processes = 8, increments = 1000, lock = true } = {}) {
  const ipc = require(DIST);
  const segment = ipc.SharedSegment.create({ size: 4096 });
  const a = segment.attach();
  const started = performance.now();
  try {
    ipc.ShmLock.init(a, LOCK_AT);
    const ready = new ipc.SharedWord(a, READY_AT);
    const go = new ipc.SharedWord(a, GO_AT);
    const children = [];
    for (let p = 0; p < processes; p++) {
      const child = spawn(process.execPath, ["-e", CHILD, String(segment.id), String(increments), lock ? "1" : "0"], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      children.push(new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stderr }))));
    }
    // Wait (without blocking our event loop) until every child is attached and waiting.
    while (ready.load() < processes) {
      const r = await ready.waitAsync(ready.load(), { timeoutMs: 200 });
      if (r === "timed-out" && performance.now() - started > 120_000)
        throw new Error("children did not start within 120 s");
    }
    const spawnedMs = performance.now() - started;
    const t0 = performance.now();
    go.store(1);
    go.notify();
    const ends = await Promise.all(children);
    const runMs = performance.now() - t0;
    const failures = ends.filter((e) => e.code !== 0 || e.signal !== null);
    const total = a.readInt32(COUNTER_AT);
    return {
      processes,
      increments,
      lock,
      expected: processes * increments,
      total,
      lost: processes * increments - total,
      failures: failures.map((f) => `${f.signal ?? f.code}: ${f.stderr.slice(0, 300)}`),
      spawnMs: Math.round(spawnedMs),
      runMs: Math.round(runMs),
      lockPairsPerSecond: Math.round((processes * increments) / (runMs / 1000)),
    };
  } finally {
    segment[Symbol.dispose]();
  }
}

module.exports = { counterExperiment };
