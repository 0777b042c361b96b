// @ts-check
// What this test run left behind, judged only on what this run created. Another program that
// creates or removes a segment or a /dev/shm entry during the run never fails it, and its
// objects are never touched; a leak of our own fails it, and is then removed.
//
// Two ways to know what is ours (the mode is $TSLAB_IPC_TEST_ISOLATION, set by run.js):
// - "namespace": the run has its own IPC namespace and its own /dev/shm (run.js starts jest
//   under `unshare --ipc --mount`). Nothing else can create anything there: every System V
//   segment and /dev/shm entry that was not there at the start is ours.
// - "attributed" (unshare not allowed, or jest started directly): the machine's namespaces are
//   shared, so a new object is ours only if this run made it: a segment whose creator (cpid) or
//   last user (lpid) was one of the run's processes; a /dev/shm name that carries the pid of
//   one of them (uniqueName's convention, "<prefix>-<pid>-<random>") or that a journal of the
//   run's records folder names. The run's processes are the descendants of jest's main process,
//   sampled while the run goes (watchProcesses: their children every 20 ms, all of /proc every
//   second) plus the pids of the journals created in the run's own records folder. A process
//   that creates, leaks and exits within one sample, without a journal, escapes this; it can
//   never blame another program. The namespace mode has no such gap.

const fs = require("fs");
const os = require("os");
const path = require("path");

const resultsDir = process.env.TSLAB_IPC_TEST_RESULTS || path.join(__dirname, "..", "..", "test-results");
const stateFile = () => path.join(resultsDir, "run-state.json");
/** The temp folders the run's tests made (test/helpers.ts tempDir appends one per line). */
const tempListFile = () => path.join(resultsDir, "temp-dirs.txt");

/** "namespace" or "attributed" (see the header). */
function isolationMode() {
  return process.env.TSLAB_IPC_TEST_ISOLATION === "namespace" ? "namespace" : "attributed";
}

/** System V segments now: { shmid, key, cpid, lpid }, from /proc/sysvipc/shm (this IPC namespace). */
function segments() {
  const lines = fs.readFileSync("/proc/sysvipc/shm", "utf8").trim().split("\n");
  const head = lines[0].trim().split(/\s+/);
  const col = (/** @type {string} */ name) => head.indexOf(name);
  return lines.slice(1).map((l) => {
    const f = l.trim().split(/\s+/);
    return { shmid: f[col("shmid")], key: f[col("key")], cpid: Number(f[col("cpid")]), lpid: Number(f[col("lpid")]) };
  });
}

function snapshot() {
  return { shm: segments().map((s) => s.shmid), devshm: fs.readdirSync("/dev/shm") };
}

// ---- the run's processes (attributed mode) ----------------------------------------------------

const ours = { pids: new Set(), names: new Set() };
/** @type {{ sample: () => void, stop: () => void } | null} */
let watcher = null;

/** pid -> ppid of every process now. */
function parents() {
  const map = new Map();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
      map.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      /* gone meanwhile */
    }
  }
  return map;
}

/** Every descendant of `root` now (a full scan of /proc). @param {number} root */
function sampleProcesses(root) {
  const children = new Map();
  for (const [pid, ppid] of parents()) {
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(pid);
  }
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop();
    ours.pids.add(pid);
    live.add(pid);
    for (const c of children.get(pid) ?? []) if (!ours.pids.has(c)) todo.push(c);
  }
}

// The run's processes seen alive: their children are read often and cheaply (the main
// thread's /proc/<pid>/task/<pid>/children, where Node and Python spawn), so a child that
// lives a few tens of milliseconds is seen too. The full scan catches the rest.
const live = new Set();

function sampleChildren() {
  for (const pid of [...live]) {
    let text;
    try {
      text = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8");
    } catch {
      live.delete(pid); // gone
      continue;
    }
    for (const c of text.split(" ").filter(Boolean).map(Number)) {
      if (!ours.pids.has(c)) ours.pids.add(c);
      live.add(c);
    }
  }
}

/** POSIX names and pids from the journals in the run's records folder (best effort). */
/** @param {string} recordsDir */
function sampleJournals(recordsDir) {
  let names = [];
  try {
    names = fs.readdirSync(recordsDir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = /^(\d+)[-.]/.exec(name);
    if (pid) ours.pids.add(Number(pid[1]));
    let text = "";
    try {
      const file = path.join(recordsDir, name);
      if (!fs.lstatSync(file).isFile()) continue;
      text = fs.readFileSync(file, "latin1");
    } catch {
      continue;
    }
    for (const m of text.matchAll(/"name":"(\/[^"]+)"/g)) ours.names.add(m[1].slice(1));
  }
}

/** Samples the run's processes and journals until stopWatching(); attributed mode only. */
/** @param {string} recordsDir */
function watchProcesses(recordsDir, childrenEveryMs = 20, fullEveryMs = 1000) {
  const root = process.pid;
  const sample = () => {
    try {
      sampleProcesses(root);
      sampleJournals(recordsDir);
    } catch {
      /* /proc unreadable: attribution then rests on the journals */
    }
  };
  sample();
  let inotify = null;
  try {
    inotify = fs.watch(recordsDir, (/** @type {string} */ _event, /** @type {string | null} */ name) => {
      const pid = /^(\d+)[-.]/.exec(String(name));
      if (pid) ours.pids.add(Number(pid[1]));
    });
    inotify.unref();
  } catch {
    /* no inotify: the samples still see journals that outlive their process */
  }
  const fast = setInterval(sampleChildren, childrenEveryMs);
  const full = setInterval(sample, fullEveryMs);
  fast.unref();
  full.unref();
  watcher = {
    sample,
    stop: () => {
      clearInterval(fast);
      clearInterval(full);
      inotify?.close();
    },
  };
}

function stopWatching() {
  if (watcher) watcher.sample();
  if (watcher) watcher.stop();
  watcher = null;
}

// ---- the start and the end of the run ----------------------------------------------------------

/** Called by global-setup: what is there before the run, where its records live, its mode. */
/** @param {string} recordsDir */
function saveState(recordsDir) {
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.writeFileSync(tempListFile(), "");
  process.env.TSLAB_IPC_TEST_TEMPS = tempListFile();
  const mode = isolationMode();
  fs.writeFileSync(stateFile(), JSON.stringify({ mode, recordsDir, before: snapshot() }));
  if (mode === "attributed") watchProcesses(recordsDir);
}

/** Removes the temp folders listed by this run's tests, then the list. */
function removeTempDirs() {
  let listed = "";
  try {
    listed = fs.readFileSync(tempListFile(), "utf8");
  } catch {
    return;
  }
  const tmp = os.tmpdir() + path.sep;
  for (const dir of new Set(listed.split("\n"))) {
    // Only what tempDir makes: a folder directly under the temp folder.
    if (dir.startsWith(tmp) && !dir.slice(tmp.length).includes(path.sep))
      fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.rmSync(tempListFile(), { force: true });
}

function readState() {
  try {
    return JSON.parse(fs.readFileSync(stateFile(), "utf8"));
  } catch {
    return null;
  }
}

/** Ours and others' new objects since the start: { mode, segments, devshm, foreign }. */
function newObjects() {
  const state = readState();
  if (!state) return null;
  if (watcher) watcher.sample();
  const { before, mode } = state;
  const pidToken = (/** @type {string} */ name) =>
    name.split("-").some((t) => /^\d+$/.test(t) && ours.pids.has(Number(t)));
  const segs = segments().filter((s) => !before.shm.includes(s.shmid));
  const dev = fs.readdirSync("/dev/shm").filter((n) => !before.devshm.includes(n));
  const mineSeg = (/** @type {{ cpid: number, lpid: number }} */ s) =>
    mode === "namespace" || ours.pids.has(s.cpid) || ours.pids.has(s.lpid);
  const mineDev = (/** @type {string} */ n) => mode === "namespace" || ours.names.has(n) || pidToken(n);
  return {
    mode,
    segments: segs.filter(mineSeg),
    devshm: dev.filter(mineDev),
    foreign: { segments: segs.filter((s) => !mineSeg(s)), devshm: dev.filter((n) => !mineDev(n)) },
  };
}

/** A sentence naming every leak of this run, or "" when nothing of ours leaked. */
function leaks() {
  const found = newObjects();
  if (!found || (!found.segments.length && !found.devshm.length)) return "";
  const ids = found.segments.map((s) => `${s.shmid} (cpid ${s.cpid})`);
  return (
    `the test suite leaked ${found.segments.length} System V segment(s) [ids ${ids.join(", ")}] and ` +
    `${found.devshm.length} /dev/shm entr(ies) [${found.devshm.join(", ")}] (judged by ${found.mode === "namespace" ? "its own IPC namespace and /dev/shm" : "creator pid and journal"})`
  );
}

/** What appeared during the run but is not ours: said, never judged, never touched. */
function foreignNote() {
  const found = newObjects();
  if (!found) return "";
  const { segments: s, devshm: d } = found.foreign;
  if (!s.length && !d.length) return "";
  return `not ours, left alone: ${s.length} segment(s) [${s.map((x) => `${x.shmid} (cpid ${x.cpid})`).join(", ")}], /dev/shm [${d.join(", ")}]`;
}

/** Removes this run's own leftovers (never anything else); called at the very end. */
function removeOwnLeftovers() {
  const found = newObjects();
  if (!found) return;
  const now = new Map(segments().map((s) => [s.shmid, s]));
  for (const s of found.segments) {
    // Still the same segment (not removed and its id reused meanwhile)?
    const current = now.get(s.shmid);
    if (!current || current.cpid !== s.cpid || current.key !== s.key) continue;
    try {
      require("child_process").execFileSync("ipcrm", ["-m", String(s.shmid)], { stdio: "ignore" });
    } catch {
      /* already gone */
    }
  }
  for (const n of found.devshm) fs.rmSync(path.join("/dev/shm", n), { force: true, recursive: true });
}

module.exports = {
  saveState,
  readState,
  leaks,
  foreignNote,
  removeOwnLeftovers,
  removeTempDirs,
  stopWatching,
  isolationMode,
  resultsDir,
  ours,
};
