// tslab-ipc: System V shared memory, POSIX shared memory and memory mapping for Node.js,
// shaped like the C calls of the IPC lecture. Everything public is exported from here.
export * from "./sys/constants";
export { IpcError } from "./errors";
export type { IpcErrorDetails } from "./errors";
export { sysconf } from "./sys/page";
export { ftok, shmget, shmat, shmdt, shmctl, Attachment, ShmidDs, IpcsList, readProcSysvShm as ipcs } from "./sys/sysv";
export type { IpcsEntry, ShmgetOptions, ShmidDsFields } from "./sys/sysv";
export { mmap, munmap, msync, mprotect, madvise, mincore, Mapping } from "./sys/mman";
export { shm_open, shm_unlink } from "./sys/posix";
export type { ShmOpenOptions } from "./sys/posix";
export { Region } from "./sys/region";
export type { RegionState } from "./sys/region";
export { reap, trackedObjects, cleanupCreated } from "./sys/registry";
export type { ReapReport, Created } from "./sys/registry";
export { SharedSegment } from "./memory/segment";
export type { SegmentCreateOptions, SegmentOpenOptions } from "./memory/segment";
export { mapFile, mapAnonymous } from "./memory/mapfile";
export type { MapFileOptions, MapAnonymousOptions } from "./memory/mapfile";
export { PosixShm } from "./memory/posix-shm";
export type { PosixShmCreateOptions } from "./memory/posix-shm";
export { display, setDisplayPublisher, JUPYTER_DISPLAY, displayDataOf, hasDisplay } from "./display";
export type { DisplayOptions, MimeBundle, DisplayData, Displayable, DisplayPublisher } from "./display";
// Instruments: page faults, residency, latency, page cache (src/measure).
export { faults, measure, Measurement } from "./measure/faults";
export type { FaultCounters, MeasureOptions, ResidencyChange } from "./measure/faults";
export { residency, residentPages, recordResidency, ResidencySampler, ResidencyRecording } from "./measure/residency";
export type { RecordResidencyOptions } from "./measure/residency";
export { sampleLatency, latencyStats, LatencyResult } from "./measure/latency";
export type { LatencyOptions, LatencyStats, LatencyUnit } from "./measure/latency";
export { dropFromPageCache, cachedPages } from "./measure/pagecache";
// Figures: plotly figures as MIME bundles, PNG rendering (src/figures).
export { Figure, PLOTLY_MIME } from "./figures/figure";
export type { PlotlyFigure } from "./figures/figure";
export { plot } from "./figures/plot";
export type { PlotOptions, SeriesInput, LinesOptions, HistogramOptions, EcdfOptions, HeatmapOptions, ResidencyPlotOptions, BarOptions } from "./figures/plot";
export { figureHtml, resetPlotlyEmbedding, plotlyEmbedded, plotlyLibraryPath } from "./figures/html";
export type { FigureHtmlOptions } from "./figures/html";
export { renderFigurePng, renderFigurePngs, attachRenderedPng, addPngsToNotebook, pngUnavailableReason } from "./figures/png";
export type { PngOptions, NotebookJson, AddPngsReport } from "./figures/png";
export { runTs, spawnTs, runningChildren, killChildren, ChildResult } from "./process/spawn";
export type { RunOptions, ChildHandle } from "./process/spawn";
export { ShmLock } from "./sync/lock";
export type { LockStatus, ShmLockOptions } from "./sync/lock";
export { SharedWord } from "./sync/word";
export type { WaitResult } from "./sync/word";
export type { WaitOptions } from "./sync/waiting";
// Notebook conveniences: unique names, a temp folder per kernel run, compiling/running C (src/lab).
export { uniqueName, labDir, compileC, runProgram, noCompilerReason } from "./lab";
export type { CompiledProgram, ProgramOptions, ProgramResult } from "./lab";
export { mkfifo } from "./sys/fifo";
// A record in shared memory that readers never see torn, even if its writer is killed mid-write (src/record).
export { SharedRecord, crc32 } from "./record";
export type { RecordSnapshot } from "./record";
// Exit and signal hooks, and the host's policy for them (src/process/lifecycle.ts).
export * as lifecycle from "./process/lifecycle";
// Spying on the library's calls into libc (checks that need the technique), and which file system holds a path.
export { countCalls, countableCalls, CallCounter } from "./sys/calls";
export type { CountCallsOptions, RecordedCall } from "./sys/calls";
export { fsType, fsInfo, IN_MEMORY_FILE_SYSTEMS } from "./measure/filesystem";
export type { FsInfo } from "./measure/filesystem";
