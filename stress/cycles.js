// Create/attach/detach/remove cycles of System V segments and map/unmap cycles of mappings,
// some with their Buffer views kept for a while after the unmap (stale views must stay safe,
// and their placeholders must be freed when the views die). Runs in a child started with
// --expose-gc and reports its memory (VmRSS, VmSize from /proc/self/status), the number of
// mappings (/proc/self/maps lines) and the segments it left. Used by
// test/reliability/load.test.ts and `npm run stress`.

const { spawnSync } = require("child_process");
const path = require("path");

const DIST = path.join(__dirname, "..", "dist", "index.js");

const CHILD = `
const ipc = require(${JSON.stringify(DIST)});
const fs = require("fs");
const [segmentCycles, mapCycles] = process.argv.slice(1).map(Number);
const status = () => {
  const t = fs.readFileSync("/proc/self/status", "utf8");
  const kb = (k) => Number(new RegExp(k + ":\\\\s+(\\\\d+)").exec(t)[1]);
  return { rssKiB: kb("VmRSS"), sizeKiB: kb("VmSize"), maps: fs.readFileSync("/proc/self/maps", "utf8").split("\\n").length - 1 };
};
// Finalizers (which free the placeholders of dead views) run as tasks: let the event loop turn.
const settle = async () => { for (let i = 0; i < 3; i++) { global.gc(); await new Promise((r) => setImmediate(r)); } };
(async () => {
// Warm up (JIT, koffi, first allocations) before the baseline.
for (let i = 0; i < 200; i++) { const s = ipc.SharedSegment.create({ size: 8192 }); const a = s.attach(); a.writeInt32(0, i); s[Symbol.dispose](); }
for (let i = 0; i < 200; i++) { const m = ipc.mapAnonymous(16384, { shared: true }); m.buffer[0] = 1; m.unmap(); }
await settle();
const before = status();
let peak = { ...before };
const watch = () => { const s = status(); peak = { rssKiB: Math.max(peak.rssKiB, s.rssKiB), sizeKiB: Math.max(peak.sizeKiB, s.sizeKiB), maps: Math.max(peak.maps, s.maps) }; };
const ids = new Set();
for (let i = 0; i < segmentCycles; i++) {
  const s = ipc.SharedSegment.create({ size: 4096 * (1 + (i % 4)) });
  ids.add(s.id);
  const a = s.attach();
  a.writeString("cycle " + i);
  if (a.readString() !== "cycle " + i) throw new Error("read back wrong data at cycle " + i);
  a.detach();
  s.remove();
  if (i % 1000 === 999) { await settle(); watch(); }
}
let kept = [];
for (let i = 0; i < mapCycles; i++) {
  const m = ipc.mapAnonymous(4096 * (1 + (i % 8)), { shared: i % 2 === 0 });
  const view = m.buffer; // a view handed out: unmap leaves a placeholder until the view dies
  view[0] = i & 0xff;
  if (i % 3 === 0) kept.push(view); // some views outlive their mapping for a while
  m.unmap();
  if (kept.length > 200) {
    // Stale views read zeros and take writes without faulting.
    for (const v of kept) { if (v[0] !== 0) throw new Error("stale view did not read zero"); v[0] = 7; }
    kept = [];
  }
  if (i % 1000 === 999) { await settle(); watch(); }
}
kept = [];
await settle();
const after = status();
watch();
const left = ipc.ipcs().filter((e) => ids.has(e.shmid)).length;
console.log(JSON.stringify({ segmentCycles, mapCycles, before, after, peak, segmentsLeft: left, tracked: ipc.trackedObjects().length }));
})();
`;

function cyclesExperiment({ segmentCycles = 10000, mapCycles = 10000 } = {}) {
  const r = spawnSync(process.execPath, ["--expose-gc", "-e", CHILD, String(segmentCycles), String(mapCycles)], {
    encoding: "utf8",
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`cycles child ended with ${r.signal ?? r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "");
}

module.exports = { cyclesExperiment };
