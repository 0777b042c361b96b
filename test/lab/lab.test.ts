// src/lab: the conveniences notebook cells use.
import fs from "fs";
import path from "path";
import { compileC, labDir, noCompilerReason, runProgram, uniqueName } from "../../src/lab";

describe("uniqueName", () => {
  test("differs on every call and carries the prefix and the pid", () => {
    const names = new Set(Array.from({ length: 100 }, () => uniqueName("shmdemo")));
    expect(names.size).toBe(100);
    for (const n of names) expect(n).toMatch(new RegExp(`^shmdemo-${process.pid}-\\d+-[0-9a-f]{6}$`));
  });
  test("refuses prefixes that are not safe in file and shm names", () => {
    expect(() => uniqueName("a/b")).toThrow(RangeError);
    expect(() => uniqueName(42 as unknown as string)).toThrow(TypeError);
  });
});

describe("labDir", () => {
  test("one folder per process, 0700, re-created if someone removed it", () => {
    const a = labDir();
    expect(labDir()).toBe(a);
    expect(fs.statSync(a).mode & 0o777).toBe(0o700);
    expect(path.basename(a)).toMatch(new RegExp(`^tslab-ipc-lab-${process.pid}-`));
    fs.rmSync(a, { recursive: true });
    const b = labDir();
    expect(fs.existsSync(b)).toBe(true);
  });
});

const cc = noCompilerReason() === null ? describe : describe.skip;
cc("compileC and runProgram (cc present)", () => {
  test("compiles, runs with arguments in a folder, reports exit codes and signals", () => {
    const prog = compileC(
      '#include <stdio.h>\n#include <unistd.h>\nint main(int c, char **v) { char d[256]; printf("%s %s\\n", v[1], getcwd(d, sizeof d)); return 3; }\n',
      "echo-cwd",
    );
    expect(prog).not.toBeNull();
    const r = runProgram(prog!.path, ["hi"], { cwd: "/tmp" });
    expect(r).toEqual({ stdout: "hi /tmp\n", stderr: "", code: 3, signal: null });
    const crash = compileC("#include <signal.h>\nint main(void) { raise(SIGSEGV); return 0; }\n", "crash");
    expect(runProgram(crash!.path).signal).toBe("SIGSEGV");
  });
  test("a program the time limit ended says so (timedOut), apart from one a signal from elsewhere ended", () => {
    const spin = compileC("int main(void) { for (;;) {} }\n", "spin");
    expect(runProgram(spin!.path, [], { timeout: 200 })).toEqual({
      stdout: "",
      stderr: "",
      code: null,
      signal: "SIGTERM",
      timedOut: true,
    });
    const terminated = compileC("#include <signal.h>\nint main(void) { raise(SIGTERM); return 0; }\n", "terminated");
    expect(runProgram(terminated!.path, [], { timeout: 5000 })).toEqual({
      stdout: "",
      stderr: "",
      code: null,
      signal: "SIGTERM",
    });
  });
  test("a source that does not compile throws with cc's message; warnings are returned", () => {
    expect(() => compileC("int main(void) { return x; }\n", "broken")).toThrow(/broken\.c.*x.*undeclared/s);
    expect(compileC("int main(void) { int unused; return 0; }\n", "warns")!.warnings).toMatch(/unused/);
  });
  test("bad names are refused before anything is written", () => {
    expect(() => compileC("int main(void){return 0;}", "../escape")).toThrow(RangeError);
    expect(() => compileC(1 as unknown as string, "x")).toThrow(TypeError);
  });
});

test("compileC without a compiler returns null with a reason ($CC names none)", () => {
  // A fresh module instance, so the once-per-process compiler check runs again with this PATH.
  jest.isolateModules(() => {
    const saved = process.env.CC;
    process.env.CC = "/nonexistent/cc";
    try {
      const lab = require("../../src/lab") as typeof import("../../src/lab");
      expect(lab.noCompilerReason()).toMatch(/no C compiler/);
      expect(lab.compileC("int main(void){return 0;}", "none")).toBeNull();
    } finally {
      if (saved === undefined) delete process.env.CC;
      else process.env.CC = saved;
    }
  });
});
