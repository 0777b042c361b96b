// Jupyter's own conformance suite (jupyter_kernel_test, Debian python3-jupyter-kernel-test) run
// against the kernel, then what the suite cannot express, asked through jupyter_client by
// fixtures/probe_protocol.py in a second kernel session (so history crosses a restart).
// The kernelspec and the history file live in a private Jupyter data folder.
import { spawnSync, type SpawnSyncReturns } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { bareTempBase, privateJupyterEnv } from "../helpers";

const repo = path.resolve(__dirname, "..", "..");
const PY = "/usr/bin/python3";
const fixtures = path.join(__dirname, "fixtures");
const hasSuite = spawnSync(PY, ["-c", "import jupyter_kernel_test, jupyter_client"]).status === 0;
if (!hasSuite) console.warn("skipped: jupyter_kernel_test is missing (Debian package python3-jupyter-kernel-test)");
const describeWithSuite = hasSuite ? describe : describe.skip;

jest.setTimeout(240_000);

type Reply = { msg_type: string; content: Record<string, any> };
type Run = {
  reply: Record<string, any>;
  outputs: Array<Record<string, any>>;
  seconds: number;
  dates: { input: number; reply: number; idle: number };
  /** The count the execute_input showed (null: none was sent). */
  shown: number | null;
  msg_id: string;
};

let tmp = "";
let env: NodeJS.ProcessEnv = {};
let notebookDir = "";
let historyFile = "";
let suite: SpawnSyncReturns<string>;
let probe: SpawnSyncReturns<string>;
let report: Record<string, any> = {};

beforeAll(() => {
  if (!hasSuite) return;
  tmp = fs.mkdtempSync(path.join(bareTempBase() ?? os.tmpdir(), "tslab-ipc-conformance-"));
  env = privateJupyterEnv(tmp);
  notebookDir = path.join(tmp, "notebooks");
  fs.mkdirSync(notebookDir);
  historyFile = path.join(env.JUPYTER_DATA_DIR!, "tslab-ipc", "history.jsonl");
  const install = spawnSync(process.execPath, [path.join(repo, "kernel", "install.js"), "install", "--user"], {
    env,
    encoding: "utf8",
  });
  if (install.status !== 0) throw new Error(`kernel install failed: ${install.stdout}${install.stderr}`);
  suite = spawnSync(PY, ["-m", "unittest", "-v", "conformance"], {
    cwd: notebookDir,
    env: { ...env, PYTHONPATH: fixtures },
    encoding: "utf8",
  });
  // The next session starts on a history file with a torn line and garbage appended.
  fs.appendFileSync(historyFile, '{"s":1,"n":99,"i":"torn\n\u0000\u0001 not json\n');
  probe = spawnSync(PY, [path.join(fixtures, "probe_protocol.py"), notebookDir], {
    cwd: notebookDir,
    env,
    encoding: "utf8",
  });
  if (probe.status !== 0) throw new Error(`probe_protocol.py failed: ${probe.stderr}`);
  report = JSON.parse(probe.stdout.trim().split("\n").pop()!);
});

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describeWithSuite("jupyter_kernel_test", () => {
  test("every check of the suite passes (the pager is IPython's ?, which TypeScript has no syntax for)", () => {
    const summary = suite.stderr;
    expect(summary).toMatch(/^OK \(skipped=1\)$/m);
    expect(summary).toMatch(/test_pager .* skipped/);
    expect(summary).toMatch(/^Ran 12 tests in/m);
    // Each check ran (the kernel's own log shares this stream, so "ok" may not follow on the line).
    for (const name of [
      "kernel_info",
      "execute_stdout",
      "execute_stderr",
      "completion",
      "is_complete",
      "error",
      "execute_result",
      "display_data",
      "history",
      "inspect",
      "clear_output",
    ]) {
      expect(summary).toContain(`test_${name} (conformance.`);
    }
    expect(summary).not.toMatch(/\.\.\. (FAIL|ERROR)|^(FAIL|ERROR):/m);
    expect(suite.status).toBe(0);
  });
});

describeWithSuite("what the suite cannot express", () => {
  const shell = (name: string) => report[name] as Reply;
  const run = (name: string) => report[name] as Run;

  test("kernel_info: the TypeScript that compiles the cells, .ts, text/typescript, codemirror, help links", () => {
    const info = shell("kernel_info").content;
    const tslabTs = require(
      require.resolve("@tslab/typescript-for-tslab/package.json", {
        paths: [path.dirname(require.resolve("tslab/package.json"))],
      }),
    );
    expect(info.status).toBe("ok");
    expect(info.protocol_version).toBe("5.3");
    expect(info.language_info).toMatchObject({
      name: "typescript",
      version: tslabTs.version,
      file_extension: ".ts",
      mimetype: "text/typescript",
    });
    expect(info.language_info.codemirror_mode).toMatchObject({ mode: "typescript" });
    const links = info.help_links as Array<{ text: string; url: string }>;
    expect(links[0].text).toMatch(/API reference/);
    for (const page of ["shmget", "shmat", "mmap", "msync"]) {
      expect(links.map((l) => l.url)).toContain(`https://man7.org/linux/man-pages/man2/${page}.2.html`);
    }
  });

  test("comm_info_request is answered with comm_info_reply", () => {
    expect(shell("comm_info")).toEqual({ msg_type: "comm_info_reply", content: { status: "ok", comms: {} } });
  });

  test("a comm_open for a target the kernel lacks is answered with comm_close, as the spec asks", () => {
    expect(report.comm_open).toEqual([{ msg_type: "comm_close", content: { comm_id: "probe-comm", data: {} } }]);
  });

  test("an unknown request gets an error reply, and nothing is printed on the kernel's stderr", () => {
    expect(shell("unknown").msg_type).toBe("frobnicate_reply");
    expect(shell("unknown").content).toMatchObject({ status: "error", ename: "UnknownMessageType" });
    expect(probe.stderr).not.toMatch(/frobnicate|unknown msg_type/i);
  });

  test("a request its handler fails on (is_complete_request without code) gets an error reply", () => {
    // Before, no reply at all: a client waited for it to its timeout.
    expect(shell("is_complete_without_code").msg_type).toBe("is_complete_reply");
    expect(shell("is_complete_without_code").content).toMatchObject({ status: "error", ename: "TypeError" });
  });

  test("completion offers the members of an object from an earlier cell, with cursor_start/end", () => {
    const member = shell("complete_member").content;
    expect(member.matches).toContain("stat");
    expect([member.cursor_start, member.cursor_end]).toEqual(["seg.".length, "seg.st".length]);
    const all = shell("complete_members").content;
    expect(all.matches).toEqual(expect.arrayContaining(["attach", "stat", "remove", "size", "id"]));
    expect([all.cursor_start, all.cursor_end]).toEqual(["const n = 1;\nseg.".length, "const n = 1;\nseg.".length]);
  });

  test("after an emoji, completion and inspect count the cursor in code points, as the protocol and frontends do", () => {
    // 🎉 is two UTF-16 units and one code point: tslab's offsets landed two units off per emoji.
    const prefix = 'const banner = "🎉🎉 done";\n';
    const points = (s: string) => [...s].length;
    const member = shell("complete_astral").content;
    expect(member.matches).toContain("stat");
    expect([member.cursor_start, member.cursor_end]).toEqual([points(`${prefix}seg.`), points(`${prefix}seg.st`)]);
    // The cursor on `n` in Math.max(n): two units short of it was inside `max`.
    expect(String(shell("inspect_astral").content.data["text/plain"])).toMatch(/^const n: 1/);
  });

  test("inspect shows the signature, its TSDoc and the man page section", () => {
    const text = String(shell("inspect").content.data["text/plain"]);
    expect(shell("inspect").content.found).toBe(true);
    expect(text).toMatch(/shmget\(key: number, size: number, shmflg: number/);
    expect(text).toMatch(/IPC_CREAT/);
    expect(text).toContain("Linux manual: shmget(2) (man 2 shmget;");
    // The reference's example, written out where the tooltip showed typedoc's tag.
    expect(text).not.toContain("@includeCode");
    const example = fs.readFileSync(path.join(__dirname, "../../docs/examples/shmget.ts"), "utf8").trimEnd();
    expect(text).toContain(`Example (docs/examples/shmget.ts):\n${example.replace(/^/gm, "    ")}`);
  });

  test("inside a call's parentheses, inspect describes the function called, as IPython's does", () => {
    const described = (name: string) => {
      const reply = shell(name).content;
      return reply.found ? String(reply.data["text/plain"]).split("\n")[0] : "(not found)";
    };
    expect(described("inspect_open_call")).toMatch(/^\(alias\) shmat\(shmid: number/);
    expect(String(shell("inspect_open_call").content.data["text/plain"])).toContain("Linux manual: shmat(2)");
    expect(described("inspect_after_comma")).toMatch(/^\(alias\) shmget\(key: number/);
    expect(described("inspect_nested")).toMatch(/^\(alias\) msync\(mapping: Region/);
    expect(described("inspect_inner")).toMatch(/^\(alias\) mmap\(addr:/);
    expect(described("inspect_after_call")).toBe("(not found)");
  });

  test("the lecture's C habits (shmdt(d) == -1, address == MAP_FAILED, NULL) fail with TypeScript's words and a note of ours", () => {
    const check = run("c_check").reply;
    expect(check.status).toBe("error");
    // TypeScript's diagnostic, unchanged, then what to write instead.
    expect(check.evalue).toBe(
      "2:5 - This comparison appears to be unintentional because the types '0' and '-1' have no overlap.",
    );
    expect(check.traceback).toContain(
      "    note: tslab-ipc's calls return 0 or throw: a failure is an IpcError whose code is C's errno name (err.code === 'EINVAL'), not -1 and perror. Call it without the check, or catch the error.",
    );
    for (const [name, types] of [
      ["c_map_failed", "'Mapping' and 'bigint'"],
      ["c_shmat_failed", "'Attachment' and 'number'"],
    ]) {
      const failed = run(name).reply;
      expect(failed.evalue).toBe(
        `2:5 - This comparison appears to be unintentional because the types ${types} have no overlap.`,
      );
      expect(failed.traceback.at(-1)).toMatch(
        /^ {4}note: shmat and mmap return the Attachment or Mapping, or throw: .* never \(void \*\) -1 or MAP_FAILED\./,
      );
    }
    // TypeScript's messages for the slides' C library names, each with its note, argv's once.
    const names = run("c_names").reply;
    expect(names.evalue.split("\n").map((l: string) => l.replace(/^\d+:\d+ - /, ""))).toEqual([
      "Cannot find name 'strcmp'.",
      "Cannot find name 'argv'.",
      "Cannot find name 'printf'.",
      "Cannot find name 'argv'.",
      "Cannot find name 'sleep'.",
    ]);
    expect(
      names.traceback.filter((l: string) => l.startsWith("    note: ")).map((l: string) => l.split(" ")[5]),
    ).toEqual(["strings", "a", "console.log(...)", "await"]);
    // The slides' declaration, typed as it is: TypeScript's diagnostics, and one note under the first.
    const declaration = run("c_declaration").reply;
    expect(declaration.evalue.split("\n")[0]).toBe("1:1 - Unexpected keyword or identifier.");
    expect(declaration.traceback.filter((l: string) => l.startsWith("    note: "))).toEqual([
      expect.stringMatching(
        /^ {4}note: C declares a name with its type first \(int shmid = \.\.\., char \*data = \.\.\.\); here write const shmid = shmget/,
      ),
    ]);
    expect(declaration.traceback[4]).toMatch(/^ {4}note: C declares/);
    const nul = run("c_null").reply;
    expect(nul.evalue).toBe("1:22 - Cannot find name 'NULL'.");
    expect(nul.traceback).toContain("    note: C's NULL is null here (mmap(null, ...), shmat(id, null, 0)).");
  });

  test("a promise the cell rejects and nobody awaits is reported in that cell's output, traced to its lines", () => {
    const r = run("unawaited");
    expect(r.reply.status).toBe("ok");
    const stderr = r.outputs
      .filter((o) => o.type === "stream" && o.name === "stderr")
      .map((o) => o.text)
      .join("");
    expect(stderr).toContain("UnhandledPromiseRejection: RangeError: in f\n    at f (In[");
    expect(stderr).toMatch(/line 2\)?\n {8}2 \| f\(\); 'called'\n/);
    expect(stderr).not.toMatch(/node:vm|runInThisContext|kernel[/]traceback/);
  });

  test("a caught error, printed or shown as the cell's value, is traced to the lines the student wrote", () => {
    // console.log(e) of a failed call: the call the student made, then the cell's line; not the
    // library's helpers, nor vm's, tslab's and the kernel's frames, nor the compiled code's line 6.
    const printed = run("caught_printed")
      .outputs.filter((o) => o.type === "stream")
      .map((o) => o.text)
      .join("");
    expect(printed).toMatch(
      /^IpcError: ENOENT: no such file or directory, shmget key 0x7e57ab1e\n {4}at shmget \([^)]*sysv\.[jt]s:\d+:\d+\)\n {4}at In\[\d+\] line 2 \{\n/,
    );
    expect(printed).toContain("code: 'ENOENT'");
    expect(printed).not.toMatch(/undefined|errors\.js|throwErrno|node:vm|tslab[/]dist|kernel[/]/);
    // Node's own errors keep Node's header with their code, and the cell's line.
    expect(
      run("node_error_header")
        .outputs.filter((o) => o.type === "stream")
        .map((o) => o.text)
        .join(""),
    ).toMatch(/^TypeError \[ERR_INVALID_ARG_TYPE\]: The "path" argument must be .*\n {4}at In\[\d+\] line 2\n$/);
    // An error as the cell's value, thrown after an await: an async frame at its line too.
    expect(run("error_value").outputs.map((o) => o.data?.["text/plain"])).toEqual([
      expect.stringMatching(/^Error: in g\n {4}at g \(In\[\d+\] line 3\)\n {4}at async In\[\d+\] line 6$/),
    ]);
  });

  test("process.exit() in a cell stops the cell with an error and the kernel goes on, its variables kept", () => {
    const exited = run("exit_cell");
    expect(exited.reply.status).toBe("error");
    expect(exited.reply.ename).toBe("ProcessExit");
    expect(exited.reply.evalue).toMatch(/^process\.exit\(1\) would end the kernel/);
    expect(exited.reply.traceback.slice(1, 3)).toEqual([
      expect.stringMatching(/^ {4}at In\[\d+\] line 2$/),
      "        2 | process.exit(1);",
    ]);
    expect(exited.outputs.some((o) => o.data?.["text/plain"] === "'not reached'")).toBe(false);
    // From a timer after the cell: the cell's stray error, and the next cell runs.
    const timer = run("exit_timer");
    expect(timer.reply.status).toBe("ok");
    expect(
      timer.outputs
        .filter((o) => o.type === "stream")
        .map((o) => o.text)
        .join(""),
    ).toContain("UncaughtException: ProcessExit: process.exit(3) would end the kernel");
    expect(run("exit_caught").outputs.map((o) => o.data?.["text/plain"])).toEqual(["[ 0, 42 ]"]);
  });

  test("a cell that threw keeps the names it assigned before, as IPython does; a name after the throw is not there", () => {
    expect(run("failed_cell").reply.ename).toBe("RangeError");
    // The segment it attached can be detached and removed (before: "Cannot find name 'attached'").
    const after = run("after_failed_cell");
    expect(after.reply.status).toBe("ok");
    expect(after.outputs.map((o) => o.data?.["text/plain"])).toEqual(["0"]);
    expect(run("unreached").reply.evalue).toBe("1:1 - Cannot find name 'unreached'.");
  });

  test("input() without stdin (nbconvert, nbclient) throws at once, and input.allowed says so", () => {
    const r = run("no_stdin");
    expect(r.reply.status).toBe("error");
    expect(r.reply.ename).toBe("StdinNotImplementedError");
    expect(r.seconds).toBeLessThan(10);
    expect(r.reply.traceback.join("\n")).not.toMatch(/kernel[\\/](cell-api|interrupt)\.js/);
    expect(run("no_stdin_allowed").outputs[0].data["text/plain"]).toBe("false");
  });

  test("a cell's execute_reply is dated when it is sent, so clients can time the cell", () => {
    // nbclient's record_timing and JupyterLab's execution time take execute_reply's date minus
    // execute_input's. tslab made the reply before the cell ran: every cell was 0 ms.
    const { input, reply, idle } = run("dated_cell").dates;
    expect(reply - input).toBeGreaterThanOrEqual(0.25);
    expect(reply).toBeLessThanOrEqual(idle);
  });

  test("a silent request sends no output and is not counted; store_history=false is shown but not counted", () => {
    // The messaging spec: only requests that store history count, and silent stores none and
    // broadcasts no output. Before, each of these took a number, and the silent one showed its
    // result on iopub.
    const counted = run("before_quiet").reply.execution_count;
    const silent = run("silent");
    expect(silent.reply).toMatchObject({ status: "ok", execution_count: counted + 1 });
    expect(silent.outputs).toEqual([]);
    expect(silent.shown).toBeNull();
    const failing = run("silent_failing");
    expect(failing.reply).toMatchObject({ status: "error", ename: "RangeError", execution_count: counted + 1 });
    expect(failing.outputs).toEqual([]);
    // The spec's way for a front end to read the counter: empty code, silent.
    expect(run("silent_empty").reply).toMatchObject({ status: "ok", execution_count: counted + 1 });
    // What an earlier cell's timer printed after them still went to that cell, not into the silence.
    expect(report.timer_late).toEqual(["late line\n"]);
    // store_history=false: shown with the number the next cell gets (as ipykernel), which keeps it.
    const unstored = run("unstored");
    expect(unstored.shown).toBe(counted + 2);
    expect(unstored.outputs.map((o) => o.data?.["text/plain"])).toEqual(["49"]);
    expect(unstored.reply.execution_count).toBe(counted + 1);
    expect(run("after_quiet").reply.execution_count).toBe(counted + 2);
    const history = (shell("history_tail").content.history as Array<[number, number, string]>).map((h) => h[2]);
    expect(history).toContain("'counted again'");
    expect(history).not.toContain("7 * 7");
    expect(history.some((code) => code.includes("silenced"))).toBe(false);
  });

  test("user_expressions are evaluated after the cell, each answered with its display data or its own error", () => {
    const answers = run("expressions").reply.user_expressions;
    expect(answers.plus).toEqual({ status: "ok", data: { "text/plain": "11" }, metadata: {} });
    expect(answers.typed.data["text/plain"]).toBe("20");
    expect(answers.object.data["text/plain"]).toBe("{ name: 'seg', size: 4 }");
    expect(answers.api.data["text/plain"]).toBe("'function'");
    expect(answers.missing).toMatchObject({
      status: "error",
      ename: "ReferenceError",
      evalue: "notDeclaredAnywhere is not defined",
    });
    expect(answers.thrown).toMatchObject({ status: "error", ename: "RangeError", evalue: "from an expression" });
    expect(answers.thrown.traceback[0]).toBe("RangeError: from an expression");
    expect(answers.syntax).toMatchObject({ status: "error", ename: "SyntaxError" });
    // After a failed cell, none is evaluated (ipykernel's reply has none either).
    expect(run("expressions_after_error").reply).toMatchObject({ status: "error", ename: "Error" });
    expect(run("expressions_after_error").reply.user_expressions).toBeUndefined();
  });

  test("clearOutput(wait) sends clear_output in the cell's order", () => {
    expect(run("clear").outputs.map((o) => o.type + (o.text ?? "") + (o.wait ?? ""))).toEqual([
      "streama\n",
      "clear_outputtrue",
      "streamb\n",
    ]);
  });

  test("a history_request sent right behind an execute_request is answered after that cell, and holds it", () => {
    const history = shell("history_pipelined").content.history as Array<[number, number, string]>;
    expect(history.map((h) => h[2]).at(-1)).toBe("const pipelined = 7;");
  });

  test("history is kept across kernel sessions, and a corrupt history file does not stop a kernel", () => {
    const history = shell("history_tail").content.history as Array<[number, number, string]>;
    const sessions = new Set(history.map((h) => h[0]));
    expect(sessions.has(1)).toBe(true);
    expect(sessions.has(2)).toBe(true);
    expect(history.filter((h) => h[0] === 1).map((h) => h[2])).toContain("6 * 7");
    expect(history.map((h) => h[2])).not.toContain("torn");
    expect(history.filter((h) => h[0] === 2).map((h) => h[2])).toContain(
      'console.log("a"); clearOutput(true); console.log("b")',
    );
  });
});
