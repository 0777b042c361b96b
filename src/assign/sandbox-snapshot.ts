// The kernel's start-up snapshot (kernel/snapshot.js) for the grader's sandbox. A submission's
// home is new and thrown away, so without this every graded kernel starts without a snapshot:
// about 1.2 s more per submission, 45% of a typical one.
//
// Invariants:
// - A blob is code. The sandbox takes one only from the grader: the grader's own blob (or the
//   machine's, root's: kernel/snapshot.js) when it is fresh for the very kernel folder the
//   sandbox runs, or one the grader builds: into its own cache for its checkout (later runs and
//   kernels take it too), into its private work folder for a readable copy of the checkout
//   (thrown away with the copy). Nothing the sandbox writes reaches the grader's blob or another
//   submission's: each submission gets its own copy, in its own new home, owned by the sandbox
//   user as kernel/start.sh requires, and thrown away with that home. A copy changed by the
//   submission's own code could only matter to a later start of the same submission's kernel,
//   and the grader starts one kernel per submission.
// - Kernels in the sandbox run with TSLAB_IPC_SNAPSHOT=use: they never build a blob there (it
//   would spend seconds of the sandbox's CPU and limits). A blob whose files changed is not used
//   by the kernel (kernel/snapshot-entry.js), so grades never depend on it.
// - Building costs about as much as eight kernel starts save (~9 s); "auto" builds only for a
//   run of at least BUILD_FROM submissions.
import { spawnSync } from "child_process";
import fs from "fs";
import path from "path";

/** "auto": the grader's fresh blob, or one built for a run of BUILD_FROM or more submissions. */
export type SnapshotMode = "auto" | "always" | "never";

export const SNAPSHOT_MODES: readonly SnapshotMode[] = ["auto", "always", "never"];

/** Submissions from which "auto" builds a blob when the grader has none. */
export const BUILD_FROM = 10;

export interface SandboxSnapshot {
  /** The blob each submission's home gets a copy of. */
  blob: string;
  /** Where the copy goes, relative to the home (the name kernel/start.sh looks for). */
  relative: string;
  /** For the log. */
  description: string;
}

/** The blob path `node kernel/snapshot.js ARGS` prints, or null (an error, or no such file when `mustExist`). */
function snapshotCli(root: string, args: string[], env: NodeJS.ProcessEnv, mustExist = true): string | null {
  const r = spawnSync(process.execPath, [path.join(root, "kernel", "snapshot.js"), ...args], { env, encoding: "utf8" });
  const file = r.status === 0 ? r.stdout.trim().split("\n").pop() : undefined;
  return file && path.isAbsolute(file) && (!mustExist || fs.existsSync(file)) ? file : null;
}

/**
 * The blob for kernels run from `root`, or null with no snapshot to use: Node without snapshots,
 * mode "never", or no blob and too few submissions to build one. `root` is this checkout
 * (`copy` false) or the grader's readable copy of it inside `work`, its private work folder.
 */
export function prepareSandboxSnapshot(
  root: string,
  copy: boolean,
  work: string,
  submissions: number,
  mode: SnapshotMode,
): SandboxSnapshot | null {
  if (mode === "never") return null;
  const env: NodeJS.ProcessEnv = { ...process.env, TSLAB_IPC_SNAPSHOT: "1" };
  // Where a kernel of the sandbox, whose home is new and has no XDG_CACHE_HOME, looks for its
  // blob: kernel/snapshot.js's own rule (kernel/start.sh's), asked for a home of that kind.
  const home = path.join(work, "home");
  const inHomeFile = snapshotCli(root, ["path"], { ...env, HOME: home, XDG_CACHE_HOME: "" }, false);
  if (!inHomeFile) return null;
  const relative = path.relative(home, inHomeFile);
  const own = snapshotCli(root, ["fresh"], env) ?? snapshotCli(root, ["fresh", "--system"], env);
  if (own) return { blob: own, relative, description: `the grader's own (${own})` };
  if (mode === "auto" && submissions < BUILD_FROM) return null;
  const buildEnv: NodeJS.ProcessEnv = { ...env };
  if (copy) {
    buildEnv.XDG_CACHE_HOME = path.join(work, "snapshot-cache");
    fs.mkdirSync(buildEnv.XDG_CACHE_HOME, { mode: 0o700 });
  }
  const built = snapshotCli(root, ["build"], buildEnv);
  return built ? { blob: built, relative, description: `built for this run (${built})` } : null;
}

/** Copies the blob into a submission's new home (before the home is given to the sandbox user). */
export function placeSandboxSnapshot(snapshot: SandboxSnapshot, home: string): void {
  const copy = path.join(home, snapshot.relative);
  fs.mkdirSync(path.dirname(copy), { recursive: true, mode: 0o700 });
  fs.copyFileSync(snapshot.blob, copy);
  fs.chmodSync(copy, 0o600);
}
