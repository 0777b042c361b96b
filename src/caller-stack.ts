// Where an error of tslab-ipc says it came from: the function of tslab-ipc that was called, then
// the caller's frames, as Node's own errors start at `Object.openSync (node:fs)` and not at the
// validator or the errno helper that built them (Node's hideStackFrames).
//
// Invariants:
// - Only the leading run of this package's frames is cut, and its last frame is kept: it is the
//   call the user made (`shmget`, `Segment.create`). A frame of this package below a frame of
//   the user's (a callback's caller) stays.
// - The stack keeps Error.stackTraceLimit frames of its own: the frames cut are captured on top.
// - The stack's header is V8's (`TypeError: message`), or the one given (Node's
//   `TypeError [ERR_INVALID_ARG_TYPE]: message`).
import { join, sep } from "path";

/** This package's compiled and source roots (this file sits in one): a child run with source
 * maps (spawnTs) names the frames of dist/ by their src/ files. */
const OWN_ROOTS = ["dist", "src"].map((root) => join(__dirname, "..", root) + sep);
/** Frames captured above the limit for the helpers that will be cut; deeper helpers just cost frames. */
const HELPER_FRAMES = 12;
const FRAME = /^\s+at /;

function isOwnFrame(line: string): boolean {
  return OWN_ROOTS.some((root) => line.includes(`(${root}`) || line.includes(`at ${root}`));
}

/**
 * Captures `err.stack` anew from its caller, without this package's helpers above the function
 * the user called. `constructorOpt` is left out of the stack with everything above it (see
 * Error.captureStackTrace); `header` replaces the stack's first line(s) when given. The stack is
 * formatted here, not at its first read as V8 would: a failed shmget took 26 µs instead of 13.5,
 * an argument error 19 instead of 11; an accessor formatting at the first read took 50, since
 * defining a property on an Error costs ~8 µs by itself.
 */
export function captureCallerStack(err: Error, constructorOpt: Function, header?: string): void {
  const limit = Error.stackTraceLimit;
  const raise = typeof limit === "number" && Number.isFinite(limit) && isWritable();
  if (raise) Error.stackTraceLimit = limit + HELPER_FRAMES;
  try {
    Error.captureStackTrace(err, constructorOpt);
  } finally {
    if (raise) Error.stackTraceLimit = limit;
  }
  const stack: unknown = err.stack;
  if (typeof stack !== "string") return;
  const lines = stack.split("\n");
  const found = lines.findIndex((line) => FRAME.test(line));
  const first = found < 0 ? lines.length : found;
  const frames = callerFrames(lines.slice(first), raise ? limit : Infinity);
  err.stack = [header ?? lines.slice(0, first).join("\n"), ...frames].join("\n");
}

/** A captured stack's frame lines, from the last of this package's leading frames on. */
function callerFrames(frames: string[], limit: number): string[] {
  let own = 0;
  while (own < frames.length && isOwnFrame(frames[own])) own++;
  const from = Math.max(0, own - 1);
  return frames.slice(from, from + limit);
}

function isWritable(): boolean {
  const d = Object.getOwnPropertyDescriptor(Error, "stackTraceLimit");
  return d === undefined || d.writable === true || d.set !== undefined;
}
