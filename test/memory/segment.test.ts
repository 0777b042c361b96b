// The SharedSegment object: safe defaults, open by key or path, attach modes, remove, dispose.
import fs from "fs";
import path from "path";
import { IPC_PRIVATE, type IpcError, SharedSegment, ftok } from "../../src";
import { ownSegments, segmentExists, tempDir } from "../helpers";

const dir = tempDir();
const keyFile = path.join(dir, "key");
fs.writeFileSync(keyFile, "");
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("create defaults to mode 0600, IPC_PRIVATE and exclusive; dispose detaches and removes", () => {
  const seg = SharedSegment.create({ size: 4096 });
  expect(seg.key).toBe(IPC_PRIVATE);
  expect(seg.stat()).toMatchObject({ mode: 0o600, size: 4096, nattch: 0 });
  const a = seg.attach();
  const b = seg.attach({ readonly: true });
  a.writeString("x");
  expect(seg.stat().nattch).toBe(2);
  seg[Symbol.dispose]();
  expect(a.state).toBe("detached");
  expect(b.state).toBe("detached");
  expect(segmentExists(seg.id)).toBe(false);
  seg[Symbol.dispose](); // twice: nothing happens
});

test("open by path + projId (ftok) and by key; exclusive create of an existing key is EEXIST", () => {
  const seg = SharedSegment.create({ path: keyFile, projId: "T", size: 1024, mode: 0o644 });
  try {
    expect(seg.key).toBe(ftok(keyFile, "T"));
    expect(seg.stat().mode).toBe(0o644);
    const byPath = SharedSegment.open(keyFile, "T");
    const byKey = SharedSegment.open(seg.key);
    const byId = SharedSegment.fromId(seg.id);
    expect([byPath.id, byKey.id, byId.id]).toEqual([seg.id, seg.id, seg.id]);
    expect(byId.key).toBe(seg.key);
    byPath[Symbol.dispose](); // opened, not created: must not remove
    expect(segmentExists(seg.id)).toBe(true);
    let e: IpcError | undefined;
    try {
      SharedSegment.create({ path: keyFile, projId: "T", size: 1024 });
    } catch (x) {
      e = x as IpcError;
    }
    expect(e).toMatchObject({ code: "EEXIST", syscall: "shmget" });
    const adopted = SharedSegment.create({ path: keyFile, projId: "T", size: 1024, exclusive: false });
    expect(adopted.id).toBe(seg.id);
  } finally {
    seg.remove();
    seg.remove(); // twice: no-op
  }
  expect(segmentExists(seg.id)).toBe(false);
  expect(seg.removed).toBe(true);
});

test("bad options are refused before anything is created", () => {
  const before = ownSegments();
  expect(() => SharedSegment.create({} as never)).toThrow(TypeError);
  expect(() => SharedSegment.create({ size: 0 })).toThrow(RangeError);
  expect(() => SharedSegment.create({ size: -5 })).toThrow(RangeError);
  expect(() => SharedSegment.create(null as never)).toThrow(TypeError);
  expect(() => SharedSegment.open({} as never)).toThrow(TypeError);
  expect(() => SharedSegment.create({ size: 10, mode: 0o7777 })).toThrow(RangeError);
  expect(ownSegments()).toEqual(before);
});
