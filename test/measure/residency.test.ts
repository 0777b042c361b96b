// The residency bitmap follows pages being touched and dropped; the recorder builds a pages × time matrix.
import {
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  ResidencySampler,
  madvise,
  mmap,
  recordResidency,
  residency,
  residentPages,
} from "../../src";

const PAGE = 4096;

test("bitmap changes as pages are touched and after MADV_DONTNEED", () => {
  const m = mmap(null, 64 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  try {
    const before = residency(m);
    expect(before).toBeInstanceOf(Uint8Array);
    expect(before).toHaveLength(64);
    expect(Array.from(before).every((v) => v === 0)).toBe(true);
    const touched = [0, 3, 17, 63];
    for (const p of touched) m.buffer[p * PAGE + 100] = 1;
    const after = residency(m);
    expect(Array.from(after)).toEqual(Array.from({ length: 64 }, (_, i) => (touched.includes(i) ? 1 : 0)));
    expect(residentPages(m)).toBe(4);
    madvise(m, m.length, MADV_DONTNEED);
    expect(residentPages(m)).toBe(0);
  } finally {
    m.unmap();
  }
  expect(() => residency({} as never)).toThrow(TypeError);
});

test("recordResidency: one frame before and one after each step", () => {
  const pages = 512;
  const m = mmap(null, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  try {
    const buf = m.buffer;
    // Each step touches the next 32 pages; the last step drops everything.
    const rec = recordResidency(
      m,
      17,
      (i) => {
        if (i < 16) for (let p = i * 32; p < (i + 1) * 32; p++) buf[p * PAGE] = 1;
        else madvise(m, m.length, MADV_DONTNEED);
      },
      { title: "sequential touch" },
    );
    expect(rec.frames).toHaveLength(18);
    expect(rec.times).toHaveLength(18);
    expect(rec.residentCounts).toEqual([...Array.from({ length: 17 }, (_, i) => i * 32), 0]);
    for (let i = 1; i < rec.times.length; i++) expect(rec.times[i]).toBeGreaterThanOrEqual(rec.times[i - 1]);
    const full = rec.matrix();
    expect(full).toHaveLength(pages);
    expect(full[0]).toHaveLength(18);
    expect(full[40][1]).toBe(0); // page 40 is touched by step 1 (frame 2)
    expect(full[40][2]).toBe(1);
    const binned = rec.matrix(16); // 32 pages per row
    expect(binned).toHaveLength(16);
    expect(binned[1].slice(0, 4)).toEqual([0, 0, 1, 1]);
    expect(rec.pagesPerRow(16)).toBe(32);

    const s = new ResidencySampler(m);
    expect(s.sample()).toBe(0);
    buf[0] = 1;
    expect(s.sample("touched")).toBe(1);
    expect(s.recording.labels).toEqual(["", "touched"]);
  } finally {
    m.unmap();
  }
});
