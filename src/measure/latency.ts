// Latency sampling: time one call many times and keep every sample, so a notebook can plot
// the distribution (histogram, CDF) rather than only a mean.
//
// Each sample is two process.hrtime.bigint() reads around the call. That costs something
// (a few tens of ns: a clock read and a bigint each); the sampler measures it by timing an
// empty function through the same loop and reports it beside the results, unsubtracted, so
// a reader can see how it compares with what was measured.
import { inspect } from "util";
import { ERR_INVALID_ARG_VALUE, ERR_INVALID_ARG_VALUE_RANGE } from "../codes";
import { validateFunction, validateInteger, validateNumberArray, validateOptions, validateString } from "../validators";
import { escapeHtml } from "../display/html";
import { JUPYTER_DISPLAY } from "../display/mime";

/** The unit latency samples are reported in. */
export type LatencyUnit = "ns" | "us" | "ms";

/**
 * How `sampleLatency` samples: how many calls, the warm-up, the unit, a label, and a setup step run before
 * each (untimed) call.
 */
export interface LatencyOptions {
  /** Samples to keep. Default 1000. */
  n?: number;
  /** Calls made first and thrown away (JIT, caches, first-touch faults). Default min(100, n). */
  warmup?: number;
  /** Unit of every number in the result: "ns", "us" (µs, default) or "ms". */
  unit?: LatencyUnit;
  /** A name for plots and summaries ("msync MS_SYNC"). */
  label?: string;
  /** Run before each call, outside the timed window (e.g. dirty the page msync will write). */
  setup?: (i: number) => void;
  /** Samples taken of an empty call to measure the sampler's own cost. Default min(n, 1000). */
  overheadSamples?: number;
}

/** Order statistics of a set of samples, in the result's unit. */
export interface LatencyStats {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

const UNIT_DIVISOR: Record<LatencyUnit, number> = { ns: 1, us: 1e3, ms: 1e6 };
/** Samples one call may take: 80 MB of float64s. */
const MAX_SAMPLES = 10_000_000;
const UNIT_TEXT: Record<LatencyUnit, string> = { ns: "ns", us: "µs", ms: "ms" };

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: ArrayLike<number>, p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/** min, p50, p90, p99, max and mean of `samples` (any order). */
export function latencyStats(samples: ArrayLike<number>): LatencyStats {
  const values = validateNumberArray(samples, "samples");
  const n = values.length;
  if (n === 0) throw new ERR_INVALID_ARG_VALUE_RANGE("samples", samples, "must hold at least one sample");
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  return {
    n,
    min: sorted[0],
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[n - 1],
    mean: sum / n,
  };
}

/** What sampleLatency returns: every sample in call order, their statistics and the sampler's own cost. */
export class LatencyResult implements LatencyStats {
  readonly label: string;
  readonly unit: LatencyUnit;
  /** Every sample, in the order taken, in `unit`. */
  readonly samples: number[];
  readonly n: number;
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
  /** The sampler timing an empty call, in `unit`: what every sample includes besides the call. */
  readonly overhead: LatencyStats;

  constructor(label: string, unit: LatencyUnit, samples: number[], overhead: LatencyStats) {
    const s = latencyStats(samples);
    this.label = label;
    this.unit = unit;
    this.samples = samples;
    this.n = s.n;
    this.min = s.min;
    this.p50 = s.p50;
    this.p90 = s.p90;
    this.p99 = s.p99;
    this.max = s.max;
    this.mean = s.mean;
    this.overhead = overhead;
  }

  /** In the kernel: the one-line summary and a small table (the samples stay in .samples). */
  [JUPYTER_DISPLAY](): Record<string, string> {
    const u = UNIT_TEXT[this.unit];
    const f = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(2));
    const cols = ["min", "p50", "p90", "p99", "max", "mean"] as const;
    const row = (name: string, s: LatencyStats) =>
      `<tr><th style="text-align:left">${name}</th><td>${s.n}</td>${cols.map((c) => `<td>${f(s[c])}</td>`).join("")}</tr>`;
    const html =
      `<table><thead><tr><th>${u}</th><th>n</th>${cols.map((c) => `<th>${c}</th>`).join("")}</tr></thead><tbody>` +
      row(escapeHtml(this.label), this) +
      row("sampler overhead (empty call)", this.overhead) +
      `</tbody></table>`;
    return { "text/plain": this.toString(), "text/html": html };
  }

  /** console.log shows the statistics and the number of samples, not every sample. */
  [inspect.custom](): string {
    const { label, unit, n, min, p50, p90, p99, max, mean, overhead } = this;
    return `LatencyResult ${inspect({ label, unit, n, min, p50, p90, p99, max, mean, overhead, samples: `[${n} numbers]` })}`;
  }

  /** One line: label, n and the percentiles. */
  toString(): string {
    const u = UNIT_TEXT[this.unit];
    const f = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(2));
    return (
      `${this.label}: n=${this.n} min ${f(this.min)} p50 ${f(this.p50)} p90 ${f(this.p90)} p99 ${f(this.p99)} ` +
      `max ${f(this.max)} mean ${f(this.mean)} ${u} (sampler overhead p50 ${f(this.overhead.p50)} ${u})`
    );
  }
}

// The timing loop, shared by the real call and the empty one so both pay the same costs.
// Returns what the first call returned, so a promise-returning function can be refused.
function timeCalls(
  call: (i: number) => unknown,
  setup: ((i: number) => void) | undefined,
  count: number,
  out: Float64Array | null,
): unknown {
  const clock = process.hrtime.bigint;
  let first: unknown;
  for (let i = 0; i < count; i++) {
    if (setup) setup(i);
    const t0 = clock();
    const value = call(i);
    const t1 = clock();
    if (out) out[i] = Number(t1 - t0);
    if (i === 0) first = value;
  }
  return first;
}

function checkNotPromise(value: unknown): void {
  if (value !== null && typeof value === "object" && typeof (value as { then?: unknown }).then === "function") {
    throw new ERR_INVALID_ARG_VALUE("fn", value, "must be synchronous: it returned a promise");
  }
}

function emptyCall(): void {}

/**
 * Calls `fn` `warmup` times, then `n` times timing each call with process.hrtime.bigint, and
 * returns every sample with min/p50/p90/p99/max/mean and the sampler's own overhead.
 * `fn` receives the sample index. It must be synchronous.
 *
 * @example
 * {@includeCode ../../docs/examples/sampleLatency.ts}
 */
export function sampleLatency(fn: (i: number) => unknown, options?: LatencyOptions): LatencyResult {
  validateFunction(fn, "fn");
  const opts = validateOptions<LatencyOptions>(options, "options");
  const n = validateInteger(opts.n ?? 1000, "options.n", 1, MAX_SAMPLES);
  const warmup = validateInteger(opts.warmup ?? Math.min(100, n), "options.warmup", 0, MAX_SAMPLES);
  const unit = opts.unit ?? "us";
  if (!Object.hasOwn(UNIT_DIVISOR, unit))
    throw new ERR_INVALID_ARG_VALUE_RANGE("options.unit", unit, "must be one of: 'ns', 'us', 'ms'");
  if (opts.label !== undefined) validateString(opts.label, "options.label");
  const setup = opts.setup;
  if (setup !== undefined) validateFunction(setup, "options.setup");
  const overheadN = validateInteger(
    opts.overheadSamples ?? Math.min(n, 1000),
    "options.overheadSamples",
    1,
    MAX_SAMPLES,
  );

  if (warmup > 0) checkNotPromise(timeCalls(fn, setup, warmup, null));
  const raw = new Float64Array(n);
  checkNotPromise(timeCalls(fn, setup, n, raw));

  // The sampler's own cost: the same loop around an empty call (warmed the same way).
  timeCalls(emptyCall, undefined, Math.min(100, overheadN), null);
  const empty = new Float64Array(overheadN);
  timeCalls(emptyCall, undefined, overheadN, empty);

  const div = UNIT_DIVISOR[unit];
  const samples = Array.from(raw, (v) => v / div);
  const overhead = latencyStats(Array.from(empty, (v) => v / div));
  return new LatencyResult(opts.label ?? (fn.name || "call"), unit, samples, overhead);
}
