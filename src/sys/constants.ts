// The constants of the slides, with Linux's values (x86_64 / aarch64 share them).
import { constants as fsConstants } from "fs";

// <sys/ipc.h>
export const IPC_PRIVATE = 0;
export const IPC_CREAT = 0o1000;
export const IPC_EXCL = 0o2000;
export const IPC_NOWAIT = 0o4000;
export const IPC_RMID = 0;
export const IPC_SET = 1;
export const IPC_STAT = 2;

// <sys/shm.h>
export const SHM_RDONLY = 0o10000;
export const SHM_RND = 0o20000;

// <sys/mman.h>
export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_ANON = MAP_ANONYMOUS;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_FIXED_NOREPLACE = 0x100000;
/** `mmap` returns this in C; here a failed mmap throws an IpcError instead. */
export const MAP_FAILED = -1n;
export const MS_ASYNC = 1;
export const MS_INVALIDATE = 2;
export const MS_SYNC = 4;
export const MADV_NORMAL = 0;
export const MADV_RANDOM = 1;
export const MADV_SEQUENTIAL = 2;
export const MADV_WILLNEED = 3;
export const MADV_DONTNEED = 4;
export const MADV_FREE = 8;
export const MADV_REMOVE = 9;
export const MADV_DONTFORK = 10;
export const MADV_DOFORK = 11;
export const MADV_HUGEPAGE = 14;
export const MADV_NOHUGEPAGE = 15;
export const MADV_COLD = 20;
export const MADV_PAGEOUT = 21;
export const MADV_POPULATE_READ = 22;
export const MADV_POPULATE_WRITE = 23;

// <unistd.h>
export const _SC_CLK_TCK = 2;
export const _SC_OPEN_MAX = 4;
export const _SC_PAGESIZE = 30;
export const _SC_PAGE_SIZE = _SC_PAGESIZE;
export const _SC_NPROCESSORS_ONLN = 84;
export const _SC_PHYS_PAGES = 85;

// <fcntl.h>: Node's own values, re-exported so slide code reads the same.
export const O_RDONLY = fsConstants.O_RDONLY;
export const O_WRONLY = fsConstants.O_WRONLY;
export const O_RDWR = fsConstants.O_RDWR;
export const O_CREAT = fsConstants.O_CREAT;
export const O_EXCL = fsConstants.O_EXCL;
export const O_TRUNC = fsConstants.O_TRUNC;
export const S_IRWXU = fsConstants.S_IRWXU;
export const S_IRWXG = fsConstants.S_IRWXG;
export const S_IRWXO = fsConstants.S_IRWXO;

export const POSIX_FADV_NORMAL = 0;
export const POSIX_FADV_RANDOM = 1;
export const POSIX_FADV_SEQUENTIAL = 2;
export const POSIX_FADV_WILLNEED = 3;
export const POSIX_FADV_DONTNEED = 4;
export const POSIX_FADV_NOREUSE = 5;
