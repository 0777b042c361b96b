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
// A word that counts its sleepers at another offset: a notify with nobody asleep is free.
const counted = new SharedWord(m, 8, { waitersAt: 12 });
console.log(counted.notify(), `${counted}`); // 0 SharedWord { offset: 8, value: 0, waiters: 0 at 12 }
m.unmap();
