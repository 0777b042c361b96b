// tslab-ipc: System V shared memory, POSIX shared memory and memory mapping for Node.js,
// shaped like the C calls of the IPC lecture. Everything public is exported from here.
export * from "./sys/constants";
export { IpcError } from "./errors";
export { sysconf } from "./sys/page";
export { ftok, shmget, shmat, shmdt, shmctl, Attachment, ShmidDs, IpcsList, readProcSysvShm as ipcs } from "./sys/sysv";
export type { IpcsEntry, ShmgetOptions, ShmidDsFields } from "./sys/sysv";
export { mmap, munmap, msync, mprotect, madvise, mincore, Mapping } from "./sys/mman";
export { shm_open, shm_unlink } from "./sys/posix";
export type { ShmOpenOptions } from "./sys/posix";
export { Region } from "./sys/region";
export { reap, trackedObjects, cleanupCreated } from "./sys/registry";
export type { ReapReport, Created } from "./sys/registry";
export { SharedSegment } from "./memory/segment";
export type { SegmentCreateOptions, SegmentOpenOptions } from "./memory/segment";
export { mapFile, mapAnonymous } from "./memory/mapfile";
export type { MapFileOptions, MapAnonymousOptions } from "./memory/mapfile";
export { PosixShm } from "./memory/posix-shm";
export type { PosixShmCreateOptions } from "./memory/posix-shm";
