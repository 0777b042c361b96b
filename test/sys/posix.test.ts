// POSIX shared memory: shm_open/shm_unlink, name validation, default mode, the PosixShm object.
import fs from "fs";
import {
  O_CREAT,
  O_EXCL,
  O_RDONLY,
  O_RDWR,
  PosixShm,
  shm_open,
  shm_unlink,
  mmap,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from "../../src";
import { caught, uniqueName } from "../helpers";

const names: string[] = [];
function name(): string {
  const n = "/" + uniqueName("tslab-posix");
  names.push(n);
  return n;
}
afterAll(() => {
  for (const n of names) fs.rmSync("/dev/shm" + n, { force: true });
});

const err = caught;

test("shm_open creates with mode 0600 by default, sized with ftruncate, mapped and shared", () => {
  const n = name();
  const fd = shm_open(n, O_CREAT | O_RDWR);
  expect(fs.fstatSync(fd).mode & 0o777).toBe(0o600);
  fs.ftruncateSync(fd, 8192);
  const a = mmap(null, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const fd2 = shm_open(n, O_RDONLY);
  const b = mmap(null, 8192, PROT_READ, MAP_SHARED, fd2, 0);
  fs.closeSync(fd);
  fs.closeSync(fd2);
  a.writeString("posix hello", 4096);
  expect(b.readString(4096)).toBe("posix hello");
  expect(b.path).toBe("/dev/shm" + n);
  expect(shm_unlink(n)).toBe(0);
  expect(fs.existsSync("/dev/shm" + n)).toBe(false);
  expect(a.readString(4096)).toBe("posix hello"); // unlinked names keep their mappings
  a.unmap();
  b.unmap();
});

test("errnos: O_EXCL on an existing name is EEXIST, a missing name ENOENT, unlink twice ENOENT", () => {
  const n = name();
  fs.closeSync(shm_open(n, O_CREAT | O_EXCL | O_RDWR, 0o644));
  expect(fs.statSync("/dev/shm" + n).mode & 0o777).toBe(0o644);
  const e = err(() => shm_open(n, O_CREAT | O_EXCL | O_RDWR));
  expect(e).toMatchObject({ code: "EEXIST", syscall: "shm_open", path: n });
  expect(e.message).toBe(`EEXIST: file exists, shm_open '${n}'`);
  shm_unlink(n);
  expect(err(() => shm_open(n, O_RDWR))).toMatchObject({ code: "ENOENT" });
  expect(err(() => shm_unlink(n))).toMatchObject({ code: "ENOENT", syscall: "shm_unlink" });
});

test("names are validated before any syscall: a second slash, '..', NUL, too long, not a string", () => {
  expect(() => shm_open("noslash", O_CREAT | O_RDWR)).toThrow(TypeError);
  expect(() => shm_open("/a/b", O_CREAT | O_RDWR)).toThrow(TypeError);
  expect(() => shm_open("/..", O_CREAT | O_RDWR)).toThrow(TypeError);
  expect(() => shm_open("/x..y", O_CREAT | O_RDWR)).toThrow(TypeError);
  expect(() => shm_open("/a\0b", O_CREAT | O_RDWR)).toThrow(TypeError);
  expect(() => shm_open("/" + "x".repeat(256), O_CREAT | O_RDWR)).toThrow(RangeError);
  expect(() => shm_open("/", O_CREAT | O_RDWR)).toThrow(TypeError);
  expect(() => shm_open(5 as never, O_CREAT | O_RDWR)).toThrow(TypeError);
  expect(() => shm_open("/ok", 0x40000000)).toThrow(RangeError);
  expect(() => shm_open("/ok", O_CREAT, -1)).toThrow(RangeError);
  expect(() => shm_unlink("/a/b")).toThrow(TypeError);
  for (const n of ["noslash", "a", "x..y", "ok", "x".repeat(256)]) expect(fs.existsSync("/dev/shm/" + n)).toBe(false);
});

test("PosixShm: create, map, resize, open read-only, dispose unlinks what it created", () => {
  const n = name();
  const shm = PosixShm.create(n, 4096);
  expect(shm.size).toBe(4096);
  expect(fs.statSync("/dev/shm" + n).mode & 0o777).toBe(0o600);
  const m = shm.map();
  m.writeString("object");
  shm.resize(8192);
  expect(shm.size).toBe(8192);
  const reader = PosixShm.open(n, { readonly: true });
  const rm = reader.map();
  expect(rm.readString()).toBe("object");
  expect(err(() => rm.writeString("no"))).toMatchObject({ code: "EACCES" });
  expect(err(() => PosixShm.create(n, 10))).toMatchObject({ code: "EEXIST" });
  reader[Symbol.dispose](); // opened, not created: does not unlink
  expect(fs.existsSync("/dev/shm" + n)).toBe(true);
  shm[Symbol.dispose]();
  expect(fs.existsSync("/dev/shm" + n)).toBe(false);
  expect(m.readString()).toBe("object");
  m.unmap();
  rm.unmap();
  expect(() => PosixShm.create(n, 0)).toThrow(RangeError);
  expect(() => PosixShm.create("bad", 10)).toThrow(TypeError);
});

test("PosixShm: an object /dev/shm has no room for is ENOSPC at create and resize, and changes nothing", () => {
  // tmpfs takes ftruncate to any size and finds no page only at the first touch: a write through
  // the buffer then raises SIGBUS (a 2 GiB object in a student's 1 GiB /dev/shm, past 1 GiB).
  const room = () => {
    const s = fs.statfsSync("/dev/shm");
    return s.bavail * s.bsize;
  };
  const n = name();
  expect(err(() => PosixShm.create(n, room() + 2 ** 30))).toMatchObject({
    code: "ENOSPC",
    syscall: "ftruncate",
    path: n,
    message: expect.stringMatching(/MiB more wanted, .* MiB free in \/dev\/shm/),
  });
  expect(fs.existsSync("/dev/shm" + n)).toBe(false);
  const shm = PosixShm.create(n, 4096);
  expect(err(() => shm.resize(room() + 2 ** 30))).toMatchObject({ code: "ENOSPC" });
  expect(shm.size).toBe(4096);
  shm.resize(0); // shrinking needs no room
  expect(shm.size).toBe(0);
  shm[Symbol.dispose]();
});
