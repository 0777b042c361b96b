// A fault timeline: the order in which the pages of a mapping became resident while a program
// touched them in an order of its choosing, next to the faults each step took.
//
// Invariants:
// - The pages are touched in exactly the order given, `every` touches per step; after each step
//   one mincore snapshot says which pages are resident now, so a page's entry in `residentAt`
//   is the first step after which it was resident (-1 if never, 0 if before the first touch).
// - Faults are counted with getrusage(RUSAGE_THREAD) around each step only (mincore and the
//   bookkeeping stay outside), so the counts are the touches' own.
import { inspect } from "util";
import { ERR_INVALID_ARG_TYPE } from "../codes";
import { JUPYTER_DISPLAY } from "../display/mime";
import { mincore } from "../sys/mman";
import { pageSize } from "../sys/page";
import { validateRegion, type Region } from "../sys/region";
import { validateFunction, validateInteger, validateOptions, validateString } from "../validators";
import { RUSAGE_THREAD, readFaultCounters } from "./rusage";

/** Options of recordFaultTimeline. */
export interface FaultTimelineOptions {
  /** A name for plots ("sequential", "MADV_RANDOM", ...). */
  label?: string;
  /** Touches per step (one mincore snapshot and one fault reading per step). Default 16. */
  every?: number;
  /** How to touch a page: default reads one byte of it. */
  touch?: (buffer: Buffer, page: number) => void;
}

/** What recordFaultTimeline returns. */
export class FaultTimeline {
  readonly label: string;
  readonly pages: number;
  /** The pages in the order they were touched. */
  readonly order: number[];
  /** Touches per step. */
  readonly every: number;
  /** For each page: the step after which it was first resident (0: resident before any touch; -1: never). */
  readonly residentAt: Int32Array;
  /** Minor and major faults taken in each step. */
  readonly minorPerStep: number[] = [];
  readonly majorPerStep: number[] = [];

  /** @internal Use recordFaultTimeline(). */
  constructor(label: string, pages: number, order: number[], every: number) {
    this.label = label;
    this.pages = pages;
    this.order = order;
    this.every = every;
    this.residentAt = new Int32Array(pages).fill(-1);
  }

  /** Minor faults in all steps. */
  get minor(): number {
    return this.minorPerStep.reduce((a, b) => a + b, 0);
  }

  /** Major faults in all steps. */
  get major(): number {
    return this.majorPerStep.reduce((a, b) => a + b, 0);
  }

  /** Steps taken. */
  get steps(): number {
    return this.minorPerStep.length;
  }

  /** Pages that became resident before the step that touched them (read ahead, or fault-around). */
  get residentBeforeTouched(): number {
    const touchedAt = new Int32Array(this.pages).fill(-1);
    this.order.forEach((page, i) => {
      if (touchedAt[page] < 0) touchedAt[page] = Math.floor(i / this.every) + 1;
    });
    let n = 0;
    for (let p = 0; p < this.pages; p++)
      if (this.residentAt[p] >= 0 && touchedAt[p] >= 0 && this.residentAt[p] < touchedAt[p]) n++;
    return n;
  }

  /** The one-line summary. */
  toString(): string {
    return `FaultTimeline { ${this.label}: ${this.order.length} touches of ${this.pages} pages in ${this.steps} steps, ${this.minor} minor + ${this.major} major faults, ${this.residentBeforeTouched} pages resident before their touch }`;
  }

  /** In the kernel: the summary (plot.faultTimeline draws it). */
  [JUPYTER_DISPLAY](): Record<string, string> {
    return { "text/plain": this.toString() };
  }

  /** console.log shows the summary. */
  [inspect.custom](): string {
    return this.toString();
  }
}

function readByte(buffer: Buffer, page: number): void {
  // A read the engine cannot drop: the value goes into a global sink.
  sink ^= buffer[page * pageSize()];
}
// biome-ignore lint/correctness/noUnusedVariables: write-only on purpose; the XOR into it keeps readByte's read from being optimised away
let sink = 0;

/**
 * Touches the pages of `region` in `order` (page numbers), `every` per step, and records when
 * each page became resident (mincore after each step) and the faults of each step.
 * @example
 * ```ts
 * const t = recordFaultTimeline(m, Array.from({ length: m.pages }, (_, i) => i), { label: "sequential" });
 * plot.faultTimeline([t])
 * ```
 */
export function recordFaultTimeline(
  region: Region,
  order: ArrayLike<number>,
  options?: FaultTimelineOptions,
): FaultTimeline {
  validateRegion(region, "region");
  const opts = validateOptions<FaultTimelineOptions>(options);
  const pages = region.pages;
  if (order === null || typeof order !== "object" || typeof order.length !== "number") {
    throw new ERR_INVALID_ARG_TYPE("order", "an array of page numbers", order);
  }
  const touches = Array.from(order, (p, i) => validateInteger(p, `order[${i}]`, 0, pages - 1));
  const every = validateInteger(opts.every ?? 16, "options.every", 1, 1_000_000);
  const touch =
    opts.touch === undefined ? readByte : validateFunction<(b: Buffer, p: number) => void>(opts.touch, "options.touch");
  const label = opts.label === undefined ? "timeline" : validateString(opts.label, "options.label");
  const t = new FaultTimeline(label, pages, touches, every);
  const buffer = region.buffer;
  const note = (vec: Uint8Array, step: number) => {
    for (let p = 0; p < pages; p++) if (vec[p] && t.residentAt[p] < 0) t.residentAt[p] = step;
  };
  note(mincore(region), 0);
  readFaultCounters(RUSAGE_THREAD); // warm
  for (let from = 0, step = 1; from < touches.length; from += every, step++) {
    const to = Math.min(from + every, touches.length);
    const f0 = readFaultCounters(RUSAGE_THREAD);
    for (let i = from; i < to; i++) touch(buffer, touches[i]);
    const f1 = readFaultCounters(RUSAGE_THREAD);
    t.minorPerStep.push(f1.minor - f0.minor);
    t.majorPerStep.push(f1.major - f0.major);
    note(mincore(region), step);
  }
  return t;
}

/** The page numbers 0..pages-1 in a shuffled order, the same for the same seed (a small LCG). */
export function shuffledPages(pages: number, seed = 12345): number[] {
  const n = validateInteger(pages, "pages", 0, 1 << 26);
  const out = Array.from({ length: n }, (_, i) => i);
  let x = validateInteger(seed, "seed", 0, 2 ** 31 - 1) || 1;
  for (let i = n - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
