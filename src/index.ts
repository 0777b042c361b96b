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
export type {
  PlotOptions,
  SeriesInput,
  LinesOptions,
  HistogramOptions,
  EcdfOptions,
  HeatmapOptions,
  ResidencyPlotOptions,
  BarOptions,
} from "./figures/plot";
export { figureHtml, resetPlotlyEmbedding, plotlyEmbedded, plotlyLibraryPath } from "./figures/html";
export type { FigureHtmlOptions } from "./figures/html";
export {
  renderFigurePng,
  renderFigurePngs,
  attachRenderedPng,
  addPngsToNotebook,
  pngUnavailableReason,
} from "./figures/png";
export type { PngOptions, NotebookJson, AddPngsReport } from "./figures/png";
// One Chromium for many renderings (PngOptions.browser): what npm start shares across notebooks.
export { launchOfflineBrowser } from "./figures/chromium";
export type { OfflineBrowser, OfflinePage } from "./figures/chromium";
export { runTs, spawnTs, runningChildren, killChildren, ChildResult } from "./process/spawn";
export type { RunOptions, ChildHandle } from "./process/spawn";
export { ShmLock } from "./sync/lock";
export type { LockStatus, ShmLockOptions } from "./sync/lock";
export { SharedWord, type SharedWordOptions } from "./sync/word";
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
// Two processes' address spaces side by side, from /proc (src/measure/maps.ts).
export { showMaps, readMaps, smapsRollup, smapsOf, physicalFrame, MapsComparison } from "./measure/maps";
export type { MapsLine, SharedMapping } from "./measure/maps";
// Notebook prose tied to its measurement: claim(holds, sentence), say(sentence) (src/lab/claim.ts).
export { claim, say, ClaimError } from "./lab/claim";
// Dirty pages and the page cache, from the kernel's accounting: cachestat(2) (src/sys/cachestat, src/measure/dirty).
export { cachestat, SYS_cachestat } from "./sys/cachestat";
export type { CachestatResult } from "./sys/cachestat";
export {
  dirtyPages,
  dirtyCount,
  pageStates,
  pageStateName,
  PageStateSampler,
  PageStateRecording,
  PAGE_NOT_CACHED,
  PAGE_CLEAN,
  PAGE_DIRTY,
  PAGE_WRITEBACK,
} from "./measure/dirty";
export type { PageStateCounts, PageStateSamplerOptions } from "./measure/dirty";
// A live ipcs (update_display_data) that stops when its cell ends; the kernel calls cellEnded() after each cell.
export { watchIpcs, IpcsWatcher, onCellEnd, cellEnded } from "./display";
export type { WatchIpcsOptions, IpcsEvent, PosixShmEntry, WatchedObject, CellEndListener } from "./display";
// Fault timelines and page-state figures (src/measure/timeline, src/figures/pages).
export { recordFaultTimeline, shuffledPages, FaultTimeline } from "./measure/timeline";
export type { FaultTimelineOptions } from "./measure/timeline";
export type { PageStatesPlotOptions, FaultTimelinePlotOptions } from "./figures/pages";
// A table of measurements as one output (src/display/table.ts).
export { table, Table } from "./display";
// countCalls for the Node children a piece of work starts (checks of "in another process" exercises).
export { countChildCalls } from "./lab/child-calls";
export type { ChildCalls } from "./lab/child-calls";
