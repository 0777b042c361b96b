// The Node packages a user would pick instead of tslab-ipc: shm-typed-array (System V and
// POSIX segments as Buffers) and @riaskov/mmap-io (file mappings as Buffers). Both are native
// addons, installed by the benchmark into bench/.peers, never into the library's dependencies.
//
// Usage: node node-peers.js <peer> <workload> args... (the same arguments as bench/c/bench.c)

const fs = require("fs");
const path = require("path");
const { PAGE, WARM_CALLS, nowNs, emit, skip, runMain, timeBatches, timeBulk, timeFirstTouch } = require("./common");

const PEERS = process.env.BENCH_PEERS_DIR || path.join(__dirname, "..", ".peers", "node_modules");
const MAP_ANONYMOUS = 0x20;

function load(peer) {
  return require(path.join(PEERS, peer === "mmap-io" ? "@riaskov/mmap-io" : "shm-typed-array"));
}

// ---- shm-typed-array: System V segments -----------------------------------------------------

/** A fresh segment with a random key (the package has no IPC_PRIVATE); destroy() = shmdt + IPC_RMID. */
function shmCreate(shm, size) {
  const buf = shm.create(size, "Buffer", undefined, "600");
  if (!buf) throw new Error("shm-typed-array: create returned null");
  return { buf, close: () => shm.destroy(buf.key) };
}

/**
 * A POSIX shm object: a file in /dev/shm mapped shared, the same thing as the other side's
 * shared file mapping when `file` is in /dev/shm. The name is unlinked at once.
 */
function shmCreatePosix(shm, file, size) {
  if (path.dirname(file) !== "/dev/shm") throw new Error(`POSIX shm lives in /dev/shm, not ${path.dirname(file)}`);
  const name = "/" + path.basename(file);
  const buf = shm.createPosix(name, size, "Buffer", "600");
  if (!buf) throw new Error("shm-typed-array: createPosix returned null");
  fs.unlinkSync(file);
  return { buf, close: () => shm.detachPosix(name, false) };
}

// ---- mmap-io: file mappings (unmapped when the Buffer is garbage-collected) ----------------

function mmapFile(mmapio, file, size) {
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  try {
    fs.ftruncateSync(fd, size);
    const buf = mmapio.map(size, mmapio.PROT_READ | mmapio.PROT_WRITE, mmapio.MAP_SHARED, fd, 0);
    return { buf, close: () => {} };
  } finally {
    fs.closeSync(fd);
    fs.unlinkSync(file);
  }
}

function bulk(peer, copy, kind, file, size, reps) {
  const mod = load(peer);
  if (peer === "mmap-io" && kind === "sysv") return skip("no System V segments (file mappings only)");
  let t;
  if (peer === "mmap-io") t = mmapFile(mod, file, size);
  else if (kind === "sysv") t = shmCreate(mod, size);
  else t = shmCreatePosix(mod, file, size);
  const result = timeBulk(t.buf, size, copy, reps);
  t.close();
  emit(result);
}

function touch(peer, size, reps) {
  if (peer !== "shm-typed-array") return skip("makes no segments (file mappings only)");
  const shm = load(peer);
  emit(timeFirstTouch(() => shmCreate(shm, size), size, reps));
}

function segcycle(peer, cycles, batches) {
  if (peer !== "shm-typed-array") return skip("makes no segments (file mappings only)");
  const shm = load(peer);
  emit(
    timeBatches(cycles, batches, () => {
      const buf = shm.create(PAGE, "Buffer", undefined, "600");
      const k = buf.key & 0xff;
      shm.destroy(buf.key);
      return k;
    }),
  );
}

async function mmapcycle(peer, kind, file, cycles, batches) {
  if (peer !== "mmap-io") return skip("no mmap of files or anonymous memory");
  if (typeof global.gc !== "function") throw new Error("run with --expose-gc");
  const mmapio = load(peer);
  let fd = -1;
  let flags = mmapio.MAP_SHARED | MAP_ANONYMOUS;
  if (kind === "file") {
    fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    fs.ftruncateSync(fd, PAGE);
    fs.unlinkSync(file);
    flags = mmapio.MAP_SHARED;
  }
  // mmap-io has no unmap call: a mapping goes when its Buffer is collected, and Node runs that
  // finalizer (the munmap) in a later turn of the event loop, not inside gc(): after a batch of
  // 2000 maps and a gc(), /proc/self/maps still lists all 2000, and they are gone at the next
  // setImmediate. So each timed batch ends with a full GC and then waits for that turn: the
  // munmaps are paid inside the batch, with the GC's own cost, as every other system pays them.
  const map = () => mmapio.map(PAGE, mmapio.PROT_READ | mmapio.PROT_WRITE, flags, fd, 0).length & 1;
  const batch = async (n) => {
    let v = 0;
    for (let i = 0; i < n; i++) v += map();
    /** @type {() => void} */ (global.gc)(); // run with --expose-gc
    await new Promise(setImmediate);
    return v;
  };
  let check = await batch(Math.max(5000, cycles)); // warm-up, as timeBatches does
  const samples = [];
  for (let b = 0; b < batches; b++) {
    const t0 = nowNs();
    check += await batch(cycles);
    samples.push((nowNs() - t0) / 1e3 / cycles);
  }
  if (fd >= 0) fs.closeSync(fd);
  emit({ samples, check, note: "munmap happens at GC: a forced gc() per batch and the finalizers' turn, timed" });
}

function msyncLatency(peer, file, count, batch) {
  if (peer !== "mmap-io") return skip("no msync");
  const mmapio = load(peer);
  const t = mmapFile(mmapio, file, PAGE);
  const buf = t.buf;
  const n = Number.isInteger(batch) && batch > 1 ? batch : 1; // batch > 1: one sample per `batch` calls, as bench.c does
  // One batch is a function of its own: V8 optimizes it as a whole, the same way every run
  // (not by on-stack replacement of the loop below, whose code differs from run to run).
  const runBatch = (first) => {
    for (let k = 0; k < n; k++) {
      buf[k & 0xff] = (first + k) & 0xff; // dirty the page (a store, timed alike everywhere)
      mmapio.sync(buf, 0, PAGE, true);
    }
  };
  const samples = [];
  for (let i = -Math.max(Math.floor(count / 10), n > 1 ? Math.ceil(WARM_CALLS / n) : 0); i < count; i++) {
    let t0;
    if (n === 1) {
      buf[i & 0xff] = i & 0xff;
      t0 = nowNs();
      mmapio.sync(buf, 0, PAGE, true); // blocking: MS_SYNC
    } else {
      t0 = nowNs();
      runBatch(i);
    }
    const t1 = nowNs();
    if (i >= 0) samples.push((t1 - t0) / 1e3 / n);
  }
  emit({ samples });
}

runMain((peer, _) => {
  const [, w, ...a] = process.argv.slice(2);
  const num = (i) => Number(a[i]);
  switch (w) {
    case "fill":
      return bulk(peer, false, a[0], a[1], num(2), num(3));
    case "copy":
      return bulk(peer, true, a[0], a[1], num(2), num(3));
    case "touch":
      return touch(peer, num(0), num(1));
    case "segcycle":
      return segcycle(peer, num(0), num(1));
    case "mmapcycle":
      return mmapcycle(peer, a[0], a[1], num(2), num(3));
    case "msync":
      return msyncLatency(peer, a[0], num(1), num(2));
    case "pingpong":
      return skip("no cross-process wait primitive");
    default:
      return skip(`unknown workload ${w}`);
  }
});
