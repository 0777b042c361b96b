// The one koffi declaration table. Every libc function and struct layout the project uses is
// declared here and nowhere else; the layers above call these through `sys/`.
// Layouts are glibc's on Linux x86_64 / aarch64 (LP64); `checkLayouts()` guards the sizes.
import koffi from "koffi";
import { withCode } from "../codes";
import { IPC_STAT } from "../sys/constants";

const libc = koffi.load("libc.so.6");

/**
 * A named koffi struct. koffi's type names are process-wide, so a second evaluation of this
 * module in the same process (jest's module registry does that) reuses the type.
 */
function struct(name: string, members: Record<string, unknown>) {
  try {
    return koffi.type(name);
  } catch {
    return koffi.struct(name, members as never);
  }
}

export type Pointer = bigint;

// Module constants, not literals in the comparison below: V8 computes `-1n` anew (a BigInt
// negation and an allocation) each time the expression runs, even in optimized code.
const MAP_FAILED_SIGNED = -1n;
const MAP_FAILED_UNSIGNED = 0xffffffffffffffffn;

/**
 * `(void *) -1`: what mmap (MAP_FAILED) and shmat return on failure. koffi hands it back as
 * -1n or as 2^64 - 1 (an unsigned pointer), so both spellings count.
 */
export function isFailedPointer(address: Pointer): boolean {
  return address === MAP_FAILED_SIGNED || address === MAP_FAILED_UNSIGNED;
}

// sizeof(struct shmid_ds) and sizeof(struct rusage) on LP64 glibc; checkLayouts() holds koffi to them.
const SHMID_DS_SIZE = 112;
const RUSAGE_SIZE = 144;

// struct ipc_perm (bits/ipc-perm.h)
export const ipc_perm = struct("ipc_perm", {
  __key: "int32_t",
  uid: "uint32_t",
  gid: "uint32_t",
  cuid: "uint32_t",
  cgid: "uint32_t",
  mode: "uint16_t",
  __pad1: "uint16_t",
  __seq: "uint16_t",
  __pad2: "uint16_t",
  __unused1: "uint64_t",
  __unused2: "uint64_t",
});

// struct shmid_ds (bits/types/struct_shmid_ds.h)
export const shmid_ds = struct("shmid_ds", {
  shm_perm: ipc_perm,
  shm_segsz: "size_t",
  shm_atime: "int64_t",
  shm_dtime: "int64_t",
  shm_ctime: "int64_t",
  shm_cpid: "int32_t",
  shm_lpid: "int32_t",
  shm_nattch: "uint64_t",
  __unused4: "uint64_t",
  __unused5: "uint64_t",
});

/** The fields of struct shmid_ds the library reads, decoded from the raw bytes. */
export interface RawShmidDs {
  key: number;
  uid: number;
  gid: number;
  cuid: number;
  cgid: number;
  /** Permission bits plus SHM_DEST (0o1000) and SHM_LOCKED (0o2000). */
  mode: number;
  segsz: number;
  atime: number;
  dtime: number;
  ctime: number;
  cpid: number;
  lpid: number;
  nattch: number;
}

const timeval = struct("timeval_rusage", { tv_sec: "int64_t", tv_usec: "int64_t" });

// struct rusage (bits/types/struct_rusage.h): the fields are longs.
export const rusage = struct("rusage", {
  ru_utime: timeval,
  ru_stime: timeval,
  ru_maxrss: "int64_t",
  ru_ixrss: "int64_t",
  ru_idrss: "int64_t",
  ru_isrss: "int64_t",
  ru_minflt: "int64_t",
  ru_majflt: "int64_t",
  ru_nswap: "int64_t",
  ru_inblock: "int64_t",
  ru_oublock: "int64_t",
  ru_msgsnd: "int64_t",
  ru_msgrcv: "int64_t",
  ru_nsignals: "int64_t",
  ru_nvcsw: "int64_t",
  ru_nivcsw: "int64_t",
});

export interface RawRusage {
  ru_utime: { tv_sec: number; tv_usec: number };
  ru_stime: { tv_sec: number; tv_usec: number };
  ru_maxrss: number;
  ru_minflt: number;
  ru_majflt: number;
  ru_nvcsw: number;
  ru_nivcsw: number;
}

export const timespec = struct("timespec", { tv_sec: "int64_t", tv_nsec: "int64_t" });

/**
 * FUTEX_WAKE through syscall(2), with only the arguments it reads. Declared here for the table
 * below and for the slice watchdog's thread (src/sync/slice-watchdog.ts), which loads it in its
 * own isolate: a Worker cannot share this module's koffi functions.
 */
export const FUTEX_WAKE_DECLARATION = "long syscall(long number, void *uaddr, int op, int val)";

export const fn = {
  ftok: libc.func("int ftok(const char *pathname, int proj_id)"),
  shmget: libc.func("int shmget(int32_t key, size_t size, int shmflg)"),
  shmat: libc.func("void *shmat(int shmid, void *shmaddr, int shmflg)"),
  shmdt: libc.func("int shmdt(void *shmaddr)"),
  // IPC_STAT fills a reused byte buffer decoded by shmStat(): no per-call struct object.
  shmctl_buf: libc.func("int shmctl(int shmid, int cmd, uint8_t *buf)"),
  shmctl_nobuf: libc.func("int shmctl(int shmid, int cmd, void *buf)"),
  shm_open: libc.func("int shm_open(const char *name, int oflag, uint32_t mode)"),
  shm_unlink: libc.func("int shm_unlink(const char *name)"),
  mmap: libc.func("void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)"),
  munmap: libc.func("int munmap(void *addr, size_t length)"),
  // Variadic in C: call as fcntl(fd, cmd, "int", arg). Used for F_DUPFD_CLOEXEC (Node has no dup).
  fcntl: libc.func("int fcntl(int fd, int cmd, ...)"),
  msync: libc.func("int msync(void *addr, size_t length, int flags)"),
  mprotect: libc.func("int mprotect(void *addr, size_t length, int prot)"),
  madvise: libc.func("int madvise(void *addr, size_t length, int advice)"),
  mincore: libc.func("int mincore(void *addr, size_t length, uint8_t *vec)"),
  sysconf: libc.func("long sysconf(int name)"),
  strerror: libc.func("const char *strerror(int errnum)"),
  getrusage: libc.func("int getrusage(int who, _Out_ rusage *usage)"),
  posix_fadvise: libc.func("int posix_fadvise(int fd, int64_t offset, int64_t len, int advice)"),
  // futex(2) through syscall(2): wait/notify on a 32-bit word in shared memory.
  syscall_futex: libc.func(
    "long syscall(long number, void *uaddr, int op, int val, timespec *timeout, void *uaddr2, int val3)",
  ),
  // Process-shared robust mutexes live inside shared memory; glibc >= 2.34 has them in libc.
  pthread_mutexattr_init: libc.func("int pthread_mutexattr_init(void *attr)"),
  pthread_mutexattr_setpshared: libc.func("int pthread_mutexattr_setpshared(void *attr, int pshared)"),
  pthread_mutexattr_setrobust: libc.func("int pthread_mutexattr_setrobust(void *attr, int robust)"),
  pthread_mutexattr_destroy: libc.func("int pthread_mutexattr_destroy(void *attr)"),
  pthread_mutex_init: libc.func("int pthread_mutex_init(void *mutex, void *attr)"),
  pthread_mutex_lock: libc.func("int pthread_mutex_lock(void *mutex)"),
  pthread_mutex_trylock: libc.func("int pthread_mutex_trylock(void *mutex)"),
  // ShmLock.lock()'s first attempt (src/sync/lock.ts): a lock() is C's pthread_mutex_lock, and a
  // spy counts it so (src/sys/calls.ts), though it starts with a try and waits in timed locks.
  pthread_mutex_lock_first: libc.func("int pthread_mutex_trylock(void *mutex)"),
  pthread_mutex_timedlock: libc.func("int pthread_mutex_timedlock(void *mutex, timespec *abstime)"),
  pthread_mutex_unlock: libc.func("int pthread_mutex_unlock(void *mutex)"),
  pthread_mutex_consistent: libc.func("int pthread_mutex_consistent(void *mutex)"),
  clock_gettime: libc.func("int clock_gettime(int clk, _Out_ timespec *tp)"),
  // Robust mutexes of type PTHREAD_MUTEX_ERRORCHECK: relocking by the owner says EDEADLK instead of hanging.
  pthread_mutexattr_settype: libc.func("int pthread_mutexattr_settype(void *attr, int type)"),
  // Child processes of src/process: die with the parent (PR_SET_PDEATHSIG), no core files (RLIMIT_CORE).
  prctl: libc.func("int prctl(int option, ...)"),
  getrlimit: libc.func("int getrlimit(int resource, _Out_ uint64_t *rlim)"),
  setrlimit: libc.func("int setrlimit(int resource, const uint64_t *rlim)"),
  strsignal: libc.func("const char *strsignal(int sig)"),
  // Named pipes for the Chrome-architecture demo (src/sys/fifo.ts): Node has no mkfifo.
  mkfifo: libc.func("int mkfifo(const char *pathname, uint32_t mode)"),
  // cachestat(2) through syscall(2) (Linux 6.5+, no glibc wrapper): page-cache and dirty counts of a
  // file range. struct cachestat_range { u64 off, len } in, struct cachestat { u64 x5 } out, as bytes.
  syscall_cachestat: libc.func(
    "long syscall(long number, uint32_t fd, uint8_t *range, _Out_ uint8_t *cstat, uint32_t flags)",
  ),
  // futex(2) with only the arguments its command reads (the kernel ignores the rest for these
  // two): each koffi argument costs a conversion, and the ping-pong makes two calls per side per
  // round trip. FUTEX_WAKE reads uaddr, op, val; FUTEX_WAIT those and the timeout.
  syscall_futex_wake: libc.func(FUTEX_WAKE_DECLARATION),
  syscall_futex_wait: libc.func("long syscall(long number, void *uaddr, int op, int val, timespec *timeout)"),
};

/**
 * errno now, on this thread: koffi does not keep the value a call left. Read it first thing after
 * a call failed (see throwErrno in src/errors.ts): JavaScript run in between can overwrite it.
 */
export function errno(): number {
  return koffi.errno();
}

/** Sets errno, for calls whose -1 is ambiguous (sysconf). */
export function setErrno(value: number): void {
  koffi.errno(value);
}

/** A zero-copy ArrayBuffer over `length` bytes at `address`. */
export function view(address: Pointer, length: number): ArrayBuffer {
  return koffi.view(address, length);
}

export function sizeOf(type: unknown): number {
  return koffi.sizeof(type as never);
}

const shmidDsBuf = Buffer.alloc(SHMID_DS_SIZE);
const off = (path: string[]) => {
  let type: unknown = shmid_ds;
  let at = 0;
  for (const name of path) {
    at += koffi.offsetof(type as never, name);
    type = (koffi.type(type as never) as unknown as { members: Record<string, { type: unknown }> }).members[name].type;
  }
  return at;
};
const SHMID_DS = {
  key: off(["shm_perm", "__key"]),
  uid: off(["shm_perm", "uid"]),
  gid: off(["shm_perm", "gid"]),
  cuid: off(["shm_perm", "cuid"]),
  cgid: off(["shm_perm", "cgid"]),
  mode: off(["shm_perm", "mode"]),
  segsz: off(["shm_segsz"]),
  atime: off(["shm_atime"]),
  dtime: off(["shm_dtime"]),
  ctime: off(["shm_ctime"]),
  cpid: off(["shm_cpid"]),
  lpid: off(["shm_lpid"]),
  nattch: off(["shm_nattch"]),
};

/** shm_segsz of a segment, or minus errno when IPC_STAT failed (shmat's one question, without decoding the rest). */
export function shmSize(shmid: number): number {
  if (fn.shmctl_buf(shmid, IPC_STAT, shmidDsBuf) !== 0) return -errno();
  return Number(shmidDsBuf.readBigUInt64LE(SHMID_DS.segsz));
}

/** shmctl(IPC_STAT) decoded, or the errno (a number) when the call failed. */
export function shmStat(shmid: number): RawShmidDs | number {
  if (fn.shmctl_buf(shmid, IPC_STAT, shmidDsBuf) !== 0) return errno();
  const b = shmidDsBuf;
  const u64 = (at: number) => Number(b.readBigUInt64LE(at));
  return {
    key: b.readInt32LE(SHMID_DS.key),
    uid: b.readUInt32LE(SHMID_DS.uid),
    gid: b.readUInt32LE(SHMID_DS.gid),
    cuid: b.readUInt32LE(SHMID_DS.cuid),
    cgid: b.readUInt32LE(SHMID_DS.cgid),
    mode: b.readUInt16LE(SHMID_DS.mode),
    segsz: u64(SHMID_DS.segsz),
    atime: u64(SHMID_DS.atime),
    dtime: u64(SHMID_DS.dtime),
    ctime: u64(SHMID_DS.ctime),
    cpid: b.readInt32LE(SHMID_DS.cpid),
    lpid: b.readInt32LE(SHMID_DS.lpid),
    nattch: u64(SHMID_DS.nattch),
  };
}

/** Refuse to run on an ABI whose struct sizes differ from the ones declared above. */
export function checkLayouts(): void {
  const want = { shmid_ds: SHMID_DS_SIZE, rusage: RUSAGE_SIZE };
  const got = { shmid_ds: sizeOf(shmid_ds), rusage: sizeOf(rusage) };
  if (got.shmid_ds !== want.shmid_ds || got.rusage !== want.rusage) {
    throw withCode(
      new Error(`tslab-ipc: unexpected libc struct layout ${JSON.stringify(got)}; expected ${JSON.stringify(want)}`),
      "ERR_LIBC_LAYOUT",
    );
  }
}
checkLayouts();
