// System V shared memory, C-shaped: ftok, shmget, shmat, shmdt, shmctl.
import { constants as osConstants } from "os";
import { errno as lastErrno, fn, isFailedPointer, shmSize, shmStat, type Pointer, type RawShmidDs } from "../ffi/libc";
import { IpcError, formatKey, throwErrno } from "../errors";
import { ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE, ERR_INVALID_ARG_VALUE_RANGE, ERR_OUT_OF_RANGE } from "../codes";
import { validateCString, validateFlags, validateInt32, validateInteger, validateOptions } from "../validators";
import { IPC_CREAT, IPC_EXCL, IPC_PRIVATE, IPC_RMID, IPC_STAT, PROT_READ, PROT_WRITE, SHM_RDONLY } from "./constants";
import { checkUserAddress } from "./address";
import { SHMAT_MASK, SHMGET_MASK } from "./masks";
import { readShmTable } from "./proc-shm";
import { userNames } from "./user-names";
import { Region, regionToken } from "./region";
import { createdSegmentSize, isAlive, track, untrack, untrackSegment } from "./registry";

const { EINVAL } = osConstants.errno;

/**
 * ftok(path, projId): the System V key for an existing file and a project id, the same number
 * C's ftok(3) and Python's sysv_ipc.ftok give. `projId` is a number (low 8 bits used) or a
 * one-character string such as 'R'.
 *
 * @example
 * {@includeCode ../../docs/examples/ftok.ts}
 */
export function ftok(path: string, projId: number | string): number {
  validateCString(path, "path");
  let id: number;
  if (typeof projId === "string") {
    if (projId.length !== 1 || projId.charCodeAt(0) > 0xff) {
      throw new ERR_INVALID_ARG_VALUE_RANGE("projId", projId, "must be a single character like 'R'");
    }
    id = projId.charCodeAt(0);
  } else if (typeof projId === "number") {
    id = validateInteger(projId, "projId", 0, 0xff);
  } else {
    throw new ERR_INVALID_ARG_TYPE("projId", ["number", "string"], projId);
  }
  if (id === 0) {
    // ftok(3): "the least significant 8 bits of proj_id ... must be nonzero".
    throw new ERR_OUT_OF_RANGE("projId", "nonzero in its low 8 bits", id);
  }
  const key = fn.ftok(path, id);
  if (key === -1) throwErrno(lastErrno(), "ftok", { path });
  return key;
}

/** Options of `shmget` beyond C's arguments. */
export interface ShmgetOptions {
  /** Keep the segment when this process exits (by default what this process creates is removed). */
  persist?: boolean;
}

function checkKey(key: unknown): number {
  // key_t is a signed 32-bit int; accept the unsigned spelling (0xdeadbeef) too.
  const k = validateInteger(key, "key", -0x80000000, 0xffffffff);
  return k | 0;
}

/**
 * shmget(key, size, shmflg): the id of the segment for `key`, creating it with IPC_CREAT.
 * The low 9 bits of shmflg are the mode; pass it explicitly (the slides use 0644).
 * What this process creates is removed when it exits unless `{ persist: true }`.
 *
 * @example
 * {@includeCode ../../docs/examples/shmget.ts}
 */
export function shmget(key: number, size: number, shmflg: number, options?: ShmgetOptions): number {
  return getSegment(key, size, shmflg, options).id;
}

/**
 * shmget, and whether this call created the segment: a fact from the kernel (IPC_PRIVATE, or
 * IPC_CREAT | IPC_EXCL succeeding), never a guess from the creator's pid, which another process
 * may have had before. With IPC_CREAT alone the exclusive attempt comes first, then the plain
 * call, whose errors are the caller's.
 */
export function getSegment(
  key: number,
  size: number,
  shmflg: number,
  options?: ShmgetOptions,
): { id: number; created: boolean } {
  const k = checkKey(key);
  validateInteger(size, "size", 0);
  const flags = validateFlags(shmflg, "shmflg", SHMGET_MASK, "IPC_CREAT | IPC_EXCL | mode (0o777)");
  const opts = validateOptions<ShmgetOptions>(options, "options");
  let id: number;
  let created: boolean;
  if (k !== IPC_PRIVATE && (flags & IPC_CREAT) !== 0 && (flags & IPC_EXCL) === 0) {
    id = fn.shmget(k, size, flags | IPC_EXCL);
    created = id !== -1;
    if (!created) id = fn.shmget(k, size, flags);
  } else {
    id = fn.shmget(k, size, flags);
    // IPC_PRIVATE always makes a new segment, with or without IPC_CREAT.
    created = id !== -1 && (k === IPC_PRIVATE || (flags & (IPC_CREAT | IPC_EXCL)) === (IPC_CREAT | IPC_EXCL));
  }
  if (id === -1) throwErrno(lastErrno(), "shmget", { key: k });
  if (created && !opts.persist) track({ kind: "sysv", id, key: k, size });
  // Persisting (now or later) is journaled as a "forget": reap() leaves the segment too.
  if (opts.persist) untrack({ kind: "sysv", id, key: k });
  return { id, created };
}

const statRaw = shmStat;

/** struct shmid_ds, decoded: what shmctl(id, IPC_STAT) and `ipcs -m` report. */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface declares the fields the constructor assigns
export class ShmidDs {
  constructor(fields: ShmidDsFields) {
    Object.assign(this, fields);
  }
}
export interface ShmidDs extends ShmidDsFields {}

/** The fields of a decoded `struct shmid_ds` (`shmctl(id, IPC_STAT)`), named as `ipcs` shows them. */
export interface ShmidDsFields {
  shmid: number;
  key: number;
  /** Size in bytes (shm_segsz). */
  size: number;
  /** Number of current attaches (shm_nattch). */
  nattch: number;
  /** Creator pid and the pid of the last shmat/shmdt. */
  cpid: number;
  lpid: number;
  /** Last attach, detach and change times (null when never). */
  atime: Date | null;
  dtime: Date | null;
  ctime: Date | null;
  /** Permission bits (0o644) as a number. */
  mode: number;
  /** Marked for removal (IPC_RMID while attached): the key has gone private. */
  dest: boolean;
  uid: number;
  gid: number;
  cuid: number;
  cgid: number;
}

const SHM_DEST = 0o1000;

function toDate(seconds: number): Date | null {
  return seconds === 0 ? null : new Date(seconds * 1000);
}

export function decodeShmidDs(shmid: number, raw: RawShmidDs): ShmidDs {
  return new ShmidDs({
    shmid,
    key: raw.key,
    size: raw.segsz,
    nattch: raw.nattch,
    cpid: raw.cpid,
    lpid: raw.lpid,
    atime: toDate(raw.atime),
    dtime: toDate(raw.dtime),
    ctime: toDate(raw.ctime),
    mode: raw.mode & 0o777,
    dest: (raw.mode & SHM_DEST) !== 0,
    uid: raw.uid,
    gid: raw.gid,
    cuid: raw.cuid,
    cgid: raw.cgid,
  });
}

/**
 * shmctl(shmid, cmd): IPC_STAT returns the decoded shmid_ds; IPC_RMID marks the segment for
 * removal (gone at the last detach) and returns 0. C's third argument is taken as `null` with
 * IPC_RMID, so `shmctl(id, IPC_RMID, null)` reads as every C program's `shmctl(id, IPC_RMID, NULL)`.
 *
 * @example
 * {@includeCode ../../docs/examples/shmctl.ts}
 */
export function shmctl(shmid: number, cmd: typeof IPC_STAT): ShmidDs;
export function shmctl(shmid: number, cmd: typeof IPC_RMID, buf?: null): 0;
export function shmctl(shmid: number, cmd: number): ShmidDs | 0;
export function shmctl(shmid: number, cmd: number, buf?: null): ShmidDs | 0 {
  validateInt32(shmid, "shmid", 0);
  validateInt32(cmd, "cmd");
  if (buf !== undefined && buf !== null) throw new ERR_INVALID_ARG_TYPE("buf", "null", buf);
  if (buf === null && cmd !== IPC_RMID) {
    throw new ERR_INVALID_ARG_VALUE("buf", buf, "is taken only with IPC_RMID (IPC_STAT returns the shmid_ds)");
  }
  if (cmd === IPC_STAT) {
    const raw = statRaw(shmid);
    if (typeof raw === "number") throwErrno(raw, "shmctl", { shmid });
    return decodeShmidDs(shmid, raw);
  }
  if (cmd === IPC_RMID) {
    if (fn.shmctl_nobuf(shmid, IPC_RMID, null) !== 0) throwErrno(lastErrno(), "shmctl", { shmid });
    // Removed on purpose: no longer ours to clean up.
    untrackSegment(shmid);
    return 0;
  }
  throw new ERR_INVALID_ARG_VALUE_RANGE(
    "cmd",
    cmd,
    `is not supported: use IPC_STAT (${IPC_STAT}) or IPC_RMID (${IPC_RMID})`,
  );
}

// One function for every attachment: no closure allocated per shmat.
const releaseAttachment = (address: Pointer): void => {
  fn.shmdt(address);
};

/** An attached System V segment: what shmat returns. Owns the attachment until shmdt/dispose. */
export class Attachment extends Region {
  readonly shmid: number;
  readonly readonly: boolean;

  /** @internal Only `shmat` makes attachments. */
  constructor(token: typeof regionToken, shmid: number, address: Pointer, size: number, readonly: boolean) {
    super(token, address, size, readonly ? PROT_READ : PROT_READ | PROT_WRITE, releaseAttachment);
    this.shmid = shmid;
    this.readonly = readonly;
  }

  protected get what(): string {
    return `segment ${this.shmid} attachment`;
  }

  /** shmdt. Detaching twice is a no-op; returns whether this call detached. */
  detach(): boolean {
    return this.release();
  }

  /** shmctl(IPC_STAT) of the segment this is attached to. */
  stat(): ShmidDs {
    return shmctl(this.shmid, IPC_STAT);
  }

  /** Detaches (the `using` statement calls it); detaching twice is a no-op here. */
  [Symbol.dispose](): void {
    this.detach();
  }

  toString(): string {
    return `Attachment { shmid: ${this.shmid}, address: 0x${this.address.toString(16)}, length: ${this.length}, ${this.state}${this.readonly ? ", readonly" : ""} }`;
  }
}

/**
 * shmat(shmid, shmaddr, shmflg): attach the segment. shmaddr null (or 0) lets the kernel pick
 * the address, as on the slides; a bigint must be a user-space address (0x10000 to 2^48),
 * a multiple of SHMLBA (the page size) unless SHM_RND rounds it down. SHM_RDONLY attaches
 * read-only. Returns the Attachment that owns the memory: `.buffer` is a zero-copy Buffer over
 * it.
 *
 * @example
 * {@includeCode ../../docs/examples/shmat.ts}
 */
export function shmat(shmid: number, shmaddr: null | 0 | bigint = null, shmflg = 0): Attachment {
  validateInt32(shmid, "shmid", 0);
  // User space only: SHM_RND would round an address below SHMLBA down to 0, which root may map.
  const at = checkUserAddress(shmaddr, "shmaddr");
  const flags = validateFlags(shmflg, "shmflg", SHMAT_MASK, "SHM_RDONLY | SHM_RND");
  // Size first: an attachment must know its length, from our own record of what we created,
  // else IPC_STAT (a bad id fails there just as shmat would).
  const size = createdSegmentSize(shmid) ?? shmSize(shmid);
  if (size < 0) throwErrno(-size, "shmat", { shmid });
  const address = fn.shmat(shmid, at, flags) as Pointer;
  if (isFailedPointer(address)) throwErrno(lastErrno(), "shmat", { shmid });
  return new Attachment(regionToken, shmid, address, size, (flags & SHM_RDONLY) !== 0);
}

/**
 * shmdt(attachment): detach. Detaching what is already detached fails with EINVAL, as in C.
 *
 * @example
 * {@includeCode ../../docs/examples/shmdt.ts}
 */
export function shmdt(attachment: Attachment): 0 {
  if (!(attachment instanceof Attachment)) {
    throw new ERR_INVALID_ARG_TYPE("shmaddr", "an Attachment returned by shmat", attachment);
  }
  if (!attachment.detach()) {
    throw new IpcError("EINVAL", `EINVAL: invalid argument, shmdt (already detached from shmid ${attachment.shmid})`, {
      errno: EINVAL,
      syscall: "shmdt",
      shmid: attachment.shmid,
    });
  }
  return 0;
}

/** Every System V segment on the machine, from /proc/sysvipc/shm (what `ipcs -m` shows). */
export interface IpcsEntry {
  key: number;
  /** The key as ipcs prints it: 0x52010203. */
  keyHex: string;
  shmid: number;
  mode: number;
  size: number;
  nattch: number;
  cpid: number;
  lpid: number;
  uid: number;
  owner: string;
  /** Whether the creating process is still running. */
  creatorAlive: boolean;
  /** Marked for removal at last detach. */
  dest: boolean;
}

/** The result of ipcs(): an array of entries that displays as a table in the kernel. */
export class IpcsList extends Array<IpcsEntry> {}

/**
 * Every System V segment on the machine, as `ipcs -m` lists them (from `/proc/sysvipc/shm`), with `key`,
 * `keyHex`, `shmid`, `owner`, `mode`, `size`, `nattch`, `cpid`, `lpid`, `dest` and whether the creator is
 * alive. Exported as `ipcs`.
 *
 * @example
 * {@includeCode ../../docs/examples/ipcs.ts}
 */
export function readProcSysvShm(): IpcsList {
  const users = userNames();
  const list = new IpcsList();
  for (const row of readShmTable()) {
    list.push({
      key: row.key,
      keyHex: formatKey(row.key),
      shmid: row.shmid,
      mode: row.mode & 0o777,
      size: row.segsz,
      nattch: row.nattch,
      cpid: row.cpid,
      lpid: row.lpid,
      uid: row.uid,
      owner: users.get(row.uid) ?? String(row.uid),
      creatorAlive: isAlive(row.cpid),
      dest: (row.mode & SHM_DEST) !== 0,
    });
  }
  return list;
}
