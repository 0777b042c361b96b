// SharedRecord: a record in shared memory readers never see torn. Its contract, its argument
// checks, and what a reader sees when a writer died mid-write (set up here deterministically;
// record-kill.test.ts does it with real SIGKILLs).
import { spawn, spawnSync } from "child_process";
import fs from "fs";
import path from "path";
import { IpcError, SharedRecord, SharedSegment, crc32, mapAnonymous, mapFile } from "../../src";
import { runNode, tempDir } from "../helpers";

const segments: SharedSegment[] = [];
afterAll(() => {
  for (const s of segments) s[Symbol.dispose]();
});

function region(size = 65536) {
  const s = SharedSegment.create({ size });
  segments.push(s);
  return { segment: s, attachment: s.attach() };
}

/** A pid that is certainly not running: a child that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

const expectIpc = (f: () => unknown, code: string) => {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(IpcError);
  expect((err as IpcError).code).toBe(code);
  expect((err as IpcError).message.startsWith(code + ":")).toBe(true);
};

test("crc32 is the standard CRC-32 (zlib's)", () => {
  expect(crc32(Buffer.from("123456789"))).toBe(0xcbf43926);
  expect(crc32(Buffer.alloc(0))).toBe(0);
});

test("null before the first write; then each write is read back whole, with its generation", () => {
  const { attachment } = region();
  const rec = SharedRecord.init(attachment, 64, 1000);
  expect(rec.byteLength).toBe(SharedRecord.byteLength(1000));
  expect(rec.read()).toBeNull();
  expect(rec.generation).toBe(0);
  expect(rec.write("héllo wörld")).toBe(1);
  expect(rec.readString()).toBe("héllo wörld");
  const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff));
  expect(rec.write(bytes)).toBe(2);
  expect(rec.readSnapshot()).toEqual({ data: bytes, generation: 2 });
  expect(rec.write(new Uint8Array(0))).toBe(3);
  expect(rec.read()).toEqual(Buffer.alloc(0));
  // What read() returns is a copy: writing again does not change it.
  const copy = rec.read()!;
  rec.write("later");
  expect(copy.length).toBe(0);
  expect(rec.writerPid).toBe(0);
  expect(String(rec)).toBe("SharedRecord { offset: 64, capacity: 1000, generation: 4 }");
});

test("another attachment (read-only) and another process see the record; read-only cannot write", () => {
  const { segment, attachment } = region();
  const rec = SharedRecord.init(attachment, 0, 256);
  rec.write("from the parent");
  const ro = segment.attach({ readonly: true });
  const reader = SharedRecord.open(ro);
  expect(reader.capacity).toBe(256);
  expect(reader.readString()).toBe("from the parent");
  expectIpc(() => reader.write("x"), "EACCES");
  const r = runNode(`
    const rec = ipc.SharedRecord.open(ipc.shmat(${segment.id}, null, ipc.SHM_RDONLY));
    const seen = rec.readString();
    const rw = ipc.SharedRecord.open(ipc.shmat(${segment.id}));
    rw.write("from the child");
    console.log(JSON.stringify({ seen, generation: rw.generation }));
  `);
  expect(r.stderr).toBe("");
  expect(JSON.parse(r.stdout)).toEqual({ seen: "from the parent", generation: 2 });
  expect(reader.readString()).toBe("from the child");
});

test("bad arguments are TypeError/RangeError/IpcError with the argument's name, before anything is touched", () => {
  const { attachment } = region(4096);
  const before = Buffer.from(attachment.buffer);
  expect(() => SharedRecord.init({} as never, 0, 16)).toThrow(TypeError);
  expect(() => SharedRecord.init(null as never, 0, 16)).toThrow(/"region" argument must be a Region/);
  expect(() => SharedRecord.init(attachment, 4, 16)).toThrow(/multiple of 8/);
  expect(() => SharedRecord.init(attachment, -8, 16)).toThrow(RangeError);
  expect(() => SharedRecord.init(attachment, 0.5, 16)).toThrow(RangeError);
  expect(() => SharedRecord.init(attachment, "0" as never, 16)).toThrow(TypeError);
  expect(() => SharedRecord.init(attachment, 0, 0)).toThrow(/"capacity" is out of range/);
  expect(() => SharedRecord.init(attachment, 0, NaN)).toThrow(RangeError);
  expect(() => SharedRecord.init(attachment, 0, 2 ** 40)).toThrow(RangeError);
  expect(() => SharedRecord.init(attachment, 0, 4096)).toThrow(/needs \d+ bytes at 0, but the region is 4096 bytes/);
  expect(() => SharedRecord.init(attachment, 4096, 8)).toThrow(RangeError);
  expect(() => SharedRecord.byteLength(-1)).toThrow(RangeError);
  expect(Buffer.compare(attachment.buffer, before)).toBe(0);
  expectIpc(() => SharedRecord.open(attachment, 0), "EINVAL"); // nothing laid out there
  expect(() => SharedRecord.open(attachment, 4090)).toThrow(RangeError);

  const rec = SharedRecord.init(attachment, 8, 10);
  expect(() => rec.write(42 as never)).toThrow(/"data" argument must be of type string or an instance of Uint8Array/);
  expect(() => rec.write([1, 2] as never)).toThrow(TypeError);
  expect(() => rec.write("x".repeat(11))).toThrow(/too long: 11 bytes, but the record holds at most 10/);
  expect(() => rec.write("ééééé€")).toThrow(RangeError); // 13 UTF-8 bytes, 6 characters
  expect(rec.generation).toBe(0);
});

test("a detached region or a PROT_NONE mapping is an IpcError, not a fault", () => {
  const { attachment } = region();
  const rec = SharedRecord.init(attachment, 0, 64);
  rec.write("kept");
  attachment.detach();
  expectIpc(() => rec.read(), "ERR_DETACHED");
  expectIpc(() => rec.write("x"), "ERR_DETACHED");
  expect(String(rec)).toMatch(/detached/);

  const m = mapAnonymous(8192, { shared: true });
  try {
    const r2 = SharedRecord.init(m, 0, 64);
    m.protect(0); // PROT_NONE
    expectIpc(() => r2.read(), "EACCES");
    expectIpc(() => r2.write("x"), "EACCES");
  } finally {
    m.unmap();
  }
});

test("a mapped file truncated under the record is ERR_PAST_EOF (SIGBUS in C), not a crash", () => {
  const dir = tempDir();
  const file = path.join(dir, "record.bin");
  try {
    const m = mapFile(file, { create: 8192 });
    const rec = SharedRecord.init(m, 0, 1024);
    rec.write("on disk");
    fs.truncateSync(file, 0);
    expectIpc(() => rec.read(), "ERR_PAST_EOF");
    expectIpc(() => rec.write("x"), "ERR_PAST_EOF");
    m.unmap();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a writer that died mid-write: readers get the previous record, and the next writer takes over", () => {
  const { attachment } = region();
  const rec = SharedRecord.init(attachment, 0, 100);
  rec.write("complete record");
  const w = new Int32Array(attachment.buffer.buffer, attachment.buffer.byteOffset, rec.byteLength / 4);
  // What a SIGKILL inside write() of generation 2 leaves: the writer's pid in the header, the
  // other slot's sequence odd and its payload half-copied; the published generation still 1.
  // Generation g lives in slot g & 1: generation 1 in slot 1, the interrupted 2 in slot 0.
  const slot0 = 32 / 4;
  w[3] = deadPid();
  w[slot0] = 2 * 2 - 1;
  attachment.buffer.write("half-writ", 32 + 16);
  expect(rec.abandoned).toBe(true);
  expect(rec.readString()).toBe("complete record");
  expect(String(rec)).toMatch(/abandoned by pid \d+/);
  // The next writer replaces the dead one.
  expect(rec.write("next record")).toBe(2);
  expect(rec.writerPid).toBe(0);
  expect(rec.abandoned).toBe(false);
  expect(rec.readString()).toBe("next record");
});

test("a second live writer gets EBUSY naming the pid that writes", async () => {
  const { attachment } = region();
  const rec = SharedRecord.init(attachment, 0, 100);
  const sleeper = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"], { stdio: "ignore" });
  try {
    const w = new Int32Array(attachment.buffer.buffer, attachment.buffer.byteOffset, 8);
    w[3] = sleeper.pid!;
    expect(rec.abandoned).toBe(false);
    expect(() => rec.write("x")).toThrow(new RegExp(`EBUSY: .*being written by pid ${sleeper.pid}`));
    expect(rec.read()).toBeNull();
  } finally {
    sleeper.kill("SIGKILL");
    await new Promise((r) => sleeper.on("close", r));
  }
  expect(rec.write("now free")).toBe(1);
});

test("bytes changed behind the record's back fail the checksum: ERR_RECORD_CORRUPT, never wrong data", () => {
  const { attachment } = region();
  const rec = SharedRecord.init(attachment, 0, 100);
  rec.write("trust me"); // generation 1 lives in slot 1
  const payload = 32 + (16 + 104) + 16;
  expect(attachment.buffer.toString("utf8", payload, payload + 8)).toBe("trust me");
  attachment.buffer[payload] ^= 0x20;
  expectIpc(() => rec.read(), "ERR_RECORD_CORRUPT");
  // A length word changed behind its back is caught too.
  rec.write("again"); // generation 2, slot 0
  attachment.buffer.writeUInt32LE(4, 32 + 4);
  expectIpc(() => rec.read(), "ERR_RECORD_CORRUPT");
  rec.write("repaired by the next write");
  expect(rec.readString()).toBe("repaired by the next write");
});
