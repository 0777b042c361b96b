// msync(MS_SYNC) writes the mapping's dirty pages to the file's storage. Proven from the
// kernel's own accounting (cachestat(2), read by this process on its own descriptor of the
// file): while the writer holds its changes, the pages are dirty; when its MS_SYNC returns,
// none is dirty or under writeback. The writer is then SIGKILLed and the file, dropped from the
// page cache, reads back every byte from the disk.
// A writer whose msync is a stand-in that does nothing (and returns 0) leaves the pages dirty,
// and the same check fails: the second test shows that.
import { spawn, type ChildProcessByStdio } from "child_process";
import crypto from "crypto";
import fs from "fs";
import path from "path";
import type { Readable, Writable } from "stream";
import { cachestat, dropFromPageCache, fsInfo } from "../../src";
import { distIndex, tempDir } from "../helpers";

const PAGES = 64;
const PAGE = 4096;
const dir = tempDir("tslab-ipc-durability-");
const onDisk = !fsInfo(dir).inMemory;
const diskTest = onDisk ? test : test.skip;
if (!onDisk)
  console.warn(
    `skipped: ${dir} is on ${fsInfo(dir).type}, which has no storage to write back to; set TMPDIR to a disk-backed folder`,
  );
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Observed {
  dirtyBefore: number;
  dirtyAfter: number;
  writebackAfter: number;
  bytesMatch: boolean;
  stillCached: number;
}

/** Reads lines from the writer and answers; the writer waits for "sync" before its msync. */
function lines(child: ChildProcessByStdio<Writable, Readable, null>): () => Promise<string> {
  const queue: string[] = [];
  let wake: (() => void) | null = null;
  let rest = "";
  child.stdout.on("data", (d) => {
    const parts = (rest + String(d)).split("\n");
    rest = parts.pop() as string;
    queue.push(...parts);
    wake?.();
  });
  return async () => {
    while (queue.length === 0) {
      await new Promise<void>((resolve, reject) => {
        wake = resolve;
        child.once("exit", (code) => reject(new Error(`writer exited early with ${code}`)));
      });
    }
    return queue.shift() as string;
  };
}

async function writeSyncKill(noopMsync: boolean): Promise<Observed> {
  const file = path.join(dir, `durable-${noopMsync ? "noop" : "real"}-${crypto.randomBytes(4).toString("hex")}.bin`);
  const pattern = crypto.randomBytes(PAGES * PAGE);
  const patternFile = file + ".pattern";
  fs.writeFileSync(patternFile, pattern);
  // The writer maps the file and copies the pattern in; on "sync" it calls msync(MS_SYNC) (or
  // the library's msync with a stand-in that does nothing), says "synced", and waits to be killed.
  const writer = spawn(
    process.execPath,
    [
      "-e",
      `const ipc = require(${JSON.stringify(distIndex)}); const fs = require("fs");
       if (${noopMsync}) ipc.countCalls([], { standIns: { msync: () => 0 } });
       const m = ipc.mapFile(${JSON.stringify(file)}, { create: ${PAGES * PAGE} });
       m.buffer.set(fs.readFileSync(${JSON.stringify(patternFile)}));
       process.stdout.write("written\\n");
       process.stdin.once("data", () => {
         ipc.msync(m, m.length, ipc.MS_SYNC);
         process.stdout.write("synced\\n");
       });
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const next = lines(writer);
  let fd = -1;
  try {
    expect(await next()).toBe("written");
    fd = fs.openSync(file, "r"); // our own descriptor: cachestat counts the file's pages, whoever dirtied them
    const before = cachestat(fd);
    writer.stdin.write("sync\n");
    expect(await next()).toBe("synced");
    const after = cachestat(fd);
    writer.kill("SIGKILL");
    const end = await new Promise<string | null>((resolve) => writer.on("close", (_c, s) => resolve(s)));
    expect(end).toBe("SIGKILL");
    // dropFromPageCache fsyncs first (dirty pages cannot be dropped): the counts above were read before it.
    const stillCached = dropFromPageCache(file);
    const bytes = fs.readFileSync(file);
    return {
      dirtyBefore: before.nr_dirty,
      dirtyAfter: after.nr_dirty,
      writebackAfter: after.nr_writeback,
      bytesMatch: bytes.equals(pattern),
      stillCached,
    };
  } finally {
    if (fd >= 0) fs.closeSync(fd);
    if (writer.exitCode === null && writer.signalCode === null) writer.kill("SIGKILL");
    fs.rmSync(file, { force: true });
    fs.rmSync(patternFile, { force: true });
  }
}

/** What "msync(MS_SYNC) wrote the pages" means, as assertions. */
function expectWrittenBack(o: Observed): void {
  expect(o.dirtyBefore).toBe(PAGES); // the writer's changes: every page dirty
  expect(o.dirtyAfter).toBe(0); // after MS_SYNC returned: none dirty...
  expect(o.writebackAfter).toBe(0); // ...and none still on its way to the disk
  expect(o.stillCached).toBe(0); // the read-back comes from the disk
  expect(o.bytesMatch).toBe(true);
}

diskTest(
  "msync(MS_SYNC): 64 dirty pages before, 0 dirty and 0 under writeback after (cachestat); the bytes read back from disk after SIGKILL",
  async () => {
    const o = await writeSyncKill(false);
    console.log(
      `msync durability: dirty pages ${o.dirtyBefore} before msync(MS_SYNC), ${o.dirtyAfter} after; writer SIGKILLed; bytes read back from disk: ${o.bytesMatch ? "all" : "NOT all"}`,
    );
    expectWrittenBack(o);
  },
);

diskTest("the same check fails when msync is a no-op stand-in: the pages stay dirty", async () => {
  const o = await writeSyncKill(true);
  expect(o.dirtyBefore).toBe(PAGES);
  expect(o.dirtyAfter).toBe(PAGES);
  expect(() => expectWrittenBack(o)).toThrow(/toBe/);
});
