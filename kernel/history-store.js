// @ts-check
// Where the kernel's input history lives on disk: two stores with one interface, so
// kernel/history.js (the Jupyter semantics: sessions, tail, range, search) never knows which.
//   SqliteStore  <file>.sqlite through node:sqlite (Node 22.13+ and 24+), as IPython keeps its
//                history: one row per cell, many kernels appending at once under SQLite's locks,
//                no rewrite of the whole file to stay bounded.
//   JsonlStore   one JSON line per cell, appended (Node 20, and wherever node:sqlite is missing).
// Invariants, for both:
// - Nothing here throws to the caller after construction: an unreadable, corrupt or foreign file
//   yields no entries, and a failed write is dropped (history is a convenience; a full disk or a
//   read-only home never fails a cell).
// - Private: the folder is created 0700 and the file 0600, and a symbolic link or anything but a
//   regular file at the path is never opened (the store stays empty and writes nothing).
// - Bounded: about maxBytes of cell text (and in SQLite at most keepEntries rows); past it, the
//   newest keepEntries / 2 are kept (in JSONL, in at most half the bytes).
// - Read when asked, never kept: newest(k) and maxSession() read the store each time, and a
//   JSONL read holds one chunk and one line at a time, so a kernel's memory does not grow with
//   its user's history.
// The interface: newest(k), maxSession(), append(e) (whether it was stored), close().

const fs = require("fs");
const path = require("path");

/** @typedef {{ s: number, n: number, i: string, o: string | null }} Entry */
/** @typedef {{ maxBytes: number, keepEntries: number }} Limits */

/** @param {unknown} e @returns {e is Entry} */
function isEntry(e) {
  const o = /** @type {any} */ (e);
  return (
    o !== null &&
    typeof o === "object" &&
    Number.isSafeInteger(o.s) &&
    o.s > 0 &&
    Number.isSafeInteger(o.n) &&
    o.n > 0 &&
    typeof o.i === "string" &&
    (o.o === null || o.o === undefined || typeof o.o === "string")
  );
}

/** Bytes an entry costs on disk, near enough for the bound. */
const entryBytes = (/** @type {Entry} */ e) => e.i.length + (e.o?.length ?? 0) + 24;

/** How much of a JSONL file is read at once: below V8's large-object size (128 KiB), so its text is young garbage. */
const CHUNK = 64 * 1024;

const SESSION_PREFIX = Buffer.from('{"s":');

/**
 * The session of a line that begins `{"s":<digits>,` (as JSON.stringify writes an entry), from
 * its bytes; 0 for any other line.
 * @param {Buffer} data @param {number} start @param {number} end
 */
function sessionPrefix(data, start, end) {
  if (
    end - start < SESSION_PREFIX.length + 2 ||
    data.compare(SESSION_PREFIX, 0, SESSION_PREFIX.length, start, start + SESSION_PREFIX.length) !== 0
  )
    return 0;
  let s = 0;
  let i = start + SESSION_PREFIX.length;
  for (; i < end && i - start < 21 && data[i] >= 0x30 && data[i] <= 0x39; i++) s = s * 10 + (data[i] - 0x30);
  return i < end && data[i] === 0x2c && Number.isSafeInteger(s) ? s : 0;
}

/** Parses one JSONL line and passes it on when it is an entry; a torn or corrupt line is skipped. @param {string} line @param {(e: Entry) => void} visit */
function visitLine(line, visit) {
  try {
    const e = JSON.parse(line);
    if (isEntry(e)) visit({ s: e.s, n: e.n, i: e.i, o: e.o ?? null });
  } catch {
    // Skipped.
  }
}

/**
 * Creates the file's folder (0700) and says whether the path may be opened: absent (then it is
 * created 0600 without following links) or a regular file. A link, a folder or a device: no.
 * @param {string} file
 */
function preparePrivateFile(file) {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    return fs.lstatSync(file).isFile();
  } catch {
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
    fs.closeSync(fd);
    return true;
  }
}

class JsonlStore {
  /** @param {string} file @param {Limits} limits */
  constructor(file, limits) {
    this.file = file;
    this.limits = limits;
  }

  /**
   * Calls `visit` with each line of the file's last maxBytes (its bytes: data[start, end)),
   * oldest first, reading CHUNK bytes at a time: what a kernel holds while it reads is a chunk
   * and a line, whatever the file's size (a whole 4 MiB history read at once cost a kernel
   * ~18 MiB of RSS after its first cell). A line is split at its newline byte, which is never
   * inside a UTF-8 character.
   * @param {(data: Buffer, start: number, end: number) => void} visit
   */
  scanLines(visit) {
    let fd;
    try {
      fd = fs.openSync(this.file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    } catch {
      return;
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) return;
      // Only the tail of an oversized file (another kernel may be appending).
      let pos = st.size - Math.min(st.size, this.limits.maxBytes);
      const chunk = Buffer.allocUnsafe(CHUNK);
      /** The start of a line that the last chunk ended inside. */
      let carry = Buffer.alloc(0);
      for (;;) {
        const got = fs.readSync(fd, chunk, 0, CHUNK, pos);
        pos += got;
        const data = carry.length ? Buffer.concat([carry, chunk.subarray(0, got)]) : chunk.subarray(0, got);
        let start = 0;
        for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a, start)) {
          if (nl > start) visit(data, start, nl);
          start = nl + 1;
        }
        carry = Buffer.from(data.subarray(start));
        if (got === 0) break;
      }
      if (carry.length) visit(carry, 0, carry.length);
    } catch {
      // Unreadable from here on: what was read stands (see the invariants).
    } finally {
      fs.closeSync(fd);
    }
  }

  /** @param {number} k @returns {Entry[]} the newest k entries, oldest first */
  newest(k) {
    if (!(k > 0)) return [];
    /** @type {Entry[]} */
    let kept = [];
    this.scanLines((data, start, end) =>
      visitLine(data.toString("utf8", start, end), (e) => {
        kept.push(e);
        if (kept.length >= 2 * k) kept = kept.slice(-k);
      }),
    );
    return kept.slice(-k);
  }

  /**
   * @returns {number} the highest session in the file, 0 for none. A line as this store writes
   * it begins `{"s":<digits>,`: its session is read from those bytes, without parsing the rest
   * (3.9 MB of history: ~12 ms warm, against ~40 to parse it all). Any other line is parsed and checked whole.
   */
  maxSession() {
    let max = 0;
    this.scanLines((data, start, end) => {
      const s = sessionPrefix(data, start, end);
      if (s > 0) {
        if (s > max) max = s;
        return;
      }
      visitLine(data.toString("utf8", start, end), (e) => {
        if (e.s > max) max = e.s;
      });
    });
    return max;
  }

  /** @param {Entry} e @returns {boolean} whether the entry is in the file */
  append(e) {
    let stored = false;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      const fd = fs.openSync(
        this.file,
        fs.constants.O_RDWR | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW,
        0o600,
      );
      try {
        const st = fs.fstatSync(fd);
        if (!st.isFile()) return false;
        // After a torn last line, start a fresh one rather than extend the damage.
        const last = Buffer.alloc(1);
        const torn = st.size > 0 && fs.readSync(fd, last, 0, 1, st.size - 1) === 1 && last[0] !== 0x0a;
        fs.writeSync(fd, (torn ? "\n" : "") + JSON.stringify(e) + "\n");
        stored = true;
        if (fs.fstatSync(fd).size > this.limits.maxBytes) this.rewrite(this.newestHalf());
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // Dropped: see the invariants.
    }
    return stored;
  }

  /** What stays when the file outgrows its bound: the newest keepEntries / 2, in half the bytes. */
  newestHalf() {
    const keep = this.newest(Math.floor(this.limits.keepEntries / 2));
    let bytes = keep.reduce((sum, e) => sum + entryBytes(e), 0);
    let first = 0;
    while (first < keep.length && bytes > this.limits.maxBytes / 2) bytes -= entryBytes(keep[first++]);
    return keep.slice(first);
  }

  /** Nothing to let go of: the file is opened per read and per append. */
  close() {}

  /** Replaces the file with `keep` at once (a temporary file and a rename: no half file is seen). */
  rewrite(/** @type {Entry[]} */ keep) {
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, keep.map((e) => JSON.stringify(e)).join("\n") + "\n", { mode: 0o600, flag: "wx" });
    fs.renameSync(tmp, this.file);
  }
}

/** SQLite's result codes for a file that is not a database, or a damaged one. */
const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;

class SqliteStore {
  /**
   * @param {string} file
   * @param {Limits} limits
   * @param {any} sqlite the node:sqlite module
   * @param {string | null} [importFrom] a JSONL history to copy in when the database is new
   */
  constructor(file, limits, sqlite, importFrom = null) {
    this.file = file;
    this.limits = limits;
    /** @type {any} */
    this.db = null;
    /** This kernel's running estimate of the table's rows and bytes (exact at open and prune). */
    this.rows = 0;
    this.bytes = 0;
    try {
      this.db = this.open(sqlite, importFrom);
    } catch (e) {
      if (!isCorruption(e)) return;
      // As IPython does with a damaged history.sqlite: set it aside and start a new one.
      try {
        fs.renameSync(file, `${file}.corrupt-${Date.now()}`);
        for (const side of ["-wal", "-shm", "-journal"]) fs.rmSync(file + side, { force: true });
        this.db = this.open(sqlite, null);
      } catch {
        this.db = null;
      }
    }
  }

  /** @param {any} sqlite @param {string | null} importFrom */
  open(sqlite, importFrom) {
    const isNew = !fs.existsSync(this.file);
    if (!preparePrivateFile(this.file)) return null;
    const db = new sqlite.DatabaseSync(this.file);
    try {
      // WAL with synchronous=NORMAL: a cell's insert is a write to the log, not an fsync.
      db.exec(`PRAGMA busy_timeout = 200;
               PRAGMA journal_mode = WAL;
               PRAGMA synchronous = NORMAL;
               CREATE TABLE IF NOT EXISTS history (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 session INTEGER NOT NULL, line INTEGER NOT NULL,
                 input TEXT NOT NULL, output TEXT);`);
      this.insert = db.prepare("INSERT INTO history (session, line, input, output) VALUES (?, ?, ?, ?)");
      if (isNew && importFrom) {
        const old = new JsonlStore(importFrom, this.limits).newest(this.limits.keepEntries);
        db.exec("BEGIN");
        for (const e of old) this.insert.run(e.s, e.n, e.i, e.o);
        db.exec("COMMIT");
      }
      this.measure(db);
      return db;
    } catch (e) {
      db.close();
      throw e;
    }
  }

  /** Exact rows and bytes, read from the table. @param {any} db */
  measure(db) {
    const r = db
      .prepare("SELECT count(*) AS rows, total(length(input) + ifnull(length(output), 0) + 24) AS bytes FROM history")
      .get();
    this.rows = Number(r.rows);
    this.bytes = Number(r.bytes);
  }

  /** @param {number} k @returns {Entry[]} the newest k rows, oldest first */
  newest(k) {
    if (!this.db) return [];
    try {
      const rows = this.db
        .prepare("SELECT session AS s, line AS n, input AS i, output AS o FROM history ORDER BY id DESC LIMIT ?")
        .all(k);
      return rows
        .map((/** @type {any} */ r) => ({ s: r.s, n: r.n, i: r.i, o: r.o ?? null }))
        .filter(isEntry)
        .reverse();
    } catch {
      return [];
    }
  }

  /** @returns {number} the highest session in the table, 0 for none */
  maxSession() {
    if (!this.db) return 0;
    try {
      const max = Number(this.db.prepare("SELECT ifnull(max(session), 0) AS s FROM history").get().s);
      return Number.isSafeInteger(max) && max > 0 ? max : 0;
    } catch {
      return 0;
    }
  }

  /** @param {Entry} e @returns {boolean} whether the row is in the table */
  append(e) {
    if (!this.db) return false;
    try {
      this.insert.run(e.s, e.n, e.i, e.o);
    } catch {
      return false; // Dropped: see the invariants (a busy or read-only database included).
    }
    try {
      this.rows += 1;
      this.bytes += entryBytes(e);
      if (this.rows > this.limits.keepEntries || this.bytes > this.limits.maxBytes) this.prune();
    } catch {
      // The row is in; pruning is tried again with the next one.
    }
    return true;
  }

  /** Keeps the newest keepEntries / 2 rows when the table (counted exactly now) is past a bound. */
  prune() {
    this.measure(this.db);
    if (this.rows <= this.limits.keepEntries && this.bytes <= this.limits.maxBytes) return;
    let keep = Math.floor(this.limits.keepEntries / 2);
    // Rows of very long cells: fewer of them, so the bytes fit too.
    if (this.bytes > this.limits.maxBytes && this.rows > 0)
      keep = Math.min(keep, Math.floor((this.rows * this.limits.maxBytes) / (2 * this.bytes)));
    this.db.prepare("DELETE FROM history WHERE id NOT IN (SELECT id FROM history ORDER BY id DESC LIMIT ?)").run(keep);
    // Give the freed pages back, so the file is bounded too (rare: once per keepEntries / 2 cells).
    this.db.exec("PRAGMA wal_checkpoint(TRUNCATE); VACUUM;");
    this.measure(this.db);
  }

  close() {
    try {
      this.db?.close();
    } catch {
      // Already closed.
    }
    this.db = null;
  }
}

/** @param {unknown} e */
function isCorruption(e) {
  const code = /** @type {any} */ (e)?.errcode;
  return code === SQLITE_NOTADB || code === SQLITE_CORRUPT;
}

/**
 * node:sqlite when this Node has it without a flag (22.13+, 24+), else null. Node 22 prints an
 * ExperimentalWarning when the module loads: that one warning is kept off the kernel's stderr
 * (Jupyter's log), every other warning still goes through.
 * @returns {any}
 */
function loadSqlite() {
  const emit = process.emitWarning;
  process.emitWarning = /** @type {any} */ (
    (/** @type {any} */ warning, /** @type {any[]} */ ...rest) => {
      const text = String(warning?.message ?? warning);
      if (/SQLite is an experimental feature/.test(text)) return;
      return /** @type {any} */ (emit).call(process, warning, ...rest);
    }
  );
  try {
    // By a variable: the @types/node of Node 20 has no declarations for it.
    const moduleName = "node:sqlite";
    return require(moduleName);
  } catch {
    return null;
  } finally {
    process.emitWarning = emit;
  }
}

module.exports = { JsonlStore, SqliteStore, loadSqlite, isEntry, entryBytes };
