// The sandbox one submission runs in: the command prefix that wraps grade.py (and so the
// kernel it starts), chosen once per grading run from what this machine allows.
//
// Invariants:
// - "namespace": its own IPC, mount, PID and network namespaces (unshare; as a normal user
//   through user namespaces that leave the submission the grader's own uid and no capability:
//   process/namespaces). What it creates vanishes with it, every process it started dies with
//   it (--kill-child on a PID namespace), and what it lists as leaked is exactly its own.
//   Of the grader's files it sees only its view (SandboxView): its own run folder, writable
//   (a copy in memory, with room for limits.tmpfsBytes more, thrown away with the sandbox);
//   the parts of the checkout and the kernelspec the kernel needs, read-only; every top-level
//   folder but the system's (machineFolders: homes, /run's sockets, /var...), the work folder,
//   the checkout, the source, the submissions and the grades empty. Everything else of the
//   machine is read-only, and its network is a loopback of its own: no submission reads
//   another's work, the solutions, the hidden tests or the grader's files, reaches another's
//   kernel or a socket of the grader's, or changes a file a later submission or the grader
//   reads, even where it runs as the grader's own uid.
// - "names" (no unshare here): a private TMPDIR, and grading runs one submission at a time so
//   that a before/after diff of the IPC objects is exactly that submission's; grade.py removes
//   them. It hides nothing: the grader's files are protected by their modes alone.
// - Always: limits (data memory, processes, CPU time, file size, no core files), the first to
//   go when the machine runs out of memory (oom_score_adj 1000) and, when the grader runs as
//   root, an unprivileged user (nobody) that can read only what it needs.
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
  /** Size of its private /tmp and /dev/shm (tmpfs), and what it may add to its run folder, bytes. */
  tmpfsBytes: number;
  /**
   * System V shared memory of its IPC namespace in all, bytes (kernel.shmall and shmmax there):
   * segments are in no process's RLIMIT_DATA, and one nobody attaches is in no process's memory.
   */
  sharedMemoryBytes: number;
  /**
   * The largest submission notebook the grader reads, bytes: it parses a notebook in its own
   * memory (a 300 MB one of empty objects took it out of its heap). Executed course notebooks
   * with their figures are up to ~6 MB.
   */
  notebookBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  dataBytes: 2 * 1024 ** 3,
  processes: 2048,
  cpuSeconds: 600,
  fileBytes: 256 * 1024 ** 2,
  tmpfsBytes: 256 * 1024 ** 2,
  sharedMemoryBytes: 256 * 1024 ** 2,
  notebookBytes: 32 * 1024 ** 2,
};

/** What one submission's sandbox shows of the grader's files ("namespace" only). */
export interface SandboxView {
  /**
   * Folders it writes (its run folder: home, TMPDIR, runtime files), at their paths: each a copy
   * in a tmpfs of its own, so what the submission writes there never reaches the folder itself.
   */
  writable: string[];
  /** Files and folders it reads (what the kernel needs), kept at their paths, read-only. */
  readable: string[];
  /** Files and folders shown empty (a folder) or as /dev/null (a file), unless kept above. */
  hidden: string[];
}

export interface Sandbox {
  kind: SandboxKind;
  /** The user the submission runs as ("nobody"), or null (the grader's own). */
  user: { name: string; uid: number; gid: number } | null;
  /** Whether submissions may run side by side (their leaks are told apart). */
  parallel: boolean;
  /** argv prefix for one submission. */
  prefix(view: SandboxView, limits: Limits): string[];
  /** For people: what the sandbox is. */
  description: string;
}

// Inside the new namespaces, as their root ($1: tmpfs size; $2: System V shared memory in all;
// then newline-separated lists: $3 the folders and files kept, $4 those of them kept writable,
// $5 what to hide before the kept are back, $6 what to hide after, being inside something kept):
// 0. the IPC namespace's limits on System V shared memory (its own sysctls, its root's to set);
// 1. every mount but /proc, /sys and /dev read-only (as few mounts as possible: those inherited);
// 2. a private /dev/shm; the kept parked there (bind mounts, read-only as their sources now);
// 3. the hidden covered (an empty tmpfs on a folder, /dev/null on a file), a private /tmp, the
//    kept moved back to their paths (made in the empty tmpfs where need be), except a writable
//    folder: a tmpfs of its own at its path, holding a copy of it and room for $1 bytes more,
//    so a submission writes none of the grader's disk and fills none of it; the rest hidden;
// 4. the network namespace's loopback up, for the kernel's sockets.
// Each step is one process per mount at most; `mount -n`: the mount table in /run is read-only
// by then, and a throwaway namespace has nothing to record there. `set -f`: the lists are split
// on newlines only and never globbed (a course folder named "os [2026]" is a path, not a pattern).
const MOUNTS = `set -ef
size="$1"; shm="$2"; keep="$3"; writable="$4"; hide_first="$5"; hide_then="$6"; shift 6
echo "$shm" > /proc/sys/kernel/shmmax
echo $((shm / $(getconf PAGESIZE))) > /proc/sys/kernel/shmall
IFS='
'
for m in $(awk '{ print $5 }' /proc/self/mountinfo); do
  case "$m" in *'\\'*) m=$(printf '%b' "$m") ;; esac
  case "$m" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*) continue ;; esac
  mount -n -o remount,bind,ro "$m" || [ "$m" != / ]
done
mount -n -t tmpfs -o mode=1777,nosuid,nodev,size="$size" tmpfs /dev/shm
i=0; dirs=; files=; parks=
for d in $keep; do
  if [ -d "$d" ]; then dirs="$dirs$IFS/dev/shm/.grading-$i"; else files="$files$IFS/dev/shm/.grading-$i"; fi
  parks="$parks$IFS/dev/shm/.grading-$i"; i=$((i+1))
done
[ -z "$dirs" ] || mkdir $dirs
[ -z "$files" ] || touch $files
i=0; for d in $keep; do mount -n --bind "$d" /dev/shm/.grading-$i; i=$((i+1)); done
hide() {
  for h in $1; do
    if [ -d "$h" ]; then mount -n -t tmpfs -o mode=755,nosuid,nodev,size=1m tmpfs "$h"
    elif [ -e "$h" ]; then mount -n --bind /dev/null "$h"; fi
  done
}
hide "$hide_first"
mount -n -t tmpfs -o mode=1777,nosuid,nodev,size="$size" tmpfs /tmp
# Owners are kept where this is the machine's root; in a user namespace every file copied is the
# grader's, the one user mapped (and a file of another user could not be given to its owner).
own=; awk '$2 == 0 { r = 1 } END { exit !r }' /proc/self/uid_map && own=,ownership
i=0
for d in $keep; do
  p=/dev/shm/.grading-$i; i=$((i+1))
  if [ -d $p ]; then [ -d "$d" ] || mkdir -p "$d"; else [ -e "$d" ] || { mkdir -p "\${d%/*}"; : > "$d"; }; fi
  case "$IFS$writable$IFS" in
    *"$IFS$d$IFS"*) w=1 ;;
    *) w= ;;
  esac
  if [ -n "$w" ] && [ -d $p ]; then
    used=$(du -sk $p | cut -f1)
    mount -n -t tmpfs -o nosuid,nodev,size=$((used * 1024 + size)) tmpfs "$d"
    cp -R --preserve=mode,timestamps,links$own $p/. "$d"/
    umount -n $p
  else
    mount -n --move $p "$d"
    [ -z "$w" ] || mount -n -o remount,bind,rw "$d"
  fi
done
[ -z "$parks" ] || rm -d $parks
hide "$hide_then"
ip link set lo up
unset IFS
exec "$@"`;

/** The top-level folders that hold the system a kernel runs on (and /tmp, private in the sandbox). */
const SYSTEM_FOLDERS = new Set([
  "bin",
  "dev",
  "etc",
  "lib",
  "lib32",
  "lib64",
  "libx32",
  "nix",
  "proc",
  "sbin",
  "sys",
  "tmp",
  "usr",
]);

/**
 * The machine's other top-level folders, for a view to hide: homes, /root, /run (users' D-Bus,
 * ssh-agent and Jupyter sockets), /var, /srv, /opt, /mnt... A read-only mount keeps no one
 * from a file they may read, or from connecting to a Unix socket: as the grader's own uid a
 * submission read the grader's private files and asked a socket of theirs outside to run a
 * command. What the kernel needs from there, a view lists as readable.
 */
export function machineFolders(): string[] {
  return fs
    .readdirSync("/", { withFileTypes: true })
    .filter((e) => e.isDirectory() && !SYSTEM_FOLDERS.has(e.name))
    .map((e) => path.join("/", e.name));
}

/** Whether `inner` is `outer` or lies inside it. */
function within(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith(path.sep) ? outer : outer + path.sep);
}

/** MOUNTS' arguments for a view: the kept, the writable, and the hidden before and after. */
function mountArgs(view: SandboxView, limits: Limits): string[] {
  const abs = (list: string[]) => [...new Set(list.map((p) => path.resolve(p)))];
  const writable = abs(view.writable);
  // A readable path that is a link (node_modules linked elsewhere) is kept at its target too:
  // the kernel and its stamps name files by their real paths, which may lie in hidden folders.
  const real = (p: string) => {
    try {
      return [p, fs.realpathSync(p)];
    } catch {
      return [p];
    }
  };
  const keep = abs([...view.readable.flatMap(real), ...writable]);
  // Never "/" or a folder the system lives in: hiding those would hide the kernel's Node and Python.
  const hidden = abs(view.hidden).filter((h) => ![...SYSTEM_FOLDERS].some((s) => within(path.join("/", s), h)));
  const inKept = (h: string) => keep.some((k) => k !== h && within(h, k));
  const lines = (list: string[]) => list.join("\n");
  return [
    String(limits.tmpfsBytes),
    String(limits.sharedMemoryBytes),
    lines(keep),
    lines(writable),
    lines(hidden.filter((h) => !inKept(h) && !keep.includes(h))),
    lines(hidden.filter(inKept)),
  ];
}

const UNSHARE = [
  "--ipc",
  "--mount",
  "--pid",
  "--net",
  "--fork",
  "--kill-child",
  "--mount-proc",
  "--propagation",
  "private",
];

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
    // The first processes the kernel's OOM killer takes, before the grader or another user's:
    // memory shared between processes (MAP_SHARED, memfd) is in no rlimit.
    "choom",
    "-n",
    "1000",
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
  const mountScript = (view: SandboxView, limits: Limits) => ["sh", "-c", MOUNTS, "sh", ...mountArgs(view, limits)];
  const unshare = unshareArgv(UNSHARE);
  const probeDir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-sandbox-probe-"));
  const allowed = works([
    ...unshare,
    ...mountScript({ writable: [probeDir], readable: [], hidden: [] }, DEFAULT_LIMITS),
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
      prefix: (view, limits) => [...unshare, ...mountScript(view, limits), ...limitArgs(limits), ...drop],
      description: `own IPC, mount, PID and network namespaces, private /dev/shm, /tmp and run folder in memory, the grader's files hidden or read-only (${unshare.includes("--user") ? "user namespace" : "unshare"})${user ? ", as nobody" : ""}, limits by prlimit and on System V shared memory, first to go out of memory`,
    };
    return chosen;
  }
  chosen = {
    kind: "names",
    user,
    parallel: false,
    prefix: (_view, limits) => [...limitArgs(limits), ...asNobody],
    description: `no namespaces here (unshare not allowed): private TMPDIR, one submission at a time, leaks found by a before/after diff${user ? ", as nobody" : ""}, limits by prlimit, first to go out of memory`,
  };
  return chosen;
}
