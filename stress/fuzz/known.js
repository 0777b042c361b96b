// Bugs the fuzzer found in code this work does not own (see stress/FINDINGS.md), kept here
// until their owners fix them:
//  - `crash` ones are steered around by the generator (a crash ends a worker and would hide
//    everything after it); test/reliability/fuzz.test.ts runs each reproducer as a
//    test.failing, which starts failing (the signal to delete the entry) once the bug is fixed.
//  - `signature` ones (wrong error class) are counted and listed, not hidden.
// Set TSLAB_IPC_FUZZ_KNOWN=none to fuzz with nothing avoided or forgiven.
"use strict";
const path = require("path");

const DIST = JSON.stringify(path.join(__dirname, "..", "..", "dist", "index.js"));

const KNOWN = [
  {
    id: "partial-mprotect",
    what: "mprotect over part of a region leaves region.prot stale; checked writes then SIGSEGV (src/sys/mman.ts)",
    avoid: true,
    // Must end without a signal: the write is refused (EACCES) instead of faulting.
    reproducer: `const ipc = require(${DIST}); const m = ipc.mapAnonymous(8192, { shared: true });
      ipc.mprotect(m, 1, ipc.PROT_READ);
      try { m.writeInt32(0, 1); } catch (e) { if (!(e instanceof ipc.IpcError)) throw e; }`,
  },
  {
    id: "readstring-past-eof",
    what: "readString on a file mapping that reaches past the file's end (file shrank, or mapped longer than the file) scans past EOF: SIGBUS (src/sys/region.ts)",
    avoid: true,
    reproducer: `const ipc = require(${DIST}); const fs = require("fs"), os = require("os"), path = require("path");
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "known-")), "f.bin");
      const m = ipc.mapFile(file, { create: 8192 }); fs.truncateSync(file, 0);
      try { m.readString(0); } catch (e) { if (!(e instanceof ipc.IpcError)) throw e; }
      fs.rmSync(path.dirname(file), { recursive: true });`,
  },
  {
    id: "ipc-private-without-creat",
    what: "shmget(IPC_PRIVATE, size, flags) without IPC_CREAT creates a segment the registry never removes (src/sys/sysv.ts)",
    avoid: true,
    // Must exit with the segment gone.
    reproducer: `const ipc = require(${DIST}); const id = ipc.shmget(ipc.IPC_PRIVATE, 4096, 0o600);
      process.on("exit", () => { if (ipc.ipcs().some((e) => e.shmid === id)) { ipc.shmctl(id, ipc.IPC_RMID); process.exitCode = 3; } });`,
  },
  {
    id: "fifo-open-blocks",
    what: "mapFile / cachedPages / dropFromPageCache on a FIFO block forever in open(2) (no reader/writer); SIGINT/SIGTERM cannot stop it (src/memory/mapfile.ts, src/measure/pagecache.ts)",
    avoid: true,
    // Must return (an error) instead of blocking; the test runs it with a timeout.
    reproducer: `const ipc = require(${DIST}); const fs = require("fs"), os = require("os"), path = require("path");
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "known-")); const fifo = path.join(dir, "fifo");
      ipc.mkfifo(fifo);
      try { ipc.mapFile(fifo, { writable: false }); } catch (e) { if (!(e instanceof ipc.IpcError || e instanceof RangeError)) throw e; }
      fs.rmSync(dir, { recursive: true });`,
  },
  {
    id: "buffer-over-4gib",
    what: "a mapping longer than buffer.constants.MAX_LENGTH (4 GiB): .buffer (and every checked helper) aborts the process in koffi.view (FATAL ERROR napi) (src/sys/region.ts)",
    avoid: true,
    reproducer: `const ipc = require(${DIST}); const m = ipc.mapAnonymous(2 ** 32 + 1);
      try { m.readInt32(0); } catch (e) { if (!(e instanceof RangeError || e instanceof ipc.IpcError)) throw e; }`,
  },
  { id: "segment-mode-unchecked", what: "SharedSegment.create({ mode }) does not check mode: a bigint gives engine TypeError 'Cannot mix BigInt…'; 0o1000/0o2000 silently become IPC_CREAT/IPC_EXCL (src/memory/segment.ts)", signature: /^SharedSegment\.create bug:engine TypeError/ },
  {
    id: "mmap-address-wraps",
    what: "mmap(2n ** 64n, …, MAP_FIXED) is accepted: the address wraps to 0, root maps page 0, mmap returns null and the Mapping's address is null; its first .buffer aborts Node (assertion in CreateTrackedArrayBuffer) (src/sys/mman.ts checkAddr)",
    avoid: true,
    reproducer: `const ipc = require(${DIST});
      try { const m = ipc.mmap(2n ** 64n, 4096, ipc.PROT_READ, ipc.MAP_PRIVATE | ipc.MAP_ANONYMOUS | ipc.MAP_FIXED, -1, 0); m.readInt32(0); }
      catch (e) { if (!(e instanceof RangeError || e instanceof ipc.IpcError)) throw e; }`,
  },
  { id: "compilec-bigint-name", what: "compileC(source, 5n): engine TypeError 'Do not know how to serialize a BigInt' while building its RangeError message (src/lab/programs.ts)", signature: /^compileC bug:engine TypeError/ },
  { id: "runprogram-node-errors", what: "runProgram of a missing or too long path: Node's Error ENOENT/ENAMETOOLONG from spawnSync, not IpcError; options null: engine TypeError (src/lab/programs.ts)", signature: /^runProgram bug:/ },
  { id: "plot-null-options", what: "plot.* with null options: engine TypeError 'Cannot read properties of null' (src/figures/plot.ts)", signature: /^plot\.\w+ bug:engine TypeError/ },
  { id: "pagecache-node-errors", what: "cachedPages/dropFromPageCache throw Node's Error (ENOENT, EBADF, EINVAL), not IpcError (src/measure/pagecache.ts)", signature: /^(cachedPages|dropFromPageCache) bug:Error E/ },
  { id: "mapfile-readonly-create", what: "mapFile(path, { writable: false, create }), create on a device, or create: 2**53-1: Node's Error EINVAL/EFBIG from ftruncate (src/memory/mapfile.ts)", signature: /^mapFile bug:Error E/ },
  { id: "region-write-value", what: "Region#writeBigInt64(o, 5) / writeInt32(o, 5n): the value is not checked; engine TypeError 'Cannot mix BigInt…' / 'Cannot convert a BigInt…' (src/sys/region.ts)", signature: /^Region#write(BigInt64|Int32) bug:engine TypeError/ },
  { id: "latencystats-args", what: "latencyStats(null) / latencyStats(): engine TypeError 'Cannot read properties of null' (src/measure/latency.ts)", signature: /^latencyStats bug:engine TypeError/ },
  { id: "posixshm-resize-readonly", what: "PosixShm.open(name, { readonly: true }).resize(n): Node's Error EINVAL from ftruncate, not IpcError (src/memory/posix-shm.ts)", signature: /^PosixShm#resize bug:Error E/ },
  { id: "display-publisher-unchecked", what: "setDisplayPublisher(42) is accepted; the next display() throws engine TypeError 'publish is not a function' (src/display/display.ts)", signature: /^display bug:engine TypeError/ },
  { id: "figurehtml-args", what: "figureHtml with a non-figure or null options: engine TypeError 'Cannot read properties…' (src/figures/html.ts)", signature: /^figureHtml bug:engine TypeError/ },
  { id: "ipcerror-ctor", what: "new IpcError(code, message, null): engine TypeError (src/errors.ts)", signature: /^new IpcError bug:engine TypeError/ },
];

/** The known entries in force (none when TSLAB_IPC_FUZZ_KNOWN=none). */
function knownBugs(env = process.env) {
  return env.TSLAB_IPC_FUZZ_KNOWN === "none" ? [] : KNOWN;
}

/** The known entry a fuzz bug record matches, or undefined. */
function matchKnown(bug, known = knownBugs()) {
  const text = `${bug.target} ${bug.outcome}`;
  return known.find((k) => k.signature && k.signature.test(text));
}

module.exports = { KNOWN, knownBugs, matchKnown };
