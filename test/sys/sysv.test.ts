// System V calls: success, each documented errno, bad arguments (before any syscall), state
// after errors, use after detach.
import fs from "fs";
import path from "path";
import {
  Attachment,
  IPC_CREAT,
  IPC_EXCL,
  IPC_PRIVATE,
  IPC_RMID,
  IPC_STAT,
  IpcError,
  SHM_RDONLY,
  SHM_RND,
  ftok,
  ipcs,
  shmat,
  shmctl,
  shmdt,
  shmget,
} from "../../src";
import { caught as catchError, ownSegments, segmentExists, tempDir } from "../helpers";

const dir = tempDir();
const keyFile = path.join(dir, "shmdemo.c");
fs.writeFileSync(keyFile, "/* key file */\n");

/** Ids this file made, removed at the end whatever happens. */
const made: number[] = [];
function mk(size = 1024, flags = IPC_CREAT | IPC_EXCL | 0o600, key = IPC_PRIVATE): number {
  const id = shmget(key, size, flags);
  made.push(id);
  return id;
}
afterAll(() => {
  for (const id of made) if (segmentExists(id)) shmctl(id, IPC_RMID);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("ftok", () => {
  test("same key as the C formula: (proj & 0xff) << 24 | (dev & 0xff) << 16 | (ino & 0xffff)", () => {
    const st = fs.statSync(keyFile);
    const want = ((0x52 & 0xff) << 24) | ((st.dev & 0xff) << 16) | (st.ino & 0xffff) | 0;
    expect(ftok(keyFile, "R")).toBe(want);
    expect(ftok(keyFile, 0x52)).toBe(want);
    expect(ftok(keyFile, 0xaa)).not.toBe(want);
  });

  test("a missing path is ENOENT with the path, in Node's style", () => {
    const missing = path.join(dir, "missing");
    const err = catchError(() => ftok(missing, "R"));
    expect(err).toBeInstanceOf(IpcError);
    expect(err).toMatchObject({ code: "ENOENT", errno: 2, syscall: "ftok", path: missing });
    expect(err.message).toBe(`ENOENT: no such file or directory, ftok '${missing}'`);
  });

  test("bad arguments are TypeError/RangeError", () => {
    expect(() => ftok(42 as never, "R")).toThrow(TypeError);
    expect(() => ftok(keyFile, "RR")).toThrow(RangeError);
    expect(() => ftok(keyFile, 0)).toThrow(RangeError);
    expect(() => ftok(keyFile, 1.5)).toThrow(RangeError);
    expect(() => ftok(keyFile, {} as never)).toThrow(TypeError);
    expect(() => ftok("a\0b", "R")).toThrow(TypeError);
  });
});

describe("shmget", () => {
  test("creates with the given mode; IPC_EXCL on an existing key is EEXIST with the key", () => {
    const key = ftok(keyFile, "E");
    const id = mk(1024, IPC_CREAT | IPC_EXCL | 0o644, key);
    const ds = shmctl(id, IPC_STAT);
    expect(ds).toMatchObject({ shmid: id, key, size: 1024, nattch: 0, cpid: process.pid, mode: 0o644 });
    expect(shmget(key, 1024, IPC_CREAT | 0o644)).toBe(id); // the slides' call: opens the existing one
    expect(shmget(key, 0, 0)).toBe(id);
    const err = catchError(() => shmget(key, 1024, IPC_CREAT | IPC_EXCL | 0o644));
    expect(err).toMatchObject({ code: "EEXIST", errno: 17, syscall: "shmget", key });
    expect(err.message).toBe(`EEXIST: file exists, shmget key 0x${(key >>> 0).toString(16).padStart(8, "0")}`);
  });

  test("without IPC_CREAT a missing key is ENOENT; a size larger than the segment is EINVAL", () => {
    const key = ftok(keyFile, "N");
    expect(catchError(() => shmget(key, 1024, 0o600))).toMatchObject({ code: "ENOENT", syscall: "shmget" });
    const k2 = ftok(keyFile, "S");
    mk(1024, IPC_CREAT | IPC_EXCL | 0o600, k2);
    expect(catchError(() => shmget(k2, 8192, 0o600))).toMatchObject({ code: "EINVAL" });
  });

  test("bad arguments throw before any syscall and create nothing", () => {
    const before = ownSegments();
    expect(() => shmget(IPC_PRIVATE, -1, IPC_CREAT)).toThrow(RangeError);
    expect(() => shmget(IPC_PRIVATE, 1.5, IPC_CREAT)).toThrow(RangeError);
    expect(() => shmget(IPC_PRIVATE, "1024" as never, IPC_CREAT)).toThrow(TypeError);
    expect(() => shmget(IPC_PRIVATE, 1024, IPC_CREAT | 0x100000)).toThrow(/unknown bits/);
    expect(() => shmget("key" as never, 1024, IPC_CREAT)).toThrow(TypeError);
    expect(() => shmget(IPC_PRIVATE, 1024, IPC_CREAT, "persist" as never)).toThrow(TypeError);
    expect(ownSegments()).toEqual(before);
  });

  test("the mode is exactly what the caller passes", () => {
    const id = mk(64, IPC_CREAT | 0o600);
    expect(shmctl(id, IPC_STAT).mode).toBe(0o600);
  });
});

describe("shmat / shmdt", () => {
  test("the slide idiom: attach, write a string, detach; a second attach sees it", () => {
    const id = mk();
    const data = shmat(id, null, 0);
    expect(data).toBeInstanceOf(Attachment);
    expect(data.length).toBe(1024);
    expect(typeof data.address).toBe("bigint");
    expect(data.state).toBe("attached");
    expect(data.stat().nattch).toBe(1);
    data.writeString("Writing to shared memory");
    expect(shmdt(data)).toBe(0);
    expect(data.state).toBe("detached");
    const again = shmat(id, 0, SHM_RDONLY);
    expect(again.readString()).toBe("Writing to shared memory");
    expect(again.readonly).toBe(true);
    again.detach();
    expect(shmctl(id, IPC_STAT)).toMatchObject({ nattch: 0, lpid: process.pid });
  });

  test("the buffer is zero-copy: writes through one attachment show in another at once", () => {
    const id = mk(4096);
    const a = shmat(id);
    const b = shmat(id);
    a.buffer.fill(7, 0, 4096);
    expect(b.buffer[4095]).toBe(7);
    expect(a.address).not.toBe(b.address);
    a.writeInt32(8, -5);
    expect(b.readInt32(8)).toBe(-5);
    a.writeBigInt64(16, 1n << 40n);
    expect(b.readBigInt64(16)).toBe(1n << 40n);
    a.detach();
    b.detach();
  });

  test("a stale buffer after shmdt reads zeros, writes go nowhere, and the process survives", () => {
    const id = mk(8192);
    const a = shmat(id);
    const stale = a.buffer;
    stale.write("secret");
    shmdt(a);
    expect(stale.length).toBe(8192);
    expect(stale.toString("utf8", 0, 6)).toBe("\0".repeat(6));
    stale[8191] = 1; // no fault
    stale.fill(9);
    const fresh = shmat(id);
    expect(fresh.readString()).toBe("secret"); // the stale writes never reached the segment
    fresh.detach();
    expect(shmctl(id, IPC_STAT).nattch).toBe(0);
  });

  test("detaching twice: the object method is a no-op, shmdt says EINVAL as C does", () => {
    const a = shmat(mk());
    expect(a.detach()).toBe(true);
    expect(a.detach()).toBe(false);
    expect(catchError(() => shmdt(a))).toMatchObject({ code: "EINVAL", syscall: "shmdt" });
    expect(catchError(() => a.buffer)).toMatchObject({ code: "ERR_DETACHED" });
    expect(catchError(() => a.readString())).toMatchObject({ code: "ERR_DETACHED" });
    expect(() => shmdt({} as never)).toThrow(TypeError);
  });

  test("errors: a bad id is EINVAL; a removed id is EINVAL; bad flags are RangeError", () => {
    expect(catchError(() => shmat(0x7ffffff0))).toMatchObject({ code: "EINVAL", syscall: "shmat" });
    const id = mk();
    shmctl(id, IPC_RMID);
    expect(catchError(() => shmat(id))).toMatchObject({ code: "EINVAL" });
    expect(() => shmat(-1)).toThrow(RangeError);
    expect(() => shmat(mk(), null, 0o100)).toThrow(RangeError);
    expect(() => shmat(mk(), "0" as never)).toThrow(TypeError);
  });

  test("shmaddr: a user-space address or none; below 0x10000 or past 2^48 is refused before the call", () => {
    const id = mk(4096);
    // As root, SHM_RND rounded 1n down to 0 and the kernel mapped page 0: koffi returned null,
    // and the Attachment's first view aborted Node (the fuzzer's crash of 5 December).
    for (const addr of [1n, 0x1000n, 0xffffn, 1n << 48n, 2n ** 64n, -1n]) {
      for (const flags of [0, SHM_RND, SHM_RND | SHM_RDONLY]) {
        expect(catchError(() => shmat(id, addr, flags))).toMatchObject({
          name: "RangeError",
          code: "ERR_OUT_OF_RANGE",
        });
      }
    }
    expect(catchError(() => shmat(id, 4096 as never))).toMatchObject({
      name: "TypeError",
      code: "ERR_INVALID_ARG_TYPE",
    });
    expect(shmctl(id, IPC_STAT).nattch).toBe(0); // nothing was attached
    // A free address in range still attaches there; SHM_RND rounds an unaligned one down.
    const first = shmat(id);
    const at = first.address;
    first.detach();
    const fixed = shmat(id, at + 123n, SHM_RND);
    expect(fixed.address).toBe(at);
    fixed.buffer[0] = 7;
    expect(catchError(() => shmat(id, at + 123n))).toMatchObject({ code: "EINVAL", syscall: "shmat" }); // unaligned, no SHM_RND
    fixed.detach();
    expect(shmctl(id, IPC_STAT).nattch).toBe(0);
  });

  test("helpers check bounds and protection instead of faulting", () => {
    const a = shmat(mk(16));
    expect(() => a.writeString("x".repeat(16))).toThrow(RangeError); // 16 bytes + NUL > 16
    expect(a.writeString("x".repeat(15))).toBe(15);
    expect(() => a.readInt32(14)).toThrow(RangeError);
    expect(() => a.readInt32(-1)).toThrow(RangeError);
    const before = Buffer.from(a.buffer);
    expect(() => a.writeString("y".repeat(40))).toThrow(RangeError);
    expect(Buffer.from(a.buffer)).toEqual(before); // nothing changed
    a.detach();
    const ro = shmat(made[made.length - 1], null, SHM_RDONLY);
    expect(catchError(() => ro.writeInt32(0, 1))).toMatchObject({ code: "EACCES" });
    ro.detach();
  });

  test("indexed as C indexes the pointer (data[0]), an attachment throws where it took a property and left the memory", () => {
    const a = shmat(mk(16));
    a.writeString("hi");
    // Cells run as sloppy code, where a write that cannot happen is otherwise silent.
    const sloppyWrite = new Function("data", "data[0] = 65;") as (data: unknown) => void;
    const thrown = catchError(() => sloppyWrite(a));
    expect(thrown).toBeInstanceOf(TypeError);
    expect(thrown).toMatchObject({
      code: "ERR_NOT_AN_ARRAY",
      message: expect.stringMatching(/^Attachment is not an array: its bytes are attachment\.buffer\[0\]/),
    });
    const read = catchError(() => (a as unknown as number[])[1]) as Error;
    expect(read).toMatchObject({ code: "ERR_NOT_AN_ARRAY" });
    // Its stack starts at the line that indexed, not in the library.
    expect(read.stack?.split("\n")[1]).toMatch(/sysv\.test\.ts:\d+:\d+\)?$/);
    // Nothing was written, to the memory or to the object; everything else is as it was.
    expect(a.readString()).toBe("hi");
    expect(Object.keys(a)).toEqual(["address", "length", "shmid", "readonly"]);
    expect([a instanceof Attachment, a instanceof Object, (a as unknown as { then?: unknown }).then]).toEqual([
      true,
      true,
      undefined,
    ]);
    a.buffer[0] = 65;
    expect(a.readString()).toBe("Ai");
    a.detach();
  });
});

describe("shmctl", () => {
  test("IPC_STAT decodes shmid_ds", () => {
    const id = mk(2048, IPC_CREAT | IPC_EXCL | 0o640);
    const a = shmat(id);
    const ds = shmctl(id, IPC_STAT);
    expect(ds).toMatchObject({ size: 2048, nattch: 1, cpid: process.pid, lpid: process.pid, mode: 0o640, dest: false });
    expect(ds.uid).toBe(process.getuid!());
    expect(ds.cuid).toBe(process.getuid!());
    expect(ds.atime).toBeInstanceOf(Date);
    expect(ds.dtime).toBeNull();
    expect(Math.abs(ds.ctime!.getTime() - Date.now())).toBeLessThan(60_000);
    a.detach();
  });

  test("IPC_RMID while attached: marked for deletion, key goes private, gone at last detach", () => {
    const key = ftok(keyFile, "D");
    const id = mk(1024, IPC_CREAT | IPC_EXCL | 0o600, key);
    const a = shmat(id);
    a.writeString("still here");
    expect(shmctl(id, IPC_RMID)).toBe(0);
    const ds = shmctl(id, IPC_STAT);
    expect(ds).toMatchObject({ dest: true, key: IPC_PRIVATE, nattch: 1 });
    expect(a.readString()).toBe("still here");
    expect(catchError(() => shmget(key, 0, 0))).toMatchObject({ code: "ENOENT" });
    a.detach();
    expect(segmentExists(id)).toBe(false);
    expect(catchError(() => shmctl(id, IPC_STAT))).toMatchObject({ code: "EINVAL", syscall: "shmctl", shmid: id });
  });

  test("C's third argument: NULL with IPC_RMID is taken; anything else is refused and changes nothing", () => {
    const id = mk();
    expect(catchError(() => shmctl(id, IPC_RMID, {} as never))).toMatchObject({ code: "ERR_INVALID_ARG_TYPE" });
    const untyped = shmctl as (...args: unknown[]) => unknown;
    expect(catchError(() => untyped(id, IPC_STAT, null))).toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
    expect(shmctl(id, IPC_STAT).dest).toBe(false);
    expect(shmctl(id, IPC_RMID, null)).toBe(0); // as every C program writes shmctl(id, IPC_RMID, NULL)
    expect(segmentExists(id)).toBe(false);
  });

  test("unsupported commands and bad ids are refused", () => {
    expect(() => shmctl(mk(), 99)).toThrow(RangeError);
    expect(() => shmctl(-3, IPC_STAT)).toThrow(RangeError);
    expect(catchError(() => shmctl(0x7ffffff0, IPC_RMID))).toMatchObject({ code: "EINVAL" });
  });
});

describe("ipcs", () => {
  test("lists our segment with owner, mode, size, nattch, cpid and whether the creator lives", () => {
    const key = ftok(keyFile, "I");
    const id = mk(4096, IPC_CREAT | IPC_EXCL | 0o644, key);
    const a = shmat(id);
    const row = ipcs().find((r) => r.shmid === id);
    expect(row).toMatchObject({
      key,
      shmid: id,
      mode: 0o644,
      size: 4096,
      nattch: 1,
      cpid: process.pid,
      creatorAlive: true,
    });
    expect(row!.keyHex).toBe("0x" + (key >>> 0).toString(16).padStart(8, "0"));
    a.detach();
  });
});
