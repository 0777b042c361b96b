// Issue 17's attacks, each acted out by two unprivileged users (setpriv, as the permission tests
// do): an attacker who plants things in the shared temp directory, and a victim who uses the
// library. Each test failed on the code before the fix (journal folder and journals trusted
// blindly, reap() trusting any journal, lab folders removed whoever owned them).
//
// Both users get TMPDIR = a sticky, world-writable folder of this test (a private /tmp), so
// "the temp directory" is shared between them as /tmp is, and nothing outside it is touched.
import { spawn, spawnSync } from "child_process";
import crypto from "crypto";
import fs from "fs";
import os from "os";
import path from "path";
import readline from "readline";
import { IPC_RMID, shmctl } from "../../src";
import { distIndex } from "../helpers";

// TSLAB_IPC_TEST_DIST: run these attacks against another build (the code before the fix).
const dist = process.env.TSLAB_IPC_TEST_DIST ?? distIndex;

function skipReason(): string | null {
  if (typeof process.getuid !== "function" || process.getuid() !== 0)
    return "not running as root: cannot act as two other users";
  const r = spawnSync("setpriv", [
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    process.execPath,
    "-e",
    `require(${JSON.stringify(dist)})`,
  ]);
  if (r.error) return "setpriv not found (Debian package util-linux)";
  if (r.status !== 0) return `setpriv cannot run the library as another user: ${String(r.stderr).trim().slice(0, 200)}`;
  return null;
}
const reason = skipReason();
const maybe = reason ? test.skip : test;
if (reason) console.log(`security attack tests skipped: ${reason}`);

// Two uids with no other use on this machine (no passwd entry needed by setpriv or Node).
const VICTIM = 61000 + crypto.randomInt(0, 3000) * 2;
const ATTACKER = VICTIM + 1;
// A pid no process can have (above the kernel's pid_max limit of 2^22): "a dead process".
const DEAD_PID = 4194999;

let base = "";
let tmp = "";

beforeAll(() => {
  if (reason) return;
  base = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-sec-"));
  fs.chmodSync(base, 0o755);
  tmp = path.join(base, "tmp");
  fs.mkdirSync(tmp);
  fs.chmodSync(tmp, 0o1777);
});

afterAll(() => {
  if (reason) return;
  // Whatever a test left, whoever made it: segments and POSIX objects of the two test uids.
  for (const { id } of segments().filter((s) => s.uid === VICTIM || s.uid === ATTACKER)) {
    try {
      shmctl(id, IPC_RMID);
    } catch {
      /* gone */
    }
  }
  for (const name of fs.readdirSync("/dev/shm")) {
    try {
      const st = fs.lstatSync(path.join("/dev/shm", name));
      if (st.uid === VICTIM || st.uid === ATTACKER) fs.rmSync(path.join("/dev/shm", name), { force: true });
    } catch {
      /* gone */
    }
  }
  fs.rmSync(base, { recursive: true, force: true });
});

function segments(): { id: number; uid: number; cpid: number; ctime: number }[] {
  return fs
    .readFileSync("/proc/sysvipc/shm", "utf8")
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 13)
    .map((f) => ({ id: Number(f[1]), cpid: Number(f[4]), uid: Number(f[7]), ctime: Number(f[13]) }));
}

const segmentAlive = (id: number) => segments().some((s) => s.id === id);

/** Start time of a process (/proc/<pid>/stat field 22): the new journal names carry it. */
function startTime(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "latin1");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  // No TSLAB_IPC_RECORDS, no XDG_RUNTIME_DIR: the library's defaults in the shared temp folder.
  return { PATH: process.env.PATH, TMPDIR: tmp, HOME: tmp, ...extra };
}

function setprivArgs(uid: number): string[] {
  return [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups"];
}

/** Runs Node code as `uid` to the end; `ipc` is the library, `fs` and `path` are bound. */
function runAs(uid: number, code: string, extraEnv: NodeJS.ProcessEnv = {}, timeout = 30000) {
  const prelude = `const ipc = require(${JSON.stringify(dist)}); const fs = require("fs"); const path = require("path");\n`;
  return spawnSync("setpriv", [...setprivArgs(uid), process.execPath, "-e", prelude + code], {
    encoding: "utf8",
    cwd: tmp,
    env: userEnv(extraEnv),
    timeout,
  });
}

/** The attacker's moves: plain Node as ATTACKER (no library). */
function attacker(code: string): void {
  const r = spawnSync(
    "setpriv",
    [
      ...setprivArgs(ATTACKER),
      process.execPath,
      "-e",
      `const fs = require("fs"); const path = require("path"); process.umask(0);\n${code}`,
    ],
    {
      encoding: "utf8",
      cwd: tmp,
      env: userEnv(),
    },
  );
  if (r.status !== 0) throw new Error(`attacker step failed: ${r.stderr}`);
}

/**
 * A victim process that runs steps on request: it prints "pid <n>", then for each line on
 * stdin runs that step of `steps` and prints what it returned.
 */
function victimSession(steps: Record<string, string>) {
  const code = `
    const ipc = require(${JSON.stringify(dist)}); const fs = require("fs");
    const say = (s) => fs.writeSync(1, s + "\\n");
    const steps = { ${Object.entries(steps)
      .map(([k, v]) => `${JSON.stringify(k)}: () => { ${v} }`)
      .join(",\n")} };
    say("pid " + process.pid);
    require("readline").createInterface({ input: process.stdin }).on("line", (line) => {
      try { say("ok " + JSON.stringify(steps[line]())); } catch (e) { say("error " + e.code + " " + e.message); }
    });`;
  const child = spawn("setpriv", [...setprivArgs(VICTIM), process.execPath, "-e", code], {
    cwd: tmp,
    env: userEnv(),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const queue: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  readline.createInterface({ input: child.stdout }).on("line", (line) => {
    const w = waiting.shift();
    if (w) w(line);
    else queue.push(line);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  const next = () =>
    Promise.race([
      new Promise<string>((resolve) => (queue.length ? resolve(queue.shift()!) : waiting.push(resolve))),
      exited.then((e) => `exited ${e.code ?? e.signal}`),
    ]);
  return {
    child,
    exited,
    stderr: () => stderr,
    next,
    async run(step: string): Promise<string> {
      child.stdin.write(step + "\n");
      return next();
    },
  };
}

/** The victim's pid, and the names its journal has (before the fix, and after). */
async function victimPid(session: ReturnType<typeof victimSession>) {
  const first = await session.next();
  const pid = Number(/^pid (\d+)$/.exec(first)?.[1]);
  if (!pid) throw new Error(`victim did not start: ${first} ${session.stderr()}`);
  return { pid, journals: [`${pid}.jsonl`, `${pid}-${startTime(pid)}.jsonl`] };
}

const victimFolder = () => path.join(tmp, `tslab-ipc-${VICTIM}`);

maybe("symlink clobber: planted journal symlinks never make the victim truncate its own file", async () => {
  const home = path.join(base, "victim-home");
  fs.mkdirSync(home);
  fs.chownSync(home, VICTIM, VICTIM);
  const precious = path.join(home, "thesis.txt");
  fs.writeFileSync(precious, "four years of work\n");
  fs.chownSync(precious, VICTIM, VICTIM);
  const victim = victimSession({
    create: "return ipc.shmget(ipc.IPC_PRIVATE, 4096, ipc.IPC_CREAT | 0o600);",
    exit: "process.exit(0);",
  });
  try {
    const { journals } = await victimPid(victim);
    attacker(`
      const dir = ${JSON.stringify(victimFolder())};
      fs.mkdirSync(dir, { mode: 0o777 });
      for (const j of ${JSON.stringify(journals)}) fs.symlinkSync(${JSON.stringify(precious)}, path.join(dir, j));`);
    expect(await victim.run("create")).toMatch(/^ok \d+$/); // the victim's call still works
    expect(await victim.run("exit")).toBe("exited 0");
    expect(fs.readFileSync(precious, "utf8")).toBe("four years of work\n");
    expect(victim.stderr()).toMatch(
      new RegExp(`tslab-ipc: not using ${victimFolder()}: it is owned by uid ${ATTACKER}`),
    );
  } finally {
    victim.child.kill("SIGKILL");
  }
});

maybe(
  "pre-created journal: a 0666 file truncated under the victim's mapping never crashes it (SIGBUS) or leaks its segments",
  async () => {
    const victim = victimSession({
      create: "return ipc.shmget(ipc.IPC_PRIVATE, 4096, ipc.IPC_CREAT | 0o600);",
      exit: "process.exit(0);",
    });
    fs.rmSync(victimFolder(), { recursive: true, force: true });
    try {
      const { journals } = await victimPid(victim);
      attacker(`
      const dir = ${JSON.stringify(victimFolder())};
      fs.mkdirSync(dir, { mode: 0o777 });
      for (const j of ${JSON.stringify(journals)}) fs.writeFileSync(path.join(dir, j), "", { mode: 0o666 });`);
      const first = await victim.run("create");
      expect(first).toMatch(/^ok \d+$/);
      // The victim has mapped its journal (before the fix, the attacker's file): cut it to nothing.
      attacker(
        `for (const j of ${JSON.stringify(journals)}) fs.truncateSync(path.join(${JSON.stringify(victimFolder())}, j), 0);`,
      );
      const second = await victim.run("create");
      expect(second).toMatch(/^ok \d+$/);
      expect(await victim.run("exit")).toBe("exited 0");
      expect(await victim.exited).toEqual({ code: 0, signal: null });
      // Removed at exit, as always.
      for (const line of [first, second]) expect(segmentAlive(Number(line.slice(3)))).toBe(false);
    } finally {
      victim.child.kill("SIGKILL");
    }
  },
);

/** As VICTIM: a persisted segment and POSIX object, made by a process that then exits. */
function persistedObjects() {
  const name = `/tslab-sec-${crypto.randomBytes(6).toString("hex")}`;
  const r = runAs(
    VICTIM,
    `const id = ipc.shmget(ipc.IPC_PRIVATE, 4096, ipc.IPC_CREAT | 0o600, { persist: true });
     const fd = ipc.shm_open(${JSON.stringify(name)}, ipc.O_CREAT | ipc.O_EXCL | ipc.O_RDWR, 0o600, { persist: true });
     console.log(JSON.stringify({ id, pid: process.pid, ino: fs.fstatSync(fd).ino }));`,
  );
  if (r.status !== 0) throw new Error(r.stderr);
  const made = JSON.parse(r.stdout.trim()) as { id: number; pid: number; ino: number };
  const ctime = segments().find((s) => s.id === made.id)!.ctime;
  // What a forged journal says, in both formats (before the fix: <pid>.jsonl, lines "s id key").
  const forged = {
    old: `s ${made.id} 0\n${JSON.stringify({ kind: "posix", name, ino: made.ino })}\n`,
    new: `s ${made.id} 0 ${ctime}\n${JSON.stringify({ kind: "posix", name, ino: made.ino })}\n`,
  };
  return { ...made, name, forged };
}

function forgeJournals(dir: string, pid: number, forged: { old: string; new: string }): string {
  return `fs.writeFileSync(path.join(${JSON.stringify(dir)}, "${pid}.jsonl"), ${JSON.stringify(forged.old)}, { mode: 0o666 });
          fs.writeFileSync(path.join(${JSON.stringify(dir)}, "${pid}-1.jsonl"), ${JSON.stringify(forged.new)}, { mode: 0o666 });`;
}

maybe("forged reap: a journal planted by another user never gets the victim's persisted objects removed", () => {
  fs.rmSync(victimFolder(), { recursive: true, force: true });
  const made = persistedObjects();
  attacker(
    `fs.mkdirSync(${JSON.stringify(victimFolder())}, { mode: 0o777 }); ${forgeJournals(victimFolder(), made.pid, made.forged)}`,
  );
  const r = runAs(VICTIM, `console.log(JSON.stringify(ipc.reap().removed));`);
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout.trim().split("\n").pop()!)).toEqual([]);
  expect(segmentAlive(made.id)).toBe(true);
  expect(fs.existsSync("/dev/shm" + made.name)).toBe(true);
});

maybe("FIFO stall: a FIFO named like a dead process's journal never blocks reap()", () => {
  fs.rmSync(victimFolder(), { recursive: true, force: true });
  attacker(`fs.mkdirSync(${JSON.stringify(victimFolder())}, { mode: 0o777 });`);
  for (const name of [`${DEAD_PID}.jsonl`, `${DEAD_PID}-1.jsonl`]) {
    const r = spawnSync("setpriv", [...setprivArgs(ATTACKER), "mkfifo", "-m", "0666", path.join(victimFolder(), name)]);
    expect(r.status).toBe(0);
  }
  // Before the fix reap() waited forever for a writer: the timeout killed it.
  const r = runAs(VICTIM, `console.log(JSON.stringify(ipc.reap()));`, {}, 10000);
  expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
  expect(JSON.parse(r.stdout.trim().split("\n").pop()!).removed).toEqual([]);
});

maybe("lab-folder swap: a folder planted under a dead process's lab name is never emptied by the victim", () => {
  const planted = path.join(tmp, `tslab-ipc-lab-${DEAD_PID}-planted`);
  attacker(`
    fs.mkdirSync(${JSON.stringify(planted)}, { mode: 0o777 });
    for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(${JSON.stringify(planted)}, "file" + i), "attacker's " + i, { mode: 0o666 });`);
  const r = runAs(VICTIM, `console.log(ipc.labDir());`);
  expect(r.status).toBe(0);
  const lab = r.stdout.trim();
  expect(fs.readdirSync(planted)).toHaveLength(200);
  // The victim's own lab folder is inside its verified private folder, not beside the planted one.
  expect(path.dirname(lab)).not.toBe(tmp);
  const st = fs.lstatSync(path.dirname(lab));
  expect({ dir: st.isDirectory(), uid: st.uid, mode: st.mode & 0o777 }).toEqual({
    dir: true,
    uid: VICTIM,
    mode: 0o700,
  });
});

maybe(
  "root reaping another uid: neither a planted folder nor a forged line in root's own folder gets another user's objects removed",
  () => {
    const made = persistedObjects();
    // 1. Another user pre-created root's journal folder in the temp directory and forged journals.
    const rootFolder = path.join(tmp, "tslab-ipc-0");
    fs.rmSync(rootFolder, { recursive: true, force: true });
    attacker(
      `fs.mkdirSync(${JSON.stringify(rootFolder)}, { mode: 0o777 }); ${forgeJournals(rootFolder, made.pid, made.forged)}`,
    );
    const asRoot = (env: NodeJS.ProcessEnv) =>
      spawnSync(
        process.execPath,
        ["-e", `console.log(JSON.stringify(require(${JSON.stringify(dist)}).reap().removed))`],
        {
          encoding: "utf8",
          cwd: tmp,
          env: { ...userEnv(), ...env },
          timeout: 30000,
        },
      );
    let r = asRoot({});
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n").pop()!)).toEqual([]);
    expect(segmentAlive(made.id)).toBe(true);
    expect(fs.existsSync("/dev/shm" + made.name)).toBe(true);
    // 2. Even a journal in root's own private folder (a bug, a stale line) naming them: not root's objects.
    const records = fs.mkdtempSync(path.join(base, "root-records-"));
    fs.writeFileSync(path.join(records, `${made.pid}.jsonl`), made.forged.old);
    fs.writeFileSync(path.join(records, `${made.pid}-1.jsonl`), made.forged.new);
    r = asRoot({ TSLAB_IPC_RECORDS: records });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n").pop()!)).toEqual([]);
    expect(segmentAlive(made.id)).toBe(true);
    expect(fs.existsSync("/dev/shm" + made.name)).toBe(true);
  },
);
