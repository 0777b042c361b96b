// @ts-check
// The kernel's input history, kept per user across kernel restarts, as IPython keeps its own:
//   <Jupyter data dir>/tslab-ipc/history.sqlite   on a Node with node:sqlite (22.13+, 24+)
//   <Jupyter data dir>/tslab-ipc/history.jsonl    on Node 20 (one JSON line per cell)
// (the data dir is JUPYTER_DATA_DIR, else $XDG_DATA_HOME/jupyter, else ~/.local/share/jupyter).
// How each file is read, written, kept private and bounded is kernel/history-store.js; this file
// is what Jupyter asks of it: sessions, and history_request's tail, range and search.
// Invariants:
// - A kernel never fails to start or to run a cell because of its history (see the stores).
// - The history is not kept in memory: each history_request reads the newest keepEntries cells
//   of the store (the newest n for a tail), and lets them go with the reply. Only cells the
//   store could not take (a read-only home) stay in memory, at most keepEntries of them.
//   Measured through jupyter_client: a kernel that read a full history (3.9 MB of JSONL) into
//   memory held 148-150 MiB after its first cell, against 128-132 with an empty one.
// - A cell's input is kept up to MAX_INPUT characters and its output up to MAX_OUTPUT, so one
//   huge cell cannot evict the rest.
// - Sessions are numbered from 1: a kernel's session is one past the highest in the store when
//   the kernel first reads it (on first use, or by load()).
// - Nothing is read from the store until then: opening a history costs its file's open only.
// - The first time a Node with node:sqlite starts, the JSONL history of Node 20 is copied in.

const os = require("os");
const path = require("path");
const { JsonlStore, SqliteStore, loadSqlite } = require("./history-store");

const MAX_BYTES = 4 * 1024 * 1024;
const KEEP_ENTRIES = 10_000;
const MAX_INPUT = 64 * 1024;
const MAX_OUTPUT = 4 * 1024;

/** @typedef {import("./history-store").Entry} Entry */
/** @typedef {[number, number, string | [string, string | null]]} HistoryTuple */

/** Jupyter's data folder, by Jupyter's own rule (jupyter_core.paths.jupyter_data_dir). */
function jupyterDataDir(env = process.env) {
  if (env.JUPYTER_DATA_DIR) return env.JUPYTER_DATA_DIR;
  const xdg = env.XDG_DATA_HOME || path.join(os.homedir(), ".local", "share");
  return path.join(xdg, "jupyter");
}

class History {
  /**
   * @param {string} file a `.sqlite` file (node:sqlite) or a JSONL file
   * @param {{ maxBytes?: number, keepEntries?: number, sqlite?: any, importFrom?: string | null }} [options]
   *   sqlite: the node:sqlite module (default: loaded when the file is `.sqlite`);
   *   importFrom: a JSONL history copied into a new `.sqlite` one
   */
  constructor(file, options = {}) {
    this.file = file;
    const limits = { maxBytes: options.maxBytes ?? MAX_BYTES, keepEntries: options.keepEntries ?? KEEP_ENTRIES };
    this.keepEntries = limits.keepEntries;
    const sqlite = file.endsWith(".sqlite") ? (options.sqlite ?? loadSqlite()) : null;
    /** @type {JsonlStore | SqliteStore} */
    this.store = sqlite
      ? new SqliteStore(file, limits, sqlite, options.importFrom ?? null)
      : new JsonlStore(file, limits);
    /** @type {number | null} */
    this.sessionNumber = null;
    /** This session's cells the store did not take, oldest first. @type {Entry[]} */
    this.unsaved = [];
  }

  /**
   * Reads the store's sessions, once: this kernel's session is one past the highest in it.
   * A long history's sessions take milliseconds to read (3.9 MB of JSONL: ~12 ms warm; reading
   * all of it took ~80 ms in a kernel that had just started), which is why the kernel reads them
   * after its first kernel_info reply (kernel/main.js) and not on its way to binding its sockets.
   * @returns {number} this kernel's session
   */
  load() {
    if (this.sessionNumber === null) this.sessionNumber = this.store.maxSession() + 1;
    return this.sessionNumber;
  }

  /** This kernel's session (the store is read on first use). */
  get session() {
    return this.load();
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
    if (this.store.append(e)) return;
    this.unsaved.push(e);
    if (this.unsaved.length > this.keepEntries) this.unsaved.shift();
  }

  /** The newest k cells (k at most keepEntries), oldest first: the store's, then the unsaved. @param {number} k */
  newest(k) {
    const stored = this.store.newest(k);
    return this.unsaved.length ? stored.concat(this.unsaved).slice(-k) : stored;
  }

  /** Lets go of the store (SQLite's handle: a closed SQLite history answers with its unsaved cells only). */
  close() {
    this.store.close();
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
        return this.newest(n === null ? this.keepEntries : Math.min(n, this.keepEntries)).map(tuple);
      case "range": {
        // session 0 or negative: relative to the current one (IPython's convention).
        const raw = Number(req.session) || 0;
        const session = raw > 0 ? raw : this.session + raw;
        const start = Number(req.start) || 0;
        const stop = req.stop == null ? Infinity : Number(req.stop);
        return this.newest(this.keepEntries)
          .filter((e) => e.s === session && e.n >= start && e.n < stop)
          .map(tuple);
      }
      case "search": {
        const re = globToRegExp(String(req.pattern ?? "*"));
        let hits = this.newest(this.keepEntries).filter((e) => re.test(e.i));
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

/** The history of this user: SQLite where this Node has it, JSONL elsewhere. */
function openUserHistory(env = process.env) {
  if (env.TSLAB_IPC_HISTORY_FILE) return new History(env.TSLAB_IPC_HISTORY_FILE);
  const dir = path.join(jupyterDataDir(env), "tslab-ipc");
  const jsonl = path.join(dir, "history.jsonl");
  const sqlite = loadSqlite();
  if (!sqlite) return new History(jsonl);
  return new History(path.join(dir, "history.sqlite"), { sqlite, importFrom: jsonl });
}

module.exports = { History, openUserHistory, jupyterDataDir, MAX_BYTES, KEEP_ENTRIES };
