// Dirty pages: which pages of a file mapping hold changes the kernel has not yet written back
// to the file's storage, read from the kernel's own accounting (cachestat(2)), per page.
//
// Invariants:
// - One entry per page of the mapping, in mapping order; the answer is what the kernel counts,
//   not what the program remembers writing. Dirty state is kept per folio: a write into one
//   page of a large folio marks the whole folio dirty, and every page of it reads as dirty.
// - Only a file on a file system with storage behind it has dirty pages. tmpfs (/dev/shm, POSIX
//   shm, a tmpfs /tmp) keeps a file's only copy in memory: the kernel never counts those pages
//   as dirty (cachestat says 0 whatever was written), so asking is refused with an error that
//   says so, rather than answered with zeros that look like "all written back".
// - Per-page counts come from splitting the range: a range with no dirty page (or only dirty
//   pages) is settled by one cachestat call, so a mostly clean mapping costs a few calls.
import { inspect } from "util";
import { IpcError } from "../errors";
import { ERR_OUT_OF_RANGE } from "../codes";
import { validateFunction, validateInt32, validateOptions } from "../validators";
import { JUPYTER_DISPLAY } from "../display/mime";
import { cachestatFd, withMappedFile } from "../sys/cachestat";
import { mincore } from "../sys/mman";
import { pageSize } from "../sys/page";
import { validateRegion, type Region } from "../sys/region";
import { fsInfo } from "./filesystem";

/** pageStates(): not in the page cache. */
export const PAGE_NOT_CACHED = 0;
/** pageStates(): in the page cache, the same as the file's storage. */
export const PAGE_CLEAN = 1;
/** pageStates(): modified in memory, not yet written back. */
export const PAGE_DIRTY = 2;
/** pageStates(): being written back to storage right now. */
export const PAGE_WRITEBACK = 3;
const STATE_NAMES = ["not cached", "clean", "dirty", "writeback"];

type Field = "nr_dirty" | "nr_writeback";

/** Sets vec[i] = value for each page in [first, first+count) that cachestat counts in `field`. */
function markPages(
  fd: number,
  base: number,
  vec: Uint8Array,
  first: number,
  count: number,
  field: Field,
  value: number,
  known?: number,
): void {
  const page = pageSize();
  const n = known ?? cachestatFd(fd, base + first * page, count * page)[field];
  if (n === 0) return;
  if (n >= count) {
    vec.fill(value, first, first + count);
    return;
  }
  const half = count >> 1;
  markPages(fd, base, vec, first, half, field, value);
  markPages(fd, base, vec, first + half, count - half, field, value);
}

function checkWriteback(path: string, action: string): void {
  const info = fsInfo(path);
  if (info.inMemory) {
    throw new IpcError(
      "ERR_NO_WRITEBACK",
      `ERR_NO_WRITEBACK: ${action}: '${path}' is on ${info.type} (mounted at ${info.mountPoint}), which keeps files only in memory: ` +
        `there is nothing to write back to, so the kernel never counts its pages as dirty (cachestat reports nr_dirty 0 whatever was written). ` +
        `Map a file on a disk-backed file system (fsType(path) says which) to see dirty pages`,
      { path },
    );
  }
}

function statesOf(mapping: Region, action: string, withResidency: boolean): Uint8Array {
  validateRegion(mapping, "mapping");
  return withMappedFile(mapping, action, ({ fd, offset }) => {
    checkWriteback((mapping as { path?: string | null }).path ?? "", action);
    const pages = mapping.pages;
    const vec = withResidency ? mincore(mapping) : new Uint8Array(pages);
    markPages(fd, offset, vec, 0, pages, "nr_dirty", withResidency ? PAGE_DIRTY : 1);
    if (withResidency) markPages(fd, offset, vec, 0, pages, "nr_writeback", PAGE_WRITEBACK);
    return vec;
  });
}

/**
 * One entry per page of a file mapping: 1 where the page is dirty (modified in memory, not yet
 * written back to the file's storage), 0 elsewhere. Read from cachestat(2) (Linux 6.5+).
 * Throws a TypeError for anonymous memory and System V attachments (no file), IpcError
 * ERR_NO_WRITEBACK for a file on tmpfs (never dirty: nothing to write back to), ENOSYS on an
 * older kernel.
 * @example
 * ```ts
 * for (let p = 0; p < 16; p++) m.buffer[p * 4096] = 1;
 * dirtyPages(m).reduce((a, b) => a + b)  // 16
 * m.sync(MS_SYNC);
 * dirtyPages(m).reduce((a, b) => a + b)  // 0
 * ```
 */
export function dirtyPages(mapping: Region): Uint8Array {
  return statesOf(mapping, "dirtyPages", false);
}

/** How many pages of the mapping are dirty now (the sum of dirtyPages). */
export function dirtyCount(mapping: Region): number {
  const vec = dirtyPages(mapping);
  let n = 0;
  for (let i = 0; i < vec.length; i++) n += vec[i];
  return n;
}

/**
 * One entry per page of a file mapping: PAGE_NOT_CACHED (0), PAGE_CLEAN (1, in the page cache,
 * same as the file), PAGE_DIRTY (2) or PAGE_WRITEBACK (3, being written right now). mincore
 * plus cachestat; the same errors as dirtyPages.
 */
export function pageStates(mapping: Region): Uint8Array {
  return statesOf(mapping, "pageStates", true);
}

/** Counts of each state in one frame. */
export interface PageStateCounts {
  notCached: number;
  clean: number;
  dirty: number;
  writeback: number;
}

function countStates(frame: Uint8Array): PageStateCounts {
  const c = [0, 0, 0, 0];
  for (let i = 0; i < frame.length; i++) c[frame[i]]++;
  return { notCached: c[0], clean: c[1], dirty: c[2], writeback: c[3] };
}

/** A pages × time record of page states, as plot.pageStates draws it. */
export class PageStateRecording {
  readonly pages: number;
  /** One pageStates() vector per sample, in time order. */
  readonly frames: Uint8Array[] = [];
  /** When each frame was taken, in ms since the recording started. */
  readonly times: number[] = [];
  /** The label of each frame (what had just happened). */
  readonly labels: string[] = [];
  readonly title: string;

  constructor(pages: number, title = "page states") {
    this.pages = pages;
    this.title = title;
  }

  /** The counts of each state, per frame. */
  get counts(): PageStateCounts[] {
    return this.frames.map(countStates);
  }

  /** Dirty pages per frame. */
  get dirtyCounts(): number[] {
    return this.frames.map((f) => countStates(f).dirty);
  }

  /**
   * z[row][frame]: the state of each page, or with `rows` < pages, the highest state among the
   * pages of each row (a row shows dirty if any of its pages is).
   */
  matrix(rows = this.pages): number[][] {
    const per = Math.max(1, Math.ceil(this.pages / Math.max(1, Math.floor(rows))));
    const z: number[][] = [];
    for (let lo = 0; lo < this.pages; lo += per) {
      const hi = Math.min(this.pages, lo + per);
      z.push(
        this.frames.map((f) => {
          let s = 0;
          for (let p = lo; p < hi; p++) if (f[p] > s) s = f[p];
          return s;
        }),
      );
    }
    return z;
  }

  /** Pages per row of matrix(rows). */
  pagesPerRow(rows = this.pages): number {
    return Math.max(1, Math.ceil(this.pages / Math.max(1, Math.floor(rows))));
  }

  /** Shows the recording as a page-state heatmap in the kernel. */
  [JUPYTER_DISPLAY](): Record<string, string> {
    return { "text/plain": this.toString() };
  }

  /** console.log shows the summary, not every frame. */
  [inspect.custom](): string {
    return this.toString();
  }

  /** The page count, frame count and dirty pages per frame. */
  toString(): string {
    const d = this.dirtyCounts;
    return `PageStateRecording { ${this.pages} pages, ${this.frames.length} frames, dirty ${d.join(" -> ") || "(no frames)"} }`.slice(
      0,
      300,
    );
  }
}

/** The name of a page state value (for legends): "not cached", "clean", "dirty", "writeback". */
export function pageStateName(state: number): string {
  validateInt32(state, "state");
  return STATE_NAMES[state] ?? `state ${state}`;
}

/** Options of a PageStateSampler. */
export interface PageStateSamplerOptions {
  /** Title for plots. */
  title?: string;
}

/**
 * Takes pageStates() snapshots of a file mapping on demand:
 *   const s = new PageStateSampler(m); write(); s.sample("written"); m.sync(MS_SYNC); s.sample("MS_SYNC");
 *   plot.pageStates(s.recording)
 */
export class PageStateSampler {
  readonly mapping: Region;
  readonly recording: PageStateRecording;
  #start = process.hrtime.bigint();

  constructor(mapping: Region, options?: PageStateSamplerOptions | string) {
    const opts = typeof options === "string" ? { title: options } : validateOptions<PageStateSamplerOptions>(options);
    pageStates(mapping); // refuses what has no dirty pages (anonymous, tmpfs) before any sample
    this.mapping = mapping;
    this.recording = new PageStateRecording(mapping.pages, opts.title);
  }

  /** Appends one frame; returns its counts. */
  sample(label = ""): PageStateCounts {
    const frame = pageStates(this.mapping);
    const rec = this.recording;
    rec.frames.push(frame);
    rec.times.push(Number(process.hrtime.bigint() - this.#start) / 1e6);
    rec.labels.push(String(label));
    return countStates(frame);
  }

  /**
   * Samples every `intervalMs` until `until()` is true or `timeoutMs` passed (the bounded wait
   * for background writeback); resolves with the recording.
   */
  async watch(
    options: { intervalMs?: number; timeoutMs?: number; until?: (c: PageStateCounts) => boolean; label?: string } = {},
  ): Promise<PageStateRecording> {
    const interval = options.intervalMs ?? 250;
    const timeout = options.timeoutMs ?? 5000;
    if (!(interval > 0)) throw new ERR_OUT_OF_RANGE("options.intervalMs", "> 0", interval);
    if (!(timeout >= 0)) throw new ERR_OUT_OF_RANGE("options.timeoutMs", ">= 0", timeout);
    if (options.until !== undefined) validateFunction(options.until, "options.until");
    const start = Date.now();
    for (;;) {
      const c = this.sample(options.label ?? `${((Date.now() - start) / 1000).toFixed(1)} s`);
      if (options.until?.(c) || Date.now() - start >= timeout) return this.recording;
      await new Promise((resolve) => setTimeout(resolve, interval));
    }
  }
}
