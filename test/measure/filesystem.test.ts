// fsType/fsInfo read the mount table: tmpfs for /dev/shm, the root's type for a new file under it.
import fs from "fs";
import path from "path";
import { fsInfo, fsType } from "../../src";
import { tempDir } from "../helpers";

function mountOf(p: string): { type: string; at: string } {
  // What findmnt would say, from /proc/mounts (a second reading, independent of mountinfo's parser).
  const rows = fs
    .readFileSync("/proc/mounts", "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split(" "));
  const hit = rows
    .filter(([, at]) => p === at || at === "/" || p.startsWith(at + "/"))
    .sort((a, b) => a[1].length - b[1].length)
    .pop();
  return { type: hit?.[2] ?? "?", at: hit?.[1] ?? "?" };
}

test("/dev/shm is tmpfs, in memory", () => {
  expect(fsType("/dev/shm")).toBe("tmpfs");
  expect(fsInfo("/dev/shm/not-there-yet")).toMatchObject({ type: "tmpfs", inMemory: true });
});

test("a temp dir and a path that does not exist yet agree with /proc/mounts", () => {
  const dir = tempDir();
  try {
    const real = fs.realpathSync(dir);
    const want = mountOf(real);
    expect(fsInfo(dir)).toMatchObject({ type: want.type, mountPoint: want.at });
    expect(fsType(path.join(dir, "a", "b", "c"))).toBe(want.type);
    expect(fsInfo("/").mountPoint).toBe("/");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("bad input is a TypeError", () => {
  expect(() => fsType(3 as never)).toThrow(TypeError);
  expect(() => fsType("a\0b")).toThrow(TypeError);
});
