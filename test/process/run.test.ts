// runTs / spawnTs: TypeScript in a child process, output streamed live, exit codes and signals
// reported, timeouts enforced, children never outliving their parent.
import { spawn as spawnNode } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import {
  IPC_CREAT,
  IPC_PRIVATE,
  IPC_RMID,
  SharedWord,
  killChildren,
  runTs,
  runningChildren,
  shmat,
  shmctl,
  shmget,
  spawnTs,
} from "../../src";
import { useTypeScript } from "../../src/process/transpile";
import { segmentExists } from "../helpers";

const repoRoot = path.join(__dirname, "..", "..");
const startedAt = Date.now() - 1000;

/** Replaces process.stdout.write / process.stderr.write while `body` runs, as tslab does. */
async function capture<T>(
  body: (seen: { stdout: string; stderr: string }) => Promise<T>,
): Promise<{ result: T; stdout: string; stderr: string }> {
  const seen = { stdout: "", stderr: "" };
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    seen.stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    seen.stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    const result = await body(seen);
    return { result, ...seen };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

async function until(what: string, check: () => boolean, ms = 30000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Running (a zombie waiting for an adoptive parent to reap it counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/**
 * Files in the temp folder that a process of ours wrote since `since` (ms since the epoch): the
 * temp folder is shared with the test files other jest workers run at the same time, so the
 * folders countChildCalls keeps while its work runs (tslab-ipc-child-calls-*, from
 * test/notebooks/child-calls.test.ts) are not counted; they are not scripts of spawnTs.
 */
function newTempFiles(since: number): string[] {
  return fs.readdirSync(os.tmpdir()).filter((n) => {
    try {
      return (
        n.startsWith("tslab-ipc-child-") &&
        !n.startsWith("tslab-ipc-child-calls-") &&
        fs.statSync(path.join(os.tmpdir(), n)).mtimeMs >= since
      );
    } catch {
      return false;
    }
  });
}

afterAll(() => {
  killChildren("SIGKILL");
});

describe("output", () => {
  test("streams each line in order, live, with the label at the start of every line", async () => {
    const { result, stdout } = await capture(async (seen) => {
      const child = spawnTs(
        `for (let i = 1; i <= 3; i++) { console.log("line " + i); await new Promise((r) => setTimeout(r, 20)); }
         process.stdout.write("partial ");
         process.stdout.write("rest\\n");
         console.log("ready");
         // Cannot finish before the parent answers, so "ready" must have streamed while it ran.
         let got = "";
         for await (const chunk of process.stdin) { got += chunk; if (got.includes("\\n")) break; }
         console.log("got " + got.trim());`,
        { label: "kid" },
      );
      await until("the child says ready", () => seen.stdout.includes("[kid] ready\n"));
      expect(seen.stdout).not.toContain("got");
      // The handle has the same text so far, without labels.
      expect(child.stdout).toBe("line 1\nline 2\nline 3\npartial rest\nready\n");
      child.write("go\n");
      return child.done;
    });
    expect(result.code).toBe(0);
    expect(stdout).toBe("[kid] line 1\n[kid] line 2\n[kid] line 3\n[kid] partial rest\n[kid] ready\n[kid] got go\n");
    // The captured text has no labels.
    expect(result.stdout).toBe("line 1\nline 2\nline 3\npartial rest\nready\ngot go\n");
  });

  test("quiet: nothing streamed, everything captured", async () => {
    const { result, stdout, stderr } = await capture(() =>
      runTs(`console.log("out"); console.error("err");`, { quiet: true }),
    );
    expect(stdout).toBe("");
    expect(stderr).toBe("");
    expect(result.stdout).toBe("out\n");
    expect(result.stderr).toBe("err\n");
  });
});

describe("how a child ends", () => {
  test("exit code", async () => {
    const r = await runTs(`process.exitCode = 3;`, { quiet: true });
    expect(r.code).toBe(3);
    expect(r.signal).toBeNull();
    expect(r.ok).toBe(false);
    expect(r.summary).toBe(`child ${r.pid} exited with code 3`);
    expect(r.durationMs).toBeGreaterThan(0);
  });

  test("an uncaught error: code 1, the error on stderr at its TypeScript line", async () => {
    const r = await runTs(`const n: number = 2;\nthrow new Error("boom " + n);`, { quiet: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Error: boom 2");
    expect(r.stderr).toMatch(/child\.ts:2:7/);
  });

  test("an uncaught error's stack ends at the student's code, without the wrapper, Node's loader or the bootstrap", async () => {
    const r = await runTs(`function inner(n: number) {\n  throw new Error("deep " + n);\n}\ninner(1);`, {
      quiet: true,
    });
    expect(r.code).toBe(1);
    const frames = r.stderr
      .slice(r.stderr.indexOf("Error: deep 1"))
      .split("\n")
      .filter((line) => line.startsWith("    at "));
    expect(frames).toEqual([
      expect.stringMatching(/^ {4}at inner \(.*child\.ts:2:9\)$/),
      expect.stringMatching(/^ {4}at <anonymous> \(.*child\.ts:4:1\)$/),
    ]);
    expect(r.stderr).not.toMatch(/Module\._compile|process[/\\]child\.[jt]s|Object\.<anonymous>/);
  });

  test("an error on line 1 is at its own column, though the wrapper for top-level await shares that line", async () => {
    const r = await runTs("const n: number = nope(4096);", { quiet: true });
    expect(r.code).toBe(1);
    // "nope" is at column 19 of the source; the wrapper's 15 characters put it at 30.
    expect(r.stderr).toMatch(/child\.ts:1:19\)/);
    expect(r.stderr).toContain(`const n: number = nope(4096);\n${" ".repeat(18)}^\n`);
    expect(r.stderr).toContain("ReferenceError: nope is not defined\n    at "); // not a name of ours: no note
  });

  test("a name of this package used without its import: the error says what to import", async () => {
    const r = await runTs(
      `import { IPC_CREAT } from "tslab-ipc";\nconst m = mmap(null, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);`,
      {
        quiet: true,
      },
    );
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 1, signal: null });
    expect(r.stderr).toContain(
      'ReferenceError: mmap is not defined\n  note: mmap is tslab-ipc\'s. A child does not get the names a notebook preloads: start its source with import { mmap } from "tslab-ipc";\n    at ',
    );
    expect(r.stderr).toMatch(/child\.ts:2:11\)/);
  });

  test("a failed call of this package is traced from the call, at its TypeScript line, not from the package's helpers", async () => {
    const r = await runTs(`import { shmget } from "tslab-ipc";\nconst n = 1;\nshmget(0x7e57ab1c, 4096, 0);`, {
      quiet: true,
    });
    expect(r.code).toBe(1);
    // With source maps the package's frames are named by its src/ files: cut there as in dist/.
    expect(r.stderr).toMatch(
      /IpcError: ENOENT: no such file or directory, shmget key 0x7e57ab1c\n {4}at shmget \([^)]*sysv\.ts:\d+:\d+\)\n {4}at .*child\.ts:3:\d+\)/,
    );
    expect(r.stderr).not.toMatch(/throwErrno|ipcErrorFromErrno|errors\.ts/);
  });

  test("a script larger than a pipe's buffer (64 KiB) arrives whole", async () => {
    const source = `const xs: number[] = [${Array.from({ length: 40_000 }, (_, i) => i).join(",")}];
console.log(xs.length, xs[39_999]);`;
    expect(source.length).toBeGreaterThan(200_000);
    const r = await runTs(source, { quiet: true });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("40000 39999\n");
  });

  test("top-level await works", async () => {
    const r = await runTs(`const v = await Promise.resolve(41); console.log(v + 1);`, { quiet: true });
    expect(r.stdout).toBe("42\n");
  });

  test("a source that does not parse is a SyntaxError before anything is spawned", async () => {
    const before = runningChildren().length;
    await expect(runTs(`const x: number = ;`)).rejects.toThrow(SyntaxError);
    await expect(runTs(`const x: number = ;`)).rejects.toThrow(/child\.ts:1:19 - error TS1109: Expression expected/);
    expect(runningChildren().length).toBe(before);
  });

  test("useTypeScript: the TypeScript a host hands over transpiles the children; anything else is a TypeError and changes nothing", async () => {
    const own = require("typescript") as typeof import("typescript");
    let calls = 0;
    const counting = {
      ...own,
      transpileModule: (...args: Parameters<typeof own.transpileModule>) => {
        calls++;
        return own.transpileModule(...args);
      },
    };
    try {
      useTypeScript(counting);
      expect((await runTs("console.log(2 as number)", { quiet: true })).stdout).toBe("2\n");
      expect(calls).toBe(1);
      for (const bad of [
        null,
        42,
        "typescript",
        {},
        { ...own, transpileModule: undefined },
        { ...own, ScriptTarget: null },
      ])
        expect(() => useTypeScript(bad as never)).toThrow(TypeError);
      await expect(runTs("const x: number = ;")).rejects.toThrow(/error TS1109: Expression expected/);
      expect(calls).toBe(2); // still the one handed over
    } finally {
      useTypeScript(own);
    }
  });

  test("type errors are not checked (transpile only): the program runs", async () => {
    const r = await runTs(`const s: number = "text" as any as string as unknown as number; console.log(typeof s);`, {
      quiet: true,
    });
    expect(r.stdout).toBe("string\n");
  });

  test("a write to PROT_READ memory kills the child with SIGSEGV, the parent reports it", async () => {
    const { result, stderr } = await capture(() =>
      runTs(
        `import { mmap, PROT_READ, MAP_SHARED, MAP_ANONYMOUS } from "tslab-ipc";
         const m = mmap(null, 4096, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
         console.log("writing");
         m.buffer[0] = 1;
         console.log("not reached");`,
      ),
    );
    expect(result.signal).toBe("SIGSEGV");
    expect(result.code).toBeNull();
    expect(result.stdout).toBe("writing\n");
    expect(result.summary).toBe(`child ${result.pid} was killed by SIGSEGV (segmentation fault)`);
    // Said on stderr, as a shell would.
    expect(stderr).toContain(result.summary);
  });

  test("touching a mapping past the end of a truncated file kills the child with SIGBUS", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-bus-"));
    try {
      const r = await runTs(
        `import fs from "fs";
         import { mmap, PROT_READ, PROT_WRITE, MAP_SHARED } from "tslab-ipc";
         const fd = fs.openSync(process.argv[2], "w+");
         fs.ftruncateSync(fd, 8192);
         const m = mmap(null, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
         const b = m.buffer;
         fs.ftruncateSync(fd, 0);
         b[5000] = 1;
         console.log("not reached");`,
        { args: [path.join(dir, "file")], quiet: true },
      );
      expect(r.signal).toBe("SIGBUS");
      expect(r.summary).toBe(`child ${r.pid} was killed by SIGBUS (bus error)`);
      expect(r.stdout).toBe("");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("what a child killed by a signal made", () => {
  // Each child makes a segment (no persist: its exit would remove it) and a POSIX object, then dies
  // without running its exit hooks.
  const child = (death: string) => `
    import { SharedSegment, PosixShm, uniqueName } from "tslab-ipc";
    const seg = SharedSegment.create({ size: 4096 });
    const obj = PosixShm.create("/" + uniqueName("child"), 4096);
    console.log(JSON.stringify({ id: seg.id, name: obj.name }));
    ${death}`;

  test.each([
    ["SIGKILL", 'process.kill(process.pid, "SIGKILL");'],
    [
      "SIGSEGV",
      'import { mapAnonymous, mprotect, PROT_READ } from "tslab-ipc";\n const m = mapAnonymous(4096); mprotect(m, 4096, PROT_READ); m.buffer[0] = 1;',
    ],
  ])("%s: removed when the child ends, and said so", async (signal, death) => {
    const { result, stderr } = await capture(() => runTs(child(death)));
    expect(result.signal).toBe(signal);
    const made = JSON.parse(result.stdout.trim().split("\n")[0]);
    expect({ segment: segmentExists(made.id), posix: fs.existsSync(path.join("/dev/shm", made.name)) }).toEqual({
      segment: false,
      posix: false,
    });
    expect(stderr).toMatch(/tslab-ipc: removed [2-9]\d* object\(s\) left by processes that died\n/);
  });

  test("a child that exits keeps its own promise: nothing to remove, nothing said", async () => {
    const { result, stderr } = await capture(() => runTs(child("")));
    expect(result.code).toBe(0);
    expect(stderr).toBe("");
  });
});

describe("options", () => {
  test("args, env, cwd, and tslab-ipc resolving from a folder outside the package", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-cwd-"));
    try {
      fs.writeFileSync(path.join(dir, "helper.js"), "module.exports = 'local helper';");
      const r = await runTs(
        `import { sysconf, _SC_PAGESIZE } from "tslab-ipc";
         import koffi from "koffi";
         const helper = require("./helper");
         console.log(JSON.stringify({ args: process.argv.slice(2), env: process.env.TSLAB_TEST_VAR, cwd: process.cwd(),
           page: sysconf(_SC_PAGESIZE), koffi: typeof koffi.load, helper }));`,
        { args: ["a b", "--flag", ""], env: { TSLAB_TEST_VAR: "from parent" }, cwd: dir, quiet: true },
      );
      expect(r.stderr).toBe("");
      expect(JSON.parse(r.stdout)).toEqual({
        args: ["a b", "--flag", ""],
        env: "from parent",
        cwd: fs.realpathSync(dir),
        page: 4096,
        koffi: "function",
        helper: "local helper",
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("input is the child's stdin", async () => {
    const r = await runTs(`let s = ""; for await (const c of process.stdin) s += c; console.log(s.toUpperCase());`, {
      input: "hello\nworld",
      quiet: true,
    });
    expect(r.stdout).toBe("HELLO\nWORLD\n");
  });

  test("stdin is closed when there is no input, so a reader does not hang", async () => {
    const r = await runTs(`let s = ""; for await (const c of process.stdin) s += c; console.log("eof", s.length);`, {
      quiet: true,
      timeoutMs: 20000,
    });
    expect(r.timedOut).toBe(false);
    expect(r.stdout).toBe("eof 0\n");
  });

  test("timeout: SIGTERM, and the result says it timed out", async () => {
    // On a busy machine the timeout may fire before the child has even started: no output asserted.
    const { result, stderr } = await capture(() => runTs(`setInterval(() => {}, 1000);`, { timeoutMs: 300 }));
    expect(result.timedOut).toBe(true);
    expect(result.signal).toBe("SIGTERM");
    expect(result.summary).toMatch(
      new RegExp(`^child ${result.pid} timed out after \\d+ ms and was killed by SIGTERM \\(terminated\\)$`),
    );
    expect(stderr).toContain(result.summary);
  });

  test("timeout: a child that ignores SIGTERM gets SIGKILL after the grace period", async () => {
    // The premise: the child installed its handler before the timeout. On a very busy machine
    // it may not even have started in 3 s; then try once more with more time.
    let r = await runTs(
      `process.on("SIGTERM", () => console.log("ignoring SIGTERM")); console.log("up"); setInterval(() => {}, 1000);`,
      {
        timeoutMs: 3000,
        killGraceMs: 200,
        quiet: true,
      },
    );
    if (!r.stdout.startsWith("up")) {
      r = await runTs(
        `process.on("SIGTERM", () => console.log("ignoring SIGTERM")); console.log("up"); setInterval(() => {}, 1000);`,
        {
          timeoutMs: 20000,
          killGraceMs: 200,
          quiet: true,
        },
      );
    }
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe("SIGKILL");
    expect(r.stdout).toBe("up\nignoring SIGTERM\n");
  });

  test("kill() from the handle", async () => {
    const child = spawnTs(`console.log("up"); setInterval(() => {}, 1000);`, { quiet: true });
    expect(runningChildren()).toContain(child.pid);
    await until("the child is up", () => alive(child.pid));
    await new Promise((r) => setTimeout(r, 200));
    expect(child.kill("SIGUSR2")).toBe(true);
    const r = await child.done;
    expect(r.signal).toBe("SIGUSR2");
    expect(child.kill()).toBe(false);
    expect(runningChildren()).not.toContain(child.pid);
  });

  test("bad arguments are TypeError/RangeError before spawning", () => {
    const before = runningChildren().length;
    expect(() => spawnTs(42 as unknown as string)).toThrow(TypeError);
    expect(() => spawnTs("", { args: "x" as unknown as string[] })).toThrow(TypeError);
    expect(() => spawnTs("", { args: [1 as unknown as string] })).toThrow(TypeError);
    expect(() => spawnTs("", { timeoutMs: -1 })).toThrow(RangeError);
    expect(() => spawnTs("", { timeoutMs: 1.5 })).toThrow(RangeError);
    expect(() => spawnTs("", { cwd: "/no/such/dir" })).toThrow(RangeError);
    expect(() => spawnTs("", { label: 3 as unknown as string })).toThrow(TypeError);
    expect(() => spawnTs("", null as unknown as object)).toThrow(TypeError);
    expect(runningChildren().length).toBe(before);
  });
});

describe("two children at once", () => {
  test("a writer and a reader communicate through a segment the parent created", async () => {
    const id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600);
    const seg = shmat(id, null, 0);
    try {
      new SharedWord(seg, 0).store(0);
      const reader = spawnTs(
        `import { shmat, SharedWord } from "tslab-ipc";
         const seg = shmat(Number(process.argv[2]), null, 0);
         const ready = new SharedWord(seg, 0);
         console.log("waiting");
         while (ready.load() === 0) await ready.waitAsync(0, { timeoutMs: 10000 });
         console.log("read: " + seg.readString(64));`,
        { args: [String(id)], label: "reader", quiet: true },
      );
      const writer = spawnTs(
        `import { shmat, SharedWord } from "tslab-ipc";
         const seg = shmat(Number(process.argv[2]), null, 0);
         seg.writeString("hello from " + process.pid, 64);
         const ready = new SharedWord(seg, 0);
         ready.store(1);
         ready.notify();
         console.log("written");`,
        { args: [String(id)], label: "writer", quiet: true },
      );
      const [r, w] = await Promise.all([reader.done, writer.done]);
      expect(w.code).toBe(0);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`waiting\nread: hello from ${w.pid}\n`);
    } finally {
      seg.detach();
      shmctl(id, IPC_RMID);
    }
  });
});

describe("children never outlive their parent", () => {
  const parentProgram = (howToDie: string, delayMs: number) => `
    const { spawnTs } = require(${JSON.stringify(path.join(repoRoot, "dist", "index.js"))});
    const child = spawnTs("console.log('child up'); setInterval(() => {}, 1000);", { quiet: true });
    child.done.then(() => {});
    setTimeout(() => { console.log(child.pid); ${howToDie} }, ${delayMs});
    setInterval(() => {}, 1000);`;

  /** The parent prints its child's pid `delayMs` after spawnTs, then ends `howToDie` (or is killed). */
  async function orphanCheck(
    howToDie: string,
    parentEnds: "exit" | "kill",
    delayMs = 400,
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<void> {
    const parent = spawnNode(process.execPath, ["-e", parentProgram(howToDie, delayMs)], {
      stdio: ["ignore", "pipe", "inherit"],
      env,
    });
    const exited = new Promise((r) => parent.once("exit", r)); // before it can happen
    let out = "";
    parent.stdout!.on("data", (d) => (out += d));
    await until("the parent prints its child's pid", () => /\d+\n/.test(out));
    const childPid = Number(out.trim());
    expect(childPid).toBeGreaterThan(0);
    if (parentEnds === "kill") parent.kill("SIGKILL");
    await exited;
    await until(`child ${childPid} is gone`, () => !alive(childPid), 5000);
  }

  test("the parent exits normally (its 'exit' hook and PR_SET_PDEATHSIG): the child is gone", async () => {
    await orphanCheck("process.exit(0);", "exit");
  });

  test("the parent is SIGKILLed (no 'exit' hook runs; PR_SET_PDEATHSIG): the child is gone", async () => {
    await orphanCheck("", "kill");
  });

  test("the parent is SIGKILLed before its child has started: nothing of the script is left on disk", async () => {
    // Killed at once after spawnTs: the child has not read its script yet (a Node start takes
    // tens of ms), which is when a script kept in a temp file was left behind. The parent gets a
    // temp folder of its own, so that anything it leaves there, under any name, is seen, and
    // nothing another test file writes at the same time is.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-test-orphan-"));
    try {
      await orphanCheck(`process.kill(process.pid, "SIGKILL");`, "exit", 0, { ...process.env, TMPDIR: tmp });
      expect(fs.readdirSync(tmp)).toEqual([]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

test("nothing is left: no running children, no script files", async () => {
  await until("all children are reaped", () => runningChildren().length === 0);
  expect(newTempFiles(startedAt)).toEqual([]);
});
