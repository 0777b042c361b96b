// watchIpcs(): `ipcs -m` that updates itself in place while cells and child processes create,
// attach, detach and remove segments and POSIX shared memory objects.
//
// Invariants:
// - One output per watcher: the first display_data carries a display_id, every later state is
//   an update_display_data of that id, sent only when something changed (an idle watch sends
//   nothing).
// - It ends by itself when the cell that started it ends (onCellEnd), or on stop(), or after
//   maxMs; ending sends the last state, marked "stopped". Its timer never keeps a process alive.
// - A tick reads /proc/sysvipc/shm and lists /dev/shm, nothing else: well under 1% of a core at
//   the default interval (test/measure/watch-ipcs.test.ts measures it with getrusage).
import fs from "fs";
import { inspect } from "util";
import { validateFunction, validateInteger, validateOptions } from "../validators";
import { SHM_DIR, isAlive } from "../sys/registry";
import { readProcSysvShm } from "../sys/sysv";
import { userNames } from "../sys/user-names";
import { display, hasDisplayPublisher } from "./display";
import { escapeHtml, recordsTable, recordsText } from "./html";
import { JUPYTER_DISPLAY } from "./mime";
import { onCellEnd } from "./lifecycle";

/** A POSIX shared memory object as /dev/shm shows it. */
export interface PosixShmEntry {
  /** The name as shm_open takes it: "/name". */
  name: string;
  size: number;
  uid: number;
  mode: number;
}

/** One row of the watch: a System V segment or a POSIX object. */
export interface WatchedObject {
  id: string;
  kind: "System V" | "POSIX";
  keyOrName: string;
  shmid: number | null;
  owner: string;
  perms: string;
  bytes: number;
  nattch: number | null;
  creator: number | null;
  creatorAlive: boolean | null;
  dest: boolean | null;
}

/** Something that changed between two ticks. */
export interface IpcsEvent {
  /** Milliseconds since the watch started. */
  ms: number;
  what: string;
}

/** Options of watchIpcs(). */
export interface WatchIpcsOptions {
  /** Milliseconds between two readings. Default 200. */
  intervalMs?: number;
  /** Include POSIX objects from /dev/shm. Default true. */
  posix?: boolean;
  /** Keep only the rows this returns true for, e.g. (r) => r.creator === process.pid. */
  filter?: (row: Readonly<WatchedObject>) => boolean;
  /** Keep watching after the cell ends (until stop() or maxMs). Default false. */
  acrossCells?: boolean;
  /** Stop by itself after this many milliseconds. Default 600000 (10 minutes). */
  maxMs?: number;
  /** Events kept for the display (the newest). Default 12. */
  events?: number;
}

const COLUMNS = [
  "kind",
  "key / name",
  "shmid",
  "owner",
  "perms",
  "bytes",
  "nattch",
  "creator pid",
  "creator alive",
  "marked for removal",
];

function octal(mode: number): string {
  return "0" + (mode & 0o777).toString(8).padStart(3, "0");
}

function yesNo(v: boolean | null): string {
  return v === null ? "—" : v ? "yes" : "no";
}

function listPosix(users: Map<number, string>): WatchedObject[] {
  let names: string[];
  try {
    names = fs.readdirSync(SHM_DIR);
  } catch {
    return [];
  }
  const rows: WatchedObject[] = [];
  for (const name of names) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(`${SHM_DIR}/${name}`);
    } catch {
      continue; // removed between readdir and lstat
    }
    if (!st.isFile()) continue;
    rows.push({
      id: `posix:${name}:${st.ino}`,
      kind: "POSIX",
      keyOrName: "/" + name,
      shmid: null,
      owner: users.get(st.uid) ?? String(st.uid),
      perms: octal(st.mode),
      bytes: st.size,
      nattch: null,
      creator: null,
      creatorAlive: null,
      dest: null,
    });
  }
  return rows.sort((a, b) => a.keyOrName.localeCompare(b.keyOrName));
}

/**
 * The readings of one watcher: /proc/sysvipc/shm is parsed again only when its text changed
 * (a tick of an idle watch is one read, one listing and a liveness check per creator).
 */
class Reader {
  #users = userNames();
  #sysvText = "";
  #sysv: WatchedObject[] = [];

  read(posix: boolean): WatchedObject[] {
    const text = fs.readFileSync("/proc/sysvipc/shm", "utf8");
    if (text !== this.#sysvText) {
      this.#sysvText = text;
      this.#sysv = readProcSysvShm().map((e) => ({
        id: `sysv:${e.shmid}`,
        kind: "System V" as const,
        keyOrName: e.keyHex,
        shmid: e.shmid,
        owner: e.owner,
        perms: octal(e.mode),
        bytes: e.size,
        nattch: e.nattch,
        creator: e.cpid,
        creatorAlive: e.creatorAlive,
        dest: e.dest,
      }));
    } else {
      this.#sysv = this.#sysv.map((r) =>
        r.creatorAlive && !isAlive(r.creator as number) ? { ...r, creatorAlive: false } : r,
      );
    }
    return posix ? this.#sysv.concat(listPosix(this.#users)) : this.#sysv;
  }
}

function cells(r: WatchedObject): unknown[] {
  return [
    r.kind,
    r.keyOrName,
    r.shmid ?? "—",
    r.owner,
    r.perms,
    r.bytes,
    r.nattch ?? "—",
    r.creator ?? "—",
    yesNo(r.creatorAlive),
    yesNo(r.dest),
  ];
}

function label(r: WatchedObject): string {
  return r.kind === "System V" ? `segment ${r.shmid} (key ${r.keyOrName})` : `POSIX object ${r.keyOrName}`;
}

/** What changed from `before` to `after`, as sentences. */
function changes(before: Map<string, WatchedObject>, after: Map<string, WatchedObject>): string[] {
  const out: string[] = [];
  for (const [id, r] of after) {
    const old = before.get(id);
    if (!old) {
      out.push(`${label(r)} appeared${r.creator !== null ? ` (created by pid ${r.creator})` : ""}, ${r.bytes} bytes`);
      continue;
    }
    if (old.nattch !== null && r.nattch !== null && old.nattch !== r.nattch) {
      out.push(`${label(r)}: nattch ${old.nattch} → ${r.nattch} (${r.nattch > old.nattch ? "attached" : "detached"})`);
    }
    if (!old.dest && r.dest) out.push(`${label(r)} marked for removal (IPC_RMID; it goes at the last detach)`);
    if (old.creatorAlive && r.creatorAlive === false)
      out.push(`${label(r)}: its creator, pid ${r.creator}, is gone; the segment stays`);
    if (old.bytes !== r.bytes) out.push(`${label(r)}: ${old.bytes} → ${r.bytes} bytes`);
  }
  for (const [id, r] of before) if (!after.has(id)) out.push(`${label(r)} removed`);
  return out;
}

let watchers = 0;

/** A live ipcs display: what watchIpcs returns. */
export class IpcsWatcher {
  /** The rows of the last reading. */
  rows: WatchedObject[] = [];
  /** Every change seen, oldest first (at most 1000 kept). */
  readonly events: IpcsEvent[] = [];
  /** Readings taken, and updates sent (an update only when something changed). */
  ticks = 0;
  updates = 0;
  readonly displayId: string;
  readonly intervalMs: number;
  #opts: Required<Pick<WatchIpcsOptions, "posix" | "events">> & WatchIpcsOptions;
  #timer: NodeJS.Timeout | null = null;
  #limit: NodeJS.Timeout | null = null;
  #cancelCellEnd: (() => void) | null = null;
  #start = Date.now();
  #last = new Map<string, WatchedObject>();
  #reader = new Reader();
  #shown = "";
  #stoppedAt = -1;

  /** @internal Use watchIpcs(). */
  constructor(opts: WatchIpcsOptions) {
    this.intervalMs = opts.intervalMs ?? 200;
    this.#opts = { ...opts, posix: opts.posix ?? true, events: opts.events ?? 12 };
    this.displayId = `tslab-ipc-watch-${process.pid}-${++watchers}-${Date.now().toString(36)}`;
    this.#read();
    this.#publish(false);
    this.#timer = setInterval(() => this.#tick(), this.intervalMs);
    this.#timer.unref();
    this.#limit = setTimeout(() => this.stop(), opts.maxMs ?? 600_000);
    this.#limit.unref();
    if (!opts.acrossCells) this.#cancelCellEnd = onCellEnd(() => this.stop());
  }

  /** Whether it still watches. */
  get running(): boolean {
    return this.#stoppedAt < 0;
  }

  /** Takes one reading now and updates the display if something changed (the timer does this by itself). */
  refresh(): void {
    if (!this.running) return;
    this.#tick();
  }

  /** Stops watching and shows the final state. Stopping twice is a no-op. */
  stop(): void {
    if (!this.running) return;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#limit) clearTimeout(this.#limit);
    this.#cancelCellEnd?.();
    this.#tick();
    this.#stoppedAt = Date.now() - this.#start;
    this.#publish(true);
  }

  /** stop(), for `using`. */
  [Symbol.dispose](): void {
    this.stop();
  }

  #read(): string[] {
    let rows = this.#reader.read(this.#opts.posix);
    const keep = this.#opts.filter;
    if (keep) rows = rows.filter((r) => keep(r));
    const now = new Map(rows.map((r) => [r.id, r]));
    const seen = this.ticks === 0 ? [] : changes(this.#last, now);
    this.#last = now;
    this.rows = rows;
    this.ticks++;
    const ms = Date.now() - this.#start;
    for (const what of seen) this.events.push({ ms, what });
    if (this.events.length > 1000) this.events.splice(0, this.events.length - 1000);
    return seen;
  }

  #tick(): void {
    let seen: string[];
    try {
      seen = this.#read();
    } catch (e) {
      this.events.push({ ms: Date.now() - this.#start, what: `reading failed: ${e instanceof Error ? e.message : e}` });
      seen = [];
    }
    if (seen.length) this.#publish(false, seen);
  }

  #publish(final: boolean, seen: string[] = []): void {
    if (!final && this.updates > 0 && seen.length === 0) return;
    const bundle = this.bundle();
    const text = String(bundle["text/plain"]);
    if (!final && text === this.#shown) return;
    this.#shown = text;
    if (hasDisplayPublisher()) {
      display(bundle, { displayId: this.displayId, update: this.updates > 0 || final });
    } else if (this.updates === 0) {
      process.stdout.write(text + "\n");
    } else {
      for (const what of seen) process.stdout.write(`  ${what}\n`);
    }
    this.updates++;
  }

  /** The current state as a MIME bundle (HTML table and events, or aligned text). */
  bundle(): Record<string, string> {
    const state = this.running
      ? `live, every ${this.intervalMs} ms`
      : `stopped after ${(this.#stoppedAt / 1000).toFixed(1)} s`;
    const caption = `ipcs (${state}): ${this.rows.length} object${this.rows.length === 1 ? "" : "s"}`;
    const rows = this.rows.map(cells);
    const recent = this.events.slice(-this.#opts.events);
    const eventText = recent.map((e) => `${(e.ms / 1000).toFixed(2).padStart(7)} s  ${e.what}`);
    const html =
      recordsTable(caption, COLUMNS, rows) +
      (recent.length
        ? `<div style="font-family:monospace;font-size:90%">${eventText.map((t) => escapeHtml(t)).join("<br>")}</div>`
        : "");
    return { "text/html": html, "text/plain": [recordsText(caption, COLUMNS, rows), ...eventText].join("\n") };
  }

  /** Shows the current table; the kernel then updates it in place. */
  [JUPYTER_DISPLAY](): Record<string, string> {
    return this.bundle();
  }

  /** console.log shows a one-line summary. */
  [inspect.custom](): string {
    return `IpcsWatcher { ${this.running ? "running" : "stopped"}, ${this.rows.length} objects, ${this.events.length} events, ${this.ticks} readings }`;
  }
}

/**
 * Shows `ipcs -m` (and the POSIX objects in /dev/shm) as one output that updates in place:
 * nattch, the creator and whether it is alive, marked-for-removal, and a log of what changed.
 * Stops when the cell ends (or on `.stop()`):
 *
 *   const watch = watchIpcs();
 *   await runTs(writerCode);   // the table changes while the child runs
 *   // the cell ends: the watch sends its final state and stops
 */
export function watchIpcs(options?: WatchIpcsOptions): IpcsWatcher {
  const opts = validateOptions<WatchIpcsOptions>(options);
  if (opts.intervalMs !== undefined) validateInteger(opts.intervalMs, "options.intervalMs", 20, 60_000);
  if (opts.maxMs !== undefined) validateInteger(opts.maxMs, "options.maxMs", 0, 86_400_000);
  if (opts.events !== undefined) validateInteger(opts.events, "options.events", 0, 1000);
  if (opts.filter !== undefined) validateFunction(opts.filter, "options.filter");
  return new IpcsWatcher(opts);
}
