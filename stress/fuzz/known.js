// Bugs the fuzzer found (see stress/FINDINGS.md). Known, unfixed ones are kept here until
// fixed:
//  - `crash` ones are steered around by the generator (a crash ends a worker and would hide
//    everything after it); test/reliability/fuzz.test.ts runs each reproducer as a
//    test.failing, which starts failing (the signal to delete the entry) once the bug is fixed.
//  - `signature` ones (wrong error class) are counted and listed, not hidden.
// Set TSLAB_IPC_FUZZ_KNOWN=none to fuzz with nothing avoided or forgiven.

const path = require("path");

const DIST = JSON.stringify(path.join(__dirname, "..", "..", "dist", "index.js"));

// Bugs found here and since fixed. Their reproducers stay as regression tests
// (test/reliability/fuzz.test.ts runs each and expects a clean exit), and the fuzzer no
// longer steers around them.
const FIXED = [
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
  {
    id: "mmap-address-wraps",
    what: "mmap(2n ** 64n, …, MAP_FIXED) is accepted: the address wraps to 0, root maps page 0, mmap returns null and the Mapping's address is null; its first .buffer aborts Node (assertion in CreateTrackedArrayBuffer) (src/sys/mman.ts checkAddr)",
    avoid: true,
    reproducer: `const ipc = require(${DIST});
      try { const m = ipc.mmap(2n ** 64n, 4096, ipc.PROT_READ, ipc.MAP_PRIVATE | ipc.MAP_ANONYMOUS | ipc.MAP_FIXED, -1, 0); m.readInt32(0); }
      catch (e) { if (!(e instanceof RangeError || e instanceof ipc.IpcError)) throw e; }`,
  },
  {
    id: "shmat-rounds-to-page-0",
    what: "shmat(id, 1n, SHM_RND) as root: the kernel rounds the address down to 0 and maps page 0, shmat returns null and the Attachment's address is null; its first .buffer aborts Node (assertion in CreateTrackedArrayBuffer) (src/sys/address.ts)",
    avoid: true,
    reproducer: `const ipc = require(${DIST}); const id = ipc.shmget(ipc.IPC_PRIVATE, 4096, 0o600);
      try { const a = ipc.shmat(id, 1n, ipc.SHM_RND); a.readInt32(0); }
      catch (e) { if (!(e instanceof RangeError || e instanceof ipc.IpcError)) throw e; }`,
  },
];

// Bugs known and not yet fixed: none at the moment. Add entries of the same shape
// ({ id, what, avoid?, reproducer? } or { id, what, signature }) when the fuzzer finds one.
const KNOWN = [];

/** The known entries in force (none when TSLAB_IPC_FUZZ_KNOWN=none). */
function knownBugs(env = process.env) {
  return env.TSLAB_IPC_FUZZ_KNOWN === "none" ? [] : KNOWN;
}

/** The known entry a fuzz bug record matches, or undefined. */
function matchKnown(bug, known = knownBugs()) {
  const text = `${bug.target} ${bug.outcome}`;
  return known.find((k) => k.signature?.test(text));
}

module.exports = { KNOWN, FIXED, knownBugs, matchKnown };
