// The kernel's table of System V segments, /proc/sysvipc/shm: what `ipcs -m` reads.
//
// Anyone may read it, whatever a segment's mode, so it answers where IPC_STAT refuses: a
// segment whose mode lacks owner read (0o000, 0o200) cannot be IPC_STATed by a creator who is
// not root, though its creator may still remove it. Columns are found by their header names.
import fs from "fs";
import type { RawShmidDs } from "../ffi/libc";

/** One line of /proc/sysvipc/shm, in shmctl(IPC_STAT)'s terms, with the segment's id. */
export interface ShmTableRow extends RawShmidDs {
  shmid: number;
}

const PROC_SYSV_SHM = "/proc/sysvipc/shm";

/** Every segment in this IPC namespace, as the kernel lists them now. */
export function readShmTable(): ShmTableRow[] {
  const lines = fs.readFileSync(PROC_SYSV_SHM, "utf8").trim().split("\n");
  const header = lines[0].trim().split(/\s+/);
  const at = (name: string) => header.indexOf(name);
  const [key, shmid, perms, size, cpid, lpid, nattch, uid, gid, cuid, cgid, atime, dtime, ctime] = [
    "key",
    "shmid",
    "perms",
    "size",
    "cpid",
    "lpid",
    "nattch",
    "uid",
    "gid",
    "cuid",
    "cgid",
    "atime",
    "dtime",
    "ctime",
  ].map(at);
  const rows: ShmTableRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i].trim().split(/\s+/);
    rows.push({
      shmid: Number(f[shmid]),
      key: Number(f[key]) | 0,
      // The mode in octal, with SHM_DEST (0o1000) and SHM_LOCKED (0o2000) as IPC_STAT gives them.
      mode: Number.parseInt(f[perms], 8),
      segsz: Number(f[size]),
      cpid: Number(f[cpid]),
      lpid: Number(f[lpid]),
      nattch: Number(f[nattch]),
      uid: Number(f[uid]),
      gid: Number(f[gid]),
      cuid: Number(f[cuid]),
      cgid: Number(f[cgid]),
      atime: Number(f[atime]),
      dtime: Number(f[dtime]),
      ctime: Number(f[ctime]),
    });
  }
  return rows;
}
