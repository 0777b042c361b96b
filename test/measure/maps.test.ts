// showMaps: two processes, one System V segment and one file mapped MAP_SHARED by both; the
// comparison finds both objects, their addresses in each process, the same physical page (root)
// or the reason it cannot tell, Pss half of Rss for the pages both touched, and the libc lines.
import { spawn } from "child_process";
import fs from "fs";
import path from "path";
import {
  IPC_CREAT,
  IPC_PRIVATE,
  IPC_RMID,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  mmap,
  physicalFrame,
  readMaps,
  shmat,
  shmctl,
  shmdt,
  shmget,
  showMaps,
  smapsRollup,
} from "../../src";
import { distIndex, tempDir } from "../helpers";

const PAGE = 4096;

/** A node process that attaches `shmid`, maps `file`, touches both, prints "ready" and waits for stdin to close. */
function partner(shmid: number, file: string) {
  const code = `
    const lib = require(${JSON.stringify(distIndex)});
    const fs = require("fs");
    const a = lib.shmat(${shmid}, null, 0);
    a.buffer[0] = 1;
    const fd = fs.openSync(${JSON.stringify(file)}, "r+");
    const m = lib.mmap(null, ${4 * PAGE}, lib.PROT_READ | lib.PROT_WRITE, lib.MAP_SHARED, fd, 0);
    for (let p = 0; p < 4; p++) m.buffer[p * ${PAGE}] = 2;
    console.log("ready");
    process.stdin.on("end", () => process.exit(0));
    process.stdin.resume();`;
  const child = spawn(process.execPath, ["-e", code], { stdio: ["pipe", "pipe", "inherit"] });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d) => String(d).includes("ready") && resolve());
    child.on("exit", (c) => reject(new Error(`partner exited with ${c}`)));
  });
  return { child, ready, done: new Promise((r) => child.on("exit", r)) };
}

test("showMaps finds the segment and the file both processes map, with Pss < Rss and libc", async () => {
  const dir = tempDir();
  const file = path.join(dir, "four-pages");
  fs.writeFileSync(file, Buffer.alloc(4 * PAGE));
  const id = shmget(IPC_PRIVATE, PAGE, 0o600 | IPC_CREAT);
  const mine = shmat(id, null, 0);
  const fd = fs.openSync(file, "r+");
  const m = mmap(null, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  fs.closeSync(fd);
  const other = partner(id, file);
  try {
    mine.buffer[1] = 1;
    for (let p = 0; p < 4; p++) m.buffer[p * PAGE + 1] = 3;
    await other.ready;
    const view = showMaps(process.pid, other.child.pid!);
    const seg = view.shared.find((s) => s.shmid === id);
    const mapped = view.shared.find((s) => s.path === file);
    expect(seg).toBeDefined();
    expect(mapped).toBeDefined();
    expect(seg!.addresses[0]).toBe(mine.address);
    expect(mapped!.addresses[0]).toBe(m.address);
    // Four pages touched by two processes: each has 16 KiB resident, and is charged half.
    expect(mapped!.usage.map((u) => u!.rss)).toEqual([4 * PAGE, 4 * PAGE]);
    expect(mapped!.usage.map((u) => u!.pss)).toEqual([2 * PAGE, 2 * PAGE]);
    const root = process.getuid?.() === 0;
    if (root) {
      expect(seg!.samePhysicalPage).toBe(true);
      expect(view.pfnNote).toBe("");
    } else {
      expect(seg!.samePhysicalPage).toBeNull();
      expect(view.pfnNote).toMatch(/CAP_SYS_ADMIN/);
    }
    expect(view.libc[0].length).toBeGreaterThan(0);
    expect(view.libc[1].length).toBeGreaterThan(0);
    for (const r of view.rollup) expect(r.pss).toBeLessThan(r.rss);
    expect(String(view)).toContain(file);
  } finally {
    other.child.stdin!.end();
    await other.done;
    shmdt(mine);
    shmctl(id, IPC_RMID);
    m.unmap();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("readMaps, smapsRollup and physicalFrame of this process; bad pids are TypeError/RangeError", () => {
  const lines = readMaps();
  expect(lines.some((l) => l.path === "[stack]")).toBe(true);
  const r = smapsRollup();
  expect(r.rss).toBeGreaterThan(0);
  const stack = lines.find((l) => l.path === "[stack]")!;
  const f = physicalFrame("self", stack.end - 8n);
  if (process.getuid?.() === 0) expect(typeof f.pfn).toBe("bigint");
  else expect(f.pfn).toBeNull();
  expect(() => showMaps(0, 1)).toThrow(RangeError);
  expect(() => showMaps("1" as never, 1)).toThrow(TypeError);
});
