// tslab-ipc's side of every workload, through the public API only (the package root as
// compiled: shmget/shmat/Attachment.detach/shmctl, mmap/munmap, msync, Region.buffer).
// Same arguments and output as bench/c/bench.c.

const fs = require("fs");
const path = require("path");
const { PAGE, WARM_CALLS, nowNs, emit, skip, runMain, timeBatches, timeBulk, timeFirstTouch } = require("./common");

// The orchestrator compiles src/ into bench/.build/dist so it measures the current source.
const LIB = process.env.TSLAB_IPC_LIB || path.join(__dirname, "..", "..", "dist");
const ipc = require(LIB);
const {
  shmget,
  shmat,
  shmctl,
  mmap,
  munmap,
  msync,
  IPC_PRIVATE,
  IPC_CREAT,
  IPC_RMID,
  PROT_READ,
  PROT_WRITE,
  MAP_SHARED,
  MAP_ANONYMOUS,
  MS_SYNC,
} = ipc;

/** A fresh segment, marked for removal at once (gone at the last detach, even on a crash). */
function openSysv(size) {
  const id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0o600);
  const att = shmat(id, null, 0);
  shmctl(id, IPC_RMID);
  return { region: att, close: () => att.detach() };
}

/** A file of `size` bytes mapped shared; the name is unlinked at once (the mapping keeps it). */
function openFile(file, size) {
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  try {
    fs.ftruncateSync(fd, size);
    const m = mmap(null, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return { region: m, close: () => munmap(m) };
  } finally {
    fs.closeSync(fd);
    fs.unlinkSync(file);
  }
}

function openTarget(kind, file, size) {
  return kind === "sysv" ? openSysv(size) : openFile(file, size);
}

// 1. Bulk write (Buffer.fill) and bulk copy-in (Buffer.set, a memmove), GB/s.
function bulk(copy, kind, file, size, reps) {
  const t = openTarget(kind, file, size);
  const result = timeBulk(t.region.buffer, size, copy, reps);
  t.close();
  emit(result);
}

// 2. First touch: one write per page of a fresh segment; ns and minor faults per page.
function touch(size, reps) {
  emit(
    timeFirstTouch(
      () => {
        const t = openSysv(size);
        return { buf: t.region.buffer, close: t.close };
      },
      size,
      reps,
    ),
  );
}

// 3. Create + attach + detach + remove of a 4 KiB segment; mmap + munmap of one page. µs per cycle.
function segcycle(cycles, batches) {
  emit(
    timeBatches(cycles, batches, () => {
      const id = shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0o600);
      const att = shmat(id, null, 0);
      const a = Number(att.address & 0xffffn);
      att.detach();
      shmctl(id, IPC_RMID);
      return a;
    }),
  );
}

function mmapcycle(kind, file, cycles, batches) {
  let fd = -1;
  let flags = MAP_SHARED | MAP_ANONYMOUS;
  if (kind === "file") {
    fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    fs.ftruncateSync(fd, PAGE);
    fs.unlinkSync(file);
    flags = MAP_SHARED;
  }
  const result = timeBatches(cycles, batches, () => {
    const m = mmap(null, PAGE, PROT_READ | PROT_WRITE, flags, fd, 0);
    const a = Number(m.address & 0xffffn);
    munmap(m);
    return a;
  });
  if (fd >= 0) fs.closeSync(fd);
  emit(result);
}

// 4. msync(MS_SYNC) of one dirty page, µs per call. batch > 1: each sample times `batch` calls
// (each after dirtying the page) and divides, as bench.c does, so the clock's cost is spread.
function msyncLatency(file, count, batch) {
  const t = openFile(file, PAGE);
  const buf = t.region.buffer;
  const n = Number.isInteger(batch) && batch > 1 ? batch : 1;
  // One batch is a function of its own: V8 optimizes it as a whole, the same way every run
  // (not by on-stack replacement of the loop below, whose code differs from run to run).
  const runBatch = (first) => {
    for (let k = 0; k < n; k++) {
      buf[k & 0xff] = (first + k) & 0xff; // dirty the page (a store, timed alike everywhere)
      msync(t.region, PAGE, MS_SYNC);
    }
  };
  const samples = [];
  // The first tenth is warm-up; with batches at least WARM_CALLS calls, so V8 has tiered the loop up.
  for (let i = -Math.max(Math.floor(count / 10), n > 1 ? Math.ceil(WARM_CALLS / n) : 0); i < count; i++) {
    let t0;
    if (n === 1) {
      buf[i & 0xff] = i & 0xff; // dirty the page (not timed)
      t0 = nowNs();
      msync(t.region, PAGE, MS_SYNC);
    } else {
      t0 = nowNs();
      runBatch(i);
    }
    const t1 = nowNs();
    if (i >= 0) samples.push((t1 - t0) / 1e3 / n);
  }
  t.close();
  emit({ samples });
}

// 5. Ping-pong through shared memory with the library's wait/notify word.
function pingpong(seconds) {
  const pp = require("./pingpong-ours");
  return pp.run(ipc, seconds);
}

runMain((w, a) => {
  const num = (i) => Number(a[i]);
  switch (w) {
    case "fill":
      return bulk(false, a[0], a[1], num(2), num(3));
    case "copy":
      return bulk(true, a[0], a[1], num(2), num(3));
    case "touch":
      return touch(num(0), num(1));
    case "segcycle":
      return segcycle(num(0), num(1));
    case "mmapcycle":
      return mmapcycle(a[0], a[1], num(2), num(3));
    case "msync":
      return msyncLatency(a[0], num(1), num(2));
    case "pingpong":
      return pingpong(num(0));
    default:
      return skip(`unknown workload ${w}`);
  }
});
