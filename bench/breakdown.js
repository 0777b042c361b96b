#!/usr/bin/env node
// Where the time of the small-call workloads goes: each public call timed on its own, beside
// the bare koffi calls underneath (the floor for any koffi-based library) and the C numbers
// of the main run. A diagnostic for the lead (who owns src/sys), not a workload.
//
//   node bench/breakdown.js            (after `npm run bench` has compiled bench/.build/dist)

const fs = require("fs");
const path = require("path");
const { nowNs } = require("./runners/common");
const { median } = require("./lib/stats");

const LIB = process.env.TSLAB_IPC_LIB || path.join(__dirname, ".build", "dist");
const ipc = require(LIB);
// Reaching below the public API is on purpose here: the bare calls are the floor to compare with.
const libc = require(path.join(LIB, "ffi", "libc"));
const { fn } = libc;
// The IPC_STAT that shmat does to learn the size (its shape changes as src/ improves).
const rawStat = libc.shmSize || libc.shmStat || ((id) => fn.shmctl_stat(id, ipc.IPC_STAT, {}));
const { IPC_PRIVATE, IPC_CREAT, IPC_RMID, PROT_READ, PROT_WRITE, MAP_SHARED, MAP_ANONYMOUS, MS_SYNC } = ipc;
const PAGE = 4096;
const N = Number(process.env.BREAKDOWN_CYCLES || 3000);

/** Runs `cycle` N times (after N/5 warm-up); each call returns an array of step durations (ns). */
function steps(names, cycle) {
  const per = names.map(() => []);
  for (let i = -Math.floor(N / 5); i < N; i++) {
    const d = cycle();
    if (i >= 0) for (const [k, v] of d.entries()) per[k].push(v);
  }
  const out = {};
  for (const [k, n] of names.entries()) out[n] = median(per[k]) / 1e3;
  out.total = Object.values(out).reduce((a, b) => a + b, 0);
  return out;
}

function timed(f) {
  const t0 = nowNs();
  const r = f();
  return [nowNs() - t0, r];
}

function show(title, o) {
  console.log(`\n${title} (median µs per step, ${N} cycles)`);
  for (const [k, v] of Object.entries(o)) console.log(`  ${k.padEnd(34)} ${v.toFixed(2)}`);
}

const seg = {
  public: steps(["shmget(IPC_PRIVATE)", "shmat", "Attachment.detach", "shmctl(IPC_RMID)"], () => {
    const [a, id] = timed(() => ipc.shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0o600));
    const [b, att] = timed(() => ipc.shmat(id, null, 0));
    const [c] = timed(() => att.detach());
    const [d] = timed(() => ipc.shmctl(id, IPC_RMID));
    return [a, b, c, d];
  }),
  bare: steps(["fn.shmget", "fn.shmat", "fn.shmdt", "fn.shmctl(IPC_RMID)"], () => {
    const [a, id] = timed(() => fn.shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0o600));
    const [b, p] = timed(() => fn.shmat(id, null, 0));
    const [c] = timed(() => fn.shmdt(p));
    const [d] = timed(() => fn.shmctl_nobuf(id, IPC_RMID, null));
    return [a, b, c, d];
  }),
};
// The pieces the public calls add on top of the bare ones.
const extra = steps(["size lookup shmat does (IPC_STAT)"], () => {
  const id = fn.shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0o600);
  const [a] = timed(() => rawStat(id));
  fn.shmctl_nobuf(id, IPC_RMID, null);
  return [a];
});
show("segment cycle, public API", seg.public);
show("segment cycle, bare koffi calls", seg.bare);
show("a piece shmat adds", extra);

const anon = {
  public: steps(["mmap(anon)", "munmap"], () => {
    const [a, m] = timed(() => ipc.mmap(null, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    const [b] = timed(() => ipc.munmap(m));
    return [a, b];
  }),
  bare: steps(["fn.mmap(anon)", "fn.munmap"], () => {
    const [a, p] = timed(() => fn.mmap(null, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    const [b] = timed(() => fn.munmap(p, PAGE));
    return [a, b];
  }),
};
show("mmap cycle (anonymous), public API", anon.public);
show("mmap cycle (anonymous), bare koffi calls", anon.bare);

const file = `/dev/shm/tslab-bench-breakdown-${process.pid}`;
const fd = fs.openSync(file, "w+", 0o600);
try {
  fs.ftruncateSync(fd, PAGE);
  show(
    "mmap cycle (file), public API",
    steps(["mmap(fd)", "munmap"], () => {
      const [a, m] = timed(() => ipc.mmap(null, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
      const [b] = timed(() => ipc.munmap(m));
      return [a, b];
    }),
  );
  show(
    "mmap cycle (file), bare koffi calls",
    steps(["fn.mmap(fd)", "fn.munmap"], () => {
      const [a, p] = timed(() => fn.mmap(null, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
      const [b] = timed(() => fn.munmap(p, PAGE));
      return [a, b];
    }),
  );
  const m = ipc.mmap(null, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  // A call about as quick as a clock read: each step times a batch of calls and divides.
  const BATCH = 50;
  const buf = m.buffer;
  show(
    `msync of one page of a /dev/shm file (batches of ${BATCH})`,
    steps(["msync (public)", "fn.msync (bare)"], () => {
      const [a] = timed(() => {
        for (let k = 0; k < BATCH; k++) {
          buf[k & 0xff]++;
          ipc.msync(m, PAGE, MS_SYNC);
        }
      });
      const [b] = timed(() => {
        for (let k = 0; k < BATCH; k++) {
          buf[k & 0xff]++;
          fn.msync(m.address, PAGE, MS_SYNC);
        }
      });
      return [a / BATCH, b / BATCH];
    }),
  );
  ipc.munmap(m);
} finally {
  fs.closeSync(fd);
  fs.unlinkSync(file);
}
// The ping-pong's steps without a partner: a wake with nobody waiting, and a wait that returns
// at once because the value differs (EAGAIN): each one futex syscall, as in the C baseline.
if (typeof ipc.SharedWord === "function") {
  const id = ipc.shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0o600);
  const att = ipc.shmat(id, null, 0);
  ipc.shmctl(id, IPC_RMID);
  const word = new ipc.SharedWord(att, 0);
  word.store(1);
  show(
    "ping-pong steps (futex on a word of a segment)",
    steps(
      [
        "SharedWord.store",
        "SharedWord.notify (no waiter)",
        "SharedWord.wait (value differs)",
        "fn.syscall_futex WAKE (bare)",
      ],
      () => {
        const [a] = timed(() => word.store(1));
        const [b] = timed(() => word.notify(1));
        const [c] = timed(() => word.wait(0));
        const [d] = timed(() => (fn.syscall_futex_wake || fn.syscall_futex)(202, att.address, 1, 1, null, null, 0));
        return [a, b, c, d];
      },
    ),
  );
  att.detach();
  // The same two syscalls from C (bench/.build/bench, built by `npm run bench`).
  try {
    const out = require("child_process").execFileSync(
      path.join(__dirname, ".build", "bench"),
      ["futex-steps", "100000"],
      { encoding: "utf8" },
    );
    const c = JSON.parse(out);
    show("the same from C (mean of 100000)", {
      "futex WAKE (no waiter)": c.wake,
      "futex WAIT (value differs)": c.waitNotEqual,
    });
  } catch (e) {
    console.log(`(C futex steps unavailable: ${String(e instanceof Error ? e.message : e).split("\n")[0]})`);
  }
}

const t0 = nowNs();
for (let i = 0; i < 1e5; i++) nowNs();
console.log(`\n(clock read itself: ${((nowNs() - t0) / 1e5 / 1e3).toFixed(3)} µs, included in each step)`);
