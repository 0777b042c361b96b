// An error of tslab-ipc starts its stack at the call the user made, as Node's own errors start at
// `Object.openSync (node:fs)`: not at the validator or errno helper that built it, and with
// Error.stackTraceLimit frames of the caller's still there.
import { IPC_CREAT, IPC_PRIVATE, IPC_RMID, IpcError, measure, shmat, shmctl, shmdt, shmget } from "../src";

const thrownBy = (call: () => unknown): Error & { code?: string } => {
  try {
    call();
  } catch (e) {
    return e as Error;
  }
  throw new Error("the call did not throw");
};
const framesOf = (e: Error) => String(e.stack).split("\n").slice(1);
const UNUSED_KEY = 0x7e57ab1f;

test("a failed call's IpcError starts at the function called, then the caller", () => {
  const e = thrownBy(() => shmget(UNUSED_KEY, 4096, 0));
  expect(e).toBeInstanceOf(IpcError);
  expect(String(e.stack).split("\n")[0]).toBe("IpcError: ENOENT: no such file or directory, shmget key 0x7e57ab1f");
  const [called, caller] = framesOf(e);
  expect(called).toMatch(/^ {4}at (Object\.)?shmget \(.*[/]src[/]sys[/]sysv\.ts:\d+:\d+\)$/);
  expect(caller).toContain("caller-stack.test.ts");
  expect(String(e.stack)).not.toMatch(/errors\.ts|throwErrno|ipcErrorFromErrno|getSegment/);
});

test("an argument error has Node's header with its code, and starts at the function called", () => {
  const e = thrownBy(() => shmget("0x1234" as unknown as number, 4096, 0));
  expect(e.code).toBe("ERR_INVALID_ARG_TYPE");
  expect(String(e.stack).split("\n")[0]).toBe(
    `TypeError [ERR_INVALID_ARG_TYPE]: The "key" argument must be of type number. Received type string ('0x1234')`,
  );
  expect(framesOf(e)[0]).toMatch(/^ {4}at (Object\.)?shmget \(/);
  expect(framesOf(e)[1]).toContain("caller-stack.test.ts");
  expect(String(e.stack)).not.toMatch(/validators\.ts|validateInteger|checkKey/);
  // The string form and the message are Node's, unchanged.
  expect(String(e)).toBe(`TypeError [ERR_INVALID_ARG_TYPE]: ${e.message}`);
});

test("an error of a method (withCode) starts at the method called, not at the check it calls", () => {
  const id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600);
  const data = shmat(id, null, 0);
  try {
    const e = thrownBy(() => data.writeString("x".repeat(5000)));
    expect(e.code).toBe("ERR_OUT_OF_RANGE");
    expect(String(e.stack).split("\n")[0]).toBe(`RangeError [ERR_OUT_OF_RANGE]: ${e.message}`);
    expect(framesOf(e)[0]).toMatch(/^ {4}at Attachment\.writeString \(.*[/]src[/]sys[/]region\.ts:\d+:\d+\)$/);
    expect(framesOf(e)[1]).toContain("caller-stack.test.ts");
  } finally {
    shmdt(data);
    shmctl(id, IPC_RMID);
  }
});

test("deep in the caller's recursion the stack still holds Error.stackTraceLimit frames", () => {
  const deep = (n: number): unknown => (n === 0 ? shmget(UNUSED_KEY, 4096, 0) : deep(n - 1));
  const limit = Error.stackTraceLimit; // jest's is 100; Node's 10
  Error.stackTraceLimit = 10;
  try {
    const frames = framesOf(thrownBy(() => deep(30)));
    expect(frames).toHaveLength(10);
    expect(frames[0]).toMatch(/at (Object\.)?shmget \(/);
    expect(frames.slice(1).every((f) => /at deep \(/.test(f))).toBe(true);
    expect(Error.stackTraceLimit).toBe(10);
  } finally {
    Error.stackTraceLimit = limit;
  }
});

test("a frame of the library below the caller's stays: measure() ran the function that failed", () => {
  const frames = framesOf(thrownBy(() => measure(() => shmget(UNUSED_KEY, 4096, 0))));
  expect(frames[0]).toMatch(/at (Object\.)?shmget \(/);
  expect(frames[1]).toContain("caller-stack.test.ts");
  expect(frames.some((f) => /at (Object\.)?measure \(.*[/]src[/]measure[/]faults\.ts/.test(f))).toBe(true);
});

test("Error.stackTraceLimit is the user's: 0 gives the header alone and stays 0", () => {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    const e = thrownBy(() => shmget(UNUSED_KEY, 4096, 0));
    expect(Error.stackTraceLimit).toBe(0);
    expect(e.stack).toBe("IpcError: ENOENT: no such file or directory, shmget key 0x7e57ab1f");
  } finally {
    Error.stackTraceLimit = limit;
  }
});

test("an IpcError the user makes starts at the user's line, and its stack can be replaced", () => {
  const e = new IpcError("EIO", "EIO: input/output error, a test of the user's own");
  expect(framesOf(e)[0]).toContain("caller-stack.test.ts");
  e.stack = "replaced";
  expect(e.stack).toBe("replaced");
  // Fields the error does not have are not there (Node's fs errors show none as undefined).
  expect(Object.keys(e).sort()).toEqual(["code", "name"]);
});
