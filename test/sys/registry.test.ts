// Nothing leaks: what a process creates is removed at normal exit and on SIGINT/SIGTERM,
// unless persisted; SIGKILL leaves it for reap(); attaching never removes someone else's.
import { spawn, spawnSync } from "child_process";
import fs from "fs";
import { IPC_CREAT, IPC_EXCL, IPC_RMID, IPC_STAT, reap, shmctl, shmget } from "../../src";
import { distIndex, segmentExists, tempDir, uniqueName } from "../helpers";

const records = tempDir("tslab-ipc-records-");
afterAll(() => fs.rmSync(records, { recursive: true, force: true }));

/** Starts a child that creates a segment and a POSIX object, prints their ids, then waits. */
function creator(options: { persist?: boolean; exitAtOnce?: boolean } = {}) {
  const posixName = "/" + uniqueName("tslab-reg");
  const code = `
    const ipc = require(${JSON.stringify(distIndex)});
    const id = ipc.shmget(ipc.IPC_PRIVATE, 4096, ipc.IPC_CREAT | 0o600, { persist: ${!!options.persist} });
    const fd = ipc.shm_open(${JSON.stringify(posixName)}, ipc.O_CREAT | ipc.O_RDWR, 0o600, { persist: ${!!options.persist} });
    console.log(JSON.stringify({ id }));
    ${options.exitAtOnce ? "" : "setInterval(() => {}, 1000);"}
  `;
  const child = spawn(process.execPath, ["-e", code], {
    env: { ...process.env, TSLAB_IPC_RECORDS: records },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const ready = new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve(JSON.parse(out).id);
    });
    child.on("error", reject);
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, ready, exited, posixName };
}

test("normal exit removes what the process created", async () => {
  const c = creator({ exitAtOnce: true });
  const id = await c.ready;
  expect(await c.exited).toEqual({ code: 0, signal: null });
  expect(segmentExists(id)).toBe(false);
  expect(fs.existsSync("/dev/shm" + c.posixName)).toBe(false);
});

test("normal exit removes every segment still tracked, whether it was the newest or not, and none that was removed", async () => {
  // The registry keeps its newest segment apart from the rest (src/sys/newest-first-map.ts):
  // removing an older one, and cycling new ones past a held one, must leave exactly the held ones.
  const code = `
    const ipc = require(${JSON.stringify(distIndex)});
    const make = () => ipc.shmget(ipc.IPC_PRIVATE, 4096, ipc.IPC_CREAT | 0o600);
    const a = make(), b = make(), c = make();
    ipc.shmctl(b, ipc.IPC_RMID);
    for (let i = 0; i < 50; i++) { const s = make(); const at = ipc.shmat(s, null, 0); at.detach(); ipc.shmctl(s, ipc.IPC_RMID); }
    const d = make();
    const at = ipc.shmat(a, null, 0);
    console.log(JSON.stringify({ a, c, d, size: at.length }));
    at.detach();
  `;
  const r = spawnSync(process.execPath, ["-e", code], {
    env: { ...process.env, TSLAB_IPC_RECORDS: records },
    encoding: "utf8",
  });
  expect(r.status).toBe(0);
  const { a, c, d, size } = JSON.parse(r.stdout);
  expect(size).toBe(4096);
  for (const id of [a, c, d]) expect([id, segmentExists(id)]).toEqual([id, false]);
});

test.each(["SIGINT", "SIGTERM"] as const)(
  "%s removes what the process created, and the process still dies by it",
  async (sig) => {
    const c = creator();
    const id = await c.ready;
    expect(segmentExists(id)).toBe(true);
    expect(fs.existsSync("/dev/shm" + c.posixName)).toBe(true);
    c.child.kill(sig);
    expect(await c.exited).toEqual({ code: null, signal: sig });
    expect(segmentExists(id)).toBe(false);
    expect(fs.existsSync("/dev/shm" + c.posixName)).toBe(false);
  },
);

test("persist keeps objects after exit", async () => {
  const c = creator({ persist: true, exitAtOnce: true });
  const id = await c.ready;
  await c.exited;
  try {
    expect(segmentExists(id)).toBe(true);
    expect(fs.existsSync("/dev/shm" + c.posixName)).toBe(true);
  } finally {
    if (segmentExists(id)) shmctl(id, IPC_RMID);
    fs.rmSync("/dev/shm" + c.posixName, { force: true });
  }
});

test("SIGKILL leaves objects behind; reap() removes them, and leaves live processes' and other programs' alone", async () => {
  const prev = process.env.TSLAB_IPC_RECORDS;
  process.env.TSLAB_IPC_RECORDS = records;
  const killed = creator();
  const alive = creator();
  // A segment of "another program": same user, not made through this library (util-linux's ipcmk).
  let killedId = -1;
  let foreignId = -1;
  try {
    const made = spawnSync("ipcmk", ["-M", "4096", "-p", "0600"], { encoding: "utf8" });
    expect(made.status).toBe(0);
    foreignId = Number(/id: (\d+)/.exec(made.stdout)![1]);
    killedId = await killed.ready;
    const aliveId = await alive.ready;
    killed.child.kill("SIGKILL");
    expect((await killed.exited).signal).toBe("SIGKILL");
    expect(segmentExists(killedId)).toBe(true);
    expect(fs.existsSync("/dev/shm" + killed.posixName)).toBe(true);
    expect(segmentExists(foreignId)).toBe(true);

    const report = reap();
    expect(report.removed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: "sysv", id: killedId }),
        expect.objectContaining({ kind: "posix", name: killed.posixName }),
      ]),
    );
    expect(report.live).toBeGreaterThanOrEqual(1);
    expect(segmentExists(killedId)).toBe(false);
    expect(fs.existsSync("/dev/shm" + killed.posixName)).toBe(false);
    expect(segmentExists(aliveId)).toBe(true);
    expect(fs.existsSync("/dev/shm" + alive.posixName)).toBe(true);
    expect(segmentExists(foreignId)).toBe(true);
  } finally {
    // Whatever failed above, nothing of this test outlives it: the killed child's objects
    // (reap() may not have run), the live child, the foreign segment.
    if (prev === undefined) delete process.env.TSLAB_IPC_RECORDS;
    else process.env.TSLAB_IPC_RECORDS = prev;
    killed.child.kill("SIGKILL");
    alive.child.kill("SIGTERM");
    await Promise.all([killed.exited, alive.exited]);
    for (const id of [killedId, foreignId]) if (id >= 0 && segmentExists(id)) shmctl(id, IPC_RMID);
    for (const n of [killed.posixName, alive.posixName]) fs.rmSync("/dev/shm" + n, { force: true });
  }
});

test("attaching to someone else's segment never removes it at exit", async () => {
  const key = 0x7a000000 | (process.pid & 0xffffff) | 0;
  const id = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0o600);
  try {
    const code = `
      const ipc = require(${JSON.stringify(distIndex)});
      const a = ipc.shmat(ipc.shmget(${key}, 4096, ipc.IPC_CREAT | 0o600));
      a.writeString("visited");
    `;
    const child = spawn(process.execPath, ["-e", code], { stdio: "inherit" });
    await new Promise((r) => child.on("exit", r));
    expect(segmentExists(id)).toBe(true);
    expect(shmctl(id, IPC_STAT).nattch).toBe(0);
  } finally {
    shmctl(id, IPC_RMID);
  }
});

test("a create/remove loop starts the journal over in place (same file), and reap() still removes what a SIGKILL left", async () => {
  const prev = process.env.TSLAB_IPC_RECORDS;
  process.env.TSLAB_IPC_RECORDS = records;
  // 3000 cycles write ~100 KB of lines: several times the 16 KiB journal.
  const code = `
    const fs = require("fs");
    const ipc = require(${JSON.stringify(distIndex)});
    const journal = () => fs.readdirSync(${JSON.stringify(records)}).find((f) => f.startsWith(process.pid + "-") && f.endsWith(".jsonl"));
    ipc.shmctl(ipc.shmget(ipc.IPC_PRIVATE, 4096, ipc.IPC_CREAT | 0o600), ipc.IPC_RMID);
    const ino = fs.statSync(${JSON.stringify(records)} + "/" + journal()).ino;
    for (let i = 0; i < 3000; i++) ipc.shmctl(ipc.shmget(ipc.IPC_PRIVATE, 4096, ipc.IPC_CREAT | 0o600), ipc.IPC_RMID);
    const id = ipc.shmget(ipc.IPC_PRIVATE, 4096, ipc.IPC_CREAT | 0o600);
    const sameFile = fs.statSync(${JSON.stringify(records)} + "/" + journal()).ino === ino;
    console.log(JSON.stringify({ id, sameFile }));
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ["-e", code], {
    env: { ...process.env, TSLAB_IPC_RECORDS: records },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  let id = -1;
  try {
    const out = await new Promise<{ id: number; sameFile: boolean }>((resolve, reject) => {
      let text = "";
      child.stdout.on("data", (d) => {
        text += d;
        if (text.includes("\n")) resolve(JSON.parse(text));
      });
      child.on("error", reject);
    });
    id = out.id;
    expect(out.sameFile).toBe(true);
    child.kill("SIGKILL");
    await exited;
    expect(segmentExists(id)).toBe(true);
    expect(reap().removed).toEqual(expect.arrayContaining([expect.objectContaining({ kind: "sysv", id })]));
    expect(segmentExists(id)).toBe(false);
  } finally {
    if (prev === undefined) delete process.env.TSLAB_IPC_RECORDS;
    else process.env.TSLAB_IPC_RECORDS = prev;
    child.kill("SIGKILL");
    await exited;
    if (id >= 0 && segmentExists(id)) shmctl(id, IPC_RMID);
  }
});
