// kernel/snapshot-pages.js: a process started from a start-up snapshot maps the blob's pages file
// over the copy of the blob it holds, and its memory is what it was (a Worker and a new context,
// which read that copy, still start); it maps the strings file over the large strings of its heap
// (TypeScript's source and declaration texts, in a kernel), which still read the same; a file
// that differs by a byte, or that others may write, maps nothing (or nothing of that string). On a small test snapshot, in Node processes of their own.
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import fs from "fs";
import os from "os";
import path from "path";

const pagesJs = path.resolve(__dirname, "..", "..", "kernel", "snapshot-pages.js");
const snapshot = require(path.resolve(__dirname, "..", "..", "kernel", "snapshot.js")) as {
  enabled(env: NodeJS.ProcessEnv): boolean;
  SNAPSHOT_MAJORS: number[];
};
const supported = snapshot.enabled({ ...process.env, TSLAB_IPC_SNAPSHOT: "1" });
const whereSupported = supported ? test : test.skip;
const note = supported ? "" : ` [skipped: the kernel uses no snapshot under Node ${process.version}]`;

let dir: string;
let blob: string;

/** What a process started from the blob printed (one JSON line) after running `body`. */
function fromBlob(body: string, args: string[] = ["--snapshot-blob", blob]): Record<string, unknown> {
  const script = path.join(dir, `use-${Math.random().toString(36).slice(2)}.js`);
  fs.writeFileSync(
    script,
    `const fs = require("fs");
     const { mapPages, mapStrings } = require(${JSON.stringify(pagesJs)});
     /** Resident and anonymous kB of the mapping of the file ending in suffix (/proc/self/smaps), or null. */
     const residentOf = (suffix) => {
       const entry = fs.readFileSync("/proc/self/smaps", "utf8").split(/\\n(?=[0-9a-f]+-[0-9a-f]+ )/).find((e) => e.split("\\n")[0].endsWith(suffix));
       return entry ? { rss: Number(entry.match(/\\nRss:\\s+(\\d+)/)[1]), anonymous: Number(entry.match(/\\nAnonymous:\\s+(\\d+)/)[1]) } : null;
     };
     const residentOfPages = () => residentOf(".pages");
     const mappedFile = (suffix = ".pages") => fs.readFileSync("/proc/self/maps", "utf8").includes(suffix);
     /** The snapshot's large strings, read whole: their lengths and digests. */
     const digest = (t) => [t.length, require("crypto").createHash("sha256").update(t, "utf8").digest("hex")];
     const bigTextDigests = () => [digest(globalThis.bigText), digest(globalThis.wideText)];
     /** Reads what the process holds of the blob: a Worker's isolate and a new context start from it. */
     const stillReads = () => new Promise((resolve) => {
       const { Worker } = require("worker_threads");
       new Worker("require('worker_threads').parentPort.postMessage(6 * 7)", { eval: true })
         .once("message", (m) => resolve([m, require("vm").runInNewContext("fromSnapshot.length + 1", { fromSnapshot: globalThis.fromSnapshot ?? [] })]));
     });
     (async () => { ${body} })().then((r) => console.log(JSON.stringify(r)), (e) => { console.error(e); process.exit(1); });`,
  );
  const r = spawnSync(process.execPath, [...args, script], { encoding: "utf8", cwd: dir, timeout: 60_000 });
  expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0, stderr: "" });
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "null");
}

/** Writes a new pages (or source) file, as the builder does: another file renamed over it. */
function replacePages(content: Buffer, mode = 0o600, suffix = ".pages"): void {
  const partial = `${blob}${suffix}.new`;
  fs.writeFileSync(partial, content, { mode });
  fs.chmodSync(partial, mode);
  fs.renameSync(partial, `${blob}${suffix}`);
}

/** The test snapshot's large strings, as its builder made them: ~2.8 MB one byte a character, and ~0.5 MB of UTF-16. */
const bigText = Array.from({ length: 80_000 }, (_, i) => `line ${i} of a long text in the heap\n`).join("");
const wideText = Array.from({ length: 20_000 }, (_, i) => `→ wide ${i}\n`).join("");
const digest = (t: string) => [t.length, createHash("sha256").update(t, "utf8").digest("hex")];
const bigTextDigests = [digest(bigText), digest(wideText)];

beforeAll(() => {
  if (!supported) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-pages-"));
  blob = path.join(dir, "test.blob");
  // A snapshot whose heap holds some data and a large string (whose bytes the builder also writes
  // to a file, as kernel/snapshot-entry.js does TypeScript's source), whose main function runs
  // the given script.
  const entry = path.join(dir, "entry.js");
  const image = path.join(dir, "strings.image");
  const index = path.join(dir, "strings.json");
  fs.writeFileSync(
    entry,
    `globalThis.fromSnapshot = Array.from({ length: 20000 }, (_, i) => ({ i, s: "item " + i }));
     globalThis.bigText = Array.from({ length: 80000 }, (_, i) => "line " + i + " of a long text in the heap\\n").join("");
     globalThis.wideText = Array.from({ length: 20000 }, (_, i) => "\u2192 wide " + i + "\\n").join("");
     const one = Buffer.from(globalThis.bigText, "latin1"), two = Buffer.from(globalThis.wideText, "utf16le");
     require("fs").writeFileSync(${JSON.stringify(image)}, Buffer.concat([one, two]));
     require("fs").writeFileSync(${JSON.stringify(index)}, JSON.stringify([{ name: "big", offset: 0, length: one.length }, { name: "wide", offset: one.length, length: two.length }]));
     require("v8").startupSnapshot.setDeserializeMainFunction(() => {
       process.argv[1] = require("path").resolve(process.argv[1]);
       require("module").runMain();
     });`,
  );
  const built = spawnSync(process.execPath, ["--snapshot-blob", blob, "--build-snapshot", entry], {
    cwd: dir,
    encoding: "utf8",
  });
  expect(built.status).toBe(0);
  // What the builder does after it (kernel/snapshot.js): write the pages and source files from
  // the new blob.
  const wrote = spawnSync(process.execPath, ["--snapshot-blob", blob, pagesJs, "write", blob, image, index], {
    cwd: dir,
    encoding: "utf8",
  });
  expect({ status: wrote.status, stderr: wrote.stderr }).toMatchObject({ status: 0, stderr: "" });
}, 60_000);

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

whereSupported(
  `the pages file maps over the copy: its memory leaves the anonymous pages, and is still read${note}`,
  () => {
    const pages = fs.statSync(`${blob}.pages`);
    expect(pages.size % 4096).toBe(0);
    expect(pages.size).toBeGreaterThan(1 << 20);
    // Readable by whom the blob is (the builder makes a user's 0600, the machine's 0644), no more.
    expect(pages.mode & 0o777).toBe(fs.statSync(blob).mode & 0o644);
    const r = fromBlob(`
    const result = mapPages();
    return { result, resident: residentOfPages(), mapped: mappedFile(), reads: await stillReads() };
  `);
    expect(r.result).toEqual({ bytes: pages.size - 4096 });
    // The replaced pages are the file's now, and none is in memory until read.
    expect(r.resident).toEqual({ rss: 0, anonymous: 0 });
    expect(r.mapped).toBe(true);
    expect(r.reads).toEqual([42, 20001]);
  },
);

whereSupported(`a pages file that differs from the copy by one byte maps nothing${note}`, () => {
  const good = fs.readFileSync(`${blob}.pages`);
  try {
    const bad = Buffer.from(good);
    bad[bad.length - 100] ^= 0xff;
    replacePages(bad);
    const r = fromBlob("return { result: mapPages(), mapped: mappedFile(), reads: await stillReads() };");
    expect((r.result as { skipped: string }).skipped).toMatch(/differs from the block/);
    expect(r.mapped).toBe(false);
    expect(r.reads).toEqual([42, 20001]);
  } finally {
    replacePages(good);
  }
});

whereSupported(`a pages file others may write maps nothing; nor does a process not started from a blob${note}`, () => {
  const good = fs.readFileSync(`${blob}.pages`);
  try {
    replacePages(good, 0o622);
    const r = fromBlob("return { result: mapPages(), mapped: mappedFile() };");
    expect((r.result as { skipped: string }).skipped).toMatch(/not the blob's owner's alone/);
    expect(r.mapped).toBe(false);
  } finally {
    replacePages(good);
  }
  const plain = fromBlob("return { result: mapPages(), mapped: mappedFile() };", []);
  expect(plain).toEqual({ result: { skipped: "not started from a snapshot" }, mapped: false });
});

whereSupported(
  `the strings file maps over the heap's large strings: their pages leave memory, and they read the same${note}`,
  () => {
    const file = fs.statSync(`${blob}.strings`);
    // A header page, then each string's whole pages: all but its first and last partial ones.
    const wholePages = (bytes: number) => Math.floor(bytes / 4096) - 1;
    const expected = (wholePages(bigText.length) + wholePages(wideText.length * 2)) * 4096;
    expect(file.size % 4096).toBe(0);
    expect(file.size - 4096).toBeGreaterThanOrEqual(expected);
    expect(file.size - 4096).toBeLessThanOrEqual(expected + 2 * 4096);
    expect(file.mode & 0o777).toBe(fs.statSync(blob).mode & 0o644);
    const r = fromBlob(`
    const result = mapStrings();
    const resident = residentOf(".strings");
    return { result, resident, digests: bigTextDigests(), after: residentOf(".strings") };
  `);
    expect(r.result).toEqual({ bytes: file.size - 4096, strings: 2 });
    expect(r.resident).toEqual({ rss: 0, anonymous: 0 });
    // Read whole, the strings are what the builder made, from the file's pages (none copied).
    expect(r.digests).toEqual(bigTextDigests);
    expect((r.after as { rss: number }).rss).toBeGreaterThan(0);
    expect((r.after as { anonymous: number }).anonymous).toBe(0);
  },
);

whereSupported(
  `a string whose pages differ by one byte maps not; a strings file others may write maps nothing${note}`,
  () => {
    const good = fs.readFileSync(`${blob}.strings`);
    try {
      const bad = Buffer.from(good);
      bad[4096 + 100] ^= 0xff; // in the first string's region
      replacePages(bad, 0o600, ".strings");
      let r = fromBlob("return { result: mapStrings(), digests: bigTextDigests() };");
      expect(r).toEqual({ result: { bytes: expect.any(Number), strings: 1 }, digests: bigTextDigests });
      replacePages(good, 0o622, ".strings");
      r = fromBlob("return { result: mapStrings(), mapped: mappedFile('.strings') };");
      expect(r).toEqual({ result: { skipped: expect.stringMatching(/not the blob's owner's alone/) }, mapped: false });
    } finally {
      replacePages(good, 0o600, ".strings");
    }
  },
);

// Node's copy of the V8 data is a chunk malloc maps on its own, but the kernel merges it with an
// anonymous mapping made right below it later into one line of /proc/self/maps (the writer's own
// read of the blob did, about once in 150 builds of the test's snapshot with two at a time): the
// block then starts inside its line. Here a block of a blob made up for the test sits 64 pages
// into one anonymous mapping, in a process not started from any blob (writePages only reads
// memory). No Buffer of that process ever holds the whole blob or the block's data in one piece:
// they are written from a 64 KiB pattern, so the only copy of the data in its memory is the block.
test("a copy of the V8 data that starts inside a line of /proc/self/maps is found, and its pages file written", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-pages-inner-"));
  try {
    const script = path.join(work, "inner.js");
    fs.writeFileSync(
      script,
      `const fs = require("fs");
       const crypto = require("crypto");
       const { writePages } = require(${JSON.stringify(pagesJs)});
       const lib = require(${JSON.stringify(path.resolve(__dirname, "..", "..", "dist", "index.js"))});
       const PAGE = 4096, HEADER = 16, DATA = 2 << 20, BEFORE = 64;
       const pattern = crypto.randomBytes(64 * 1024);
       // The blob: a header of Node's kind (random here), the data's length, the data.
       const blob = ${JSON.stringify(path.join(work, "made-up.blob"))};
       const fd = fs.openSync(blob, "w");
       const length = Buffer.alloc(4);
       length.writeInt32LE(DATA);
       fs.writeSync(fd, crypto.randomBytes(100));
       fs.writeSync(fd, length);
       for (let o = 0; o < DATA; o += pattern.length) fs.writeSync(fd, pattern);
       fs.closeSync(fd);
       // One mapping: 64 pages of other bytes, then the block (malloc's header, the data).
       const chunk = Math.ceil((HEADER + DATA) / PAGE) * PAGE;
       const m = lib.mmap(null, BEFORE * PAGE + chunk, lib.PROT_READ | lib.PROT_WRITE, lib.MAP_PRIVATE | lib.MAP_ANONYMOUS, -1, 0);
       const mem = m.buffer;
       crypto.randomFillSync(mem, 0, BEFORE * PAGE);
       mem.writeBigUInt64LE(0n, BEFORE * PAGE);
       mem.writeBigUInt64LE(BigInt(chunk) | 2n, BEFORE * PAGE + 8);
       for (let o = 0; o < DATA; o += pattern.length) pattern.copy(mem, BEFORE * PAGE + HEADER + o);
       const start = Number(m.address);
       const line = fs.readFileSync("/proc/self/maps", "utf8").split("\\n").find((l) => {
         const [s, e] = l.split(" ")[0].split("-").map((x) => parseInt(x, 16));
         return s <= start && start < e;
       });
       const lineStart = parseInt(line.split("-")[0], 16);
       const bytes = writePages(blob);
       const file = fs.readFileSync(blob + ".pages");
       let same = file.subarray(0, HEADER).every((b) => b === 0);
       for (let o = HEADER; o < file.length; o += pattern.length) {
         const part = file.subarray(o, Math.min(file.length, o + pattern.length));
         same = same && part.equals(pattern.subarray(0, part.length));
       }
       lib.munmap(m);
       console.log(JSON.stringify({ blockInsideLine: lineStart < start + BEFORE * PAGE, bytes, fileBytes: file.length, same }));`,
    );
    const r = spawnSync(process.execPath, [script], { encoding: "utf8", cwd: work, timeout: 60_000 });
    expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0, stderr: "" });
    const out = JSON.parse(r.stdout.trim().split("\n").pop() ?? "null");
    // Whole pages of the block, from its first: the data's 2 MiB after malloc's 16 bytes, less the part page.
    expect(out).toEqual({ blockInsideLine: true, bytes: 512 * 4096, fileBytes: 512 * 4096, same: true });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}, 60_000);
