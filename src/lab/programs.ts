// Compile the lecture's C programs and run them beside the TypeScript twin. Where there is no
// C compiler the notebook says so and goes on: compileC returns null (never throws for that).
import { spawnSync } from "child_process";
import fs from "fs";
import path from "path";
import { labDir } from "./labdir";
import { fromNodeError } from "../errors";
import { ERR_INVALID_ARG_VALUE_RANGE, withCode } from "../codes";
import { validateOptions, validateString, validateStringArray } from "../validators";

/** A C program `compileC` built: its path and the compiler's messages. */
export interface CompiledProgram {
  /** Absolute path of the executable (in labDir()). */
  path: string;
  /** What cc printed (warnings); "" when it was silent. */
  warnings: string;
}

/** How `runProgram` runs a program: working folder, time limit and standard input. */
export interface ProgramOptions {
  /** Working directory of the program (default: labDir()). */
  cwd?: string;
  /**
   * Send the program SIGTERM after this many milliseconds (default 10000); the result then says
   * `timedOut: true`. A program that ignores SIGTERM runs on to its end.
   */
  timeout?: number;
  /** Bytes written to its standard input. */
  input?: string;
}

/** How a program ended: its output, exit code or signal. */
export interface ProgramResult {
  stdout: string;
  stderr: string;
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it ("SIGSEGV"), or null. */
  signal: string | null;
  /**
   * Present, and true, when the time limit ran out and the program was sent SIGTERM: what tells
   * `signal: "SIGTERM"` from the timeout apart from one another process sent.
   */
  timedOut?: true;
}

let compilerReason: string | null | undefined;
let warned = false;

/** The C compiler: $CC, or cc. */
function compiler(): string {
  return process.env.CC || "cc";
}

/**
 * Why C programs cannot be compiled here ("no C compiler: cc not found"), or null when the
 * compiler ($CC, or cc) works. Checked once per process.
 */
export function noCompilerReason(): string | null {
  if (compilerReason !== undefined) return compilerReason;
  const r = spawnSync(compiler(), ["--version"], { encoding: "utf8" });
  if (r.error) {
    compilerReason = `no C compiler: ${compiler()} ${(r.error as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : r.error.message}`;
  } else if (r.status !== 0) {
    compilerReason = `no C compiler: ${compiler()} --version exited with ${r.status}`;
  } else {
    compilerReason = null;
  }
  return compilerReason;
}

/**
 * Writes `source` to `labDir()/<name>.c` and compiles it with `cc -O2 -Wall` ($CC if set) to
 * `labDir()/<name>`. Returns null (and prints the reason once) when there is no compiler;
 * throws an Error with cc's diagnostics when the source does not compile.
 *
 *   const demo = compileC(source, "shmdemo");
 *   if (demo) runProgram(demo.path, ["hello"]);
 */
export function compileC(source: string, name: string): CompiledProgram | null {
  validateString(source, "source");
  validateString(name, "name");
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(name) || name.startsWith(".")) {
    throw new ERR_INVALID_ARG_VALUE_RANGE(
      "name",
      name,
      'must be a file name of 1 to 200 letters, digits, ".", "_" and "-", not starting with "."',
    );
  }
  const reason = noCompilerReason();
  if (reason !== null) {
    if (!warned) console.log(`${reason}; the C side of this notebook is skipped.`);
    warned = true;
    return null;
  }
  const dir = labDir();
  const file = path.join(dir, `${name}.c`);
  const exe = path.join(dir, name);
  fs.writeFileSync(file, source);
  // "./" first: a name starting with "-" is a file to cc, never an option.
  const r = spawnSync(compiler(), ["-O2", "-Wall", "-o", `./${name}`, `./${name}.c`], { cwd: dir, encoding: "utf8" });
  if (r.error) throw r.error;
  if (r.status !== 0)
    throw withCode(new Error(`cc could not compile ${name}.c:\n${r.stderr}`), "ERR_CC_FAILED", {
      status: r.status,
      stderr: r.stderr,
    });
  return { path: exe, warnings: r.stderr };
}
/**
 * Runs a program to completion and returns what it printed and how it ended; a non-zero exit
 * or a signal is a result, not an exception.
 *
 *   runProgram(demo.path, ["hello"], { cwd: labDir() })  // { stdout: 'writing to segment: "hello"\n', stderr: "", code: 0, signal: null }
 */
export function runProgram(file: string, args: readonly string[] = [], options: ProgramOptions = {}): ProgramResult {
  options = validateOptions<ProgramOptions>(options, "options");
  validateString(file, "file");
  validateStringArray(args, "args");
  const r = spawnSync(file, args, {
    cwd: options.cwd ?? labDir(),
    timeout: options.timeout ?? 10000,
    input: options.input,
    encoding: "utf8",
  });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT";
  if (r.error && !timedOut) throw fromNodeError(r.error, "spawn", { path: file });
  const result: ProgramResult = { stdout: r.stdout ?? "", stderr: r.stderr ?? "", code: r.status, signal: r.signal };
  // Only when it happened, so that the result of every run that ended by itself reads as before.
  if (timedOut) result.timedOut = true;
  return result;
}
