// kernel/interrupt.js: the watchdog thread that stops a loop after an await lives only while a
// cell that awaits may need it (a live Worker holds ~30 MiB of a kernel from the snapshot), and
// the sentinel that outlives it catches a SIGINT sent while the thread is still starting.
// Each case runs in a Node process of its own, in a process group of its own (as Jupyter starts
// a kernel, and as its interrupt button signals one).
import { spawn } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";

const interruptJs = path.resolve(__dirname, "..", "..", "kernel", "interrupt.js");

/** The preamble of each child: the kernel's interrupt handling on a SIGINT listener, and a cell runner. */
const preamble = `
  const vm = require("vm");
  const fs = require("fs");
  const { installInterrupts } = require(${JSON.stringify(interruptJs)});
  let interrupts = 0;
  /** Settles when SIGINT reaches the listener: tslab races a cell's promise with the same. */
  let interrupted;
  const armed = () => new Promise((resolve) => (interrupted = resolve));
  const onInterrupt = (hook) => process.on("SIGINT", hook);
  const handling = installInterrupts(() => { interrupts++; interrupted?.("interrupted"); }, onInterrupt, { watchdogIdleMs: 500 });
  /** A cell's own code, run as tslab runs it. */
  const cell = (code) => vm.runInThisContext(code, { breakOnSigint: true });
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  // What the kernel's sockets do: keep the event loop alive while the only JavaScript left to run
  // is the SIGINT that Node holds for the listener.
  setInterval(() => {}, 60_000);
  const threads = () => Number(fs.readFileSync("/proc/self/status", "utf8").match(/Threads:\\s+(\\d+)/)[1]);
`;

/** Starts `body` in a fresh Node, leader of its own process group; resolves with its JSON line. */
function inNode(
  body: string,
  whileRunning?: (child: ReturnType<typeof spawn>) => Promise<void>,
  env: NodeJS.ProcessEnv = process.env,
) {
  const script = `${preamble}
    (async () => { ${body} })().then((r) => { console.log(JSON.stringify(r)); process.exit(0); }, (e) => { console.error(e); process.exit(1); });`;
  const child = spawn(process.execPath, ["-e", script], { detached: true, stdio: ["ignore", "pipe", "pipe"], env });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  return (async () => {
    const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 30_000);
    try {
      if (whileRunning) await whileRunning(child);
      const { code, signal } = await ended;
      expect({ code, signal, err }).toMatchObject({ code: 0, signal: null });
      return JSON.parse(out.trim().split("\n").pop() ?? "null") as Record<string, unknown>;
    } finally {
      clearTimeout(timer);
      // The group: the child and its sentinel, whatever happened.
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }
  })();
}

test("only a cell that awaits starts the watchdog thread, and it stops once no cell has run for a while", async () => {
  const r = await inNode(`
    const before = threads();
    cell("1 + 1");
    handling.cellEnded();
    const afterSync = { running: handling.watchdogRunning(), threads: threads() };
    await cell("(async () => { await sleep(50); return 2; })()");
    const duringAsync = { running: handling.watchdogRunning(), threads: threads() };
    handling.cellEnded();
    await sleep(200);
    const shortlyAfter = handling.watchdogRunning();
    await sleep(800);
    return { before, afterSync, duringAsync, shortlyAfter, idle: { running: handling.watchdogRunning(), threads: threads() } };
  `);
  expect(r.afterSync).toEqual({ running: false, threads: r.before });
  expect(r.duringAsync).toMatchObject({ running: true });
  expect((r.duringAsync as { threads: number }).threads).toBeGreaterThan(r.before as number);
  expect(r.shortlyAfter).toBe(true); // cells in a row share one thread
  expect(r.idle).toEqual({ running: false, threads: r.before });
});

/** A cell that spins right after its first await, in a Node started with `env`, and a SIGINT to its group. */
async function spinThenInterrupt(env: NodeJS.ProcessEnv = process.env) {
  const marker = path.join(os.tmpdir(), `tslab-ipc-spin-${process.pid}-${Date.now()}`);
  try {
    return await inNode(
      `
      const t0 = Date.now();
      // The loop is terminated (its promise stays pending), and the SIGINT Node held meanwhile
      // reaches the listener.
      const outcome = await Promise.race([
        armed(),
        cell(${JSON.stringify(`(async () => { await new Promise((r) => setTimeout(r, 10)); require("fs").writeFileSync(${JSON.stringify(marker)}, ""); while (true) {} })()`)}),
      ]);
      handling.cellEnded();
      const after = cell("40 + 2");
      handling.cellEnded();
      return { outcome, interrupts, ms: Date.now() - t0, after };
    `,
      async (child) => {
        const deadline = Date.now() + 20_000;
        while (!fs.existsSync(marker) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        expect(fs.existsSync(marker)).toBe(true);
        process.kill(-child.pid!, "SIGINT");
      },
      env,
    );
  } finally {
    fs.rmSync(marker, { force: true });
  }
}

test("a SIGINT to the process group stops a loop right after the first await, while the thread is still starting", async () => {
  expect(await spinThenInterrupt()).toMatchObject({ outcome: "interrupted", interrupts: 1, after: 42 });
});

// Node's "pipe" is a socket pair, which bash takes for rshd's: with SHLVL unset or 0 (Jupyter
// under systemd or JupyterHub) it then sources ~/.bashrc; at any level, a bash -c sources
// BASH_ENV. A user's start-up files (on this machine root's, running pyenv's rehash) must not
// run, or cost, in every kernel.
test.each([
  ["~/.bashrc", "0"],
  ["BASH_ENV", "3"],
])("the sentinel does not source %s (SHLVL=%s), and still stops a loop after an await", async (_, shlvl) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-rc-"));
  try {
    const ran = path.join(home, "ran");
    fs.writeFileSync(path.join(home, ".bashrc"), `echo bashrc >> '${ran}'\n`);
    fs.writeFileSync(path.join(home, "env.sh"), `echo BASH_ENV >> '${ran}'\n`);
    const env = { ...process.env, HOME: home, BASH_ENV: path.join(home, "env.sh"), SHLVL: shlvl };
    expect(await spinThenInterrupt(env)).toMatchObject({ outcome: "interrupted", interrupts: 1, after: 42 });
    expect(fs.existsSync(ran) ? fs.readFileSync(ran, "utf8") : "").toBe("");
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
