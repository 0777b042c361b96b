// The bootstrap a child process starts with (`node dist/process/child.js args…`), before the
// student's code runs:
//  - it dies with its parent (PR_SET_PDEATHSIG), even when the parent is SIGKILLed;
//  - it writes no core file when it crashes on purpose (RLIMIT_CORE soft limit 0);
//  - `import … from "tslab-ipc"` means this package's dist/index.js, from any cwd, and bare
//    imports the cwd cannot resolve fall back to this package's own node_modules;
//  - a name of this package used without its import (`mmap is not defined`: the notebook
//    preloads the API, a child does not) is named as such in the error Node prints;
//  - the stack of an error that ends the child ends at the student's code: the wrapper's call,
//    Node's module loader and this bootstrap are not the student's frames;
//  - process.argv.slice(2) are the args the parent passed;
//  - the script comes on fd 3, a pipe spawnTs writes and closes, so nothing of it is on disk.
import fs from "fs";
import Module from "module";
import path from "path";
import { fn } from "../ffi/libc";
import { withCode } from "../codes";
import { onUncaughtError } from "./lifecycle";

const PR_SET_PDEATHSIG = 1;
const RLIMIT_CORE = 4;
/** Where spawnTs passes the script: a pipe it writes and closes (src/process/spawn.ts). */
const SCRIPT_FD = 3;

/** Whether `fd` is open and a pipe or socket (what spawnTs gives; not a file or a terminal). */
function isPipe(fd: number): boolean {
  try {
    const st = fs.fstatSync(fd);
    return st.isFIFO() || st.isSocket();
  } catch {
    return false;
  }
}

function dieWithParent(): void {
  fn.prctl(
    PR_SET_PDEATHSIG,
    "unsigned long",
    9 /* SIGKILL */,
    "unsigned long",
    0,
    "unsigned long",
    0,
    "unsigned long",
    0,
  );
  // The parent may have died before prctl took effect: then we are already orphaned.
  const parent = Number(process.env.TSLAB_IPC_PARENT_PID);
  if (parent && process.ppid !== parent) process.kill(process.pid, "SIGKILL");
}

function noCoreFiles(): void {
  const limit = new BigUint64Array(2);
  if (fn.getrlimit(RLIMIT_CORE, limit) === 0) {
    limit[0] = 0n;
    fn.setrlimit(RLIMIT_CORE, limit);
  }
}

type Resolve = (request: string, parent: unknown, isMain: boolean, options?: unknown) => string;

function resolveOurPackage(root: string, cwd: string): void {
  const M = Module as unknown as { _resolveFilename: Resolve };
  const original = M._resolveFilename;
  const index = path.join(root, "dist", "index.js");
  M._resolveFilename = function (request, parent, isMain, options) {
    if (request === "tslab-ipc") return index;
    if (request.startsWith("tslab-ipc/"))
      return original.call(this, path.join(root, request.slice("tslab-ipc/".length)), parent, isMain, options);
    try {
      return original.call(this, request, parent, isMain, options);
    } catch (e) {
      const bare = !request.startsWith(".") && !path.isAbsolute(request);
      if (!bare || (e as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw e;
      return original.call(this, request, parent, isMain, { paths: [cwd, root] });
    }
  };
}

/**
 * The error Node prints when one ends the child, made to speak of the student's code. It runs
 * before Node prints the error (lifecycle.onUncaughtError) and changes nothing else: exit code 1
 * and the printing are Node's.
 * - `mmap is not defined`, when the name is one of this package's exports, says what to import
 *   (the package is loaded only then, to read its names). The message changes before the stack
 *   is first read, so the stack's header has the note too.
 * - The stack loses the frames below the student's: the call of the top-level-await wrapper,
 *   `Module._compile` and this file's own (`main`), then Node's loader, which were eight of ten.
 */
function reportUncaughtAsTheStudents(index: string, filename: string): void {
  onUncaughtError((error) => {
    if (!(error instanceof Error)) return;
    noteMissingImport(error, index);
    const stack = error.stack;
    if (typeof stack === "string") error.stack = withoutBootstrapFrames(stack, filename);
  });
}

function noteMissingImport(error: Error, index: string): void {
  if (!(error instanceof ReferenceError)) return;
  const name = /^([\w$]+) is not defined$/.exec(error.message)?.[1];
  if (name === undefined) return;
  try {
    if (!Object.hasOwn(require(index), name)) return;
  } catch {
    return;
  }
  error.message += `\n  note: ${name} is tslab-ipc's. A child does not get the names a notebook preloads: start its source with import { ${name} } from "tslab-ipc";`;
}

/** This bootstrap's `main`, as a frame: dist/process/child.js, or src/process/child.ts through a source map. */
const BOOTSTRAP_FRAME = /^ {4}at main \(.*[/\\]process[/\\]child\.[jt]s:\d+:\d+\)$/;

/**
 * `stack` without the frames from the bootstrap's call of the student's module down: the
 * `Module._compile` above `main`, and the module's own top-level frame above that (the wrapper's
 * call: every line the student wrote runs inside the wrapper). A stack that does not pass through
 * `main` (an error thrown after an await) stays as it is.
 */
function withoutBootstrapFrames(stack: string, filename: string): string {
  const lines = stack.split("\n");
  const main = lines.findIndex((line) => BOOTSTRAP_FRAME.test(line));
  if (main < 2 || !lines[main - 1].startsWith("    at Module._compile ")) return stack;
  const wrapper = lines[main - 2].startsWith(`    at Object.<anonymous> (${filename}:`);
  return lines.slice(0, wrapper ? main - 2 : main - 1).join("\n");
}

function main(): void {
  dieWithParent();
  noCoreFiles();
  const root = process.env.TSLAB_IPC_ROOT;
  const fileName = process.env.TSLAB_IPC_CHILD_FILENAME || "child.ts";
  if (!root || !isPipe(SCRIPT_FD))
    throw withCode(
      new Error("tslab-ipc child bootstrap: started without a script (use runTs/spawnTs)"),
      "ERR_MISSING_ARGS",
    );
  for (const name of ["TSLAB_IPC_ROOT", "TSLAB_IPC_CHILD_FILENAME", "TSLAB_IPC_PARENT_PID"]) {
    delete process.env[name];
  }
  // To its end (the parent closes it after the script); then closed, so that processes this
  // one starts do not inherit it.
  const code = fs.readFileSync(SCRIPT_FD, "utf8");
  fs.closeSync(SCRIPT_FD);

  const cwd = process.cwd();
  resolveOurPackage(root, cwd);
  // A module that seems to live in the cwd: relative imports resolve from there.
  const filename = path.join(cwd, fileName);
  reportUncaughtAsTheStudents(path.join(root, "dist", "index.js"), filename);
  process.argv = [process.argv[0], filename, ...process.argv.slice(2)];
  const M = Module as unknown as { _nodeModulePaths(dir: string): string[] };
  const mod = new Module(filename) as Module & {
    _compile(code: string, filename: string): unknown;
    paths: string[];
    filename: string;
  };
  mod.filename = filename;
  mod.paths = M._nodeModulePaths(cwd);
  require.main = mod;
  mod._compile(code, filename);
}

main();
