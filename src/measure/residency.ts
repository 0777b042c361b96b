// Residency: which pages of a mapping are in memory right now (mincore), once or over time.
import { inspect } from "util";
import { validateFunction, validateInt32, validateInteger, validateOptions } from "../validators";
import { JUPYTER_DISPLAY } from "../display/mime";
import { countResident, mincore } from "../sys/mman";
import { validateRegion, type Region } from "../sys/region";

/**
 * One entry per page of the region: 1 if resident (mincore), else 0.
 *
 * @example
 * {@includeCode ../../docs/examples/residency.ts}
 */
export function residency(region: Region): Uint8Array {
  return mincore(validateRegion(region, "region"));
}

/** How many pages of the region are resident now. */
export function residentPages(region: Region): number {
  return countResident(residency(region));
}

/** A pages × time record of residency, as the heatmap draws it. */
export class ResidencyRecording {
  /** Pages the region spans. */
  readonly pages: number;
  /** One mincore bitmap per sample, in time order. */
  readonly frames: Uint8Array[] = [];
  /** When each frame was taken, in ms since the recording started. */
  readonly times: number[] = [];
  /** Optional label of each frame (the step that preceded it). */
  readonly labels: string[] = [];
  readonly title: string;

  constructor(pages: number, title = "residency") {
    this.pages = pages;
    this.title = title;
  }

  /** Resident page count per frame. */
  get residentCounts(): number[] {
    return this.frames.map(countResident);
  }

  /**
   * The matrix z[page][frame] (0/1), or, with `rows` < pages, z[bin][frame] = the fraction of
   * the pages in that bin that were resident (what fits on a screen for 16384 pages).
   */
  matrix(rows = this.pages): number[][] {
    const bins = validateInt32(rows, "rows", 1);
    const per = Math.max(1, Math.ceil(this.pages / bins));
    const count = Math.ceil(this.pages / per);
    const z: number[][] = [];
    for (let b = 0; b < count; b++) {
      const lo = b * per;
      const hi = Math.min(this.pages, lo + per);
      z.push(
        this.frames.map((f) => {
          let s = 0;
          for (let p = lo; p < hi; p++) s += f[p];
          return per === 1 ? s : s / (hi - lo);
        }),
      );
    }
    return z;
  }

  /** Pages per row of matrix(rows). */
  pagesPerRow(rows = this.pages): number {
    return Math.max(1, Math.ceil(this.pages / rows));
  }

  /** In the kernel: the one-line summary (plot.residency(recording) draws it). */
  [JUPYTER_DISPLAY](): Record<string, string> {
    return { "text/plain": this.toString() };
  }

  /** console.log shows the summary, not every frame. */
  [inspect.custom](): string {
    return this.toString();
  }

  /** One line: pages, steps and how many became resident. */
  toString(): string {
    const c = this.residentCounts;
    return `ResidencyRecording { ${this.pages} pages, ${this.frames.length} frames, resident ${c[0] ?? 0} -> ${c[c.length - 1] ?? 0} }`;
  }
}

/**
 * Takes mincore snapshots of a region on demand, for code that touches pages in its own loop:
 *   const s = new ResidencySampler(m); for (...) { touch(); s.sample(); } plot.residency(s.recording)
 */
export class ResidencySampler {
  readonly region: Region;
  readonly recording: ResidencyRecording;
  #start = process.hrtime.bigint();

  constructor(region: Region, title?: string) {
    this.region = validateRegion(region, "region");
    this.recording = new ResidencyRecording(region.pages, title);
  }

  /** Appends one frame (mincore now); returns the resident count. */
  sample(label = ""): number {
    const frame = mincore(this.region);
    const rec = this.recording;
    rec.frames.push(frame);
    rec.times.push(Number(process.hrtime.bigint() - this.#start) / 1e6);
    rec.labels.push(label);
    let n = 0;
    for (let i = 0; i < frame.length; i++) n += frame[i];
    return n;
  }
}

/** How `recordResidency` samples: whether to record the starting state as step 0. */
export interface RecordResidencyOptions {
  /** Title for plots. */
  title?: string;
}

/**
 * Records residency while `step(i)` runs `steps` times: one frame before the first step and
 * one after each step, so the recording has steps + 1 frames.
 */
export function recordResidency(
  region: Region,
  steps: number,
  step: (i: number) => void,
  options?: RecordResidencyOptions,
): ResidencyRecording {
  validateRegion(region, "region");
  const count = validateInteger(steps, "steps", 1, 1_000_000);
  validateFunction(step, "step");
  const opts = validateOptions<RecordResidencyOptions>(options, "options");
  const sampler = new ResidencySampler(region, opts.title);
  sampler.sample("start");
  for (let i = 0; i < count; i++) {
    step(i);
    sampler.sample(`step ${i}`);
  }
  return sampler.recording;
}
