// What this process created (System V segments, POSIX shm objects), so nothing leaks.
//
// - At exit (normal exit, or SIGINT/SIGTERM/SIGHUP when nobody else handles them) everything
//   created and not marked `persist` is removed.
// - Each creation is also appended to a per-process journal in a per-user folder (one write on
//   a descriptor kept open: creation stays cheap). `reap()` reads the journals of dead
//   processes (killed with SIGKILL, say) and removes what they left, checking that each object
//   is still the one they made; objects of live processes and of other programs stay.
import fs from "fs";
import os from "os";
import path from "path";
import { fn, shmStat } from "../ffi/libc";

export type Created =
  | { kind: "sysv"; id: number; key: number }
  | { kind: "posix"; name: string; ino?: number };

const IPC_RMID = 0;

const created = new Map<string, Created>();
let handlersInstalled = false;
let journalFd = -1;

/** The per-user folder of journals; created 0700 on first use. */
export function recordsDir(): string {
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  return process.env.TSLAB_IPC_RECORDS ?? path.join(os.tmpdir(), `tslab-ipc-${uid}`);
}

function journalPath(pid: number): string {
  return path.join(recordsDir(), `${pid}.jsonl`);
}

function appendJournal(c: Created): void {
  try {
    if (journalFd < 0) {
      fs.mkdirSync(recordsDir(), { recursive: true, mode: 0o700 });
      journalFd = fs.openSync(journalPath(process.pid), "a", 0o600);
    }
    fs.writeSync(journalFd, JSON.stringify(c) + "\n");
  } catch {
    // The journal only serves reap(); failing to write it must not fail the creation.
  }
}

function closeJournal(): void {
  if (journalFd < 0) return;
  try {
    fs.closeSync(journalFd);
    fs.unlinkSync(journalPath(process.pid));
  } catch {
    /* already gone */
  }
  journalFd = -1;
}

function keyOf(c: Created): string {
  return c.kind === "sysv" ? `sysv:${c.id}` : `posix:${c.name}`;
}

/** Note that this process created `c`; it will be removed at exit unless `persist`. */
export function track(c: Created): void {
  if (c.kind === "posix" && c.ino === undefined) {
    try {
      c = { ...c, ino: fs.statSync(path.join("/dev/shm", c.name)).ino };
    } catch {
      /* no inode: reap will not touch it */
    }
  }
  created.set(keyOf(c), c);
  appendJournal(c);
  installHandlers();
}

/** Forget `c` (it was removed, or the user asked it to persist). */
export function untrack(c: Created): void {
  created.delete(keyOf(c));
}

export function isTracked(c: Created): boolean {
  return created.has(keyOf(c));
}

/** Everything this process created and will remove at exit. */
export function trackedObjects(): Created[] {
  return [...created.values()];
}


/** Removes one created object, if it is still the one we made. Never throws. */
function removeCreated(c: Created, creatorPid: number): boolean {
  if (c.kind === "sysv") {
    const ds = shmStat(c.id);
    // The id may have been removed and reused by someone else: check key and creator.
    if (!ds || ds.cpid !== creatorPid || (c.key !== 0 && ds.key !== c.key)) return false;
    return fn.shmctl_nobuf(c.id, IPC_RMID, null) === 0;
  }
  if (c.ino !== undefined) {
    // Only the object we made: a name unlinked and made again by someone else has a new inode.
    try {
      if (fs.statSync(path.join("/dev/shm", c.name)).ino !== c.ino) return false;
    } catch {
      return false;
    }
  } else if (creatorPid !== process.pid) {
    return false;
  }
  return fn.shm_unlink(c.name) === 0;
}

/** Removes everything this process created (not persisted). Returns how many were removed. */
export function cleanupCreated(): number {
  let removed = 0;
  for (const c of [...created.values()]) {
    if (removeCreated(c, process.pid)) removed++;
    untrack(c);
  }
  closeJournal();
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface ReapReport {
  removed: Created[];
  /** Journals whose process is still running: left alone. */
  live: number;
}

/**
 * Removes what processes of this user created with tslab-ipc and left behind when they died
 * without cleaning up (SIGKILL, a crash). Objects of live processes and of other programs stay.
 */
export function reap(): ReapReport {
  const report: ReapReport = { removed: [], live: 0 };
  let names: string[];
  try {
    names = fs.readdirSync(recordsDir());
  } catch {
    return report;
  }
  for (const file of names) {
    const m = /^(\d+)\.jsonl$/.exec(file);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid) continue;
    if (isAlive(pid)) {
      report.live++;
      continue;
    }
    let lines: string[];
    try {
      lines = fs.readFileSync(journalPath(pid), "utf8").split("\n").filter(Boolean);
    } catch {
      continue;
    }
    for (const line of lines) {
      let c: Created;
      try {
        c = JSON.parse(line);
      } catch {
        continue;
      }
      if (removeCreated(c, pid)) report.removed.push(c);
    }
    try {
      fs.unlinkSync(journalPath(pid));
    } catch {
      /* another reaper got it */
    }
  }
  return report;
}

function onSignal(signal: NodeJS.Signals): void {
  // Someone else (a kernel's interrupt handler, the application) handles this signal: it is
  // not a request to exit, so leave everything in place.
  if (process.listenerCount(signal) > 1) return;
  cleanupCreated();
  process.removeListener(signal, onSignal);
  process.kill(process.pid, signal);
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", () => {
    cleanupCreated();
  });
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
}
