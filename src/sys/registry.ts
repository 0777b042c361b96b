// What this process created (System V segments, POSIX shm objects), so nothing leaks.
//
// - At exit (normal exit, or death by SIGINT/SIGTERM/SIGHUP unless the host handles that signal:
//   src/process/lifecycle.ts) everything created and not marked `persist` is removed.
// - Each creation, and each "forget" (removed with IPC_RMID or shm_unlink, or persisted later),
//   is appended to a per-process journal, `<pid>-<start time>.jsonl`, in a per-user folder
//   verified to be ours alone (src/sys/state-dir.ts). The journal is a mapped file: appending is
//   a memory copy, and what was copied survives a SIGKILL (the page cache holds it).
// - `reap()` reads the journals of dead processes and removes only what is provably theirs and
//   ours: a segment whose uid and cuid are ours, whose creator pid is the journal's dead
//   process, and whose creation time matches the journal; a POSIX object whose owner is us and
//   whose inode is the journaled one. It opens nothing that could block (O_NONBLOCK, regular
//   files only), reads nothing larger than the cap, and stops when its time is up. Run as
//   root, it still touches only root's own objects.
//
// Journal lines (text, one per event):
//   s <id> <key> <ctime>   segment created; ctime in seconds, read from the clock at creation
//   r <id>                 segment forgotten
//   {"kind":"posix","name":…,"ino":…}     POSIX object created
//   {"forget":"posix","name":…,"ino":…}   POSIX object forgotten
import fs from "fs";
import { constants as osConstants } from "os";
import path from "path";
import { performance } from "perf_hooks";
import { IpcError, throwErrno } from "../errors";
import { errno as lastErrno, fn, isFailedPointer, shmStat, view, type RawShmidDs } from "../ffi/libc";
import { onExit } from "../process/lifecycle";
import { NewestFirstMap } from "./newest-first-map";
import { readShmTable } from "./proc-shm";
import { currentUid, journalDir } from "./state-dir";

/**
 * One object this process created and will remove at exit unless it persists: a System V segment or a
 * POSIX shm name.
 */
export type Created =
  | { kind: "sysv"; id: number; key: number; size?: number; ctime?: number }
  | { kind: "posix"; name: string; ino?: number };

const IPC_RMID = 0;
/** Where glibc's shm_open keeps POSIX objects (a tmpfs). */
export const SHM_DIR = "/dev/shm";
const { EACCES } = osConstants.errno;

// Segments by id, POSIX objects by name: two maps, so tracking builds no key strings. The
// segments' map keeps its newest entry out of the hash table (see newest-first-map.ts).
const createdSegments = new NewestFirstMap<Created>();
const createdPosix = new Map<string, Created>();
let handlersInstalled = false;

/** The per-user folder of journals (verified private; see src/sys/state-dir.ts). */
export function recordsDir(): string {
  return journalDir();
}

// ---- process identity: a pid and its start time, so a reused pid is a different process ------

/**
 * The start time of process `pid` (clock ticks since boot, /proc/<pid>/stat field 22); null when
 * there is no such process; undefined when it cannot be told (then callers assume it is alive).
 */
export function processStart(pid: number): number | null | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ESRCH"
      ? null
      : undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const start = Number(fields[19]);
  return Number.isSafeInteger(start) ? start : undefined;
}

let ownStart: number | undefined;
function ownStartTime(): number {
  return (ownStart ??= processStart(process.pid) ?? 0);
}

/** Whether the process that wrote a journal (pid and start time) still runs. */
function creatorAlive(pid: number, start: number): boolean {
  const now = processStart(pid);
  if (now === undefined) return isAlive(pid);
  return now === start;
}

// ---- the journal -------------------------------------------------------------------------------

const JOURNAL_START = 16 * 1024;
/** No journal grows past this, and reap() reads none larger. */
export const JOURNAL_MAX = 64 * 1024 * 1024;
const PROT_RW = 3;
const MAP_SHARED = 1;
const { O_RDWR, O_RDONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
const JOURNAL_NAME = /^(\d+)-(\d+)\.jsonl$/;
const COMPACTING_NAME = /^(\d+)-(\d+)\.jsonl\.new$/;

interface Journal {
  fd: number;
  address: bigint;
  size: number;
  bytes: Buffer;
  used: number;
}
let journal: Journal | null = null;
// Journaling failed once (folder unusable, file planted, full): this process journals no more.
let journalOff = false;
let journalFile: string | null = null;

function ownJournalPath(): string {
  return (journalFile ??= path.join(recordsDir(), `${process.pid}-${ownStartTime()}.jsonl`));
}

/** Opens a new journal file: never an existing one, never through a symlink; checked after. */
function createJournalFile(file: string): number {
  const fd = fs.openSync(file, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  const st = fs.fstatSync(fd);
  if (!st.isFile() || st.uid !== currentUid() || st.nlink !== 1 || st.size !== 0) {
    fs.closeSync(fd);
    throw new IpcError("EACCES", `EACCES: permission denied, ${file} is not a fresh file of ours`, { path: file });
  }
  return fd;
}

function mapJournal(fd: number, size: number): Journal {
  fs.ftruncateSync(fd, size);
  const address = fn.mmap(null, size, PROT_RW, MAP_SHARED, fd, 0) as bigint;
  if (isFailedPointer(address)) throwErrno(lastErrno(), "mmap", { path: "the creation journal" });
  return { fd, address, size, bytes: Buffer.from(view(address, size)), used: 0 };
}

function unmapJournal(j: Journal): void {
  j.bytes = Buffer.alloc(0); // nothing of ours may touch the old range after munmap
  fn.munmap(j.address, j.size);
  fs.closeSync(j.fd);
}

function segmentLine(id: number, key: number, ctime: number): string {
  return "s " + id + " " + key + " " + ctime + "\n";
}

function creationLine(c: Created): string {
  return c.kind === "sysv"
    ? segmentLine(c.id, c.key, c.ctime ?? 0)
    : JSON.stringify({ kind: "posix", name: c.name, ino: c.ino }) + "\n";
}

function forgetLine(c: Created): string {
  return c.kind === "sysv" ? "r " + c.id + "\n" : JSON.stringify({ forget: "posix", name: c.name, ino: c.ino }) + "\n";
}

/** Stops journaling for good and removes the journal: a journal that misses events must not guide reap(). */
function dropJournal(): void {
  journalOff = true;
  const j = journal;
  journal = null;
  try {
    if (j) unmapJournal(j);
  } catch {
    /* already gone */
  }
  if (journalFile) fs.rmSync(journalFile, { force: true });
}

/**
 * Rewrites the journal as the objects tracked now (the lines of what was forgotten go), in a
 * file twice that size, swapped in by rename so a SIGKILL mid-way leaves one whole journal.
 */
function compactJournal(): void {
  let text = "";
  for (const c of createdSegments.values()) text += creationLine(c);
  for (const c of createdPosix.values()) text += creationLine(c);
  const need = Buffer.byteLength(text);
  let size = JOURNAL_START;
  while (size < need * 2) size *= 2;
  if (size > JOURNAL_MAX) {
    dropJournal();
    return;
  }
  const file = ownJournalPath();
  const next = file + ".new";
  fs.rmSync(next, { force: true });
  const fd = createJournalFile(next);
  let fresh: Journal;
  try {
    fresh = mapJournal(fd, size);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  fresh.used = fresh.bytes.write(text, 0);
  fs.renameSync(next, file);
  const old = journal;
  journal = fresh;
  if (old) unmapJournal(old);
}

/**
 * Makes room for a line of up to `bytes`; false when it need not be written, because the
 * journal was rewritten from the maps, which already say what the line says.
 * - A forget that leaves nothing tracked, with the journal three quarters full, zeroes it in
 *   place and starts over: no file is made or renamed, so create/remove loops never pay for a
 *   compaction. A SIGKILL half-way leaves old lines in which every creation was forgotten after
 *   it (nothing was tracked) and lines torn by NULs, which parse as nothing; a forget torn
 *   from its creation names an object already removed, which reap() checks before touching.
 * - Otherwise, when full, the journal is compacted into a new file (compactJournal).
 */
function roomFor(j: Journal, bytes: number, forget: boolean): boolean {
  if (forget && j.used + bytes + (j.size >> 2) > j.size && createdSegments.size === 0 && createdPosix.size === 0) {
    j.bytes[0] = 0;
    j.bytes.fill(0, 1, j.used);
    j.used = 0;
    return false;
  }
  if (j.used + bytes > j.size) {
    compactJournal();
    return false;
  }
  return true;
}

/**
 * The journal (made on first use) with room for a line of up to `bytes`, or null when the line
 * need not be written (see roomFor) or journaling is off.
 */
function journalWithRoom(bytes: number, forget: boolean): Journal | null {
  if (journalOff) return null;
  journal ??= mapJournal(createJournalFile(ownJournalPath()), JOURNAL_START);
  return roomFor(journal, bytes, forget) ? journal : null;
}

/** The journal only serves reap(): failing to write it must not fail the creation. */
function dropJournalQuietly(): void {
  try {
    dropJournal();
  } catch {
    /* nothing more to do */
  }
}

function appendJournal(line: string, ascii: boolean): void {
  try {
    const j = journalWithRoom(ascii ? line.length : Buffer.byteLength(line), !line.startsWith('{"kind"'));
    if (j) j.used += ascii ? j.bytes.write(line, j.used, "latin1") : j.bytes.write(line, j.used);
  } catch {
    dropJournalQuietly();
  }
}

// The longest segment line: "s " + three signed 64-bit decimals, two spaces and a newline.
const SEGMENT_LINE_MAX = 2 + 3 * 20 + 3;
const DIGIT_0 = 0x30;
const MINUS = 0x2d;
const SPACE = 0x20;
const NEWLINE = 0x0a;
const INT32_MAX = 0x7fffffff;

/** Writes the decimal digits of the integer `n` at `at`, as segmentLine() spells it; returns the end. */
function putInt(b: Buffer, at: number, n: number): number {
  let p = at;
  if (n < 0) {
    b[p++] = MINUS;
    n = -n;
  }
  // Digits counted by comparison (no division); ids, keys and times (until 2038) fit an int32,
  // whose division by 10 the compiler turns into a multiplication.
  let digits = 1;
  for (let limit = 10; n >= limit && digits < 20; limit *= 10) digits++;
  if (n <= INT32_MAX) {
    for (let i = p + digits - 1; i >= p; i--) {
      const q = (n / 10) | 0;
      b[i] = DIGIT_0 + n - q * 10;
      n = q;
    }
    return p + digits;
  }
  for (let i = p + digits - 1; i >= p; i--) {
    b[i] = DIGIT_0 + (n % 10);
    n = Math.floor(n / 10);
  }
  return p + digits;
}

/**
 * Appends a segment line ("s id key ctime" when `ctime` is given, else "r id") with its digits
 * written straight into the mapped journal: no string is built for the hot shmget/IPC_RMID
 * path. The same bytes as appendJournal(segmentLine(...)) / appendJournal(forgetLine(...)).
 */
function appendSegmentLine(created: boolean, id: number, key: number, ctime: number): void {
  try {
    const j = journalWithRoom(SEGMENT_LINE_MAX, !created);
    if (!j) return;
    const b = j.bytes;
    let p = j.used;
    b[p++] = created ? 0x73 : 0x72; // 's' or 'r'
    b[p++] = SPACE;
    p = putInt(b, p, id);
    if (created) {
      b[p++] = SPACE;
      p = putInt(b, p, key);
      b[p++] = SPACE;
      p = putInt(b, p, ctime);
    }
    b[p++] = NEWLINE;
    j.used = p;
  } catch {
    dropJournalQuietly();
  }
}

function closeJournal(): void {
  const j = journal;
  journal = null;
  try {
    if (j) unmapJournal(j);
    if (journalFile) fs.rmSync(journalFile, { force: true });
  } catch {
    /* already gone */
  }
}

/** Note that this process created `c`; it will be removed at exit unless `persist`. */
export function track(c: Created): void {
  if (c.kind === "sysv") {
    // shm_ctime is set from the same clock when the segment is made, a moment ago.
    c.ctime ??= Math.floor(Date.now() / 1000);
    createdSegments.set(c.id, c);
    appendSegmentLine(true, c.id, c.key, c.ctime);
  } else {
    if (c.ino === undefined) {
      try {
        c = { ...c, ino: fs.lstatSync(path.join(SHM_DIR, c.name)).ino };
      } catch {
        /* no inode: reap will not touch it */
      }
    }
    createdPosix.set(c.name, c);
    appendJournal(creationLine(c), false);
  }
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

/** Forget segment `id` (removed with IPC_RMID, or persisted): journaled, so reap() leaves it. */
export function untrackSegment(id: number): void {
  const c = createdSegments.get(id);
  if (c && createdSegments.delete(id)) appendSegmentLine(false, id, 0, 0);
}

/** Forget `c` (it was removed, or the user asked it to persist): journaled, so reap() leaves it. */
export function untrack(c: Created): void {
  if (c.kind === "sysv") {
    untrackSegment(c.id);
    return;
  }
  const known = createdPosix.get(c.name);
  if (known && createdPosix.delete(c.name)) appendJournal(forgetLine(known), false);
}

/** Everything this process created and will remove at exit. */
export function trackedObjects(): Created[] {
  return [...createdSegments.values(), ...createdPosix.values()];
}

/** The kernel's table of segments by id, read once per pass and only if a pass needs it. */
interface ShmTableOnce {
  byId?: Map<number, RawShmidDs>;
}

/**
 * What the kernel says of segment `id`, for the checks before removing it: IPC_STAT, or, when
 * the segment's own mode bars us from reading it (0o000, 0o200: IPC_STAT is EACCES even for
 * its creator, while IPC_RMID is not), the kernel's table, which anyone may read. Root is never
 * barred. Null when there is no such segment.
 */
function statForRemoval(id: number, table: ShmTableOnce): RawShmidDs | null {
  const ds = shmStat(id);
  if (typeof ds !== "number") return ds;
  if (ds !== EACCES) return null;
  try {
    table.byId ??= new Map(readShmTable().map((row) => [row.shmid, row]));
  } catch {
    return null; // no /proc: the segment stays, as it did before
  }
  return table.byId.get(id) ?? null;
}

/** Removes one object this process created, if it is still the one we made. Never throws. */
function removeOwn(c: Created, table: ShmTableOnce): boolean {
  if (c.kind === "sysv") {
    const ds = statForRemoval(c.id, table);
    // The id may have been removed and reused by someone else: check key and creator.
    if (!ds || ds.cpid !== process.pid || (c.key !== 0 && ds.key !== c.key)) return false;
    return fn.shmctl_nobuf(c.id, IPC_RMID, null) === 0;
  }
  if (c.ino !== undefined) {
    // Only the object we made: a name unlinked and made again by someone else has a new inode.
    try {
      if (fs.lstatSync(path.join(SHM_DIR, c.name)).ino !== c.ino) return false;
    } catch {
      return false;
    }
  }
  return fn.shm_unlink(c.name) === 0;
}

/** Removes everything this process created (not persisted). Returns how many were removed. */
export function cleanupCreated(): number {
  let removed = 0;
  const table: ShmTableOnce = {};
  for (const c of trackedObjects()) if (removeOwn(c, table)) removed++;
  createdSegments.clear();
  createdPosix.clear();
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

// ---- reap: what dead processes left -------------------------------------------------------------

/** reap() gives up (and says so in `skipped`) after this long: a kernel start must not wait on it. */
const REAP_BUDGET_MS = 2000;
/** How far a segment's shm_ctime may be from the journaled time (clock reads around the call). */
const CTIME_SLACK_S = 2;
const SHM_NAME = /^\/[^/\0]{1,255}$/;

/**
 * What `reap()` did: the objects it removed, and how many recorded objects belong to live processes and
 * stay.
 */
export interface ReapReport {
  removed: Created[];
  /** Journals whose process is still running: left alone. */
  live: number;
  /** Journals not read: not a regular file of ours, larger than the cap, or the time ran out. */
  skipped: number;
}

/** A dead process's journal, read without following symlinks or blocking; null when it is not one of ours. */
function readJournal(file: string): string | null {
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.uid !== currentUid() || st.size > JOURNAL_MAX) return null;
    const bytes = Buffer.alloc(st.size);
    const n = fs.readSync(fd, bytes, 0, st.size, 0);
    return bytes.toString("utf8", 0, n);
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/** What a journal says was created and not forgotten. */
function liveEntries(text: string): Created[] {
  const segments = new Map<number, Created>();
  const posix = new Map<string, Created>();
  // The file is zero-padded past its last line; a torn last line parses as nothing.
  for (const line of text.replace(/\0+$/, "").split("\n")) {
    if (line.startsWith("s ")) {
      const [, id, key, ctime] = line.split(" ").map(Number);
      if (Number.isSafeInteger(id) && Number.isSafeInteger(key) && Number.isSafeInteger(ctime))
        segments.set(id, { kind: "sysv", id, key, ctime });
    } else if (line.startsWith("r ")) {
      segments.delete(Number(line.slice(2)));
    } else if (line.startsWith("{")) {
      let o: { kind?: unknown; forget?: unknown; name?: unknown; ino?: unknown };
      try {
        o = JSON.parse(line);
      } catch {
        continue;
      }
      if (typeof o.name !== "string" || typeof o.ino !== "number") continue;
      const entry = o.name + "\0" + o.ino;
      if (o.kind === "posix") posix.set(entry, { kind: "posix", name: o.name, ino: o.ino });
      else if (o.forget === "posix") posix.delete(entry);
    }
  }
  return [...segments.values(), ...posix.values()];
}

/** Removes what a dead process (pid) journaled, only if it is provably that process's and ours. */
function removeLeftover(c: Created, pid: number, table: ShmTableOnce): boolean {
  const uid = currentUid();
  if (c.kind === "sysv") {
    const ds = statForRemoval(c.id, table);
    if (!ds || ds.uid !== uid || ds.cuid !== uid || ds.cpid !== pid) return false;
    if (c.key !== 0 && ds.key !== c.key) return false;
    if (c.ctime === undefined || Math.abs(ds.ctime - c.ctime) > CTIME_SLACK_S) return false;
    return fn.shmctl_nobuf(c.id, IPC_RMID, null) === 0;
  }
  if (!SHM_NAME.test(c.name) || c.name === "/." || c.name === "/.." || c.ino === undefined) return false;
  try {
    const st = fs.lstatSync(path.join(SHM_DIR, c.name));
    if (!st.isFile() || st.uid !== uid || st.ino !== c.ino) return false;
  } catch {
    return false;
  }
  return fn.shm_unlink(c.name) === 0;
}

function removeFile(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    /* another reaper got it, or it is not a file */
  }
}

/**
 * Removes what processes of this user created with tslab-ipc and left behind when they died
 * without cleaning up (SIGKILL, a crash). Objects of live processes, objects persisted or
 * removed later, and objects of other programs or other users stay. Bounded in time; never blocks.
 *
 * @example
 * {@includeCode ../../docs/examples/reap.ts}
 */
export function reap(): ReapReport {
  const report: ReapReport = { removed: [], live: 0, skipped: 0 };
  const deadline = performance.now() + REAP_BUDGET_MS;
  const table: ShmTableOnce = {};
  let dir: string;
  let names: string[];
  try {
    dir = recordsDir();
    names = fs.readdirSync(dir);
  } catch {
    return report;
  }
  for (const name of names) {
    const m = JOURNAL_NAME.exec(name) ?? COMPACTING_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    const start = Number(m[2]);
    if (pid === process.pid && start === ownStartTime()) continue;
    if (performance.now() > deadline) {
      report.skipped++;
      continue;
    }
    if (creatorAlive(pid, start)) {
      if (JOURNAL_NAME.test(name)) report.live++;
      continue;
    }
    const file = path.join(dir, name);
    // A compaction that a SIGKILL interrupted: the journal beside it is whole.
    if (COMPACTING_NAME.test(name)) {
      removeFile(file);
      continue;
    }
    const text = readJournal(file);
    if (text === null) {
      report.skipped++;
      continue;
    }
    for (const c of liveEntries(text)) if (removeLeftover(c, pid, table)) report.removed.push(c);
    removeFile(file);
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
