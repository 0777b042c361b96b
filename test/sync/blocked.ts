// For the tests of blocking calls and signals (word.test.ts, lock.test.ts, slice-watchdog.test.ts).
import fs from "fs";
import type { ChildHandle, ChildResult } from "../../src";
import { SYS_futex } from "../../src/sync/futex";
import { raceTimeout } from "../helpers";

/** Whether process `pid` catches signal number `signo` now (/proc/<pid>/status, SigCgt). */
export function catches(pid: number, signo: number): boolean {
  const mask = /SigCgt:\s*([0-9a-f]+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "0";
  return ((BigInt(`0x${mask}`) >> BigInt(signo - 1)) & 1n) === 1n;
}

/**
 * The arguments of the futex(2) call process `pid`'s main thread is in now, as hex strings
 * (/proc/<pid>/syscall: uaddr, op, val, timeout, ...), or null when it is in none.
 */
export function futexArgs(pid: number): string[] | null {
  const [call, ...args] = fs.readFileSync(`/proc/${pid}/syscall`, "utf8").trim().split(" ");
  return call === String(SYS_futex) ? args : null;
}

/** Whether process `pid`'s main thread is in futex(2) now. */
export function inFutex(pid: number): boolean {
  return futexArgs(pid) !== null;
}

/**
 * Once `child` has printed "waiting" and sleeps in futex(2) (in a plain program also past the
 * first slice, when it no longer catches SIGINT; src/sync/blocking.ts), sends it `signal`: sent
 * earlier, it may come before the wait (a kernel's listener takes it, and the wait never hears
 * of it). Its result, or null if it did not end within 10 s (then it is killed).
 */
export async function signalWhenBlocked(
  child: ChildHandle,
  signal: NodeJS.Signals,
  plain = true,
): Promise<ChildResult | null> {
  const SIGINT = 2;
  const until = Date.now() + 10_000;
  const blocked = () =>
    child.stdout.includes("waiting") && inFutex(child.pid) && !(plain && catches(child.pid, SIGINT));
  while (Date.now() < until && !blocked()) await new Promise((r) => setTimeout(r, 20));
  child.kill(signal);
  const ended = await raceTimeout([child.done], 10_000);
  if (!ended) child.kill("SIGKILL");
  return ended ?? null;
}

/**
 * A child program that makes a segment (its cleanup: the library then listens to the signals),
 * runs `setup`, prints "waiting", then runs `call`: as a cell runs (vm's breakOnSigint, in a
 * host that handles interrupts, as the kernel) when `kernelLike`. It prints what `call` returned
 * or the message of what it threw.
 */
export function blockingProgram(kernelLike: boolean, setup: string, call: string): string {
  return `
    import vm from "vm";
    import { SharedSegment, SharedWord, ShmLock, shmat, lifecycle } from "tslab-ipc";
    ${kernelLike ? `lifecycle.setHost({ handlesInterrupts: true }); process.on("SIGINT", () => {});` : ""}
    const seg = SharedSegment.create({ size: 4096 });
    ${setup}
    console.log("waiting");
    try {
      console.log(vm.runInThisContext(${JSON.stringify(call)}, { breakOnSigint: ${kernelLike} }));
    } catch (e: any) {
      console.log(e.message);
    }`;
}
