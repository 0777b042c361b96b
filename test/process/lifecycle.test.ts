// One owner of exit and signal hooks (src/process/lifecycle.ts), one test per policy: no host
// (clean up, then die of the signal), a host that handles interrupts (the kernel), a host that
// handles termination (the notebook launcher). Each runs in a child: the signals are real.
import { spawn, spawnSync } from "child_process";
import fs from "fs";
import path from "path";
import { distIndex, repoRoot } from "../helpers";

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: string[];
}

/**
 * Runs `body` in a child with `lc` bound to the lifecycle module and `say(text)` writing a line
 * at once (synchronously: a process about to die of a signal flushes nothing later). Once the
 * child says "ready", sends it `signal`.
 */
function runChild(body: string, signal: NodeJS.Signals): Promise<Run> {
  const code = `
    const fs = require("fs");
    const lc = require(${JSON.stringify(distIndex)}).lifecycle;
    const say = (text) => fs.writeSync(1, text + "\\n");
    ${body}
    say("ready");
    setTimeout(() => { say("timeout"); process.exit(9); }, 15000);`;
  const child = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  let sent = false;
  child.stdout.on("data", (d) => {
    out += d;
    if (!sent && out.includes("ready\n")) {
      sent = true;
      child.kill(signal);
    }
  });
  return new Promise((resolve) =>
    child.on("close", (code, sig) => resolve({ code, signal: sig, lines: out.split("\n").filter(Boolean) })),
  );
}

const hooks = `
  lc.onExit(() => say("exit hook 1"));
  lc.onExit(() => say("exit hook 2"));
  lc.onInterrupt(() => say("interrupt hook"));
  lc.onTerminate((s) => say("terminate hook " + s));`;

describe("no host (a plain program): hooks run, then the process dies of the signal", () => {
  test.each([
    ["SIGINT", "interrupt hook"],
    ["SIGTERM", "terminate hook SIGTERM"],
    ["SIGHUP", "terminate hook SIGHUP"],
  ] as const)("%s", async (signal, first) => {
    const r = await runChild(hooks, signal);
    expect(r).toEqual({ code: null, signal, lines: ["ready", first, "exit hook 2", "exit hook 1"] });
  });

  test("normal exit runs the exit hooks once, last registered first", async () => {
    const r = await runChild(hooks + `setImmediate(() => process.exit(0));`, "SIGCONT");
    expect(r).toEqual({ code: 0, signal: null, lines: ["ready", "exit hook 2", "exit hook 1"] });
  });
});

test("a host that handles interrupts (the kernel): SIGINT runs the interrupt hooks only, cleans nothing up, and the process lives", async () => {
  const r = await runChild(
    `lc.setHost({ handlesInterrupts: true });
     ${hooks}
     lc.onInterrupt(() => { say("host: interrupt"); setTimeout(() => { say("still alive"); process.exit(0); }, 100); });`,
    "SIGINT",
  );
  expect(r).toEqual({
    code: 0,
    signal: null,
    lines: ["ready", "interrupt hook", "host: interrupt", "still alive", "exit hook 2", "exit hook 1"],
  });
});

test("a host that handles interrupts still cleans up and dies of SIGTERM", async () => {
  const r = await runChild(`lc.setHost({ handlesInterrupts: true });` + hooks, "SIGTERM");
  expect(r).toEqual({
    code: null,
    signal: "SIGTERM",
    lines: ["ready", "terminate hook SIGTERM", "exit hook 2", "exit hook 1"],
  });
});

test("a host that handles termination (the notebook launcher): SIGTERM runs the terminate hooks; exit hooks run when the host exits", async () => {
  const r = await runChild(
    `lc.setHost({ handlesTermination: true });
     ${hooks}
     lc.onTerminate(() => setTimeout(() => { say("host: exiting"); process.exit(3); }, 100));`,
    "SIGTERM",
  );
  expect(r).toEqual({
    code: 3,
    signal: null,
    lines: ["ready", "terminate hook SIGTERM", "host: exiting", "exit hook 2", "exit hook 1"],
  });
});

test("no hooks, no listeners: unregistering restores Node's own behaviour", async () => {
  const r = await runChild(
    `const offs = [lc.onExit(() => say("never")), lc.onInterrupt(() => say("never")), lc.onTerminate(() => say("never"))];
     const count = () => ["exit", "SIGINT", "SIGTERM", "SIGHUP"].map((e) => process.listenerCount(e)).join(",");
     say("with hooks " + count());
     offs.forEach((off) => off());
     say("without " + count());`,
    "SIGINT",
  );
  expect(r).toEqual({ code: null, signal: "SIGINT", lines: ["with hooks 1,1,1,1", "without 0,0,0,0", "ready"] });
});

test("a hook registered while a cell runs (its first segment) leaves SIGINT to the cell's watchdog", async () => {
  // tslab runs a cell with vm's breakOnSigint, and Node takes the SIGINT listeners away for that
  // run. The lifecycle read that as "not listening" and added its own back: libuv's handler then
  // took SIGINT from the watchdog, the cell ran on to its end and the interrupt was lost.
  const r = await runChild(
    `lc.setHost({ handlesInterrupts: true });
     lc.onInterrupt(() => {});
     Object.assign(globalThis, { lc, say });
     try {
       require("vm").runInThisContext(
         'lc.onExit(() => {}); say("ready"); const end = Date.now() + 10000; while (Date.now() < end) {} say("ran to its end")',
         { breakOnSigint: true },
       );
     } catch (e) {
       say(e.message);
     }
     process.exit(0);`,
    "SIGINT",
  );
  expect(r).toEqual({ code: 0, signal: null, lines: ["ready", "Script execution was interrupted by `SIGINT`"] });
});

test("a failing hook does not keep the others from running", async () => {
  const r = await runChild(`lc.onExit(() => say("ran")); lc.onExit(() => { throw new Error("boom"); });`, "SIGTERM");
  expect(r).toEqual({ code: null, signal: "SIGTERM", lines: ["ready", "ran"] });
});

test("onUncaughtError: a hook adds to the message of an error about to end the process; Node prints it and exits 1", () => {
  const code = `
    const lc = require(${JSON.stringify(distIndex)}).lifecycle;
    const off = lc.onUncaughtError(() => { throw new Error("a failing hook is reported, not fatal"); });
    lc.onUncaughtError((e) => { e.message += " (noted)"; });
    const gone = lc.onUncaughtError(() => { throw new Error("never runs"); });
    gone();
    console.log(process.listenerCount("uncaughtExceptionMonitor"));
    setImmediate(() => { throw new TypeError("boom"); });`;
  const r = spawnSync(process.execPath, ["-e", code], { encoding: "utf8" });
  expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 1, stdout: "1\n" });
  expect(r.stderr).toContain("tslab-ipc: uncaught error hook failed: a failing hook is reported, not fatal");
  expect(r.stderr).toContain("TypeError: boom (noted)\n    at ");
  expect(r.stderr).not.toContain("never runs");
  // Unregistered, the listener goes with the last hook.
  const none = spawnSync(
    process.execPath,
    [
      "-e",
      `const lc = require(${JSON.stringify(distIndex)}).lifecycle; lc.onUncaughtError(() => {})(); console.log(process.listenerCount("uncaughtExceptionMonitor"))`,
    ],
    { encoding: "utf8" },
  );
  expect(none.stdout).toBe("0\n");
});

test("no file in src/ but the lifecycle module listens to process signals or exit", () => {
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (/\.ts$/.test(entry.name) && !file.endsWith(path.join("process", "lifecycle.ts"))) {
        const text = fs.readFileSync(file, "utf8");
        if (/process\s*\.\s*(on|once|addListener|prependListener|prependOnceListener)\s*\(/.test(text))
          offenders.push(path.relative(repoRoot, file));
        if (/listenerCount|process\.listeners\(|"onSignal"/.test(text))
          offenders.push(path.relative(repoRoot, file) + " (listener negotiation)");
      }
    }
  };
  walk(path.join(repoRoot, "src"));
  expect(offenders).toEqual([]);
});
