// The constants of the slides, with Linux's values (x86_64 / aarch64 share them).
import { constants as fsConstants } from "fs";

// <sys/ipc.h>
/** `shmget` key that always makes a new segment, found by its id only (`ipc(5)`). */
export const IPC_PRIVATE = 0;
/** `shmget` flag: create the segment if the key has none (`shmget(2)`). */
export const IPC_CREAT = 0o1000;
/** `shmget` flag with `IPC_CREAT`: fail with `EEXIST` if the key has a segment already, so you know you created it. */
export const IPC_EXCL = 0o2000;
/** Do not block (message queues and semaphores; listed for completeness). */
export const IPC_NOWAIT = 0o4000;
/** `shmctl` command: mark the segment for removal; it goes at the last detach (`shmctl(2)`). */
export const IPC_RMID = 0;
/** `shmctl` command: set owner and mode from a `shmid_ds`. */
export const IPC_SET = 1;
/** `shmctl` command: read the segment's `shmid_ds` (size, attach count, creator, times). */
export const IPC_STAT = 2;

// <sys/shm.h>
/** `shmat` flag: attach read-only; writes through raw memory fault, the helpers throw `EACCES`. */
export const SHM_RDONLY = 0o10000;
/** `shmat` flag: round an attach address down to `SHMLBA`. */
export const SHM_RND = 0o20000;

// <sys/mman.h>
/** `mmap`/`mprotect`: no access at all; any touch faults. */
export const PROT_NONE = 0;
/** `mmap`/`mprotect`: pages may be read. */
export const PROT_READ = 1;
/** `mmap`/`mprotect`: pages may be written. */
export const PROT_WRITE = 2;
/** `mmap`/`mprotect`: pages may be executed (shared libraries are mapped so). */
export const PROT_EXEC = 4;
/** `mmap`: changes are visible to every process mapping the same object and reach the file. */
export const MAP_SHARED = 0x01;
/** `mmap`: copy-on-write; changes stay in this process and never reach the file. */
export const MAP_PRIVATE = 0x02;
/** `mmap`: map exactly at `addr`; applied here as `MAP_FIXED_NOREPLACE`, so it never replaces memory in use. */
export const MAP_FIXED = 0x10;
/** `mmap`: memory backed by no file (fd `-1`), zero-filled. */
export const MAP_ANONYMOUS = 0x20;
/** Another name for `MAP_ANONYMOUS`, as in BSD and glibc. */
export const MAP_ANON = MAP_ANONYMOUS;
/** `mmap`: reserve no swap space for the mapping. */
export const MAP_NORESERVE = 0x4000;
/** `mmap`: fault every page in now (read-ahead for files), so first touches cost no page faults. */
export const MAP_POPULATE = 0x8000;
/** `mmap`: map exactly at `addr`, failing with `EEXIST` if anything is mapped there (Linux 4.17+). */
export const MAP_FIXED_NOREPLACE = 0x100000;
/** `mmap` returns this in C; here a failed mmap throws an IpcError instead. */
export const MAP_FAILED = -1n;
/** `msync` flag: schedule the write-back and return; on Linux a no-op, since dirty pages are tracked anyway. */
export const MS_ASYNC = 1;
/** `msync` flag: invalidate other mappings of the same file so they see the written data. */
export const MS_INVALIDATE = 2;
/** `msync` flag: write the dirty pages back and wait until they are on the storage device. */
export const MS_SYNC = 4;
/** `madvise`: no special treatment (the default read-ahead). */
export const MADV_NORMAL = 0;
/** `madvise`: expect random access; read-ahead is switched off, so each fault reads one page. */
export const MADV_RANDOM = 1;
/** `madvise`: expect sequential access; aggressive read-ahead, pages freed soon after use. */
export const MADV_SEQUENTIAL = 2;
/** `madvise`: expect access soon; start reading the pages in. */
export const MADV_WILLNEED = 3;
/** `madvise`: drop the pages; private anonymous memory reads zeros afterwards, file pages are read again. */
export const MADV_DONTNEED = 4;
/** `madvise`: the pages may be freed lazily, when memory is short (private anonymous memory). */
export const MADV_FREE = 8;
/** `madvise`: free the pages and their backing store (a hole in a shmem/tmpfs file). */
export const MADV_REMOVE = 9;
/** `madvise`: a child made by `fork` does not inherit the range. */
export const MADV_DONTFORK = 10;
/** `madvise`: undo `MADV_DONTFORK`. */
export const MADV_DOFORK = 11;
/** `madvise`: use transparent huge pages for the range where possible. */
export const MADV_HUGEPAGE = 14;
/** `madvise`: never use transparent huge pages for the range. */
export const MADV_NOHUGEPAGE = 15;
/** `madvise`: the pages are cold: reclaim them first (Linux 5.4+). */
export const MADV_COLD = 20;
/** `madvise`: reclaim the pages now (Linux 5.4+). */
export const MADV_PAGEOUT = 21;
/** `madvise`: fault the pages in readable now (Linux 5.14+). */
export const MADV_POPULATE_READ = 22;
/** `madvise`: fault the pages in writable now (Linux 5.14+). */
export const MADV_POPULATE_WRITE = 23;

// <unistd.h>
/** `sysconf`: clock ticks per second. */
export const _SC_CLK_TCK = 2;
/** `sysconf`: the most files a process may have open. */
export const _SC_OPEN_MAX = 4;
/** `sysconf`: the page size in bytes (4096 on x86_64), the unit of mapping, protection and residency. */
export const _SC_PAGESIZE = 30;
/** Another name for `_SC_PAGESIZE`. */
export const _SC_PAGE_SIZE = _SC_PAGESIZE;
/** `sysconf`: processors online. */
export const _SC_NPROCESSORS_ONLN = 84;
/** `sysconf`: pages of physical memory. */
export const _SC_PHYS_PAGES = 85;

// <fcntl.h>: Node's own values, re-exported so slide code reads the same.
/** `open`/`shm_open`: read only (Node's value, `fs.constants.O_RDONLY`). */
export const O_RDONLY = fsConstants.O_RDONLY;
/** `open`: write only (Node's value). */
export const O_WRONLY = fsConstants.O_WRONLY;
/** `open`/`shm_open`: read and write (Node's value). */
export const O_RDWR = fsConstants.O_RDWR;
/** `open`/`shm_open`: create if missing (Node's value). */
export const O_CREAT = fsConstants.O_CREAT;
/** `open`/`shm_open` with `O_CREAT`: fail with `EEXIST` if it exists (Node's value). */
export const O_EXCL = fsConstants.O_EXCL;
/** `open`/`shm_open`: truncate to length 0 (Node's value). */
export const O_TRUNC = fsConstants.O_TRUNC;
/** Mode bits: read, write and execute for the owner (0700). */
export const S_IRWXU = fsConstants.S_IRWXU;
/** Mode bits: read, write and execute for the group (0070). */
export const S_IRWXG = fsConstants.S_IRWXG;
/** Mode bits: read, write and execute for others (0007). */
export const S_IRWXO = fsConstants.S_IRWXO;

/** `posix_fadvise`: no special treatment. */
export const POSIX_FADV_NORMAL = 0;
/** `posix_fadvise`: expect random access. */
export const POSIX_FADV_RANDOM = 1;
/** `posix_fadvise`: expect sequential access. */
export const POSIX_FADV_SEQUENTIAL = 2;
/** `posix_fadvise`: read the range into the page cache now. */
export const POSIX_FADV_WILLNEED = 3;
/** `posix_fadvise`: drop the range's clean pages from the page cache. */
export const POSIX_FADV_DONTNEED = 4;
/** `posix_fadvise`: the range will be accessed once (a no-op on Linux). */
export const POSIX_FADV_NOREUSE = 5;
