import { mapAnonymous, mprotect, madvise, mincore, PROT_READ, MADV_DONTNEED } from "tslab-ipc";
const m = mapAnonymous(4 * 4096);
m.buffer[0] = 1;
console.log(mincore(m)); // Uint8Array(4) [ 1, 0, 0, 0 ]
madvise(m, 4 * 4096, MADV_DONTNEED);
mprotect(m, 4 * 4096, PROT_READ);
try {
  m.writeInt32(0, 1);
} catch (e) {
  console.log((e as Error).message);
} // EACCES: …; an error instead of SIGSEGV
m.unmap();
