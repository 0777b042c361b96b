// What this process created (System V segments, POSIX shm objects), so nothing leaks.
//
// - At exit (normal exit, or SIGINT/SIGTERM when nobody else handles them) everything created
//   and not marked `persist` is removed.
// - Each creation also leaves a small record file in a per-user folder; `reap()` removes what
//   a dead process (one killed with SIGKILL, say) left behind, and never touches objects of
//   live processes or objects this library did not create.
import fs from "fs";
import os from "os";
import path from "path";
import { fn, type RawShmidDs } from "../ffi/libc";

export type Created =
  | { kind: "sysv"; id: number; key: number }
  | { kind: "posix"; name: string };

interface RecordFile {
  kind: "sysv" | "posix";
  id?: number;
  key?: number;
  name?: string;
  pid: number;
}

const IPC_RMID = 0;
const IPC_STAT = 2;

const created = new Map<string, Created>();
let handlersInstalled = false;

function recordName(c: Created, pid = process.pid): string {
  return c.kind === "sysv" ? `sysv-${c.id}-${pid}.json` : `posix-${encodeURIComponent(c.name)}-${pid}.json`;
}

/** The per-user folder of records; created 0700 on first use. */
export function recordsDir(): string {
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  return process.env.TSLAB_IPC_RECORDS ?? path.join(os.tmpdir(), `tslab-ipc-${uid}`);
}

function writeRecord(c: Created): void {
  try {
    const dir = recordsDir();
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const rec: RecordFile = { ...c, pid: process.pid };
    fs.writeFileSync(path.join(dir, recordName(c)), JSON.stringify(rec), { mode: 0o600 });
  } catch {
    // Records only serve reap(); failing to write one must not fail the creation.
  }
}

function removeRecord(c: Created, pid = process.pid): void {
  try {
    fs.unlinkSync(path.join(recordsDir(), recordName(c, pid)));
  } catch {
    /* already gone */
  }
}

function keyOf(c: Created): string {
  return c.kind === "sysv" ? `sysv:${c.id}` : `posix:${c.name}`;
}

/** Note that this process created `c`; it will be removed at exit unless `persist`. */
export function track(c: Created): void {
  created.set(keyOf(c), c);
  writeRecord(c);
  installHandlers();
}

/** Forget `c` (it was removed, or the user asked it to persist). */
export function untrack(c: Created): void {
  if (created.delete(keyOf(c))) removeRecord(c);
}

export function isTracked(c: Created): boolean {
  return created.has(keyOf(c));
}

/** Everything this process created and will remove at exit. */
export function trackedObjects(): Created[] {
  return [...created.values()];
}

function statSegment(id: number): RawShmidDs | null {
  const ds = {} as RawShmidDs;
  return fn.shmctl_stat(id, IPC_STAT, ds) === 0 ? ds : null;
}

/** Removes one created object, if it is still the one we made. Never throws. */
function removeCreated(c: Created, creatorPid: number): boolean {
  if (c.kind === "sysv") {
    const ds = statSegment(c.id);
    // The id may have been removed and reused by someone else: check key and creator.
    if (!ds || ds.shm_cpid !== creatorPid || (c.key !== 0 && ds.shm_perm.__key !== c.key)) return false;
    return fn.shmctl_nobuf(c.id, IPC_RMID, null) === 0;
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
  /** Records whose creator is still running: left alone. */
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
    let rec: RecordFile;
    try {
      rec = JSON.parse(fs.readFileSync(path.join(recordsDir(), file), "utf8"));
    } catch {
      continue;
    }
    if (rec.pid === process.pid) continue;
    if (isAlive(rec.pid)) {
      report.live++;
      continue;
    }
    const c: Created =
      rec.kind === "sysv" ? { kind: "sysv", id: rec.id ?? -1, key: rec.key ?? 0 } : { kind: "posix", name: rec.name ?? "" };
    if (removeCreated(c, rec.pid)) report.removed.push(c);
    removeRecord(c, rec.pid);
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
