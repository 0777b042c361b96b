// The latency sampler returns every real sample, percentiles consistent with them, and its own overhead.
import fs from "fs";
import os from "os";
import path from "path";
import {
  MAP_SHARED,
  MS_SYNC,
  PROT_READ,
  PROT_WRITE,
  latencyStats,
  mmap,
  msync,
  sampleLatency,
  LatencyResult,
} from "../../src";

function nearestRank(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1];
}

test("samples msync(MS_SYNC) on a dirty file page: real samples, consistent percentiles, overhead reported", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-lat-"));
  const file = path.join(dir, "data.bin");
  fs.writeFileSync(file, Buffer.alloc(4096));
  const fd = fs.openSync(file, "r+");
  const m = mmap(null, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  fs.closeSync(fd);
  try {
    const seen: number[] = [];
    let setups = 0;
    const r = sampleLatency(
      (i) => {
        seen.push(i);
        msync(m, 4096, MS_SYNC);
      },
      {
        n: 300,
        warmup: 20,
        label: "msync MS_SYNC",
        setup: (i) => {
          m.buffer[0] = i & 0xff;
          setups++;
        },
      },
    );
    expect(r).toBeInstanceOf(LatencyResult);
    expect(r.samples).toHaveLength(300);
    expect(seen).toHaveLength(320); // warm-up calls, then the sampled ones
    expect(setups).toBe(320);
    expect(seen.slice(20)).toEqual([...Array(300).keys()]);
    expect(r.samples.every((s) => Number.isFinite(s) && s > 0)).toBe(true);
    // Real measurements vary; constant output would not.
    expect(new Set(r.samples).size).toBeGreaterThan(1);
    const sorted = [...r.samples].sort((a, b) => a - b);
    expect(r.min).toBe(sorted[0]);
    expect(r.max).toBe(sorted[299]);
    expect(r.p50).toBe(nearestRank(sorted, 50));
    expect(r.p90).toBe(nearestRank(sorted, 90));
    expect(r.p99).toBe(nearestRank(sorted, 99));
    expect(r.min).toBeLessThanOrEqual(r.p50);
    expect(r.p50).toBeLessThanOrEqual(r.p90);
    expect(r.p90).toBeLessThanOrEqual(r.p99);
    expect(r.p99).toBeLessThanOrEqual(r.max);
    expect(r.mean).toBeCloseTo(r.samples.reduce((a, b) => a + b, 0) / 300, 9);
    expect(r.overhead.n).toBe(300);
    expect(r.overhead.p50).toBeGreaterThan(0);
    expect(r.unit).toBe("us");
    expect(String(r)).toMatch(/^msync MS_SYNC: n=300 min .* µs \(sampler overhead p50 .* µs\)$/);
    const shown = (r as unknown as Record<symbol, () => Record<string, string>>)[Symbol.for("Jupyter.display")]();
    expect(shown["text/plain"]).toBe(String(r));
    expect(shown["text/html"]).toContain("<td>300</td>");
    console.log(String(r));
  } finally {
    m.unmap();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("units convert the same nanosecond samples", () => {
  const work = () => {
    let s = 0;
    for (let i = 0; i < 2000; i++) s += Math.sqrt(i);
    return s;
  };
  const ns = sampleLatency(work, { n: 200, unit: "ns" });
  const us = sampleLatency(work, { n: 200, unit: "us" });
  expect(ns.unit).toBe("ns");
  expect(us.unit).toBe("us");
  // Nanosecond samples are whole clock differences; other units are those divided down.
  expect(ns.samples.every(Number.isInteger)).toBe(true);
  expect(us.samples.every((v) => Number.isInteger(Math.round(v * 1000 * 1e6) / 1e6))).toBe(true);
  expect(ns.label).toBe("work");
});

test("latencyStats and bad arguments", () => {
  expect(latencyStats([5, 1, 3, 2, 4])).toEqual({ n: 5, min: 1, p50: 3, p90: 5, p99: 5, max: 5, mean: 3 });
  expect(() => latencyStats([])).toThrow(RangeError);
  // A NaN (say, a division by zero in the student's own timing) has no order: sorted with the
  // rest it would shift every percentile (p50 3 of [1, NaN, 3], max NaN) without a word.
  expect(() => latencyStats([1, Number.NaN, 3])).toThrow(RangeError);
  expect(() => latencyStats([1, Number.NaN, 3])).toThrow(
    expect.objectContaining({ code: "ERR_OUT_OF_RANGE", message: expect.stringContaining('"samples[1]"') }),
  );
  expect(() => latencyStats(["5", "1"] as never)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }));
  expect(latencyStats(Float64Array.of(2, 1, 3))).toMatchObject({ n: 3, min: 1, p50: 2, max: 3 });
  expect(() => sampleLatency(null as never)).toThrow(TypeError);
  expect(() => sampleLatency(() => 0, { n: 0 })).toThrow(RangeError);
  expect(() => sampleLatency(() => 0, { unit: "s" as never })).toThrow(RangeError);
  expect(() => sampleLatency(async () => 0, { n: 3, warmup: 0 })).toThrow(/synchronous/);
});
