// Per-user folders for runtime state (journals, lab folders) that only this user can reach.
//
// Invariants (what OpenSSH and systemd do with per-user runtime state):
// - A folder is used only after lstat shows a real directory (not a symlink), owned by
//   getuid(), with no group or other permission bits, in a parent that nobody else can
//   rearrange (owned by us or root, and not writable by others unless sticky, as /tmp is).
// - It is created without `recursive`, so an existing folder is never silently adopted: it
//   passes the same check or is not used.
// - A folder that fails the check is never used, and never "repaired" (chmod/chown of someone
//   else's folder is theirs to do). A fresh private one (mkdtemp) is used instead, and the
//   process says so once per folder on stderr. The user's IPC calls never fail because of it.
import fs from "fs";
import os from "os";
import path from "path";
import { IpcError } from "../errors";

const PRIVATE_MODE = 0o700;
const GROUP_OTHER_BITS = 0o077;
const GROUP_OTHER_WRITE = 0o022;
/** The sticky bit (S_ISVTX): in such a folder only an entry's owner may rename or remove it. */
const S_ISVTX = 0o1000;

export function currentUid(): number {
  return typeof process.getuid === "function" ? process.getuid() : 0;
}

/** Why `dir` is not a private folder of this user, or null when it is. Follows no symlink. */
export function privateDirProblem(dir: string): string | null {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (e) {
    return `cannot be examined (${(e as NodeJS.ErrnoException).code})`;
  }
  if (st.isSymbolicLink()) return "is a symbolic link";
  if (!st.isDirectory()) return "is not a directory";
  if (st.uid !== currentUid()) return `is owned by uid ${st.uid}, not ${currentUid()}`;
  if ((st.mode & GROUP_OTHER_BITS) !== 0) return `has mode 0${(st.mode & 0o7777).toString(8)}, not private`;
  return null;
}

/** Why entries of `parent` could be swapped by someone else, or null when they cannot. */
function parentProblem(parent: string): string | null {
  let st: fs.Stats;
  try {
    st = fs.statSync(parent);
  } catch (e) {
    return `its folder ${parent} cannot be examined (${(e as NodeJS.ErrnoException).code})`;
  }
  if (!st.isDirectory()) return `${parent} is not a directory`;
  if (st.uid !== currentUid() && st.uid !== 0) return `its folder ${parent} is owned by uid ${st.uid}`;
  if ((st.mode & GROUP_OTHER_WRITE) !== 0 && (st.mode & S_ISVTX) === 0)
    return `its folder ${parent} is writable by others and not sticky`;
  return null;
}

/** Creates `dir` (0700, not recursive) or accepts an existing one; the reason it is unusable, or null. */
function makePrivateDir(dir: string): string | null {
  let parent: string;
  try {
    parent = fs.realpathSync(path.dirname(dir));
  } catch (e) {
    return `its folder cannot be resolved (${(e as NodeJS.ErrnoException).code})`;
  }
  const unsafeParent = parentProblem(parent);
  if (unsafeParent) return unsafeParent;
  try {
    fs.mkdirSync(dir, { mode: PRIVATE_MODE });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST")
      return `cannot be created (${(e as NodeJS.ErrnoException).code})`;
  }
  return privateDirProblem(dir);
}

const resolved = new Map<string, string>();

/**
 * The private folder to use for `wanted`: `wanted` itself when it is (or can be made) ours
 * alone, else a fresh private folder in the temp directory, announced once. Throws only when
 * not even a fresh folder can be made (the temp directory is unusable).
 */
export function privateDir(wanted: string): string {
  const known = resolved.get(wanted);
  if (known !== undefined) return known;
  const problem = makePrivateDir(wanted);
  let dir = wanted;
  if (problem !== null) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `tslab-ipc-${currentUid()}-`));
    const fresh = privateDirProblem(dir);
    if (fresh !== null)
      throw new IpcError("EACCES", `EACCES: permission denied, the fresh folder ${dir} ${fresh}`, { path: dir });
    process.stderr.write(`tslab-ipc: not using ${wanted}: it ${problem}; using ${dir} instead\n`);
  }
  resolved.set(wanted, dir);
  return dir;
}

/** The default per-user folder in the temp directory (where lab folders live). */
export function tempStateDir(): string {
  return privateDir(path.join(os.tmpdir(), `tslab-ipc-${currentUid()}`));
}

/**
 * Where journals live: $TSLAB_IPC_RECORDS when set (tests, a course's own choice), else
 * $XDG_RUNTIME_DIR/tslab-ipc (the login's private tmpfs), else the per-user temp folder.
 * Each is verified the same way.
 */
export function journalDir(): string {
  const override = process.env.TSLAB_IPC_RECORDS;
  if (override) return privateDir(path.resolve(override));
  const runtime = process.env.XDG_RUNTIME_DIR;
  if (runtime && path.isAbsolute(runtime)) return privateDir(path.join(runtime, "tslab-ipc"));
  return tempStateDir();
}
