// The kernel under a real terminal client: `jupyter console` (Debian package jupyter-console)
// driven in tmux (through npm run console's launcher, kernel/console.py). Tab completion, a
// multi-line function through is_complete, input(), Ctrl-C on busy loops, Ctrl-D
// shutting the kernel down with its segment removed, up-arrow history from the previous
// session, and no stray text from the kernel on the screen.
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { bareTempBase, privateJupyterEnv, segmentExists } from "../helpers";

const repo = path.resolve(__dirname, "..", "..");
const PY = "/usr/bin/python3";
const hasConsole =
  spawnSync(PY, ["-c", "import jupyter_console"]).status === 0 && spawnSync("tmux", ["-V"]).status === 0;
if (!hasConsole) console.warn("skipped: needs jupyter console and tmux (Debian packages jupyter-console, tmux)");
const describeWithConsole = hasConsole ? describe : describe.skip;

jest.setTimeout(240_000);

let tmp = "";
let socket = "";
let env: NodeJS.ProcessEnv = {};

function tmux(...args: string[]): string {
  const r = spawnSync("tmux", ["-S", socket, ...args], { encoding: "utf8", env });
  return r.stdout;
}
const screen = () => tmux("capture-pane", "-p", "-J", "-S", "-500", "-t", "console");
const pause = (ms = 300) => new Promise((r) => setTimeout(r, ms));
// jupyter console 6.4.4 with jupyter_client 7 fails on keys arriving faster than it handles
// them ("cannot enter context ... already entered", jupyter/jupyter_client#927): every key
// waits for the screen to show the previous one.
async function keys(...k: string[]): Promise<void> {
  tmux("send-keys", "-t", "console", ...k);
  await pause();
}
async function type(text: string): Promise<void> {
  // tmux reads a trailing ";" as its own command separator unless escaped.
  tmux("send-keys", "-t", "console", "-l", text.replace(/;$/, "\\;"));
  await waitFor(() => screen().includes(text), `the screen to show ${text}`, 10);
  await pause(100);
}

/**
 * The console's and the kernel's processes (state, age, command) for a timeout's message: an empty
 * screen alone does not say whether the kernel never answered or the client never asked.
 */
function clientAndKernel(): string {
  const ps = spawnSync("ps", ["-eo", "pid,ppid,stat,etime,args"], { encoding: "utf8" }).stdout ?? "";
  return ps
    .split("\n")
    .filter((line) => /console\.py|kernel\/main\.js|kernel\/start\.sh|build-snapshot|snapshot\.js/.test(line))
    .join("\n");
}

async function waitFor(pattern: RegExp | (() => boolean), what: string, seconds = 60): Promise<string> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const text = screen();
    if (typeof pattern === "function" ? pattern() : pattern.test(text)) return text;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; screen:\n${text}\nprocesses:\n${clientAndKernel()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startConsole(): void {
  const script = path.join(tmp, "console.sh");
  fs.writeFileSync(
    script,
    `#!/bin/sh\ncd ${JSON.stringify(path.join(tmp, "notebooks"))}\nexec ${PY} ${JSON.stringify(path.join(repo, "kernel", "console.py"))}\n`,
    { mode: 0o700 },
  );
  tmux("kill-session", "-t", "console");
  tmux("new-session", "-d", "-s", "console", "-x", "160", "-y", "50", script);
  // Keep the pane (and its text) after the console exits, so the screen can be read then.
  tmux("set-option", "-t", "console", "remain-on-exit", "on");
}

beforeAll(() => {
  if (!hasConsole) return;
  tmp = fs.mkdtempSync(path.join(bareTempBase() ?? os.tmpdir(), "tslab-ipc-console-"));
  socket = path.join(tmp, "tmux.sock");
  // tmux runs the console through $SHELL, else the account's login shell, which is nologin for
  // accounts like nobody.
  env = privateJupyterEnv(tmp, { TERM: "xterm-256color", HOME: tmp, SHELL: "/bin/sh" });
  fs.mkdirSync(path.join(tmp, "notebooks"));
  const install = spawnSync(process.execPath, [path.join(repo, "kernel", "install.js"), "install", "--user"], {
    env,
    encoding: "utf8",
  });
  if (install.status !== 0) throw new Error(`kernel install failed: ${install.stdout}${install.stderr}`);
});

afterAll(() => {
  if (!tmp) return;
  tmux("kill-server");
  // A kernel of the test may still be building its snapshot in this HOME (in the background,
  // at the lowest priority): its work folder goes away when the build ends.
  fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
});

describeWithConsole("jupyter console", () => {
  let firstSession = "";
  let kernelPid = 0;
  let shmid = -1;

  test("a session: completion, a multi-line function, input(), then Ctrl-D removes the segment", async () => {
    startConsole();
    await waitFor(/In \[1\]:\s*$/, "the first prompt");

    // Tab completes a preloaded name (one match: completed in place).
    await type("shmd");
    await keys("Tab");
    await waitFor(/In \[1\]: shmdt/, "Tab to complete shmd to shmdt");
    await keys("C-u");

    // A function over three lines: is_complete says incomplete until the brace closes.
    await type("function twice(x: number) {");
    await keys("Enter");
    await waitFor(/\.\.\.:\s*$/, "a continuation prompt");
    await type("return x * 2;");
    await keys("Enter");
    await type("}");
    await keys("Enter");
    await waitFor(/In \[2\]:\s*$/, "the function defined");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a template literal typed into the console, evaluated by the kernel
    await type("`${twice(21)} ${process.pid}`");
    await keys("Enter");
    const result = await waitFor(/Out\[2\]: '42 (\d+)'/, "the function's result");
    kernelPid = Number(/Out\[2\]: '42 (\d+)'/.exec(result)![1]);

    // input(): the console prompts, the line typed comes back.
    await type('const name = await input("your name: "); name.toUpperCase()');
    await keys("Enter");
    await waitFor(/your name:\s*$/, "input()'s prompt");
    await type("ada");
    await keys("Enter");
    await waitFor(/Out\[3\]: 'ADA'/, "input()'s line");

    // Ctrl-C on a busy loop, the synchronous kind and the kind after an await: the cell stops,
    // the kernel keeps its state (twice is still defined) and the next cell runs. (npm run
    // console puts back jupyter console's relay of Ctrl-C, which stock 6.4-6.6 loses.)
    // (A cell that ends in an error keeps none of its declarations, as in tslab: spins gets its own.)
    await type("let spins = 0;");
    await keys("Enter");
    await waitFor(/In \[5\]:\s*$/, "spins declared");
    await type("while (true) { spins++; }");
    await keys("Enter");
    await pause(1500);
    await keys("C-c");
    await waitFor(/Interrupted|interrupted/, "the busy loop interrupted");
    await waitFor(/In \[6\]:\s*$/, "the prompt after the interrupt");
    await type("await new Promise((r) => setTimeout(r, 10)); while (true) { spins++; }");
    await keys("Enter");
    await pause(1500);
    await keys("C-c");
    await waitFor(/In \[7\]:\s*$/, "the prompt after the second interrupt");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a template literal typed into the console, evaluated by the kernel
    await type("`${twice(4)} ${spins > 0}`");
    await keys("Enter");
    await waitFor(/Out\[7\]: '8 true'/, "state kept after the interrupts");
    expect(screen()).not.toMatch(/KeyboardInterrupt escaped/);

    await type("const sid = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600); [process.pid, sid].join(' ')");
    await keys("Enter");
    const out = await waitFor(/Out\[8\]: '(\d+) (\d+)'/, "the segment");
    shmid = Number(/Out\[8\]: '(\d+) (\d+)'/.exec(out)![2]);
    expect(segmentExists(shmid)).toBe(true);

    // Ctrl-D, confirmed: the console shuts the kernel down; the kernel removes its segment.
    await keys("C-d");
    await waitFor(/exit.*\?/i, "the exit question");
    await keys("y", "Enter");
    await waitFor(
      () => !fs.existsSync(`/proc/${kernelPid}`) || /\) Z /.test(fs.readFileSync(`/proc/${kernelPid}/stat`, "utf8")),
      "the kernel to end",
      20,
    );
    expect(segmentExists(shmid)).toBe(false);
    firstSession = screen();
  });

  test("no stray text from the kernel on the screen", () => {
    expect(firstSession).toMatch(/Out\[8\]: '\d+ \d+'/);
    expect(firstSession).not.toMatch(
      /unknown msg_type|tslab-ipc:|Waiting for the debugger|UnhandledPromiseRejection|UncaughtException/,
    );
  });

  test("up-arrow recalls the previous session's cells after a restart", async () => {
    expect(firstSession).not.toBe("");
    startConsole();
    await waitFor(/In \[1\]:\s*$/, "the first prompt of the new session");
    await keys("Up");
    await waitFor(/In \[1\]: const sid = shmget/, "the last cell of the previous session");
    await keys("C-u");
    await keys("C-d");
    await waitFor(/exit.*\?/i, "the exit question");
    await keys("y", "Enter");
  });
});
