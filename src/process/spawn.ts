// Run TypeScript in another process: for the writer/reader demos, races, and anything that
// must crash (SIGSEGV, SIGBUS). The kernel never runs such code itself.
//
// Output streams live: each chunk is passed to process.stdout.write / process.stderr.write as
// it arrives, looked up at that moment (tslab replaces those functions to route output into
// the cell). Children never outlive this process: they are killed when it ends (an exit hook of
// src/process/lifecycle.ts), and each child asks the kernel to SIGKILL it when its parent dies
// (PR_SET_PDEATHSIG), which also covers a parent that is SIGKILLed. What a child killed by a
// signal made and could not remove is removed when it ends (reap()). The child's code reaches it
// through a pipe (its fd 3), never a file: a parent or child killed at any moment leaves nothing
// on disk.
import { spawn, type ChildProcess } from "child_process";
import fs from "fs";
import { performance } from "perf_hooks";
import type { Writable } from "stream";
import { StringDecoder } from "string_decoder";
import { ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE_RANGE } from "../codes";
import { reap } from "../sys/registry";
import { validateCString, validateInteger, validateObject, validateOptions } from "../validators";
import { onExit } from "./lifecycle";
import { childBootstrap, packageRoot } from "./paths";
import { describeSignal } from "./signals";
import { transpileForChild } from "./transpile";

/**
 * How a child runs: arguments, environment, working folder, time limit, a label for its output, quiet
 * (capture only), and standard input.
 */
export interface RunOptions {
  /** Visible in the child as process.argv.slice(2). */
  args?: string[];
  /** Added to (and overriding) the parent's environment. */
  env?: Record<string, string | undefined>;
  /** Working directory of the child; relative imports resolve from here. Default: process.cwd(). */
  cwd?: string;
  /** Kill the child after this many milliseconds: SIGTERM, then SIGKILL after `killGraceMs`. */
  timeoutMs?: number;
  /** Between the timeout's SIGTERM and SIGKILL (default 1000 ms). */
  killGraceMs?: number;
  /** Prefix for every streamed line, e.g. "reader" gives "[reader] …". Also names the child in messages. */
  label?: string;
  /** Do not stream the child's output (it is still captured in the result). */
  quiet?: boolean;
  /** Text written to the child's stdin, which is then closed. */
  input?: string;
  /**
   * Characters of each stream kept in the result (default 16 Mi). Beyond that the output is
   * still streamed, but not kept: the result says how much it dropped. A child printing in a
   * loop cannot fill this process's memory.
   */
  maxCapture?: number;
}

const DEFAULT_MAX_CAPTURE = 16 * 1024 * 1024;

/** How a child ended. */
export class ChildResult {
  readonly pid: number;
  /** Exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** 'SIGSEGV', 'SIGBUS', 'SIGKILL', …, or null when it exited. */
  readonly signal: NodeJS.Signals | null;
  /** Everything the child wrote, as text. */
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  /** The timeout ran out and we killed it. */
  readonly timedOut: boolean;
  readonly label: string | undefined;
  /** Characters of output not kept in `stdout`/`stderr` (beyond `maxCapture`); 0 when all were kept. */
  readonly dropped: { stdout: number; stderr: number };

  constructor(fields: {
    pid: number;
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    durationMs: number;
    timedOut: boolean;
    label: string | undefined;
    dropped?: { stdout: number; stderr: number };
  }) {
    this.pid = fields.pid;
    this.code = fields.code;
    this.signal = fields.signal;
    this.stdout = fields.stdout;
    this.stderr = fields.stderr;
    this.durationMs = fields.durationMs;
    this.timedOut = fields.timedOut;
    this.label = fields.label;
    this.dropped = fields.dropped ?? { stdout: 0, stderr: 0 };
  }

  /** Exited with code 0. */
  get ok(): boolean {
    return this.code === 0;
  }

  /** One line for people: "child 1234 was killed by SIGSEGV (segmentation fault)". */
  get summary(): string {
    const who = `child ${this.pid}${this.label ? ` [${this.label}]` : ""}`;
    const how =
      this.signal !== null
        ? `was killed by ${this.signal} (${describeSignal(this.signal)})`
        : `exited with code ${this.code}`;
    const ms = Math.round(this.durationMs);
    return this.timedOut ? `${who} timed out after ${ms} ms and ${how}` : `${who} ${how}`;
  }

  /** The summary line: pid, and how the child ended. */
  toString(): string {
    return this.summary;
  }
}

/** A running child: its pid, its end, and ways to talk to it. */
export interface ChildHandle {
  readonly pid: number;
  readonly label: string | undefined;
  /** Resolves when the child has ended and its output is drained; never rejects for exit codes or signals. */
  readonly done: Promise<ChildResult>;
  /** Sends a signal (default SIGTERM). False if the child has already ended. */
  kill(signal?: NodeJS.Signals | number): boolean;
  /** Writes text to the child's stdin. */
  write(text: string): void;
  /** Closes the child's stdin (end of input). */
  end(): void;
  /** What the child has written to stdout so far (without labels). */
  readonly stdout: string;
  /** What the child has written to stderr so far. */
  readonly stderr: string;
}

// ---- children never outlive us ---------------------------------------------------------------

const running = new Map<number, ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  onExit(() => {
    killChildren("SIGKILL");
  });
}

/** Pids of the children started by runTs/spawnTs that are still running. */
export function runningChildren(): number[] {
  return [...running.keys()];
}

/** Sends `signal` (default SIGKILL) to every running child; returns how many were signalled. */
export function killChildren(signal: NodeJS.Signals | number = "SIGKILL"): number {
  let n = 0;
  for (const child of running.values()) if (child.kill(signal)) n++;
  return n;
}

// ---- starting one ----------------------------------------------------------------------------

function checkRunOptions(options: unknown): RunOptions {
  const o = validateOptions<RunOptions>(options, "options");
  if (o.args !== undefined) {
    if (!Array.isArray(o.args)) throw new ERR_INVALID_ARG_TYPE("options.args", "an array of strings", o.args);
    for (const [i, a] of o.args.entries()) validateCString(a, `options.args[${i}]`);
  }
  if (o.env !== undefined && (o.env === null || typeof o.env !== "object")) validateObject(o.env, "options.env");
  if (o.cwd !== undefined) {
    validateCString(o.cwd, "options.cwd");
    if (!fs.existsSync(o.cwd) || !fs.statSync(o.cwd).isDirectory()) {
      throw new ERR_INVALID_ARG_VALUE_RANGE("options.cwd", o.cwd, "must be an existing directory");
    }
  }
  if (o.timeoutMs !== undefined) validateInteger(o.timeoutMs, "options.timeoutMs", 1, 0x7fffffff);
  if (o.killGraceMs !== undefined) validateInteger(o.killGraceMs, "options.killGraceMs", 0, 0x7fffffff);
  if (o.label !== undefined) validateCString(o.label, "options.label");
  if (o.input !== undefined) validateCString(o.input, "options.input");
  if (o.maxCapture !== undefined) validateInteger(o.maxCapture, "options.maxCapture", 0, 2 ** 29);
  return o;
}

/**
 * Streams decoded text to process.stdout/stderr, with the label at the start of each line, and
 * keeps up to `cap` characters of it; `overflow` is called once when the first one is dropped.
 */
function streamer(which: "stdout" | "stderr", prefix: string, quiet: boolean, cap: number, overflow: () => void) {
  const decoder = new StringDecoder("utf8");
  let captured = "";
  let dropped = 0;
  let atLineStart = true;
  const emit = (text: string) => {
    if (text === "") return;
    const room = cap - captured.length;
    if (text.length <= room) captured += text;
    else {
      if (room > 0) captured += text.slice(0, room);
      if (dropped === 0) overflow();
      dropped += text.length - Math.max(room, 0);
    }
    if (quiet) return;
    let out = text;
    if (prefix) {
      out = (atLineStart ? prefix : "") + text.replace(/\n(?=.)/gs, "\n" + prefix);
      atLineStart = text.endsWith("\n");
    }
    // Looked up now, not captured at start: tslab swaps these to send output to the cell.
    process[which].write(out);
  };
  return {
    data: (chunk: Buffer) => emit(decoder.write(chunk)),
    flush: () => emit(decoder.end()),
    text: () => captured,
    dropped: () => dropped,
  };
}

/**
 * Starts `source` (TypeScript) in a child Node process and returns at once. Several children
 * can run side by side (a reader and a writer). A source that does not parse throws a
 * SyntaxError here, before anything is spawned; type errors are not checked.
 *
 * @example
 * {@includeCode ../../docs/examples/spawnTs.ts}
 */
export function spawnTs(source: string, options?: RunOptions): ChildHandle {
  validateCString(source, "source");
  const o = checkRunOptions(options);
  const fileName = (o.label ? o.label.replace(/[^\w.-]+/g, "_") : "child") + ".ts";
  const js = transpileForChild(source, fileName);
  const bootstrap = childBootstrap();

  const started = performance.now();
  const child = spawn(process.execPath, ["--enable-source-maps", bootstrap, ...(o.args ?? [])], {
    cwd: o.cwd ?? process.cwd(),
    env: {
      ...process.env,
      ...o.env,
      TSLAB_IPC_CHILD_FILENAME: fileName,
      TSLAB_IPC_ROOT: packageRoot(),
      TSLAB_IPC_PARENT_PID: String(process.pid),
    },
    // fd 3 carries the script (src/process/child.ts reads it to its end).
    stdio: ["pipe", "pipe", "pipe", "pipe"],
  });
  // Null when the spawn itself failed (its "error" event below says so).
  const scriptPipe = child.stdio[3] as Writable | null;
  // A child that dies before reading it all: not our error (its exit says what happened).
  scriptPipe?.on("error", () => {});
  scriptPipe?.end(js);
  const label = o.label;
  const prefix = label ? `[${label}] ` : "";
  const cap = o.maxCapture ?? DEFAULT_MAX_CAPTURE;
  const overflow = (which: string) => () => {
    if (o.quiet !== true)
      process.stderr.write(
        `${prefix}tslab-ipc: child ${child.pid}'s ${which} passed ${cap} characters; the rest is shown but not kept in the result\n`,
      );
  };
  const out = streamer("stdout", prefix, o.quiet === true, cap, overflow("stdout"));
  const err = streamer("stderr", prefix, o.quiet === true, cap, overflow("stderr"));
  child.stdout!.on("data", out.data);
  child.stderr!.on("data", err.data);
  // A child that exits without reading its input: not our error.
  child.stdin!.on("error", () => {});
  if (o.input !== undefined) child.stdin!.end(o.input);

  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  if (o.timeoutMs !== undefined) {
    timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGTERM");
      graceTimer = setTimeout(() => child.kill("SIGKILL"), o.killGraceMs ?? 1000);
      graceTimer.unref();
    }, o.timeoutMs);
  }

  const done = new Promise<ChildResult>((resolve, reject) => {
    child.once("error", (e) => {
      // spawn failed (no such cwd, too many processes): there is no child to wait for.
      if (child.pid === undefined) {
        clearTimeout(timer);
        reject(e);
      }
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      clearTimeout(graceTimer);
      if (child.pid !== undefined) running.delete(child.pid);
      out.flush();
      err.flush();
      const result = new ChildResult({
        pid: child.pid ?? -1,
        code,
        signal,
        stdout: out.text(),
        stderr: err.text(),
        durationMs: performance.now() - started,
        timedOut,
        label,
        dropped: { stdout: out.dropped(), stderr: err.dropped() },
      });
      // As a shell does: say so when a child dies of a signal or a timeout.
      if ((signal !== null || timedOut) && o.quiet !== true) process.stderr.write(result.summary + "\n");
      // A child killed by a signal may not have removed what it made (SIGKILL, a crash, a
      // signal while it blocked): removed now, as its exit would have, not at the next reap().
      // Done after resolve: a reap that fails cannot keep the result from its caller.
      resolve(result);
      if (signal !== null) {
        const left = reap().removed.length;
        if (left > 0 && o.quiet !== true)
          process.stderr.write(`${prefix}tslab-ipc: removed ${left} object(s) left by processes that died\n`);
      }
    });
  });

  if (child.pid !== undefined) {
    running.set(child.pid, child);
    installExitHook();
  }

  return {
    pid: child.pid ?? -1,
    label,
    done,
    kill: (signal: NodeJS.Signals | number = "SIGTERM") =>
      child.exitCode === null && child.signalCode === null ? child.kill(signal) : false,
    write: (text: string) => {
      validateCString(text, "text");
      child.stdin!.write(text);
    },
    end: () => {
      child.stdin!.end();
    },
    get stdout() {
      return out.text();
    },
    get stderr() {
      return err.text();
    },
  };
}

/**
 * Runs `source` (TypeScript) in a child Node process and resolves when it has ended, with its
 * exit code or signal and its output. Inside the child, `import { … } from "tslab-ipc"` loads
 * this package. The child's stdin is closed at once unless `input` is given (then it gets that).
 *
 * @example
 * {@includeCode ../../docs/examples/runTs.ts}
 */
export async function runTs(source: string, options?: RunOptions): Promise<ChildResult> {
  const handle = spawnTs(source, options);
  if (options?.input === undefined) handle.end();
  return handle.done;
}
