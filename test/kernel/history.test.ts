// The kernel's input history, in process, on both stores: SQLite (node:sqlite, Node 22.13+ and
// 24+) and JSONL (Node 20). Sessions across kernels, IPython's search, privacy, corruption, bounds.
import fs from "fs";
import os from "os";
import path from "path";
import { spawnSync } from "child_process";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { History, openUserHistory } = require("../../kernel/history");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { loadSqlite } = require("../../kernel/history-store");

const sqlite = loadSqlite();
const STORES = [
  { ext: "jsonl", skip: null },
  {
    ext: "sqlite",
    skip: sqlite
      ? null
      : `node:sqlite is not in Node ${process.versions.node} (it is in 22.13+ and 24+: npm run test:node -- 24 test/kernel/history.test.ts)`,
  },
];

/** A test or describe that is skipped, saying why, when `why` is not null. */
const unless = (why: string | null) => ({
  test: (name: string, fn: jest.ProvidesCallback) =>
    (why ? test.skip : test)(why ? `${name} [skipped: ${why}]` : name, fn),
  describe: (name: string, fn: jest.EmptyFunction) =>
    (why ? describe.skip : describe)(why ? `${name} [skipped: ${why}]` : name, fn),
});

let dir = "";
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-history-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

for (const { ext, skip } of STORES) {
  const { describe: d } = unless(skip);
  const file = (name = "history") => path.join(dir, "h", `${name}.${ext}`);
  const open = (f: string, limits = {}) => {
    const h = new History(f, limits);
    opened.push(h);
    return h;
  };
  const opened: Array<{ close(): void }> = [];
  afterEach(() => {
    for (const h of opened.splice(0)) h.close();
  });

  d(`the input history in a ${ext} file`, () => {
    test("a kernel reads its history when first used, not when it opens it: a kernel that ran a cell meanwhile has the session before it", () => {
      const f = file();
      // Two kernels start together; the second runs a cell before the first has read the store.
      const first = open(f);
      const second = open(f);
      second.add(1, "1 + 1", "2");
      expect(second.session).toBe(1);
      expect(first.session).toBe(2);
      expect(first.query({ hist_access_type: "tail", n: 1 })).toEqual([[1, 1, "1 + 1"]]);
    });

    test("a new session numbers itself after the sessions in the file, and sees them", () => {
      const f = file();
      const first = open(f);
      expect(first.session).toBe(1);
      first.add(1, "6 * 7", "42");
      first.add(2, "const a = 1;", null);
      const second = open(f);
      expect(second.session).toBe(2);
      expect(second.query({ hist_access_type: "tail", n: 10, output: true })).toEqual([
        [1, 1, ["6 * 7", "42"]],
        [1, 2, ["const a = 1;", null]],
      ]);
      expect(second.query({ hist_access_type: "range", session: -1, start: 2, stop: 3 })).toEqual([
        [1, 2, "const a = 1;"],
      ]);
      expect((fs.statSync(f).mode & 0o777).toString(8)).toBe("600");
      expect((fs.statSync(path.dirname(f)).mode & 0o777).toString(8)).toBe("700");
      // Whatever else the store keeps beside the file (SQLite's log) is as private as the file.
      for (const side of fs.readdirSync(path.dirname(f)))
        expect((fs.statSync(path.join(path.dirname(f), side)).mode & 0o077).toString(8)).toBe("0");
    });

    test("two kernels appending at once both keep every cell", () => {
      const f = file();
      const a = open(f);
      const b = open(f);
      for (let i = 1; i <= 20; i++) {
        a.add(i, `a${i}`, null);
        b.add(i, `b${i}`, null);
      }
      const all = open(f)
        .query({ hist_access_type: "tail" })
        .map((e: unknown[]) => e[2]);
      expect(all.filter((x: string) => x.startsWith("a"))).toHaveLength(20);
      expect(all.filter((x: string) => x.startsWith("b"))).toHaveLength(20);
    });

    test("search takes IPython's glob, unique keeps the newest of each input, n the last ones", () => {
      const h = open(file());
      for (const [i, code] of ["6 * 7", "1 + 1", "6 * 7", "6 * 8"].entries()) h.add(i + 1, code, null);
      expect(h.query({ hist_access_type: "search", pattern: "6 ?*" }).map((e: unknown[]) => e[2])).toEqual([
        "6 * 7",
        "6 * 7",
        "6 * 8",
      ]);
      expect(
        h.query({ hist_access_type: "search", pattern: "6 ?*", unique: true }).map((e: unknown[]) => e[1]),
      ).toEqual([3, 4]);
      expect(h.query({ hist_access_type: "search", pattern: "*", n: 2 }).map((e: unknown[]) => e[1])).toEqual([3, 4]);
    });

    test("a history path that is a folder is ignored, and a symbolic link is never followed", () => {
      const asDir = file("is-a-dir");
      fs.mkdirSync(asDir, { recursive: true });
      const h = open(asDir);
      expect(h.session).toBe(1);
      expect(() => h.add(1, "x", null)).not.toThrow();
      const target = path.join(dir, "elsewhere");
      fs.writeFileSync(target, "");
      const link = file("link");
      fs.symlinkSync(target, link);
      open(link).add(1, "not through the link", null);
      expect(fs.readFileSync(target, "utf8")).toBe("");
    });

    test("is read when asked: another kernel's cells are in the next reply, and a store that takes no cell still answers with this session's", () => {
      const f = file();
      const a = open(f);
      const b = open(f);
      a.add(1, "from a", null);
      expect(b.query({ hist_access_type: "tail", n: 5 })).toEqual([[1, 1, "from a"]]);
      b.add(1, "from b", null);
      a.add(2, "a again", null);
      expect(b.query({ hist_access_type: "tail", n: 5 }).map((e: unknown[]) => e[2])).toEqual([
        "from a",
        "from b",
        "a again",
      ]);
      // A folder where the file should be: nothing is stored, the session's cells are still there.
      const asDir = file("is-a-dir");
      fs.mkdirSync(asDir, { recursive: true });
      const c = open(asDir);
      c.add(1, "kept in memory", "1");
      expect(c.query({ hist_access_type: "range", session: 0, output: true })).toEqual([
        [1, 1, ["kept in memory", "1"]],
      ]);
    });

    test("holds none of its history in memory: a kernel that read a 4 MB history keeps under 1 MB of it", () => {
      const f = file();
      const h = open(f, { maxBytes: 8 * 1024 * 1024 });
      const cell = "const seg = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600); // " + "x".repeat(300);
      for (let i = 1; i <= 10_000; i++) h.add(i, `${i}: ${cell}`, String(i));
      h.close();
      expect(fs.statSync(f).size).toBeGreaterThan(3.5e6);
      // In a fresh Node with gc(): the live heap before and after a kernel's first use of the
      // history (its session) and a tail request, with the History still referenced.
      const script = `
        const { History } = require(${JSON.stringify(path.join(__dirname, "..", "..", "kernel", "history"))});
        const used = () => { gc(); gc(); return process.memoryUsage().heapUsed; };
        const h = new History(${JSON.stringify(f)});
        const before = used();
        const session = h.session;
        const tail = h.query({ hist_access_type: "tail", n: 3 }).length;
        const after = used();
        console.log(JSON.stringify({ session, tail, grew: after - before, keep: typeof h }));
        h.close();`;
      const r = spawnSync(process.execPath, ["--expose-gc", "-e", script], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      const out = JSON.parse(r.stdout);
      expect(out).toMatchObject({ session: 2, tail: 3 });
      expect(out.grew).toBeLessThan(1024 * 1024);
    });

    test("is bounded: past maxBytes the store keeps the newest half of the entries", () => {
      const f = file();
      const h = open(f, { maxBytes: 20_000, keepEntries: 100 });
      for (let i = 1; i <= 1000; i++) h.add(i, `cell number ${i} ${"x".repeat(100)}`, null);
      h.close();
      // SQLite's file holds pages, not just the text: a few pages of slack on top of the bound.
      expect(fs.statSync(f).size).toBeLessThanOrEqual(ext === "sqlite" ? 20_000 + 8 * 4096 : 20_000);
      const tail = open(f, { maxBytes: 20_000, keepEntries: 100 }).query({ hist_access_type: "tail" });
      expect(tail.length).toBeLessThanOrEqual(100);
      expect(tail.length).toBeGreaterThan(10);
      expect(tail[tail.length - 1][1]).toBe(1000);
    });
  });
}

unless(STORES[0].skip).test("a corrupt JSONL file (torn lines, binary, foreign objects) never stops a session", () => {
  const f = path.join(dir, "history.jsonl");
  fs.writeFileSync(
    f,
    [
      '{"s":3,"n":1,"i":"kept","o":null}',
      '{"s":3,"n":2,"i":"torn',
      "\u0000\u0001\u00ff garbage",
      '{"s":"x","n":1,"i":5}',
      "[1,2,3]",
      "null",
    ].join("\n"),
  );
  const h = new History(f);
  expect(h.session).toBe(4);
  expect(h.query({ hist_access_type: "tail", n: 10 })).toEqual([[3, 1, "kept"]]);
  h.add(1, "next", null);
  expect(new History(f).query({ hist_access_type: "tail", n: 1 })).toEqual([[4, 1, "next"]]);
});

unless(STORES[0].skip).test(
  "a JSONL line longer than a read, and characters split between reads, come back whole",
  () => {
    const f = path.join(dir, "history.jsonl");
    const h = new History(f);
    // Reads are 64 KiB: a 100,000-character cell of 3-byte characters spans several, and the
    // smaller cells around it put their boundaries inside characters and inside lines.
    const cells = ["π".repeat(10), "€".repeat(30_000), "x".repeat(65_000) + "é", "日本".repeat(21_000), "end"];
    for (const [i, c] of cells.entries()) h.add(i + 1, c, null);
    expect(new History(f).query({ hist_access_type: "tail" }).map((e: unknown[]) => e[2])).toEqual(
      cells.map((c) => c.slice(0, 64 * 1024)),
    );
  },
);

unless(STORES[0].skip).test("a JSONL history of large cells stays within its bytes when it is halved", () => {
  const f = path.join(dir, "history.jsonl");
  const h = new History(f, { maxBytes: 100_000, keepEntries: 100 });
  for (let i = 1; i <= 60; i++) h.add(i, `${i} ${"y".repeat(10_000)}`, null);
  expect(fs.statSync(f).size).toBeLessThanOrEqual(100_000);
  const tail = new History(f, { maxBytes: 100_000, keepEntries: 100 }).query({ hist_access_type: "tail" });
  expect(tail[tail.length - 1][1]).toBe(60);
  expect(tail.length).toBeGreaterThan(2);
});

const withSqlite = unless(STORES[1].skip);

withSqlite.test("a file that is not a database is set aside, as IPython does, and a new history starts", () => {
  const f = path.join(dir, "history.sqlite");
  const garbage = Buffer.from("\u0000\u0001 not a database ".repeat(300));
  fs.writeFileSync(f, garbage);
  const h = new History(f);
  expect(h.session).toBe(1);
  h.add(1, "after the damage", null);
  h.close();
  expect(new History(f).query({ hist_access_type: "tail" })).toEqual([[1, 1, "after the damage"]]);
  const aside = fs.readdirSync(dir).filter((n) => n.startsWith("history.sqlite.corrupt-"));
  expect(aside).toHaveLength(1);
  expect(fs.readFileSync(path.join(dir, aside[0]))).toEqual(garbage);
});

withSqlite.test("the user's history moves from history.jsonl (Node 20) into history.sqlite once", () => {
  const data = path.join(dir, "data");
  const env = { JUPYTER_DATA_DIR: data };
  fs.mkdirSync(path.join(data, "tslab-ipc"), { recursive: true });
  fs.writeFileSync(path.join(data, "tslab-ipc", "history.jsonl"), '{"s":1,"n":1,"i":"from node 20","o":null}\n');
  const h = openUserHistory(env);
  expect(h.file).toBe(path.join(data, "tslab-ipc", "history.sqlite"));
  expect(h.session).toBe(2);
  h.add(1, "on node 24", null);
  h.close();
  const again = openUserHistory(env);
  expect(again.query({ hist_access_type: "tail" }).map((e: unknown[]) => e[2])).toEqual(["from node 20", "on node 24"]);
  again.close();
});

test("node:sqlite loads on Node 22.13+ and 24+, and a fresh kernel process prints no warning for it", () => {
  const [major, minor] = process.versions.node.split(".").map(Number);
  expect(Boolean(sqlite)).toBe(major >= 23 || (major === 22 && minor >= 13));
  // Node 22 warns when node:sqlite first loads; the kernel's stderr is Jupyter's log.
  const store = path.join(__dirname, "..", "..", "kernel", "history-store.js");
  const r = spawnSync(
    process.execPath,
    ["-e", `console.log(Boolean(require(${JSON.stringify(store)}).loadSqlite()))`],
    {
      encoding: "utf8",
    },
  );
  expect(r.stdout.trim()).toBe(String(Boolean(sqlite)));
  expect(r.stderr).toBe("");
});
