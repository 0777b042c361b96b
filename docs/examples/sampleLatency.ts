import path from "path";
import { sampleLatency, latencyStats, labDir, mapFile, msync, MS_SYNC } from "tslab-ipc";
const m = mapFile(path.join(labDir(), "latency-demo.bin"), { create: 4096 });
const sync = sampleLatency(() => msync(m, 4096, MS_SYNC), {
  n: 50,
  label: "msync",
  setup: (i) => {
    m.buffer[0] = i;
  },
});
console.log(String(sync));
console.log(latencyStats([5, 1, 3, 2, 4])); // { n: 5, min: 1, p50: 3, p90: 5, p99: 5, max: 5, mean: 3 }
m.unmap();
