// Grading real submissions through the command line (tslab-ipc grade), one written for each
// case the grader must survive, two at a time. Also releasing a notebook: the student
// .ipynb, its HTML and a PDF whose code wraps and whose figure is an image.
import { spawn, spawnSync } from "child_process";
import fs from "fs";
import net from "net";
import os from "os";
import path from "path";
import { gradeSubmissions, SOLUTION_STUB, studentVersion } from "../../src/assign";
import { jupyterUnavailableReason, readNotebook, sourceOf, type Notebook } from "../../src/handouts";
import { commandOf, graderNamespacesUnavailable, processesIn, repoRoot, tempDir } from "../helpers";

const fixture = path.join(__dirname, "fixtures", "assignment.ipynb");
const cli = path.join(repoRoot, "dist", "assign", "cli.js");
const unavailable = jupyterUnavailableReason() ?? (fs.existsSync(cli) ? null : "dist/ is not built (npm run build)");
const maybe = unavailable ? test.skip : test;
if (unavailable) console.warn(`skipped: ${unavailable} (apt-get install jupyter-nbconvert python3-nbclient)`);

const SUM = "  return (n * (n + 1)) / 2;";
const ROUND_TRIP = [
  "  const id = shmget(IPC_PRIVATE, SIZE, IPC_CREAT | 0o600);",
  "  const view = shmat(id, null, 0);",
  "  try { view.writeString(text); return view.readString(); } finally { shmdt(view); shmctl(id, IPC_RMID); }",
].join("\n");

function released(): Notebook {
  return studentVersion(readNotebook(fixture));
}
function cellOf(nb: Notebook, id: string) {
  return nb.cells.find((c) => (c.metadata.nbgrader as { grade_id?: string } | undefined)?.grade_id === id)!;
}
function submission(sumBody: string, roundTripBody: string, edit: (nb: Notebook) => void = () => undefined): string {
  const nb = released();
  const stub = SOLUTION_STUB.map((l) => "  " + l).join("\n");
  cellOf(nb, "ex1-solution").source = sourceOf(cellOf(nb, "ex1-solution")).replace(stub, sumBody);
  cellOf(nb, "ex2-solution").source = sourceOf(cellOf(nb, "ex2-solution")).replace(stub, roundTripBody);
  edit(nb);
  return JSON.stringify(nb);
}

// student → [file content, expected points per grade_id]
const CASES: Record<string, [string, { "ex1-check": number; "ex2-check": number }]> = {
  correct: [submission(SUM, ROUND_TRIP), { "ex1-check": 2, "ex2-check": 1 }],
  wrong: [submission("  return n * n;", ROUND_TRIP), { "ex1-check": 0, "ex2-check": 1 }],
  segfault: [
    submission(
      SUM,
      "  const m = mmap(null, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);\n  m.buffer[0] = 1;   // a raw write to a PROT_READ page\n  return text;",
    ),
    { "ex1-check": 2, "ex2-check": 0 },
  ],
  endless: [submission("  while (true) {}", ROUND_TRIP), { "ex1-check": 0, "ex2-check": 1 }],
  tampered: [
    submission("  return 0;", ROUND_TRIP, (nb) => {
      const check = cellOf(nb, "ex1-check");
      check.source = '"exercise 1: correct"';
      (check.metadata.nbgrader as { points: number }).points = 100;
    }),
    { "ex1-check": 0, "ex2-check": 1 },
  ],
  leak: [
    submission(
      SUM,
      "  shmget(IPC_PRIVATE, SIZE, IPC_CREAT | 0o600, { persist: true });   // never removed\n  return text;",
    ),
    { "ex1-check": 2, "ex2-check": 1 },
  ],
  deleted: [
    submission(SUM, ROUND_TRIP, (nb) => {
      nb.cells = nb.cells.filter(
        (c) =>
          !["ex1-solution", "ex2-check"].includes(
            (c.metadata.nbgrader as { grade_id?: string } | undefined)?.grade_id ?? "",
          ),
      );
    }),
    { "ex1-check": 0, "ex2-check": 1 },
  ],
  invalid: ['{ "cells": [ {"cell_type": "code", ', { "ex1-check": 0, "ex2-check": 0 }],
  "visible-only": [submission("  return n === 3 ? 6 : 0;", ROUND_TRIP), { "ex1-check": 0, "ex2-check": 1 }],
  // 3 MiB of output at each call, in the check cells too: the grader keeps 1 MiB of a cell's.
  flood: [
    submission('  console.log("y".repeat(3 << 20));\n  return (n * (n + 1)) / 2;', ROUND_TRIP),
    { "ex1-check": 2, "ex2-check": 1 },
  ],
  // Written in beforeAll (snoop()): it needs the run's folders.
  snoop: ["", { "ex1-check": 2, "ex2-check": 1 }],
  // Links in the submissions folder to where the notebooks were collected (beforeAll): one to a
  // notebook, one to a file that is gone.
  linked: [submission(SUM, ROUND_TRIP), { "ex1-check": 2, "ex2-check": 1 }],
  gone: ["", { "ex1-check": 0, "ex2-check": 0 }],
};
const LINKED = ["linked", "gone"];
const COUNT = Object.keys(CASES).length;

/**
 * A submission that looks, at grading time, for what a student could copy or use: the
 * source (the solutions), the other submissions and their feedback, any file holding the hidden
 * tests (its own assembled notebook, another run's), the driver's descriptors (fd 3 takes the
 * result), a port listening outside its sandbox, and a file outside its run folder to write.
 * sumTo is right only when it found none of them; else it throws what it found.
 */
function snoop(at: {
  submissions: string;
  collected: string;
  private: string;
  out: string;
  tmp: string;
  port: number;
  scratch: string;
}): string {
  const body = `  const fs = require("fs"), path = require("path");
  const at = ${JSON.stringify({ ...at, source: fixture, port: at.port.toString(16).toUpperCase().padStart(4, "0") })};
  const marker = "sumTo(" + 10 * 10 + ")";   // the hidden test, not spelled out here
  const found: string[] = [];
  const attempt = (what: string, seen: () => boolean) => { try { if (seen()) found.push(what); } catch {} };
  attempt("the source notebook", () => fs.readFileSync(at.source, "utf8").includes("BEGIN SOLUTION"));
  attempt("the submissions", () => fs.readdirSync(at.submissions).length > 0);
  attempt("the submissions where links lead", () => fs.readdirSync(at.collected).length > 0);
  attempt("the grader's files", () => fs.readFileSync(path.join(at.private, "secret"), "utf8").length > 0);
  // A read-only mount does not keep anyone from connecting to a socket (D-Bus, ssh-agent, a kernel's).
  const connect = 'require("net").connect(process.argv[1]).on("connect", () => process.exit(0)).on("error", () => process.exit(1))';
  attempt("a Unix socket outside", () => require("child_process").spawnSync(process.execPath, ["-e", connect, path.join(at.private, "bus")]).status === 0);
  attempt("the feedback and grades", () => fs.readdirSync(at.out).length > 0);
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const f = path.join(dir, e.name);
      if (e.isDirectory() && e.name !== "node_modules") attempt("", () => (walk(f), false));
      else if (e.isFile()) attempt("the hidden tests in " + f, () => fs.statSync(f).size < 1e6 && fs.readFileSync(f, "utf8").includes(marker));
    }
  };
  attempt("", () => (walk(at.tmp), false));
  // The same by name where a folder is not listable: a run's notebook beside its home (the cwd).
  const notebooks = [path.resolve("..", "input.ipynb")];
  for (let k = 0; k < 12; k++) notebooks.push(path.resolve("..", "..", "run-" + k, "input.ipynb"));
  for (const f of notebooks) attempt("the hidden tests in " + f, () => fs.readFileSync(f, "utf8").includes(marker));
  attempt("the driver's descriptors", () => fs.readdirSync("/proc/1/fd").length > 0);
  attempt("a port listening outside", () => fs.readFileSync("/proc/net/tcp", "utf8").includes(":" + at.port + " 00000000:0000 0A"));
  attempt("a file written outside its run folder", () => (fs.writeFileSync(at.scratch, "x"), true));
  if (found.length > 0) throw new Error("the sandbox showed it " + found.join("; "));
  return (n * (n + 1)) / 2;`;
  return submission(body, ROUND_TRIP);
}

function ipcState(): string[] {
  const sysv = ["shm", "sem", "msg"].flatMap((k) =>
    fs.readFileSync(`/proc/sysvipc/${k}`, "utf8").trim().split("\n").slice(1),
  );
  return [...sysv, ...fs.readdirSync("/dev/shm")].sort();
}

/**
 * Where Linux allows it, the grader runs in an IPC namespace and a /dev/shm of its own, held
 * after it exits by the shell that lists what is left there: other test files create segments
 * in the run's namespace at the same time, and a comparison of that whole namespace before and
 * after would count theirs. Elsewhere it runs here, and the whole namespace is compared.
 */
const OWN_NAMESPACE = ["unshare", "--ipc", "--mount", "--propagation", "private"];
const ownNamespace = spawnSync(OWN_NAMESPACE[0], [...OWN_NAMESPACE.slice(1), "/bin/true"]).status === 0;
const LEFT_MARK = "--- left in the grader's IPC namespace ---";
const LIST_LEFT = `mount -t tmpfs tmpfs /dev/shm && "$@"; rc=$?; echo "${LEFT_MARK}"; for k in shm sem msg; do tail -n +2 /proc/sysvipc/$k; done; ls -A /dev/shm; exit $rc`;

describe("tslab-ipc grade", () => {
  let dir: string;
  let out: string;
  let result: { code: number | null; stdout: string; stderr: string };
  let before: string[];
  /** What the grader left in its own IPC namespace (ownNamespace). */
  let left: string[] = [];
  // The grader's TMPDIR: its work folder, kernelspec and per-submission folders go there.
  let tmp: string;
  // A port listening outside the sandboxes, and a file no submission may write (snoop()).
  let outside: net.Server | undefined;
  const scratch = path.join("/var/tmp", `tslab-ipc-snoop-${process.pid}`);
  let collected = "";
  // A folder of the grader's outside the checkout, with a file and a socket anyone may use.
  let privateDir = "";
  let bus: net.Server | undefined;
  /** The grader's sandbox hides its files and network from each submission (where namespaces are allowed). */
  const hides = () => graderNamespacesUnavailable() === null;

  beforeAll(async () => {
    if (unavailable) return;
    dir = tempDir("tslab-ipc-gradetest-");
    const subs = path.join(dir, "submissions");
    fs.mkdirSync(subs);
    // Where the linked notebooks were collected: outside /tmp (private in the sandbox) and
    // readable by others, as an instructor's course folder may be. The sandbox hides it anyway.
    collected = fs.mkdtempSync(path.join("/var/tmp", "tslab-ipc-collected-"));
    fs.chmodSync(collected, 0o755);
    out = path.join(dir, "graded");
    tmp = path.join(dir, "tmp");
    fs.mkdirSync(tmp);
    outside = net.createServer();
    await new Promise<void>((resolve) => outside!.listen(0, "127.0.0.1", resolve));
    const port = (outside.address() as net.AddressInfo).port;
    privateDir = fs.mkdtempSync(path.join("/var/tmp", "tslab-ipc-private-"));
    fs.chmodSync(privateDir, 0o755);
    fs.writeFileSync(path.join(privateDir, "secret"), "the grader's", { mode: 0o644 });
    bus = net.createServer((c) => c.end());
    await new Promise<void>((resolve) => bus!.listen(path.join(privateDir, "bus"), resolve));
    fs.chmodSync(path.join(privateDir, "bus"), 0o777);
    CASES.snoop[0] = snoop({ submissions: subs, collected, private: privateDir, out, tmp, port, scratch });
    for (const [student, [content]] of Object.entries(CASES)) {
      if (LINKED.includes(student)) {
        const target = path.join(collected, `${student}.ipynb`);
        if (content) fs.writeFileSync(target, content, { mode: 0o644 });
        fs.symlinkSync(target, path.join(subs, `${student}.ipynb`));
      }
      // One student hands in a folder, as nbgrader's submitted/<student>/ has it.
      else if (student === "correct") {
        fs.mkdirSync(path.join(subs, student));
        fs.writeFileSync(path.join(subs, student, "assignment.ipynb"), content);
      } else fs.writeFileSync(path.join(subs, `${student}.ipynb`), content);
    }
    before = ipcState();
    const grade = [process.execPath, cli, "grade", fixture, subs, "--out", out, "--timeout", "10", "--jobs", "2"];
    const command = ownNamespace ? [...OWN_NAMESPACE, "sh", "-c", LIST_LEFT, "sh", ...grade] : grade;
    result = await new Promise((resolve) => {
      const child = spawn(command[0], command.slice(1), {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, TMPDIR: tmp },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
    const mark = result.stdout.indexOf(LEFT_MARK);
    if (ownNamespace) {
      left =
        mark < 0
          ? ["(the listing is missing)"]
          : result.stdout
              .slice(mark + LEFT_MARK.length)
              .trim()
              .split("\n")
              .filter(Boolean);
      result.stdout = result.stdout.slice(0, Math.max(mark, 0));
    }
  }, 300000);

  afterAll(() => {
    outside?.close();
    fs.rmSync(scratch, { force: true });
    if (collected) fs.rmSync(collected, { recursive: true, force: true });
    bus?.close();
    if (privateDir) fs.rmSync(privateDir, { recursive: true, force: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  maybe("exits 0, prints a progress line per submission and a summary", () => {
    expect({ code: result.code, stderr: result.stderr.slice(-2000) }).toMatchObject({ code: 0 });
    for (const student of Object.keys(CASES))
      expect(result.stdout).toMatch(new RegExp(`^\\[\\d+/${COUNT}\\] ${student}: \\d/3`, "m"));
    expect(result.stdout).toMatch(/^student\s+points\s+seconds\s+remarks$/m);
    expect(result.stdout).toMatch(new RegExp(`${COUNT} submission\\(s\\), mean`));
  });

  maybe("grades.csv: the points of each case", () => {
    const lines = fs.readFileSync(path.join(out, "grades.csv"), "utf8").trim().split("\n");
    expect(lines[0]).toBe("student,ex1-check,ex2-check,total,max");
    const rows = Object.fromEntries(
      lines
        .slice(1)
        .map((l) => l.split(","))
        .map((f) => [f[0], f.slice(1).map(Number)]),
    );
    const expected = Object.fromEntries(
      Object.entries(CASES).map(([s, [, p]]) => [
        s,
        [p["ex1-check"], p["ex2-check"], p["ex1-check"] + p["ex2-check"], 3],
      ]),
    );
    // Without namespaces the grader hides nothing, and the snoop throws what it saw.
    if (!hides()) expected.snoop = [0, 1, 1, 3];
    expect(rows).toEqual(expected);
  });

  const feedback = (student: string) => fs.readFileSync(path.join(out, "feedback", `${student}.html`), "utf8");

  maybe("feedback names what happened", () => {
    expect(feedback("correct")).toMatch(/3 \/ 3 points/);
    expect(feedback("wrong")).toMatch(/sumTo\(3\) = 9, expected 6/);
    expect(feedback("segfault")).toMatch(/SIGSEGV/);
    expect(feedback("segfault")).toMatch(/the kernel died in this cell/);
    expect(feedback("endless")).toMatch(/ran longer than 10 s and was interrupted/);
    expect(feedback("tampered")).toMatch(/edited locked cell &quot;ex1-check&quot;/);
    expect(feedback("leak")).toMatch(/System V segment key 0x0+ id \d+/);
    expect(feedback("deleted")).toMatch(/deleted locked cell &quot;ex2-check&quot; was put back/);
    expect(feedback("deleted")).toMatch(/deleted solution cell &quot;ex1-solution&quot;/);
    expect(feedback("invalid")).toMatch(/Not a valid notebook.*not valid JSON/s);
    expect(feedback("linked")).toMatch(/3 \/ 3 points/);
    expect(feedback("gone")).toMatch(/gone\.ipynb is a link to .*gone\.ipynb, which does not exist/);
    expect(feedback("visible-only")).toMatch(/sumTo\(100\) = 0, expected 5050/);
    // A flood of output is cut at 1 MiB a cell (grade.py), and says so.
    expect(feedback("flood")).toMatch(/the grader kept the first 1024 KiB of this cell(&#39;|')s output/);
    // Hidden tests stay hidden in the feedback.
    expect(feedback("correct")).not.toMatch(/sumTo\(100\)/);
  });

  maybe(
    "a submission sees no solution, other submission, hidden test, grader's descriptor or outside port, and writes nothing outside its run",
    () => {
      if (!hides()) {
        console.warn("not checked: this machine allows no namespaces, and the grader's sandbox hides nothing");
        return;
      }
      const page = feedback("snoop");
      expect(/the sandbox showed it [^<]*/.exec(page)?.[0] ?? "nothing shown").toBe("nothing shown");
      expect(page).toMatch(/3 \/ 3 points/);
      expect(fs.existsSync(scratch)).toBe(false);
    },
  );

  maybe("leaves nothing behind: no IPC object, no work folder", () => {
    if (ownNamespace) expect(left).toEqual([]);
    else expect(ipcState()).toEqual(before);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});

describe("the grader's kernels and the start-up snapshot", () => {
  const snapshot = require(path.join(repoRoot, "kernel", "snapshot.js")) as {
    enabled(env: NodeJS.ProcessEnv): boolean;
  };
  const supported = snapshot.enabled({ ...process.env, TSLAB_IPC_SNAPSHOT: "1" });

  maybe(
    `a submission's kernel starts from the grader's snapshot and is graded the same (${supported ? "snapshot" : `Node ${process.version}: none`})`,
    async () => {
      const dir = tempDir("tslab-ipc-gradesnapshot-");
      try {
        const subs = path.join(dir, "submissions");
        fs.mkdirSync(subs);
        const probe = 'globalThis[Symbol.for("tslab-ipc.snapshot")] ?? "plain"';
        fs.writeFileSync(
          path.join(subs, "probe.ipynb"),
          submission(SUM, ROUND_TRIP, (nb) =>
            nb.cells.push({ cell_type: "code", source: probe, metadata: {}, outputs: [], execution_count: null }),
          ),
        );
        const lines: string[] = [];
        const report = await gradeSubmissions({
          source: fixture,
          submissions: subs,
          outDir: path.join(dir, "graded"),
          timeoutSeconds: 10,
          jobs: 1,
          snapshot: "always",
          log: (line) => lines.push(line),
        });
        const graded = report.submissions[0];
        expect({ total: graded.total, notes: graded.notes }).toEqual({ total: 3, notes: [] });
        const ran = graded.executed!.cells.find((c) => sourceOf(c) === probe)!;
        const said = ran.outputs!.map((o) =>
          [(o.data as Record<string, unknown> | undefined)?.["text/plain"]].flat().join(""),
        );
        expect(said).toEqual([supported ? "'snapshot'" : "'plain'"]);
        expect(lines.join("\n")).toMatch(
          supported ? /Kernel start-up snapshot: (the grader's own|built for this run)/ : /snapshot: none/,
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    240000,
  );
});

describe("a grader stopped while it grades", () => {
  // Ctrl-C, kill, or the instructor's terminal closing: before, the work folder stayed behind
  // (83 MB with two submissions running: their homes and the snapshot's copies).
  // Without namespaces (the "names" sandbox, where unshare is refused: here an unshare that
  // fails) the kernel is no PID namespace's and ends by watching its parent.
  const refusing = path.join(os.tmpdir(), `tslab-ipc-no-unshare-${process.pid}`);
  afterAll(() => fs.rmSync(refusing, { recursive: true, force: true }));
  /** A run's folders: submissions written from `notebooks` (student → content), and a TMPDIR. */
  const runFolders = (prefix: string, notebooks: Record<string, string>) => {
    const dir = tempDir(prefix);
    const subs = path.join(dir, "submissions");
    const tmp = path.join(dir, "tmp");
    fs.mkdirSync(subs);
    fs.mkdirSync(tmp);
    for (const [student, content] of Object.entries(notebooks))
      fs.writeFileSync(path.join(subs, `${student}.ipynb`), content);
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
    return { dir, subs, tmp, env };
  };
  const refuseUnshare = (env: NodeJS.ProcessEnv) => {
    fs.mkdirSync(refusing, { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(refusing, "unshare"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
    env.PATH = `${refusing}:${process.env.PATH}`;
  };
  for (const [signal, namespaces] of [
    ["SIGINT", true],
    ["SIGTERM", true],
    ["SIGTERM", false],
  ] as const) {
    maybe(
      `${signal}${namespaces ? "" : " without namespaces"}: the grader dies of it, its sandboxes with it, and its work folder goes`,
      async () => {
        const endless = CASES.endless[0];
        const { dir, subs, tmp, env } = runFolders("tslab-ipc-gradestop-", { a: endless, b: endless, c: endless });
        try {
          if (!namespaces) {
            refuseUnshare(env);
            // Without namespaces a submission runs in the work folder itself: nobody must get
            // there. And a TMPDIR anyone may write in, as /tmp is.
            fs.chmodSync(dir, 0o711);
            fs.chmodSync(tmp, 0o1777);
          }
          const grade = [cli, "grade", fixture, subs, "--out", path.join(dir, "out"), "--jobs", "2"];
          const child = spawn(process.execPath, grade, { stdio: "ignore", env });
          const exited = new Promise<NodeJS.Signals | null>((resolve) =>
            child.on("exit", (_code, sig) => resolve(sig)),
          );
          /** The command lines of the processes working in this run's folders. */
          const ours = () =>
            fs
              .readdirSync("/proc")
              .filter((p) => /^\d+$/.test(p))
              .map((p) => commandOf(Number(p)))
              .filter((cmdline) => cmdline.includes(tmp));
          // Until the sandboxes' kernels run (one at a time without namespaces).
          const deadline = Date.now() + 60_000;
          while (ours().filter((c) => c.includes(path.join("kernel", "main.js"))).length < (namespaces ? 2 : 1)) {
            if (Date.now() > deadline) throw new Error("the sandboxes did not start in 60 s");
            await new Promise((r) => setTimeout(r, 100));
          }
          // And a while, for the kernels to run cells: the first cells, then the endless one.
          await new Promise((r) => setTimeout(r, 3000));
          child.kill(signal);
          expect(await exited).toBe(signal);
          // Then whatever of the sandboxes is left ends (a kernel watching its parent: ~1 s).
          const gone = Date.now() + 15_000;
          while (ours().length > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 100));
          expect({ processes: ours().length, left: fs.readdirSync(tmp) }).toEqual({ processes: 0, left: [] });
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      },
      120_000,
    );
  }

  const asRoot = process.getuid?.() === 0;
  (asRoot ? maybe : test.skip)(
    `without namespaces, a work folder nobody can reach stops the grader before any grade, saying so${asRoot ? "" : " [skipped: as root only, where submissions run as nobody]"}`,
    () => {
      // Before, every submission scored 0 with "PermissionError: … run-0/work" in its feedback.
      const { dir, subs, tmp, env } = runFolders("tslab-ipc-gradeclosed-", { a: CASES.correct[0] });
      try {
        refuseUnshare(env);
        const r = spawnSync(process.execPath, [cli, "grade", fixture, subs, "--out", path.join(dir, "out")], {
          encoding: "utf8",
          env,
        });
        expect({ status: r.status, grades: fs.existsSync(path.join(dir, "out", "grades.csv")) }).toEqual({
          status: 1,
          grades: false,
        });
        expect(r.stderr).toMatch(/nobody cannot reach .*tslab-ipc-grade-.*Set TMPDIR/);
        expect(fs.readdirSync(tmp)).toEqual([]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});

/**
 * Grades the folder `subs` with the command line into `out` (it must exit 0): the rows of
 * grades.csv and a student's feedback page.
 */
function gradeWithCli(subs: string, out: string) {
  const r = spawnSync(process.execPath, [cli, "grade", fixture, subs, "--out", out], {
    encoding: "utf8",
    timeout: 100_000,
  });
  expect({ status: r.status, stderr: r.stderr.slice(-2000) }).toMatchObject({ status: 0 });
  return {
    rows: fs.readFileSync(path.join(out, "grades.csv"), "utf8").trim().split("\n").slice(1),
    feedback: (student: string) => fs.readFileSync(path.join(out, "feedback", `${student}.html`), "utf8"),
  };
}

/** Runs the command line with `args`: it must refuse them (exit 1), saying `message` on stderr. */
function expectRefused(args: string[], message: RegExp): void {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 100_000 });
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 1, stderr: expect.stringMatching(message) });
}

describe("a student with two submissions", () => {
  // alice.ipynb beside a folder alice/: two rows for alice in grades.csv, and the second
  // feedback page replaced the first, silently. Neither counts until the instructor keeps one.
  maybe(
    "both are invalid, say why, and the others are graded",
    () => {
      const dir = tempDir("tslab-ipc-gradetwice-");
      try {
        const subs = path.join(dir, "submissions");
        fs.mkdirSync(path.join(subs, "alice"), { recursive: true });
        fs.writeFileSync(path.join(subs, "alice.ipynb"), CASES.correct[0]);
        fs.writeFileSync(path.join(subs, "alice", "assignment.ipynb"), CASES.correct[0]);
        fs.writeFileSync(path.join(subs, "bob.ipynb"), CASES.correct[0]);
        const { rows, feedback } = gradeWithCli(subs, path.join(dir, "out"));
        expect(rows).toEqual(["alice,0,0,0,3", "alice,0,0,0,3", "bob,2,1,3,3"]);
        expect(feedback("alice")).toMatch(
          /2 submissions for alice \(alice\/assignment\.ipynb, alice\.ipynb\): keep one and grade again/,
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});

describe("grades written into the submissions folder", () => {
  // `--out SUBMISSIONS` put feedback/ beside the students, and the next run graded it as a
  // student called "feedback" (0 points, a row and a page of its own); `--out SUBMISSIONS/alice`
  // wrote the grades into alice's own folder.
  maybe(
    "are not graded as a student's, and never go into a student's folder",
    () => {
      const dir = tempDir("tslab-ipc-gradeinside-");
      try {
        const subs = path.join(dir, "submissions");
        fs.mkdirSync(path.join(subs, "alice"), { recursive: true });
        fs.writeFileSync(path.join(subs, "alice", "assignment.ipynb"), CASES.correct[0]);
        fs.writeFileSync(path.join(subs, "bob.ipynb"), CASES.wrong[0]);
        for (const out of [subs, subs, path.join(subs, "graded"), path.join(subs, "graded")])
          expect(gradeWithCli(subs, out).rows).toEqual(["alice,2,1,3,3", "bob,0,1,1,3"]);
        const before = fs.readdirSync(path.join(subs, "alice"));
        expectRefused(
          ["grade", fixture, subs, "--out", path.join(subs, "alice", "out")],
          /alice, which holds a student's notebook: choose a folder that is no submission/,
        );
        expect(fs.readdirSync(path.join(subs, "alice"))).toEqual(before);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    240_000,
  );
});

describe("a student version given as the source", () => {
  // `grade release/assignment.ipynb ...`: the stubs stood for the solutions and the hidden tests,
  // gone from the release, never ran: every submission was scored on the visible tests alone.
  maybe("is refused before any submission is graded, saying which notebook to use", () => {
    const dir = tempDir("tslab-ipc-gradereleased-");
    try {
      const subs = path.join(dir, "submissions");
      fs.mkdirSync(subs);
      fs.writeFileSync(path.join(subs, "bob.ipynb"), CASES.correct[0]);
      const released = path.join(dir, "assignment.ipynb");
      fs.writeFileSync(released, JSON.stringify(studentVersion(readNotebook(fixture))));
      expectRefused(
        ["grade", released, subs, "--out", path.join(dir, "out")],
        /is a student version .*: grade against the instructor's notebook it was released from/,
      );
      expect(fs.existsSync(path.join(dir, "out"))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a student's link to the source", () => {
  // The submissions folder links to each student's folder (alice is nobody here); alice's
  // notebook is a link of hers to the source notebook, which root's grader can read: it was
  // graded as her work, full marks, and the solutions shown in her feedback.
  const asRoot = process.getuid?.() === 0;
  (asRoot ? maybe : test.skip)(
    `is not graded, and says whose link leads to whose file${asRoot ? "" : " [skipped: as root only, where a student's files can be another user's]"}`,
    () => {
      const dir = tempDir("tslab-ipc-gradelink-");
      try {
        fs.chmodSync(dir, 0o755);
        const subs = path.join(dir, "submissions");
        const home = path.join(dir, "home-alice");
        fs.mkdirSync(subs);
        fs.mkdirSync(home);
        fs.chownSync(home, 65534, 65534);
        fs.symlinkSync(fixture, path.join(home, "assignment.ipynb"));
        fs.lchownSync(path.join(home, "assignment.ipynb"), 65534, 65534);
        fs.symlinkSync(home, path.join(subs, "alice"));
        fs.writeFileSync(path.join(subs, "bob.ipynb"), CASES.correct[0]);
        const { rows, feedback } = gradeWithCli(subs, path.join(dir, "out"));
        expect(rows).toEqual(["alice,0,0,0,3", "bob,2,1,3,3"]);
        expect(feedback("alice")).toMatch(
          /a link of nobody's, to .*assignment\.ipynb, a file of root's: a link a student made may lead only to their own files/,
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});

describe("a submission that is a FIFO or too large", () => {
  // A student's FIFO held the grader until someone wrote to it (forever), and a notebook of 300 MB
  // took the grader's heap to 6.6 GB and out of memory: no grade for anyone.
  maybe(
    "is invalid, says why, and the others are graded",
    () => {
      const dir = tempDir("tslab-ipc-gradebig-");
      try {
        const subs = path.join(dir, "submissions");
        fs.mkdirSync(path.join(subs, "alice"), { recursive: true });
        expect(spawnSync("mkfifo", [path.join(subs, "alice", "assignment.ipynb")]).status).toBe(0);
        expect(spawnSync("mkfifo", [path.join(subs, "dave.ipynb")]).status).toBe(0);
        const nb = JSON.parse(CASES.correct[0]);
        nb.metadata.junk = "x".repeat(40 * 2 ** 20);
        fs.writeFileSync(path.join(subs, "carol.ipynb"), JSON.stringify(nb));
        fs.writeFileSync(path.join(subs, "bob.ipynb"), CASES.correct[0]);
        const { rows, feedback } = gradeWithCli(subs, path.join(dir, "out"));
        expect(rows).toEqual(["alice,0,0,0,3", "bob,2,1,3,3", "carol,0,0,0,3", "dave,0,0,0,3"]);
        expect(feedback("alice")).toMatch(/is not a file but a FIFO, socket or device/);
        expect(feedback("dave")).toMatch(/is not a file but a FIFO, socket or device/);
        expect(feedback("carol")).toMatch(/is 41\.9 MB: larger than the 32 MiB a submission may be/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});

describe("tslab-ipc release", () => {
  // `release notebooks/02.ipynb --out notebooks` wrote the student version over its source: the
  // instructor's solutions and hidden tests were gone.
  maybe("into the source's own folder is refused, and the source is left as it was", () => {
    const dir = tempDir("tslab-ipc-releaseover-");
    try {
      const source = path.join(dir, "assignment.ipynb");
      fs.copyFileSync(fixture, source);
      expectRefused(
        ["release", source, "--out", dir, "--no-execute", "--no-pdf"],
        /would put the student version in place of its source .*assignment\.ipynb/,
      );
      expect(fs.readFileSync(source, "utf8")).toBe(fs.readFileSync(fixture, "utf8"));
      expect(fs.readdirSync(dir)).toEqual(["assignment.ipynb"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // (the figure's HTML carries plotly.js inline, so only cell sources are searched for solutions)
  maybe(
    "writes the student notebook, its HTML and a PDF with the figure as an image and wrapped code",
    () => {
      const dir = tempDir("tslab-ipc-releasetest-");
      try {
        const nb = readNotebook(fixture);
        const long = `const LONG = "${"word ".repeat(40)}END-OF-LONG-LINE";`;
        nb.cells.splice(2, 0, {
          cell_type: "code",
          source: `${long}\nplot.bar(["a", "b"], [2, 1], { title: "a figure" })`,
          metadata: {},
          outputs: [],
          execution_count: null,
        });
        const source = path.join(dir, "handout.ipynb");
        fs.writeFileSync(source, JSON.stringify(nb));
        const r = spawnSync(process.execPath, [cli, "release", source, "--out", path.join(dir, "out")], {
          encoding: "utf8",
          timeout: 240000,
        });
        expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 });
        // No warning: among others, none of "N block(s) wider than the page" (pdf.ts measures them).
        expect(r.stdout).not.toMatch(/warning/);
        const student = readNotebook(path.join(dir, "out", "handout.ipynb"));
        const sources = student.cells.map(sourceOf).join("\n");
        expect(sources).not.toMatch(/n \+ 1|sumTo\(100\)/);
        expect(sources).toContain('throw new Error("not implemented")');
        const figure = student.cells[2].outputs!.find((o) => o.data && "image/png" in o.data);
        expect(figure).toBeDefined();
        expect(fs.readFileSync(path.join(dir, "out", "handout.html"), "utf8")).toContain("not implemented");
        const pdf = fs.readFileSync(path.join(dir, "out", "handout.pdf"));
        expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
        // The PDF's text has the end of the long line (it wrapped) and an image.
        const text = spawnSync("pdftotext", [path.join(dir, "out", "handout.pdf"), "-"], { encoding: "utf8" });
        if (text.error) console.warn("pdftotext check skipped (apt-get install poppler-utils)");
        else expect(text.stdout).toContain("END-OF-LONG-LINE");
        expect(pdf.includes("/Subtype /Image") || pdf.includes("/Image")).toBe(true);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    240000,
  );

  // A try/finally runs no cleanup in a process that dies of a signal: release's folders (its work
  // folder, the kernelspec, the print folder, Chromium's profile and socket folder) were left in
  // the temp directory, and the notebook's kernel, its client killed while it started, ran on.
  describe.each([
    ["its kernel starts", (tmp: string) => processesIn(tmp).some((pid) => commandOf(pid).includes("kernel/main.js"))],
    ["its browser is open", (tmp: string) => fs.readdirSync(tmp).some((n) => n.startsWith("tslab-ipc-chromium-"))],
  ])("Ctrl-C while %s", (_, reached) => {
    maybe(
      "leaves no process and no folder",
      async () => {
        const dir = tempDir("tslab-ipc-releasetest-");
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-releasetmp-"));
        try {
          const child = spawn(process.execPath, [cli, "release", fixture, "--out", path.join(dir, "out")], {
            env: { ...process.env, TMPDIR: tmp },
            stdio: "ignore",
            detached: true, // a process group, as a terminal's job is: Ctrl-C reaches all of it
          });
          const closed = new Promise((resolve) => child.on("close", resolve));
          const deadline = Date.now() + 120_000;
          while (!reached(tmp) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          expect(reached(tmp)).toBe(true);
          process.kill(-child.pid!, "SIGINT");
          await closed;
          // The kernel sees its client gone within a second or two. A build of the kernel's
          // start-up snapshot (kernel/snapshot.js) may go on: it is the user's cache, started
          // detached on purpose for the next kernels, and ends by itself.
          const building = /kernel\/snapshot\.js|--build-snapshot/;
          const running = () => processesIn(tmp).filter((pid) => !building.test(commandOf(pid)));
          const until = Date.now() + 10_000;
          while (running().length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
          const left = running().map(commandOf);
          for (const pid of running()) process.kill(pid, "SIGKILL");
          // The user's private state folder (src/sys/state-dir.ts) is meant to stay.
          const files = fs.readdirSync(tmp).filter((n) => !/^tslab-ipc-\d+$/.test(n));
          expect({ left, files }).toEqual({ left: [], files: [] });
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
          fs.rmSync(tmp, { recursive: true, force: true });
        }
      },
      180_000,
    );
  });
});
