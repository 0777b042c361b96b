// Issue 17's findings that one user can show alone: the private state folder and its fallback,
// journaled "forget" (persist later), a journal that stays small, ownership by fact, bounded
// child output, compiler names, mapFile's create, the notebook launcher's address. Each test
// failed on the code before the fix.
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import {
  IPC_CREAT,
  IPC_EXCL,
  IPC_RMID,
  SharedSegment,
  compileC,
  mapFile,
  noCompilerReason,
  runProgram,
  runTs,
  shmctl,
  shmget,
} from "../../src";
import { distIndex, segmentExists, tempDir, uniqueName } from "../helpers";

const dist = process.env.TSLAB_IPC_TEST_DIST ?? distIndex;

/** Runs Node code with `ipc` bound to the library; JSON of its last stdout line, and its stderr. */
function node(code: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(
    process.execPath,
    [
      "-e",
      `const ipc = require(${JSON.stringify(dist)}); const fs = require("fs"); const path = require("path");\n${code}`,
    ],
    {
      encoding: "utf8",
      env: { ...process.env, TSLAB_IPC_RECORDS: undefined, XDG_RUNTIME_DIR: undefined, ...env },
      timeout: 30000,
    },
  );
  const last = r.stdout.trim().split("\n").pop();
  return { status: r.status, signal: r.signal, stderr: r.stderr, out: last ? JSON.parse(last) : undefined };
}

describe("the journal folder", () => {
  test.each([
    ["group/other bits", (dir: string) => fs.mkdirSync(dir, { mode: 0o755 }), "has mode 0755, not private"],
    [
      "a symlink to a private folder",
      (dir: string) => {
        fs.mkdirSync(dir + "-target", { mode: 0o700 });
        fs.symlinkSync(dir + "-target", dir);
      },
      "is a symbolic link",
    ],
  ])("with %s it is never used: a fresh private folder is, and the process says so once", (_what, plant, problem) => {
    const parent = tempDir("tslab-ipc-sec-");
    const records = path.join(parent, "records");
    plant(records);
    try {
      const r = node(
        `for (let i = 0; i < 3; i++) ipc.shmget(ipc.IPC_PRIVATE, 4096, ipc.IPC_CREAT | 0o600);
         const journals = (dir) => fs.readdirSync(dir).filter((n) => n.endsWith(".jsonl"));
         console.log(JSON.stringify({ planted: journals(${JSON.stringify(records)}).length }));`,
        { TSLAB_IPC_RECORDS: records },
      );
      expect(r.status).toBe(0);
      expect(r.out).toEqual({ planted: 0 });
      const notes = r.stderr.split("\n").filter((l) => l.startsWith("tslab-ipc: not using"));
      expect(notes).toEqual([
        expect.stringContaining(
          `tslab-ipc: not using ${records}: it ${problem}; using ${os.tmpdir()}/tslab-ipc-${process.getuid!()}-`,
        ),
      ]);
      const fresh = / using (\S+) instead/.exec(notes[0])![1];
      // The fresh folder was private, and the exiting process left it empty.
      expect(fs.readdirSync(fresh)).toEqual([]);
      fs.rmdirSync(fresh);
    } finally {
      fs.rmSync(parent, { recursive: true, force: true });
    }
  });

  test("$XDG_RUNTIME_DIR/tslab-ipc when XDG_RUNTIME_DIR is set (and TSLAB_IPC_RECORDS is not)", () => {
    const runtime = tempDir("tslab-ipc-sec-xdg-");
    try {
      const r = node(
        `ipc.shmget(ipc.IPC_PRIVATE, 4096, ipc.IPC_CREAT | 0o600);
         const dir = path.join(${JSON.stringify(runtime)}, "tslab-ipc");
         const st = fs.lstatSync(dir);
         console.log(JSON.stringify({ mode: st.mode & 0o777, journals: fs.readdirSync(dir).filter((n) => n.startsWith(process.pid + "-")).length }));`,
        { XDG_RUNTIME_DIR: runtime },
      );
      expect(r.status).toBe(0);
      expect(r.out).toEqual({ mode: 0o700, journals: 1 });
      expect(r.stderr).toBe("");
    } finally {
      fs.rmSync(runtime, { recursive: true, force: true });
    }
  });
});

describe("reap()", () => {
  test("a segment and a POSIX object persisted after creation survive a SIGKILL and the next reap()", () => {
    const records = tempDir("tslab-ipc-sec-records-");
    const name = "/" + uniqueName("tslab-sec-persist");
    let id = -1;
    try {
      const r = node(
        `const key = ipc.ftok(${JSON.stringify(records)}, 7);
         const id = ipc.shmget(key, 4096, ipc.IPC_CREAT | ipc.IPC_EXCL | 0o600);
         ipc.shmget(key, 4096, ipc.IPC_CREAT | 0o600, { persist: true });
         const fd = ipc.shm_open(${JSON.stringify(name)}, ipc.O_CREAT | ipc.O_RDWR, 0o600);
         ipc.shm_open(${JSON.stringify(name)}, ipc.O_RDWR, 0o600, { persist: true });
         console.log(JSON.stringify({ id }));
         process.kill(process.pid, "SIGKILL");`,
        { TSLAB_IPC_RECORDS: records },
      );
      expect(r.signal).toBe("SIGKILL");
      id = r.out.id;
      const reaped = node(`console.log(JSON.stringify(ipc.reap()))`, { TSLAB_IPC_RECORDS: records });
      expect(reaped.out).toEqual({ removed: [], live: 0, skipped: 0 });
      expect(segmentExists(id)).toBe(true);
      expect(fs.existsSync("/dev/shm" + name)).toBe(true);
    } finally {
      if (id >= 0 && segmentExists(id)) shmctl(id, IPC_RMID);
      fs.rmSync("/dev/shm" + name, { force: true });
      fs.rmSync(records, { recursive: true, force: true });
    }
  });

  test("in its own folder, a FIFO, a folder and an oversized file named like journals are skipped, not read", () => {
    const records = tempDir("tslab-ipc-sec-records-");
    try {
      for (const n of ["4194999.jsonl", "4194999-1.jsonl"])
        expect(spawnSync("mkfifo", [path.join(records, n)]).status).toBe(0);
      fs.mkdirSync(path.join(records, "4194998-1.jsonl"));
      fs.writeFileSync(path.join(records, "4194997-1.jsonl"), "");
      fs.truncateSync(path.join(records, "4194997-1.jsonl"), 65 * 1024 * 1024);
      const r = spawnSync(
        process.execPath,
        ["-e", `console.log(JSON.stringify(require(${JSON.stringify(dist)}).reap()))`],
        {
          encoding: "utf8",
          env: { ...process.env, TSLAB_IPC_RECORDS: records },
          timeout: 10000,
        },
      );
      expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
      expect(JSON.parse(r.stdout)).toEqual({ removed: [], live: 0, skipped: 3 });
    } finally {
      fs.rmSync(records, { recursive: true, force: true });
    }
  });
});

test("the journal stays small: 20000 segments made and removed one after another", () => {
  const records = tempDir("tslab-ipc-sec-records-");
  try {
    const r = node(
      `let size = 0;
       for (let i = 0; i < 20000; i++) {
         const id = ipc.shmget(ipc.IPC_PRIVATE, 4096, ipc.IPC_CREAT | 0o600);
         ipc.shmctl(id, ipc.IPC_RMID);
         if (i % 1000 === 999) for (const n of fs.readdirSync(${JSON.stringify(records)})) size = Math.max(size, fs.statSync(path.join(${JSON.stringify(records)}, n)).size);
       }
       console.log(JSON.stringify({ size }));`,
      { TSLAB_IPC_RECORDS: records },
    );
    expect(r.status).toBe(0);
    expect(r.out.size).toBeLessThanOrEqual(16 * 1024);
  } finally {
    fs.rmSync(records, { recursive: true, force: true });
  }
});

test("SharedSegment.create({ exclusive: false }) on an existing segment never removes it on dispose", () => {
  const key = 0x7b000000 | (process.pid & 0xffffff) | 0;
  const id = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0o600);
  try {
    const r = node(`
      const s = ipc.SharedSegment.create({ key: ${key}, size: 4096, exclusive: false });
      const created = s.created;
      s[Symbol.dispose]();
      console.log(JSON.stringify({ created }));`);
    expect(r.status).toBe(0);
    expect(r.out).toEqual({ created: false });
    expect(segmentExists(id)).toBe(true);
    // And one it did create is still its own to remove.
    const made = SharedSegment.create({ key: key ^ 1, size: 4096, exclusive: false });
    expect(made.created).toBe(true);
    made[Symbol.dispose]();
    expect(segmentExists(made.id)).toBe(false);
  } finally {
    shmctl(id, IPC_RMID);
  }
});

test("child output kept in the result is capped, and the result says how much was dropped", async () => {
  const r = await runTs(`process.stdout.write("x".repeat(3 * 1024 * 1024));`, {
    quiet: true,
    maxCapture: 1024 * 1024,
  } as never);
  expect(r.ok).toBe(true);
  expect(r.stdout.length).toBe(1024 * 1024);
  expect((r as unknown as { dropped: unknown }).dropped).toEqual({ stdout: 2 * 1024 * 1024, stderr: 0 });
});

(noCompilerReason() === null ? test : test.skip)(
  "compileC: a program name starting with '-' is a file name, never a compiler option",
  () => {
    const prog = compileC('#include <stdio.h>\nint main(void) { puts("dash"); return 0; }\n', "-xdash");
    expect(prog).not.toBeNull();
    expect(path.basename(prog!.path)).toBe("-xdash");
    expect(runProgram(prog!.path).stdout).toBe("dash\n");
  },
);

test("mapFile { create } never follows a symlink planted at the path", () => {
  const dir = tempDir("tslab-ipc-sec-map-");
  try {
    const target = path.join(dir, "target");
    const link = path.join(dir, "link");
    fs.symlinkSync(target, link);
    expect(() => mapFile(link, { create: 4096 })).toThrow(expect.objectContaining({ code: "ELOOP" }));
    expect(fs.existsSync(target)).toBe(false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("npm run notebook: Jupyter listens on 127.0.0.1 unless told otherwise, and runs as root only when told", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { jupyterArgs } = require("../../src/handouts/notebook-server") as {
    jupyterArgs: (root: string, args: string[], env?: NodeJS.ProcessEnv) => string[];
  };
  const env = { DISPLAY: ":0" };
  expect(jupyterArgs("/repo", [], env)).toEqual(["notebook", "--notebook-dir=/repo/notebooks", "--ip=127.0.0.1"]);
  expect(jupyterArgs("/repo", ["--ip=0.0.0.0"], env)).toEqual([
    "notebook",
    "--notebook-dir=/repo/notebooks",
    "--ip=0.0.0.0",
  ]);
  expect(jupyterArgs("/repo", ["--allow-root"], env)).toEqual([
    "notebook",
    "--notebook-dir=/repo/notebooks",
    "--ip=127.0.0.1",
    "--allow-root",
  ]);
});
