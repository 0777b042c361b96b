import { mapAnonymous, residency, residentPages, recordResidency } from "tslab-ipc";
const m = mapAnonymous(64 * 4096);
const rec = recordResidency(m, 4, (i) => {
  for (let p = i * 16; p < (i + 1) * 16; p++) m.buffer[p * 4096] = 1;
});
console.log(rec.residentCounts, residentPages(m), residency(m).length); // [ 0, 16, 32, 48, 64 ] 64 64
m.unmap();
