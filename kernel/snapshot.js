// @ts-check
// The kernel's start-up snapshot: a V8 heap (node --build-snapshot) that already holds
// TypeScript, the cell compiler and the trees of every declaration file a cell is checked
// against (TypeScript's lib, @types/node, the library's .d.ts), parsed and bound, with their
// module resolutions and the kernel's prelude compiled. A kernel started from it skips loading
// the compiler, parsing ~2.8 MB of declarations and compiling its prelude, most of its start.
//
// Invariants:
// - A snapshot is per user, per Node binary and per checkout: kernel/start.sh runs node with
//   `--snapshot-blob` only for a blob in this user's own cache folder (0700, owned by the user)
//   named after the Node binary (device, inode, mtime, size) and this kernel folder (device,
//   inode). Node refuses a blob made by another Node and would end the kernel; the name keeps
//   that from happening. A blob is code, so it is never taken from a folder someone else owns,
//   with one exception: the machine's blob, which root builds when it registers the kernel for
//   every user (kernel/install.js), in /var/cache/tslab-ipc/snapshot (TSLAB_IPC_SNAPSHOT_SYSTEM_DIR),
//   a folder and a file that belong to root and that nobody else can write, like the kernel's
//   own code then. A user without a blob, or whose blob is older, starts from the machine's.
// - It never changes what a cell sees. The snapshot's modules are used only while every file
//   they came from still has the stamp it had at build time (kernel/snapshot-entry.js checks at
//   start); otherwise the kernel starts as without one and a new blob is built. Its trees,
//   resolutions and compiled prelude are each checked the same way when first used (in
//   kernel/converter.js), and a kernel that finds its prelude's files changed builds a new blob.
// - Building never delays a kernel: a kernel started without a fresh blob builds one after its
//   start, in a detached process at the lowest priority, one build at a time per user (a lock
//   file); the blob appears with an atomic rename.
//   node kernel/snapshot.js build     builds the blob for this Node and checkout now
//   node kernel/snapshot.js path      prints where it is (or would be)
//   node kernel/snapshot.js fresh     prints where it is when it is there and fresh, else exits 1
//   ... --system                      the same for the machine's blob (build: as root)
//   TSLAB_IPC_SNAPSHOT=0              kernels neither use nor build one
//   TSLAB_IPC_SNAPSHOT=use            kernels start from one when it is there, and never build one
//                                     (the grader's sandbox: src/assign/sandbox-snapshot.ts)

const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawn, spawnSync } = require("child_process");
const { stampOf } = require("./stamp");
const { pagesFile, stringsFile } = require("./snapshot-pages");

const ENTRY = path.join(__dirname, "snapshot-entry.js");
/** Run from a new blob, it writes the blob's pages and strings files (kernel/snapshot-pages.js). */
const PAGES_WRITER = path.join(__dirname, "snapshot-pages.js");
/** What the snapshot's builder loads (with everything they require). */
const MODULES = {
  stamp: path.join(__dirname, "stamp.js"),
  converter: path.join(__dirname, "converter.js"),
  resolve: path.join(__dirname, "resolve.js"),
  typescriptEdits: path.join(__dirname, "typescript-edits.js"),
};
/** A build lock older than this is left by a build that died. */
const STALE_LOCK_MS = 5 * 60 * 1000;
/** A blob of a live checkout not rebuilt for this long is removed by the next build (removeDeadBlobs). */
const OLD_BLOB_MS = 30 * 24 * 3600 * 1000;
/** The key under which kernel/snapshot-entry.js tells main.js how this process started. */
const STATE = Symbol.for("tslab-ipc.snapshot");

/**
 * The Node majors whose snapshots the kernel can run from. Under Node 22 and 24, a worker thread
 * of any process started from a user snapshot aborts when it loads child_process ("Assertion
 * failed: pipe_constructor_template_.IsEmpty()", shutdown_wrap on 24; seen with an empty
 * snapshot too). The kernel's interrupt watchdog was such a thread until it left its sentinel
 * to the main thread (kernel/interrupt.js); a cell's own Worker still may be.
 */
const SNAPSHOT_MAJORS = [20, 26];

/** Whether kernels use and build snapshots here (Linux, a Node above, and not switched off). */
function enabled(env = process.env) {
  const major = Number(process.versions.node.split(".")[0]);
  return env.TSLAB_IPC_SNAPSHOT !== "0" && process.platform === "linux" && SNAPSHOT_MAJORS.includes(major);
}

/** This user's snapshot folder (the same rule as kernel/start.sh), or null without a home. */
function snapshotDir(env = process.env) {
  const home = env.HOME || os.homedir();
  const cacheHome = env.XDG_CACHE_HOME || (home ? path.join(home, ".cache") : "");
  return cacheHome ? path.join(cacheHome, "tslab-ipc", "snapshot") : null;
}

/** The machine's snapshot folder (the same rule as kernel/start.sh). */
function systemSnapshotDir(env = process.env) {
  return env.TSLAB_IPC_SNAPSHOT_SYSTEM_DIR || "/var/cache/tslab-ipc/snapshot";
}

/**
 * The blob for `node` and this kernel folder (kernel/start.sh names it the same way): this
 * user's, or the machine's (`system`).
 */
function blobFile(node = process.execPath, env = process.env, system = false) {
  const dir = system ? systemSnapshotDir(env) : snapshotDir(env);
  if (!dir) return null;
  const n = fs.statSync(node);
  return path.join(
    dir,
    `${n.dev}-${n.ino}-${Math.floor(n.mtimeMs / 1000)}-${n.size}+${folderKey(fs.statSync(__dirname))}.blob`,
  );
}

/** The part of a blob's name after "+": its kernel folder's device and inode. @param {fs.Stats} st */
function folderKey(st) {
  return `${st.dev}-${st.ino}`;
}

/** The stamps a blob was made from (file → stamp), or null when they cannot be read. @param {string} blob */
function stampsOf(blob) {
  try {
    return /** @type {Record<string, string>} */ (JSON.parse(fs.readFileSync(`${blob}.json`, "utf8")));
  } catch {
    return null;
  }
}

/** Whether `blob` exists and every file it was made from is unchanged. @param {string} blob */
function isFresh(blob) {
  const stamps = stampsOf(blob);
  return (
    stamps !== null && fs.existsSync(blob) && Object.entries(stamps).every(([file, stamp]) => stampOf(file) === stamp)
  );
}

/**
 * The folder for blobs, made and checked: this user's own and private (0700), or for the
 * machine's blob root's own and writable by root only (0755: every user reads it).
 * @param {string} dir
 */
function blobDir(dir, system = false) {
  fs.mkdirSync(dir, { recursive: true, mode: system ? 0o755 : 0o700 });
  const st = fs.lstatSync(dir);
  const owner = system ? 0 : process.getuid?.();
  if (!st.isDirectory() || (owner !== undefined && st.uid !== owner) || (st.mode & (system ? 0o022 : 0o077)) !== 0) {
    throw new Error(
      `${dir} is not a folder ${system ? "of root that only root can write" : "private to this user"}; no snapshot is built there`,
    );
  }
}

/**
 * Which file each `require` of the snapshot's modules resolves to, found by loading them here
 * (the builder may load built-in modules only, so it loads these files itself, by this table).
 * Call it in a fresh process (`node kernel/snapshot.js build`): modules already loaded are not seen.
 * @returns {{ resolutions: Record<string, Record<string, string>>, entries: Record<string, string> }}
 */
function recordModules() {
  const Module = /** @type {any} */ (require("module"));
  /** @type {Record<string, Record<string, string>>} */
  const resolutions = {};
  const original = Module._resolveFilename;
  Module._resolveFilename = function (
    /** @type {string} */ request,
    /** @type {any} */ parent,
    /** @type {any[]} */ ...rest
  ) {
    const file = original.call(this, request, parent, ...rest);
    if (parent?.filename && path.isAbsolute(file)) (resolutions[parent.filename] ??= {})[request] = file;
    return file;
  };
  /** @type {Record<string, string>} */
  const entries = {};
  try {
    for (const [name, file] of Object.entries(MODULES)) {
      entries[name] = require.resolve(file);
      require(file);
    }
  } finally {
    Module._resolveFilename = original;
  }
  return { resolutions, entries };
}

/**
 * Builds the blob for this Node and checkout (a few seconds), replacing the old one.
 * @returns {string} the blob's path
 */
function build(env = process.env, system = false) {
  if (!enabled({ ...env, TSLAB_IPC_SNAPSHOT: "1" })) {
    throw new Error(`no start-up snapshot for Node ${process.version} (see SNAPSHOT_MAJORS in kernel/snapshot.js)`);
  }
  if (system && process.getuid?.() !== 0) throw new Error("only root builds the machine's snapshot");
  const blob = blobFile(process.execPath, env, system);
  if (!blob) throw new Error("no home folder: nowhere to keep a snapshot");
  const dir = path.dirname(blob);
  blobDir(dir, system);
  // The work folders of builds that were killed (a server stopped mid-build).
  for (const name of fs.readdirSync(dir)) {
    const old = path.join(dir, name);
    if (name.startsWith("build-") && Date.now() - fs.statSync(old).mtimeMs > STALE_LOCK_MS)
      fs.rmSync(old, { recursive: true, force: true });
  }
  const work = fs.mkdtempSync(path.join(dir, "build-"));
  try {
    const modules = recordModules();
    // The prelude, compiled by the builder: the library's names come from the library loaded here.
    const { repoRoot } = require("./resolve");
    const prelude = require("./prelude").kernelPrelude(require(repoRoot), repoRoot);
    // The large strings of the heap the builder makes (TypeScript's source, the largest
    // declaration texts) as bytes and where each is: the pages writer below looks for them.
    const strings = { image: path.join(work, "strings.image"), index: path.join(work, "strings.json") };
    const manifest = { ...modules, cwd: work, prelude, strings };
    const manifestFile = path.join(work, "manifest.json");
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
    const partial = path.join(work, "snapshot.blob");
    const r = spawnSync(process.execPath, ["--snapshot-blob", partial, "--build-snapshot", ENTRY], {
      cwd: work,
      env: { ...env, TSLAB_IPC_SNAPSHOT_MANIFEST: manifestFile },
      encoding: "utf8",
    });
    if (r.status !== 0 || !fs.existsSync(partial)) {
      throw new Error(
        `node --build-snapshot failed (${r.status ?? r.signal}): ${(r.stderr || "").trim().slice(-2000)}`,
      );
    }
    fs.chmodSync(partial, system ? 0o644 : 0o600);
    if (system) fs.chmodSync(path.join(work, "stamps.json"), 0o644);
    // The copy of the blob a kernel's memory holds, and the large strings in its heap, as files
    // it can map (kernel/snapshot-pages.js), written by a process started from the blob. Without
    // them a kernel keeps both resident. Each file appears whole (renamed into place) or not at all.
    const writer = [
      PAGES_WRITER,
      "write",
      partial,
      ...(fs.existsSync(strings.index) ? [strings.image, strings.index] : []),
    ];
    // The writer reads its own memory while V8's threads run. One left no pages file once in a
    // bench run (not reproduced in 70 runs), and every kernel then kept the copy: so up to three
    // tries, and what the last one said on stderr (the kernel's background builds discard it).
    const wanted = [pagesFile(partial), ...(fs.existsSync(strings.index) ? [stringsFile(partial)] : [])];
    for (let attempt = 1; attempt <= 3 && !wanted.every((f) => fs.existsSync(f)); attempt++) {
      const w = spawnSync(process.execPath, ["--snapshot-blob", partial, ...writer], {
        cwd: work,
        env,
        encoding: "utf8",
      });
      if (attempt === 3 && w.status !== 0) console.error(`tslab-ipc snapshot: ${(w.stderr || "").trim().slice(-500)}`);
    }
    for (const name of [pagesFile, stringsFile]) {
      fs.rmSync(name(blob), { force: true });
      if (fs.existsSync(name(partial))) fs.renameSync(name(partial), name(blob));
    }
    fs.renameSync(path.join(work, "stamps.json"), `${blob}.json`);
    fs.renameSync(partial, blob);
    removeDeadBlobs(dir, blob);
    return blob;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Removes the blobs in `dir` (besides `keep`) that no kernel will start from again, each with its
 * stamps, pages and strings files (~100 MB a blob). Called after each build; never throws.
 * - A blob whose kernel folder is gone or was replaced (a checkout deleted, a package
 *   reinstalled or upgraded). Its name ends with the folder's device and inode, and its stamps
 *   name that folder's files: when none of their folders has that device and inode any more,
 *   start.sh will not pick the blob for the folder it was made for. (A folder elsewhere that
 *   gets the same inode would start from it, find it stale and build its own.)
 * - A blob of this checkout not rebuilt for a month: its Node binary is gone (an upgrade); blobs
 *   of the Nodes in use (20 and 26 side by side) are rebuilt more often.
 * A blob without readable stamps goes by the second rule only. A kernel running from a removed
 * blob keeps the files it has open; Linux frees them when it exits.
 * @param {string} dir
 * @param {string} keep
 */
function removeDeadBlobs(dir, keep) {
  let names;
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const file = path.join(dir, name);
    if (!name.endsWith(".blob") || file === keep) continue;
    try {
      if (!isDead(file, keep)) continue;
      for (const f of [file, `${file}.json`, pagesFile(file), stringsFile(file)]) fs.rmSync(f, { force: true });
    } catch {
      // Gone meanwhile, or not ours to read: the next build looks again.
    }
  }
}

/** Whether no kernel will start from `blob` again (see removeDeadBlobs). @param {string} blob @param {string} keep */
function isDead(blob, keep) {
  const folder = blob.slice(blob.lastIndexOf("+") + 1, -".blob".length);
  if (keep.endsWith(`+${folder}.blob`) && Date.now() - fs.statSync(blob).mtimeMs > OLD_BLOB_MS) return true;
  const stamps = stampsOf(blob);
  if (stamps === null) return false;
  return ![...new Set(Object.keys(stamps).map((f) => path.dirname(f)))].some((f) => {
    const st = fs.statSync(f, { throwIfNoEntry: false });
    return st?.isDirectory() && folderKey(st) === folder;
  });
}

/**
 * Whether kernel/start.sh starts this user's kernels from the machine's blob for this Node and
 * checkout, and that blob is fresh: a regular file in a folder, both root's and writable by
 * nobody else (start.sh's own test), and newer than the user's blob if they have one.
 */
function machineBlobServes(env = process.env) {
  try {
    const blob = blobFile(process.execPath, env, true);
    if (!blob) return false;
    const trusted = (/** @type {fs.Stats} */ st) => st.uid === 0 && (st.mode & 0o022) === 0;
    const folder = fs.lstatSync(path.dirname(blob));
    const file = fs.lstatSync(blob);
    if (!folder.isDirectory() || !trusted(folder) || !file.isFile() || !trusted(file)) return false;
    const own = blobFile(process.execPath, env, false);
    const ownStat = own ? fs.statSync(own, { throwIfNoEntry: false }) : undefined;
    // Whole seconds: what every shell's `-nt` tells apart (a tie means no, and a build, as before).
    const newer = !ownStat || Math.floor(file.mtimeMs / 1000) > Math.floor(ownStat.mtimeMs / 1000);
    return newer && isFresh(blob);
  } catch {
    return false;
  }
}

/**
 * Builds the blob (this user's, or the machine's: `system`, as root) in a detached process at the
 * lowest priority, unless it is fresh, one is being built (the lock), or snapshots are off or
 * only used; and a user's not while the machine's serves them. Never throws: a kernel starts
 * either way.
 *
 * Why not the user's beside a fresh machine's: nothing would start from it, and a build costs ~12 s
 * of CPU, even at the lowest priority not free. Measured on `npm start` (its kernels from the
 * machine's blob, the user with none), alternated: 51.6 and 48.4 s with the build, 42.3 and 38.0
 * without.
 */
function buildInBackground(env = process.env, system = false) {
  if (!enabled(env) || env.TSLAB_IPC_SNAPSHOT === "use") return;
  if (!Object.values(MODULES).every((file) => fs.existsSync(file))) return;
  try {
    const blob = blobFile(process.execPath, env, system);
    if (!blob || isFresh(blob) || (!system && machineBlobServes(env))) return;
    blobDir(path.dirname(blob), system);
    const lock = `${blob}.lock`;
    try {
      if (Date.now() - fs.statSync(lock).mtimeMs < STALE_LOCK_MS) return;
      fs.rmSync(lock, { force: true });
    } catch {
      // No lock.
    }
    fs.writeFileSync(lock, String(process.pid), { flag: "wx", mode: 0o600 });
    const script = `try { require(${JSON.stringify(__filename)}).build(process.env, ${system}); } finally { require("fs").rmSync(${JSON.stringify(lock)}, { force: true }); }`;
    const nice = fs.existsSync("/usr/bin/nice") ? ["/usr/bin/nice", "-n", "19"] : [];
    const command = [...nice, process.execPath, "-e", script];
    const child = spawn(command[0], command.slice(1), { detached: true, stdio: "ignore", env });
    child.on("error", () => fs.rmSync(lock, { force: true }));
    child.unref();
  } catch {
    // A build that cannot start now is tried at the next kernel start.
  }
}

/** How this process started: "snapshot", "stale" (a blob whose files changed) or "plain". */
function startedFrom() {
  return /** @type {any} */ (globalThis)[STATE] ?? "plain";
}

module.exports = {
  build,
  buildInBackground,
  enabled,
  isFresh,
  machineBlobServes,
  removeDeadBlobs,
  startedFrom,
  SNAPSHOT_MAJORS,
};

if (require.main === module) {
  const command = process.argv[2];
  const system = process.argv.includes("--system");
  if (command === "build") console.log(build(process.env, system));
  else if (command === "path") console.log(blobFile(process.execPath, process.env, system) ?? "(no home folder)");
  else if (command === "fresh") {
    const blob = enabled() ? blobFile(process.execPath, process.env, system) : null;
    if (blob && isFresh(blob)) console.log(blob);
    else process.exitCode = 1;
  } else {
    console.error("usage: node kernel/snapshot.js build|path|fresh [--system]");
    process.exit(2);
  }
}
