// The sandbox one submission runs in: the command prefix that wraps grade.py (and so the
// kernel it starts), chosen once per grading run from what this machine allows.
//
// Invariants:
// - "namespace": its own IPC namespace, /dev/shm, /tmp and PID namespace (unshare; as a
//   normal user through user namespaces that leave the submission the grader's own uid and no
//   capability: process/namespaces). What it creates vanishes with it, every process
//   it started dies with it (--kill-child on a PID namespace), and what it lists as leaked is
//   exactly its own.
// - "names" (no unshare here): a private TMPDIR, and grading runs one submission at a time so
//   that a before/after diff of the IPC objects is exactly that submission's; grade.py removes
//   them.
// - Always: limits (data memory, processes, CPU time, file size, no core files) and, when the
//   grader runs as root, an unprivileged user (nobody) that can read only what it needs.
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { asCallerAgain, unshareArgv } from "../process/namespaces";

export type SandboxKind = "namespace" | "names";

export interface Limits {
  /** RLIMIT_DATA of each process, bytes (heap and private writable mappings). */
  dataBytes: number;
  /** RLIMIT_NPROC: processes and threads of the sandbox user. */
  processes: number;
  /** RLIMIT_CPU of each process, seconds. */
  cpuSeconds: number;
  /** RLIMIT_FSIZE: the largest file it may write, bytes. */
  fileBytes: number;
  /** Size of its private /tmp and /dev/shm (tmpfs), bytes. */
  tmpfsBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  dataBytes: 2 * 1024 ** 3,
  processes: 2048,
  cpuSeconds: 600,
  fileBytes: 256 * 1024 ** 2,
  tmpfsBytes: 256 * 1024 ** 2,
};

export interface Sandbox {
  kind: SandboxKind;
  /** The user the submission runs as ("nobody"), or null (the grader's own). */
  user: { name: string; uid: number; gid: number } | null;
  /** Whether submissions may run side by side (their leaks are told apart). */
  parallel: boolean;
  /** argv prefix for one submission; `workDir` must be visible inside (it is kept at its path). */
  prefix(workDir: string, limits: Limits): string[];
  /** For people: what the sandbox is. */
  description: string;
}

// Inside the new mount namespace: a private /dev/shm, then a private /tmp with the folders the
// grading needs ($1, colon-separated: the work folder, and this checkout when it lives in /tmp)
// bound back at their old paths (parked on /dev/shm while /tmp is replaced; a bind, not a move,
// since a user namespace may not move mounts it inherited).
const MOUNTS = `set -e
keep="$1"; size="$2"; shift 2
mount -t tmpfs -o mode=1777,nosuid,nodev,size="$size" tmpfs /dev/shm
IFS=:
i=0
for d in $keep; do mkdir /dev/shm/.grading-$i; mount --bind "$d" /dev/shm/.grading-$i; i=$((i+1)); done
mount -t tmpfs -o mode=1777,nosuid,nodev,size="$size" tmpfs /tmp
i=0
for d in $keep; do mkdir -p "$d"; mount --bind /dev/shm/.grading-$i "$d"; umount /dev/shm/.grading-$i; rmdir /dev/shm/.grading-$i; i=$((i+1)); done
unset IFS
exec "$@"`;

/** Folders the sandbox keeps visible at their paths: the work folder, and the checkout (its grader script, kernel and modules) where a private /tmp would hide it. */
function keptFolders(work: string): string {
  const checkout = path.resolve(__dirname, "..", "..");
  const tmp = path.resolve(os.tmpdir());
  const underTmp = (d: string) => d === tmp || d.startsWith(tmp + path.sep) || d.startsWith("/tmp/");
  return [work, ...(underTmp(checkout) ? [checkout] : [])].join(":");
}

const UNSHARE = ["--ipc", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private"];

function works(argv: string[]): boolean {
  const r = spawnSync(argv[0], argv.slice(1), { stdio: "ignore", timeout: 20000 });
  return !r.error && r.status === 0;
}

function limitArgs(limits: Limits): string[] {
  return [
    "prlimit",
    `--data=${limits.dataBytes}`,
    `--nproc=${limits.processes}`,
    `--cpu=${limits.cpuSeconds}`,
    `--fsize=${limits.fileBytes}`,
    "--core=0",
    "--",
  ];
}

function nobody(): { name: string; uid: number; gid: number } | null {
  const r = spawnSync("getent", ["passwd", "nobody"], { encoding: "utf8" });
  const f = r.status === 0 ? r.stdout.trim().split(":") : [];
  return f.length >= 4 ? { name: "nobody", uid: Number(f[2]), gid: Number(f[3]) } : null;
}

let chosen: Sandbox | undefined;

/** The strongest sandbox this machine allows (tried once, with `true` as the command). */
export function chooseSandbox(): Sandbox {
  if (chosen) return chosen;
  const root = process.getuid?.() === 0;
  const user = root ? nobody() : null;
  const asNobody = user
    ? ["setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", "--no-new-privs", "--"]
    : [];
  // In namespaces made by a normal user, the submission is the grader again once the mounts are.
  const drop = user ? asNobody : asCallerAgain();
  const mountScript = (work: string, limits: Limits) => [
    "sh",
    "-c",
    MOUNTS,
    "sh",
    keptFolders(work),
    String(limits.tmpfsBytes),
  ];
  const unshare = unshareArgv(UNSHARE);
  const probeDir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-sandbox-probe-"));
  const allowed = works([
    ...unshare,
    ...mountScript(probeDir, DEFAULT_LIMITS),
    ...limitArgs(DEFAULT_LIMITS),
    ...drop,
    "true",
  ]);
  fs.rmSync(probeDir, { recursive: true, force: true });
  if (allowed) {
    chosen = {
      kind: "namespace",
      user,
      parallel: true,
      prefix: (work, limits) => [...unshare, ...mountScript(work, limits), ...limitArgs(limits), ...drop],
      description: `own IPC, mount and PID namespaces, private /dev/shm and /tmp (${unshare.includes("--user") ? "user namespace" : "unshare"})${user ? ", as nobody" : ""}, limits by prlimit`,
    };
    return chosen;
  }
  chosen = {
    kind: "names",
    user,
    parallel: false,
    prefix: (_work, limits) => [...limitArgs(limits), ...asNobody],
    description: `no namespaces here (unshare not allowed): private TMPDIR, one submission at a time, leaks found by a before/after diff${user ? ", as nobody" : ""}, limits by prlimit`,
  };
  return chosen;
}
