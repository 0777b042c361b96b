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
// - Bounded: at most keepEntries rows and about maxBytes of cell text; past either, the newest
//   keepEntries / 2 are kept.

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

  /** @returns {Entry[]} the newest keepEntries entries, oldest first */
  load() {
    let text = "";
    try {
      const fd = fs.openSync(this.file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
      try {
        const st = fs.fstatSync(fd);
        if (!st.isFile()) return [];
        // Only the tail of an oversized file (another kernel may be appending).
        const size = Math.min(st.size, this.limits.maxBytes);
        const buf = Buffer.alloc(size);
        fs.readSync(fd, buf, 0, size, st.size - size);
        text = buf.toString("utf8");
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return [];
    }
    /** @type {Entry[]} */
    const entries = [];
    for (const line of text.split("\n")) {
      if (!line) continue;
      try {
        const e = JSON.parse(line);
        if (isEntry(e)) entries.push({ s: e.s, n: e.n, i: e.i, o: e.o ?? null });
      } catch {
        // A torn or corrupt line: skipped.
      }
    }
    return entries.slice(-this.limits.keepEntries);
  }

  /**
   * @param {Entry} e
   * @param {() => Entry[]} newest what to keep when the file outgrows its bound
   */
  append(e, newest) {
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      const fd = fs.openSync(
        this.file,
        fs.constants.O_RDWR | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW,
        0o600,
      );
      try {
        const st = fs.fstatSync(fd);
        if (!st.isFile()) return;
        // After a torn last line, start a fresh one rather than extend the damage.
        const last = Buffer.alloc(1);
        const torn = st.size > 0 && fs.readSync(fd, last, 0, 1, st.size - 1) === 1 && last[0] !== 0x0a;
        fs.writeSync(fd, (torn ? "\n" : "") + JSON.stringify(e) + "\n");
        if (fs.fstatSync(fd).size > this.limits.maxBytes) this.rewrite(newest());
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // Dropped: see the invariants.
    }
  }

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
        const old = new JsonlStore(importFrom, this.limits).load();
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

  /** @returns {Entry[]} */
  load() {
    if (!this.db) return [];
    try {
      const rows = this.db
        .prepare("SELECT session AS s, line AS n, input AS i, output AS o FROM history ORDER BY id DESC LIMIT ?")
        .all(this.limits.keepEntries);
      return rows
        .map((/** @type {any} */ r) => ({ s: r.s, n: r.n, i: r.i, o: r.o ?? null }))
        .filter(isEntry)
        .reverse();
    } catch {
      return [];
    }
  }

  /** @param {Entry} e */
  append(e) {
    if (!this.db) return;
    try {
      this.insert.run(e.s, e.n, e.i, e.o);
      this.rows += 1;
      this.bytes += entryBytes(e);
      if (this.rows > this.limits.keepEntries || this.bytes > this.limits.maxBytes) this.prune();
    } catch {
      // Dropped: see the invariants (a busy or read-only database included).
    }
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
