// The kernel under a real terminal client: `jupyter console` (Debian package jupyter-console)
// driven in tmux. Tab completion, a multi-line function through is_complete, input(), Ctrl-C on
// a busy loop, Ctrl-D shutting the kernel down with its segment removed, up-arrow history from
// the previous session, and no stray text from the kernel on the screen.
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { bareTempBase, privateJupyterEnv, segmentExists } from "../helpers";

const repo = path.resolve(__dirname, "..", "..");
const PY = "/usr/bin/python3";
const hasConsole = spawnSync(PY, ["-c", "import jupyter_console"]).status === 0 && spawnSync("tmux", ["-V"]).status === 0;
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
const keys = (...k: string[]) => tmux("send-keys", "-t", "console", ...k);
const type = (text: string) => tmux("send-keys", "-t", "console", "-l", text);

async function waitFor(pattern: RegExp | (() => boolean), what: string, seconds = 60): Promise<string> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const text = screen();
    if (typeof pattern === "function" ? pattern() : pattern.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; screen:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startConsole(): void {
  const script = path.join(tmp, "console.sh");
  fs.writeFileSync(script, `#!/bin/sh\ncd ${JSON.stringify(path.join(tmp, "notebooks"))}\nexec ${PY} -m jupyter console --kernel tslab-ipc\n`, { mode: 0o700 });
  tmux("kill-session", "-t", "console");
  tmux("new-session", "-d", "-s", "console", "-x", "160", "-y", "50", script);
}

beforeAll(() => {
  if (!hasConsole) return;
  tmp = fs.mkdtempSync(path.join(bareTempBase() ?? os.tmpdir(), "tslab-ipc-console-"));
  socket = path.join(tmp, "tmux.sock");
  env = privateJupyterEnv(tmp, { TERM: "xterm-256color", HOME: tmp });
  fs.mkdirSync(path.join(tmp, "notebooks"));
  const install = spawnSync(process.execPath, [path.join(repo, "kernel", "install.js"), "install", "--user"], { env, encoding: "utf8" });
  if (install.status !== 0) throw new Error(`kernel install failed: ${install.stdout}${install.stderr}`);
});

afterAll(() => {
  if (!tmp) return;
  tmux("kill-server");
  fs.rmSync(tmp, { recursive: true, force: true });
});

describeWithConsole("jupyter console", () => {
  let firstSession = "";
  let kernelPid = 0;
  let shmid = -1;

  test("a session: completion, a multi-line function, input(), Ctrl-C, then Ctrl-D removes the segment", async () => {
    startConsole();
    await waitFor(/In \[1\]: $/m, "the first prompt");

    // Tab completes a preloaded name (one match: completed in place).
    type("shmd");
    keys("Tab");
    await waitFor(/In \[1\]: shmdt/, "Tab to complete shmd to shmdt");
    keys("C-u");

    // A function over three lines: is_complete says incomplete until the brace closes.
    type("function twice(x: number) {");
    keys("Enter");
    await waitFor(/\.\.\.: $/m, "a continuation prompt");
    type("return x * 2;");
    keys("Enter");
    type("}");
    keys("Enter");
    await waitFor(/In \[2\]: $/m, "the function defined");
    type("twice(21)");
    keys("Enter");
    await waitFor(/Out\[2\]: 42/, "the function's result");

    // input(): the console prompts, the line typed comes back.
    type('const name = await input("your name: "); name.toUpperCase()');
    keys("Enter");
    await waitFor(/your name: $/m, "input()'s prompt");
    type("ada");
    keys("Enter");
    await waitFor(/Out\[3\]: 'ADA'/, "input()'s line");

    // Ctrl-C on a loop spinning after an await; the kernel goes on.
    const marker = path.join(tmp, "spinning");
    type(`await null; require("fs").writeFileSync(${JSON.stringify(marker)}, ""); while (true) {}`);
    keys("Enter");
    await waitFor(() => fs.existsSync(marker), "the loop to spin");
    keys("C-c");
    await waitFor(/Interrupted[^]*In \[5\]: $/m, "the interrupt and the next prompt");

    type("const sid = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600); [process.pid, sid].join(' ')");
    keys("Enter");
    const out = await waitFor(/Out\[5\]: '(\d+) (\d+)'/, "the segment");
    [, kernelPid, shmid] = /Out\[5\]: '(\d+) (\d+)'/.exec(out)!.map(Number);
    expect(segmentExists(shmid)).toBe(true);

    // Ctrl-D, confirmed: the console shuts the kernel down; the kernel removes its segment.
    keys("C-d");
    await waitFor(/exit.*\?/i, "the exit question");
    keys("y", "Enter");
    await waitFor(() => !fs.existsSync(`/proc/${kernelPid}`) || /\) Z /.test(fs.readFileSync(`/proc/${kernelPid}/stat`, "utf8")), "the kernel to end", 20);
    expect(segmentExists(shmid)).toBe(false);
    firstSession = screen();
  });

  test("no stray text from the kernel on the screen", () => {
    expect(firstSession).not.toMatch(/unknown msg_type|tslab-ipc:|Waiting for the debugger|Unhandled|UncaughtException|Traceback/);
  });

  test("up-arrow recalls the previous session's cells after a restart", async () => {
    expect(firstSession).not.toBe("");
    startConsole();
    await waitFor(/In \[1\]: $/m, "the first prompt of the new session");
    keys("Up");
    await waitFor(/In \[1\]: const sid = shmget/, "the last cell of the previous session");
    keys("C-u");
    keys("C-d");
    await waitFor(/exit.*\?/i, "the exit question");
    keys("y", "Enter");
  });
});
