// Which file system holds a path: the check behind every claim a notebook makes about where its
// files live ("/tmp is ext4 here", "survives a reboot"). Read from /proc/self/mountinfo, so the
// answer is this process's view (its mount namespace), not a guess from the path.
import fs from "fs";
import { fsCall } from "../errors";
import { withCode } from "../codes";
import { realPathSoFar } from "../process/paths";
import { validateCString } from "../validators";

/** File systems whose files live only in memory: gone at reboot, no disk to write back to. */
export const IN_MEMORY_FILE_SYSTEMS: readonly string[] = ["tmpfs", "ramfs", "devtmpfs", "hugetlbfs"];

/** Where a path's file system is mounted and what it is. */
export interface FsInfo {
  /** The file system type as the kernel names it: "ext4", "tmpfs", "xfs", "overlay", ... */
  type: string;
  /** The mount point holding the path. */
  mountPoint: string;
  /** What is mounted there (a device such as /dev/vda, or a name such as "tmpfs"). */
  source: string;
  /** Whether the files live only in memory (tmpfs and the like): nothing survives a reboot. */
  inMemory: boolean;
}

// mountinfo escapes space, tab, newline and backslash as \ooo octal.
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

function contains(mountPoint: string, p: string): boolean {
  return p === mountPoint || mountPoint === "/" || p.startsWith(mountPoint + "/");
}

/**
 * The file system holding `p` (which need not exist yet: its nearest existing folder counts):
 * type, mount point, source, and whether it lives only in memory.
 * @example
 * ```ts
 * fsInfo("/dev/shm")  // { type: "tmpfs", mountPoint: "/dev/shm", source: "tmpfs", inMemory: true }
 * ```
 */
export function fsInfo(p: string): FsInfo {
  const real = realPathSoFar(validateCString(p, "path"));
  const text = fsCall("open", { path: "/proc/self/mountinfo" }, () => fs.readFileSync("/proc/self/mountinfo", "utf8"));
  let best: FsInfo | null = null;
  for (const line of text.split("\n")) {
    if (!line) continue;
    const [left, right] = line.split(" - ");
    if (right === undefined) continue;
    const mountPoint = unescapeMountField(left.split(" ")[4]);
    const [type, source] = right.split(" ");
    // Longest mount point wins; among equal ones the later line (mounted on top) wins.
    if (contains(mountPoint, real) && (!best || mountPoint.length >= best.mountPoint.length)) {
      best = { type, mountPoint, source: unescapeMountField(source), inMemory: IN_MEMORY_FILE_SYSTEMS.includes(type) };
    }
  }
  if (!best) throw withCode(new Error(`fsInfo: no mount in /proc/self/mountinfo holds '${real}'`), "ERR_NO_MOUNT");
  return best;
}

/**
 * The type of the file system holding `p`: "ext4", "tmpfs", ... (see fsInfo for the mount).
 * @example
 * ```ts
 * fsType("/dev/shm")  // "tmpfs"
 * ```
 */
export function fsType(p: string): string {
  return fsInfo(p).type;
}
