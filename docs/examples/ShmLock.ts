import { SharedSegment, ShmLock, runTs } from "tslab-ipc";
const seg = SharedSegment.create({ size: 4096 });
const mem = seg.attach();
ShmLock.init(mem, 0); // bytes 0..39: the mutex; the counter lives at 64
const worker = `
  import { SharedSegment, ShmLock } from "tslab-ipc";
  const mem = SharedSegment.fromId(Number(process.argv[2])).attach();
  const lock = ShmLock.open(mem, 0);
  for (let i = 0; i < 5000; i++) lock.withLockSync(() => mem.writeInt32(64, mem.readInt32(64) + 1));`;
await Promise.all([1, 2, 3].map(() => runTs(worker, { args: [String(seg.id)], quiet: true })));
console.log(mem.readInt32(64)); // 15000; exactly, no update lost
seg[Symbol.dispose]();
