import { mapAnonymous, SharedWord } from "tslab-ipc";
const m = mapAnonymous(4096, { shared: true });
const w = new SharedWord(m, 0);
w.store(5);
w.add(2);
console.log(w.load(), w.compareExchange(7, 9), w.load()); // 7 7 9
setTimeout(() => {
  w.store(10);
  w.notify();
}, 50);
console.log(await w.waitAsync(9, { timeoutMs: 1000 }), w.wait(1, 0)); // ok not-equal
m.unmap();
