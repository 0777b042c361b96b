// The last prototype of every region is a Proxy (src/sys/region.ts: `data[0]` is refused). A
// lookup that reaches it leaves V8's fast paths: a missing name calls its trap, and an instanceof
// of a class the region is not walks the chain into it, a call into V8's runtime (~35 ns) each
// time. Per-call operations, the ones a loop or a benchmark repeats, must never reach it: this
// test puts a counting Proxy in front of it and runs them.
import fs from "fs";
import os from "os";
import path from "path";
import {
  IPC_CREAT,
  IPC_PRIVATE,
  IPC_RMID,
  MAP_ANONYMOUS,
  MAP_SHARED,
  MS_SYNC,
  PROT_READ,
  PROT_WRITE,
  Region,
  SharedRecord,
  SharedWord,
  ShmLock,
  mmap,
  msync,
  munmap,
  shmat,
  shmctl,
  shmget,
} from "../../src";

/** Runs `body` with every lookup that reaches the regions' end recorded; returns them. */
function lookupsReachingTheEnd(body: () => void): string[] {
  const end = Object.getPrototypeOf(Region.prototype) as object;
  const reached: string[] = [];
  const counting = new Proxy(end, {
    get(target, key, receiver) {
      reached.push(`get ${String(key)}`);
      return Reflect.get(target, key, receiver);
    },
    set(target, key, value, receiver) {
      reached.push(`set ${String(key)}`);
      return Reflect.set(target, key, value, receiver);
    },
    has(target, key) {
      reached.push(`has ${String(key)}`);
      return Reflect.has(target, key);
    },
    getPrototypeOf(target) {
      reached.push("getPrototypeOf (an instanceof that failed)");
      return Reflect.getPrototypeOf(target);
    },
  });
  Object.setPrototypeOf(Region.prototype, counting);
  try {
    body();
  } finally {
    Object.setPrototypeOf(Region.prototype, end);
  }
  return reached;
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "region-end-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** One of each kind of region: a segment, anonymous memory, a file. */
function eachRegion(use: (region: Region) => void): void {
  const id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600);
  const segment = shmat(id, null, 0);
  shmctl(id, IPC_RMID);
  const anonymous = mmap(null, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  const fd = fs.openSync(path.join(dir, "f"), "w+");
  fs.ftruncateSync(fd, 4096);
  const file = mmap(null, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  fs.closeSync(fd);
  try {
    for (const region of [segment, anonymous, file]) use(region);
  } finally {
    segment.detach();
    munmap(anonymous);
    munmap(file);
  }
}

describe("the regions' end (the Proxy behind every region)", () => {
  test("is reached by an index and by nothing a loop repeats", () => {
    // The counting works: an index and an instanceof of another class reach it.
    eachRegion((region) => {
      expect(lookupsReachingTheEnd(() => expect(() => (region as unknown as number[])[0]).toThrow(TypeError))).toEqual([
        "get 0",
      ]);
      expect(lookupsReachingTheEnd(() => region instanceof Date)).toEqual([
        "getPrototypeOf (an instanceof that failed)",
      ]);
    });
    // The sync objects and the helpers, on every kind of region, as a loop calls them.
    eachRegion((region) => {
      const word = new SharedWord(region, 0);
      const lock = ShmLock.init(region, 64);
      const record = SharedRecord.init(region, 256, 128);
      const reached = lookupsReachingTheEnd(() => {
        for (let i = 0; i < 3; i++) {
          word.store(i);
          word.add(1);
          word.exchange(i);
          word.compareExchange(i, i + 1);
          word.load();
          word.notify(1);
          expect(word.wait(-1)).toBe("not-equal");
          lock.lock();
          lock.unlock();
          lock.tryLock();
          lock.unlock();
          record.write(`sample ${i}`);
          record.readString();
          region.writeInt32(1024, i);
          region.readInt32(1024);
          region.writeString("hello", 2048);
          region.readString(2048);
          region.buffer[3000] = i;
        }
      });
      expect(reached).toEqual([]);
    });
  });

  test("is reached by none of the cycles of the slides", () => {
    const file = path.join(dir, "cycle");
    const fd = fs.openSync(file, "w+");
    fs.ftruncateSync(fd, 4096);
    try {
      const reached = lookupsReachingTheEnd(() => {
        for (let i = 0; i < 3; i++) {
          const id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600);
          const segment = shmat(id, null, 0);
          segment.buffer[0] = 1;
          segment.detach();
          shmctl(id, IPC_RMID);
          const anonymous = mmap(null, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
          munmap(anonymous);
          const mapped = mmap(null, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
          mapped.buffer[0] = i;
          msync(mapped, 4096, MS_SYNC);
          munmap(mapped);
        }
      });
      expect(reached).toEqual([]);
    } finally {
      fs.closeSync(fd);
    }
  });
});
