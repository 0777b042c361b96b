// Names and descriptions of signals, for the line that says how a child ended.
import os from "os";
import { fn } from "../ffi/libc";

/** 'segmentation fault' for SIGSEGV: strsignal(3), lower-cased like our errno messages. */
export function describeSignal(signal: NodeJS.Signals | string): string {
  const num = (os.constants.signals as Record<string, number>)[signal];
  if (num === undefined) return signal;
  const text = String(fn.strsignal(num) ?? signal);
  return text.charAt(0).toLowerCase() + text.slice(1);
}
