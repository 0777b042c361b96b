// What this process created (System V segments, POSIX shm objects), so nothing leaks.
//
// - At exit (normal exit, or death by SIGINT/SIGTERM/SIGHUP unless the host handles that signal:
//   src/process/lifecycle.ts) everything created and not marked `persist` is removed.
// - Each creation is also appended to a per-process journal in a per-user folder (a mapped
//   file: creation stays cheap). `reap()` reads the journals of dead
//   processes (killed with SIGKILL, say) and removes what they left, checking that each object
//   is still the one they made; objects of live processes and of other programs stay.
import fs from "fs";
import os from "os";
import path from "path";
import { fn, shmStat, view } from "../ffi/libc";
import { onExit } from "../process/lifecycle";

/**
 * One object this process created and will remove at exit unless it persists: a System V segment or a
 * POSIX shm name.
 */
export type Created =
  | { kind: "sysv"; id: number; key: number; size?: number }
  | { kind: "posix"; name: string; ino?: number };

const IPC_RMID = 0;

const createdSegments = new Map<number, Created>();
const createdPosix = new Map<string, Created>();
let handlersInstalled = false;

/** The per-user folder of journals; created 0700 on first use. */
export function recordsDir(): string {
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  return process.env.TSLAB_IPC_RECORDS ?? path.join(os.tmpdir(), `tslab-ipc-${uid}`);
}

function journalPath(pid: number): string {
  return path.join(recordsDir(), `${pid}.jsonl`);
}

// The journal is a file mapped into memory: appending a record is a memory copy, not a
// syscall, and what is copied survives a SIGKILL of this process (the page cache holds it).
const JOURNAL_START = 16 * 1024;
const PROT_RW = 3;
const MAP_SHARED = 1;
interface Journal {
  fd: number;
  address: bigint;
  size: number;
  bytes: Buffer;
  used: number;
}
let journal: Journal | null = null;

function mapJournal(fd: number, size: number): Journal | null {
  fs.ftruncateSync(fd, size);
  const address = fn.mmap(null, size, PROT_RW, MAP_SHARED, fd, 0) as bigint;
  if (address === -1n || address === 0xffffffffffffffffn) return null;
  return { fd, address, size, bytes: Buffer.from(view(address, size)), used: 0 };
}

/**
 * One line per creation: "s <id> <key>" for a segment (plain ASCII, the hot path: no JSON, no
 * UTF-8 encoding), a JSON object for a POSIX object (its name may be any text).
 */
function journalLine(c: Created): string {
  return c.kind === "sysv" ? "s " + c.id + " " + c.key + "\n" : JSON.stringify(c) + "\n";
}

function parseJournalLine(line: string): Created | null {
  if (line.startsWith("s ")) {
    const [, id, key] = line.split(" ");
    return { kind: "sysv", id: Number(id), key: Number(key) };
  }
  try {
    return JSON.parse(line) as Created;
  } catch {
    return null;
  }
}

function appendJournal(c: Created): void {
  try {
    const line = journalLine(c);
    const bytes = c.kind === "sysv" ? line.length : Buffer.byteLength(line);
    if (!journal) {
      fs.mkdirSync(recordsDir(), { recursive: true, mode: 0o700 });
      const fd = fs.openSync(journalPath(process.pid), "w+", 0o600);
      journal = mapJournal(fd, JOURNAL_START);
      if (!journal) return fs.closeSync(fd);
    }
    if (journal.used + bytes > journal.size) {
      // Full: map it again twice as large (the old bytes are in the file already).
      const { fd, address, size, used } = journal;
      journal.bytes = Buffer.alloc(0); // nothing of ours may touch the old range after munmap
      fn.munmap(address, size);
      journal = mapJournal(fd, size * 2);
      if (!journal) return fs.closeSync(fd);
      journal.used = used;
    }
    journal.used += c.kind === "sysv" ? journal.bytes.write(line, journal.used, "latin1") : journal.bytes.write(line, journal.used);
  } catch {
    // The journal only serves reap(); failing to write it must not fail the creation.
  }
}

function closeJournal(): void {
  if (!journal) return;
  const { fd, address, size } = journal;
  journal = null;
  try {
    fn.munmap(address, size);
    fs.closeSync(fd);
    fs.unlinkSync(journalPath(process.pid));
  } catch {
    /* already gone */
  }
}

// Segments by id, POSIX objects by name: two maps, so tracking builds no key strings.
function mapOf(c: Created): Map<number | string, Created> {
  return (c.kind === "sysv" ? createdSegments : createdPosix) as Map<number | string, Created>;
}

function keyOf(c: Created): number | string {
  return c.kind === "sysv" ? c.id : c.name;
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
  mapOf(c).set(keyOf(c), c);
  appendJournal(c);
  installHandlers();
}

/** Whether this process will remove segment `id` at exit (no object built: shmget's hot path). */
export function isSegmentTracked(id: number): boolean {
  return createdSegments.has(id);
}

/**
 * The size of a segment this process created and still tracks, or undefined. Lets shmat skip
 * an IPC_STAT: an id names the same segment until ~2^31 more segments were made (Linux
 * recycles an index only with a new sequence number).
 */
export function createdSegmentSize(id: number): number | undefined {
  const c = createdSegments.get(id);
  return c && c.kind === "sysv" ? c.size : undefined;
}

/** Forget segment `id` (removed with IPC_RMID). */
export function untrackSegment(id: number): void {
  createdSegments.delete(id);
}

/** Forget `c` (it was removed, or the user asked it to persist). */
export function untrack(c: Created): void {
  mapOf(c).delete(keyOf(c));
}

export function isTracked(c: Created): boolean {
  return mapOf(c).has(keyOf(c));
}

/** Everything this process created and will remove at exit. */
export function trackedObjects(): Created[] {
  return [...createdSegments.values(), ...createdPosix.values()];
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
  for (const c of trackedObjects()) {
    if (removeCreated(c, process.pid)) removed++;
    untrack(c);
  }
  closeJournal();
  return removed;
}

/** Whether a process with this pid exists (ours or another user's). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * What `reap()` did: the objects it removed, and how many recorded objects belong to live processes and
 * stay.
 */
export interface ReapReport {
  removed: Created[];
  /** Journals whose process is still running: left alone. */
  live: number;
}

/**
 * Removes what processes of this user created with tslab-ipc and left behind when they died
 * without cleaning up (SIGKILL, a crash). Objects of live processes and of other programs stay.
  *
  * @example
  * {@includeCode ../../docs/examples/reap.ts}
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
      // The journal file is zero-padded past its last record.
      lines = fs.readFileSync(journalPath(pid), "utf8").replace(/\0+$/, "").split("\n").filter(Boolean);
    } catch {
      continue;
    }
    for (const line of lines) {
      const c = parseJournalLine(line);
      if (c && removeCreated(c, pid)) report.removed.push(c);
    }
    try {
      fs.unlinkSync(journalPath(pid));
    } catch {
      /* another reaper got it */
    }
  }
  return report;
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  onExit(() => {
    cleanupCreated();
  });
}
