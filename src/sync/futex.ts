// futex(2)'s numbers, for SharedWord (src/sync/word.ts) and the slice watchdog's thread
// (src/sync/slice-watchdog.ts). Without FUTEX_PRIVATE_FLAG: waiters and wakers may be
// different processes.

/** The system call's number (no glibc wrapper; called through syscall(2)). */
export const SYS_futex = process.arch === "arm64" ? 98 : 202;
/** Sleep while the word holds the value given. */
export const FUTEX_WAIT = 0;
/** Wake up to the number given of those sleeping on the word. */
export const FUTEX_WAKE = 1;
/** "All of them", for FUTEX_WAKE. */
export const WAKE_ALL = 0x7fffffff;
