// @ts-check
// The kernel's input history, kept per user across kernel restarts, as IPython keeps its own
// (there in a SQLite file of the profile; here one JSON line per cell):
//   <Jupyter data dir>/tslab-ipc/history.jsonl   (JUPYTER_DATA_DIR, else $XDG_DATA_HOME/jupyter,
//                                                  else ~/.local/share/jupyter)
//   {"s": session, "n": line, "i": input, "o": output text or null}
// Invariants:
// - A kernel never fails to start or to run a cell because of the file: an unreadable file, a
//   truncated or corrupt line, or a foreign object is skipped, and writing errors are ignored.
// - Bounded: at most KEEP_ENTRIES cells in memory and about MAX_BYTES on disk; when the file
//   outgrows MAX_BYTES, it is rewritten with the newest KEEP_ENTRIES / 2 (through a temporary
//   file and a rename, so a reader never sees half a file).
// - Private: the folder is created 0700, the file 0600, and both are opened without following
//   symbolic links.
// Sessions are numbered from 1: a kernel's session is one past the highest in the file.

const fs = require("fs");
const os = require("os");
const path = require("path");

const MAX_BYTES = 4 * 1024 * 1024;
const KEEP_ENTRIES = 10_000;
/** A cell longer than this is kept cut, so one huge cell cannot evict the rest. */
const MAX_INPUT = 64 * 1024;
const MAX_OUTPUT = 4 * 1024;

/** @typedef {{ s: number, n: number, i: string, o: string | null }} Entry */
/** @typedef {[number, number, string | [string, string | null]]} HistoryTuple */

/** Jupyter's data folder, by Jupyter's own rule (jupyter_core.paths.jupyter_data_dir). */
function jupyterDataDir(env = process.env) {
  if (env.JUPYTER_DATA_DIR) return env.JUPYTER_DATA_DIR;
  const xdg = env.XDG_DATA_HOME || path.join(os.homedir(), ".local", "share");
  return path.join(xdg, "jupyter");
}

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

class History {
  /** @param {string} file @param {{ maxBytes?: number, keepEntries?: number }} [limits] */
  constructor(file, limits = {}) {
    this.file = file;
    this.maxBytes = limits.maxBytes ?? MAX_BYTES;
    this.keepEntries = limits.keepEntries ?? KEEP_ENTRIES;
    /** @type {Entry[]} */
    this.entries = [];
    this.load();
    this.session = this.entries.reduce((max, e) => Math.max(max, e.s), 0) + 1;
  }

  /** Reads what earlier sessions left; whatever cannot be read is skipped. */
  load() {
    let text = "";
    try {
      const fd = fs.openSync(this.file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
      try {
        const st = fs.fstatSync(fd);
        if (!st.isFile()) return;
        // Only the tail of an oversized file (another kernel may be appending).
        const size = Math.min(st.size, this.maxBytes);
        const buf = Buffer.alloc(size);
        fs.readSync(fd, buf, 0, size, st.size - size);
        text = buf.toString("utf8");
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return;
    }
    for (const line of text.split("\n")) {
      if (!line) continue;
      try {
        const e = JSON.parse(line);
        if (isEntry(e)) this.entries.push({ s: e.s, n: e.n, i: e.i, o: e.o ?? null });
      } catch {
        // A torn or corrupt line: skipped.
      }
    }
    if (this.entries.length > this.keepEntries) this.entries = this.entries.slice(-this.keepEntries);
  }

  /**
   * Records one executed cell of this session.
   * @param {number} line the execution count @param {string} input @param {string | null} output
   */
  add(line, input, output) {
    const e = {
      s: this.session,
      n: line,
      i: input.slice(0, MAX_INPUT),
      o: output === null ? null : output.slice(0, MAX_OUTPUT),
    };
    this.entries.push(e);
    if (this.entries.length > this.keepEntries) this.entries.shift();
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
        if (fs.fstatSync(fd).size > this.maxBytes) this.compact();
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // History is a convenience: a full disk or a read-only home never fails a cell.
    }
  }

  /** Rewrites the file with the newest entries, replacing it at once. */
  compact() {
    const keep = this.entries.slice(-Math.floor(this.keepEntries / 2));
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, keep.map((e) => JSON.stringify(e)).join("\n") + "\n", { mode: 0o600, flag: "wx" });
    fs.renameSync(tmp, this.file);
  }

  /**
   * Jupyter's history_request, answered as ipykernel does (history_reply's `history`).
   * @param {any} req
   * @returns {HistoryTuple[]}
   */
  query(req) {
    const output = Boolean(req.output);
    const tuple = (/** @type {Entry} */ e) => /** @type {HistoryTuple} */ ([e.s, e.n, output ? [e.i, e.o] : e.i]);
    const n = Number.isSafeInteger(req.n) && req.n > 0 ? req.n : null;
    switch (req.hist_access_type) {
      case "tail":
        return (n === null ? this.entries : this.entries.slice(-n)).map(tuple);
      case "range": {
        // session 0 or negative: relative to the current one (IPython's convention).
        const raw = Number(req.session) || 0;
        const session = raw > 0 ? raw : this.session + raw;
        const start = Number(req.start) || 0;
        const stop = req.stop == null ? Infinity : Number(req.stop);
        return this.entries.filter((e) => e.s === session && e.n >= start && e.n < stop).map(tuple);
      }
      case "search": {
        const re = globToRegExp(String(req.pattern ?? "*"));
        let hits = this.entries.filter((e) => re.test(e.i));
        if (req.unique) {
          // The newest of each distinct input, in order (IPython: GROUP BY source).
          const seen = new Set();
          hits = hits
            .reverse()
            .filter((e) => !seen.has(e.i) && seen.add(e.i))
            .reverse();
        }
        if (n !== null) hits = hits.slice(-n);
        return hits.map(tuple);
      }
      default:
        return [];
    }
  }
}

/** IPython's search pattern: a glob (`*`, `?`) over the whole input, like SQLite's GLOB. */
function globToRegExp(/** @type {string} */ pattern) {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, "[^]*")
    .replace(/\?/g, "[^]");
  return new RegExp(`^${body}$`);
}

/** The history of this user. */
function openUserHistory(env = process.env) {
  const file = env.TSLAB_IPC_HISTORY_FILE || path.join(jupyterDataDir(env), "tslab-ipc", "history.jsonl");
  return new History(file);
}

module.exports = { History, openUserHistory, jupyterDataDir, MAX_BYTES, KEEP_ENTRIES };
