// The one owner of this process's exit and signal hooks (exit, SIGINT, SIGTERM, SIGHUP), and of
// its look at an uncaught error before Node prints it. Every other module registers here; none
// calls process.on.
//
// Invariants:
// - Exit hooks (cleanup: created objects, lab folder, child processes) run at most once, last
//   registered first (as atexit does): on 'exit', or before the process dies of a signal.
// - The policy is explicit, declared by the program that hosts the library (the kernel, a CLI),
//   never guessed from who else listens:
//     no host (a plain program, a child): SIGINT, SIGTERM and SIGHUP run the interrupt or
//       terminate hooks, then the exit hooks, then the process dies of the same signal, as if
//       nobody had listened (exit status 128+n, the shell sees the signal).
//     a host that handles interrupts (the kernel: SIGINT interrupts a cell): SIGINT runs the
//       interrupt hooks only; nothing is cleaned up and the process lives.
//     a host that handles termination: SIGTERM/SIGHUP run the terminate hooks only; the host
//       exits when it is ready, and the exit hooks run then.
// - A process listener exists only while something needs it. Listening to SIGINT cancels Node's
//   default (death), so with no hooks there is no listener and no changed behaviour. Nor while a
//   call blocks the thread for long in a program that is no host (withDefaultSignals): a listener
//   could not run until it returned, and the process would be deaf to the signal.

import { validateFunction, validateObject } from "../validators";

/** Removes the hook it was returned for; calling it twice is harmless. */
export type Unregister = () => void;

/** What the host process (the notebook kernel) handles itself, so the library's hooks leave it alone. */
export interface HostPolicy {
  /** SIGINT belongs to the host (it interrupts work, it does not end the process). */
  handlesInterrupts?: boolean;
  /** SIGTERM and SIGHUP belong to the host (it ends the process itself, and exit hooks run then). */
  handlesTermination?: boolean;
}

type TerminationSignal = "SIGTERM" | "SIGHUP";
const TERMINATION_SIGNALS: readonly TerminationSignal[] = ["SIGTERM", "SIGHUP"];

const exitHooks = new Set<() => void>();
const interruptHooks = new Set<() => void>();
const terminateHooks = new Set<(signal: TerminationSignal) => void>();
const uncaughtHooks = new Set<(error: unknown) => void>();
let host: Required<HostPolicy> = { handlesInterrupts: false, handlesTermination: false };
let exitHooksRan = false;
// Above 0 while a call blocks the JavaScript thread with the signals at their default (withDefaultSignals).
let defaultSignals = 0;
// Set while the process re-raises a signal to die of it: no listener may come back.
let dying = false;

function runHook(hook: () => void, what: string): void {
  try {
    hook();
  } catch (e) {
    // One failing hook must not keep the others from cleaning up.
    try {
      process.stderr.write(`tslab-ipc: ${what} hook failed: ${e instanceof Error ? e.message : String(e)}\n`);
    } catch {
      /* no stderr left */
    }
  }
}

function runExitHooks(): void {
  if (exitHooksRan) return;
  exitHooksRan = true;
  for (const hook of [...exitHooks].reverse()) runHook(hook, "exit");
}

/** Ends the process by `signal`, as the signal would have with nobody listening. */
function dieBy(signal: NodeJS.Signals): void {
  runExitHooks();
  dying = true;
  process.removeListener("SIGINT", onSigint);
  for (const s of TERMINATION_SIGNALS) process.removeListener(s, onTermination);
  listening.clear();
  process.kill(process.pid, signal);
}

function onSigint(): void {
  for (const hook of [...interruptHooks]) runHook(hook, "interrupt");
  if (!host.handlesInterrupts) dieBy("SIGINT");
}

function onTermination(signal: NodeJS.Signals): void {
  const s = signal as TerminationSignal;
  for (const hook of [...terminateHooks]) runHook(() => hook(s), "terminate");
  if (!host.handlesTermination) dieBy(s);
}

function onProcessExit(): void {
  runExitHooks();
}

function onUncaught(error: unknown): void {
  for (const hook of [...uncaughtHooks]) runHook(() => hook(error), "uncaught error");
}

// The events we listen to, as we left them. Not read back from process.listeners(): Node takes
// every SIGINT listener away while a script runs with breakOnSigint (how tslab runs a cell) and
// gives them back after. Read back, a hook registered meanwhile (a session's first segment)
// put ours back at once, and libuv's handler then took SIGINT from the script's watchdog: that
// cell could no longer be interrupted, and the interrupt was lost.
type ProcessEvent = NodeJS.Signals | "exit" | "uncaughtExceptionMonitor";
const listening = new Set<ProcessEvent>();

function setListening(event: ProcessEvent, listener: (...args: never[]) => void, wanted: boolean): void {
  if (wanted === listening.has(event)) return;
  if (wanted) {
    process.on(event as NodeJS.Signals, listener as NodeJS.SignalsListener);
    listening.add(event);
  } else {
    process.removeListener(event as NodeJS.Signals, listener as NodeJS.SignalsListener);
    listening.delete(event);
  }
}

/** Adds or removes the process listeners so that they match the hooks and the policy. */
function sync(): void {
  if (dying) return;
  const cleanup = exitHooks.size > 0 && !exitHooksRan;
  setListening("exit", onProcessExit, cleanup);
  setListening("uncaughtExceptionMonitor", onUncaught, uncaughtHooks.size > 0);
  const listen = defaultSignals === 0;
  const interrupt = listen && (interruptHooks.size > 0 || (cleanup && !host.handlesInterrupts));
  setListening("SIGINT", onSigint, interrupt);
  const terminate = listen && (terminateHooks.size > 0 || (cleanup && !host.handlesTermination));
  for (const s of TERMINATION_SIGNALS) setListening(s, onTermination, terminate);
}

function register<T>(set: Set<T>, hook: T, kind: string): Unregister {
  validateFunction(hook, kind);
  set.add(hook);
  sync();
  return () => {
    set.delete(hook);
    sync();
  };
}

/**
 * Runs `hook` once when the process ends: at exit, or before it dies of SIGINT/SIGTERM/SIGHUP
 * (unless the host handles that signal). Hooks run last registered first. Returns a function
 * that unregisters it.
 */
export function onExit(hook: () => void): Unregister {
  return register(exitHooks, hook, "hook");
}

/** Runs `hook` on every SIGINT, before anything else happens (waits reject with EINTR here). */
export function onInterrupt(hook: () => void): Unregister {
  return register(interruptHooks, hook, "hook");
}

/** Runs `hook(signal)` on every SIGTERM and SIGHUP, before the exit hooks. */
export function onTerminate(hook: (signal: "SIGTERM" | "SIGHUP") => void): Unregister {
  return register(terminateHooks, hook, "hook");
}

/**
 * Runs `hook(error)` when an error is about to end the process (Node's uncaughtExceptionMonitor,
 * before Node prints it): a hook may add to the error's message, and should do nothing else.
 * Node still prints the error and exits with code 1, as with nobody looking.
 */
export function onUncaughtError(hook: (error: unknown) => void): Unregister {
  return register(uncaughtHooks, hook, "hook");
}

/**
 * Declares what the program hosting the library handles itself. The kernel calls
 * `setHost({ handlesInterrupts: true })`: SIGINT then interrupts a cell and never cleans up or
 * ends the kernel. Returns a function that restores the previous policy.
 */
export function setHost(policy: HostPolicy): Unregister {
  validateObject(policy, "policy");
  const previous = host;
  host = {
    handlesInterrupts: policy.handlesInterrupts === true,
    handlesTermination: policy.handlesTermination === true,
  };
  sync();
  return () => {
    host = previous;
    sync();
  };
}

/** Whether the host handles SIGINT (the kernel): cheaper than hostPolicy() on a hot path. */
export function hostHandlesInterrupts(): boolean {
  return host.handlesInterrupts;
}

/** Whether a listener of ours holds SIGINT, SIGTERM or SIGHUP (then it runs only on the event loop). */
export function listensToSignals(): boolean {
  return listening.has("SIGINT") || listening.has("SIGTERM");
}

/**
 * Runs `blocking`, a call that holds the JavaScript thread in the kernel for long, with SIGINT,
 * SIGTERM and SIGHUP at what they do with nobody listening: our listeners could run only once
 * the call returned, so a process blocked for good was deaf to all three (src/sync/blocking.ts).
 * A signal then ends the process as it ends a C program blocked in the same call, without the
 * exit hooks: what it created is left to reap(), as after SIGKILL. Other listeners (the
 * program's own) stay, and keep their signal from Node as they always do.
 */
export function withDefaultSignals<T>(blocking: () => T): T {
  defaultSignals++;
  sync();
  try {
    return blocking();
  } finally {
    defaultSignals--;
    sync();
  }
}

/** The policy in force. */
export function hostPolicy(): Required<HostPolicy> {
  return { ...host };
}
