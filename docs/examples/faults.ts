import { faults, measure, mapAnonymous } from "tslab-ipc";
console.log(faults()); // { minor: …, major: … }
const m = mapAnonymous(1024 * 4096);
const buf = m.buffer;
const r = measure(
  () => {
    for (let p = 0; p < 1024; p++) buf[p * 4096] = 1;
  },
  { mapping: m },
);
console.log(r.minor >= 1024, r.residency!.becameResident); // true 1024
m.unmap();
