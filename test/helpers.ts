// Shared test utilities: unique names, temp dirs, compiling the C side, running a child
// process against the compiled library.
import { execFileSync, spawnSync, type SpawnSyncReturns } from "child_process";
import crypto from "crypto";
import fs from "fs";
import net from "net";
import os from "os";
import path from "path";
import { chromiumPath as libraryChromiumPath } from "../src/figures/chromium";

export const repoRoot = path.join(__dirname, "..");
export const distIndex = path.join(repoRoot, "dist", "index.js");

export function uniqueName(prefix = "tslab-test"): string {
  return `${prefix}-${process.pid}-${crypto.randomBytes(4).toString("hex")}`;
}

/**
 * A new folder under the temp folder. It is listed in the run's temp list (test/setup/leaks.js),
 * and the global teardown removes it with everything in it, after every test file has ended.
 */
export function tempDir(prefix = "tslab-ipc-test-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const list = process.env.TSLAB_IPC_TEST_TEMPS;
  if (list) fs.appendFileSync(list, dir + "\n");
  return dir;
}

// ---- Optional tools: a missing one is a skip that names its Debian package ------------------

/** The optional tools some tests need, and the Debian package that brings each back. */
export const TOOL_PACKAGES = {
  cc: "gcc",
  chromium: "chromium",
  sysv_ipc: "python3-sysv-ipc",
  strace: "strace",
} as const;
export type OptionalTool = keyof typeof TOOL_PACKAGES;

/**
 * Tools the skip logic treats as missing: TSLAB_IPC_TEST_HIDE=cc,strace (or "all"). It lets a
 * test prove that the suite skips, and never fails, where a tool is missing.
 */
function hidden(tool: OptionalTool): boolean {
  const list = (process.env.TSLAB_IPC_TEST_HIDE ?? "").split(",").map((t) => t.trim());
  return list.includes(tool) || list.includes("all");
}

/** The Chromium binary the tests drive: the library's ($TSLAB_IPC_CHROMIUM or /usr/bin/chromium). */
export const chromiumPath = libraryChromiumPath();

const toolChecks: Record<OptionalTool, () => boolean> = {
  cc: () => cCompiler() !== null,
  chromium: () => !hidden("chromium") && fs.existsSync(chromiumPath),
  sysv_ipc: () => pythonWith("sysv_ipc") !== null,
  strace: () =>
    !hidden("strace") && spawnSync("strace", ["-f", "-e", "trace=none", "true"], { stdio: "ignore" }).status === 0,
};
const toolState = new Map<OptionalTool, boolean>();

/** Why `tool` cannot be used here, naming the package that brings it back; null when it can. */
export function toolMissing(tool: OptionalTool): string | null {
  if (!toolState.has(tool)) toolState.set(tool, toolChecks[tool]());
  if (toolState.get(tool)) return null;
  const what = {
    cc: "no C compiler",
    chromium: `no Chromium at ${chromiumPath}`,
    sysv_ipc: "no Python sysv_ipc in /usr/bin/python3",
    strace: "strace cannot run here",
  }[tool];
  return `${what}; apt-get install ${TOOL_PACKAGES[tool]}`;
}

/**
 * test/describe for tests that need optional tools. Their names end with "[needs <tools>]";
 * where a tool is missing they are skipped, and the name says why and which package brings it
 * back: "[needs strace: strace cannot run here; apt-get install strace]". A check that cannot
 * run is a skipped test, never a passed one.
 */
export function needs(...tools: OptionalTool[]) {
  return needsOr(tools, null);
}

/** needs(...tools), also skipped (saying `otherReason`) when otherReason is not null. */
export function needsOr(tools: OptionalTool[], otherReason: string | null) {
  const reasons = tools.map(toolMissing).filter((r): r is string => r !== null);
  if (otherReason) reasons.push(otherReason);
  const tag =
    tools.length || reasons.length
      ? ` [needs ${tools.join(", ")}${reasons.length ? ": " + reasons.join("; ") : ""}]`
      : "";
  const missing = reasons.length ? reasons.join("; ") : null;
  return {
    missing,
    test: (name: string, fn: jest.ProvidesCallback, timeout?: number) =>
      (missing ? test.skip : test)(name + tag, fn, timeout),
    describe: (name: string, fn: jest.EmptyFunction) => (missing ? describe.skip : describe)(name + tag, fn),
  };
}

/** The system C compiler, or null (tests then skip and say why). */
export function cCompiler(): string | null {
  if (hidden("cc")) return null;
  for (const cc of ["cc", "gcc", "clang"]) {
    const r = spawnSync("sh", ["-c", `command -v ${cc}`], { encoding: "utf8" });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}

/** Compiles a C file into `outDir` (default: a temp dir) and returns the binary's path. */
export function compileC(source: string, outDir = tempDir("tslab-ipc-cc-"), extraArgs: string[] = []): string {
  const cc = cCompiler();
  if (!cc) throw new Error("no C compiler");
  const out = path.join(outDir, path.basename(source, ".c"));
  execFileSync(cc, ["-O2", "-o", out, source, ...extraArgs], { stdio: "pipe" });
  return out;
}

/** Runs JavaScript in a child Node process with `ipc` bound to the compiled library. */
export function runNode(
  code: string,
  options: { args?: string[]; env?: NodeJS.ProcessEnv; timeout?: number; nodeArgs?: string[] } = {},
): SpawnSyncReturns<string> {
  const prelude = `const ipc = require(${JSON.stringify(distIndex)});\n`;
  return spawnSync(
    process.execPath,
    [...(options.nodeArgs ?? []), "-e", prelude + code, "--", ...(options.args ?? [])],
    {
      encoding: "utf8",
      env: { ...process.env, ...options.env },
      timeout: options.timeout ?? 30000,
    },
  );
}

/** /usr/bin/python3 when it has the given modules, else null. */
export function pythonWith(...modules: string[]): string | null {
  const py = "/usr/bin/python3";
  if (!fs.existsSync(py)) return null;
  if (modules.includes("sysv_ipc") && hidden("sysv_ipc")) return null;
  const r = spawnSync(py, ["-c", modules.map((m) => `import ${m}`).join("; ") || "pass"]);
  return r.status === 0 ? py : null;
}

/** setpriv's arguments that run what follows as nobody, with no supplementary groups. */
export const AS_NOBODY = ["--reuid=nobody", "--regid=nogroup", "--clear-groups"];

/** nobody's uid and primary group (nogroup): the owner AS_NOBODY runs as. */
export function nobodyIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync("id", [flag, "nobody"], { encoding: "utf8" }).stdout.trim());
  return { uid: id("-u"), gid: id("-g") };
}

/** Why this run cannot act as nobody (another user on the machine), or null. */
export function nobodyUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "not running as root: cannot act as another user";
  if (spawnSync("setpriv", [...AS_NOBODY, "true"]).status !== 0) return "setpriv cannot run a command as nobody";
  return null;
}

/**
 * Why the grader could not make its sandbox's namespaces here (IPC, mount, PID, network; as root,
 * or through a user namespace), or null. Then its sandbox must hide the grader's files and
 * network from each submission; without them it hides nothing (the "names" sandbox).
 */
export function graderNamespacesUnavailable(): string | null {
  const user = process.getuid?.() === 0 ? [] : ["--user", "--map-root-user"];
  const r = spawnSync("unshare", [...user, "--ipc", "--mount", "--pid", "--net", "--fork", "true"]);
  return r.status === 0 ? null : "this machine allows no namespaces (the names sandbox hides nothing)";
}

/** Why nobody cannot make user namespaces here (Debian allows it; some distributions do not), or null. */
export function nobodyUserNamespacesUnavailable(): string | null {
  const reason = nobodyUnavailable();
  if (reason) return reason;
  const r = spawnSync("setpriv", [...AS_NOBODY, "unshare", "--user", "--map-root-user", "--ipc", "true"]);
  return r.status === 0 ? null : "a normal user may not make user namespaces here (unshare --user is refused)";
}

/** This user's name as `ipcs` shows an owner: from passwd, else the number (an account with no entry). */
export function ownerName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return String(process.getuid?.());
  }
}

export function segmentExists(shmid: number): boolean {
  return fs
    .readFileSync("/proc/sysvipc/shm", "utf8")
    .split("\n")
    .slice(1)
    .some((l) => l.trim().split(/\s+/)[1] === String(shmid));
}

/** Ids of the System V segments process `pid` created (cpid) that still exist. */
export function segmentsMadeBy(pid: number): string[] {
  return fs
    .readFileSync("/proc/sysvipc/shm", "utf8")
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 4 && f[4] === String(pid))
    .map((f) => f[1]);
}

/** Ids of the System V segments this process created (cpid), to check "nothing was created". */
export function ownSegments(): string[] {
  return segmentsMadeBy(process.pid);
}

/** The error `fn` throws (fails the test if it throws nothing), for matching code/errno/syscall. */
export function caught(fn: () => unknown): Error & { code?: string; errno?: number; syscall?: string; path?: string } {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error, got none");
}

/** A temp folder base with no node_modules above it (so module resolution is tested for real). */
export function bareTempBase(): string | null {
  for (const base of [os.tmpdir(), "/var/tmp"]) {
    let d = path.resolve(base);
    let clean = true;
    for (;;) {
      if (fs.existsSync(path.join(d, "node_modules"))) clean = false;
      if (path.dirname(d) === d) break;
      d = path.dirname(d);
    }
    if (clean) return base;
  }
  return null;
}

/**
 * For a test file of the kernel's cell compiler (kernel/converter.js): before its tests, a new
 * folder under bareTempBase() becomes the working folder, as a notebook's would, with the
 * kernel's type resolution installed for it in each TypeScript given (under Jest, the kernel's
 * converter and tslab's have one each: kernel/typescript.js compiles the kernel's outside Jest's
 * module registry); after them, the working folder is the old one again and the folder is gone.
 * Returns the folder's path, for the tests to read.
 */
export function converterFolder(prefix: string, ...typescripts: unknown[]): () => string {
  const cwd = process.cwd();
  let dir = "";
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(bareTempBase() ?? os.tmpdir(), prefix));
    process.chdir(dir);
    for (const ts of new Set(typescripts)) {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      require(path.join(repoRoot, "kernel", "resolve.js")).installTypeResolution(ts, dir);
    }
  });
  afterAll(() => {
    process.chdir(cwd);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return () => dir;
}

/** An environment whose Jupyter reads and writes only under `dir` (kernelspecs, runtime, config). */
export function privateJupyterEnv(dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const data = path.join(dir, "jupyter-data");
  return {
    ...process.env,
    JUPYTER_DATA_DIR: data,
    JUPYTER_PATH: data,
    JUPYTER_RUNTIME_DIR: path.join(dir, "runtime"),
    JUPYTER_CONFIG_DIR: path.join(dir, "config"),
    PYDEVD_DISABLE_FILE_VALIDATION: "1",
    ...extra,
  };
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the kernel's tests and the notebook
 * server's). It cannot be held: before whatever binds it, another process of the run may take
 * it (an outgoing connection draws its local port from the same range). Start what binds it
 * through onFreshPorts.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * `start()`, which binds ports from freePort, again when it fails because one was taken in
 * between ("already in use" in its error), twice at most; any other failure is the caller's.
 * `start` cleans up after its own failure.
 */
export async function onFreshPorts<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (e) {
      if (attempt === 3 || !/already in use/i.test(String(e))) throw e;
    }
  }
}

/**
 * The first of `events` to settle, or undefined after `ms`. The timer is cleared either way: left
 * pending, it holds the test's jest worker past its last test, and jest force-exits the worker
 * ("A worker process has failed to exit gracefully").
 */
export async function raceTimeout<T>(events: Promise<T>[], ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      ...events,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The command line of process `pid`, its arguments joined by spaces ("" when it is gone or not ours to read). */
export function commandOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

/**
 * The pids of this user's processes whose TMPDIR is `dir` or inside it: what a run started with
 * that TMPDIR left running (its kernels, nbconvert, Chromium).
 */
export function processesIn(dir: string): number[] {
  const found: number[] = [];
  for (const pid of fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    let environ = "";
    try {
      environ = fs.readFileSync(`/proc/${pid}/environ`, "latin1");
    } catch {
      continue; // gone, or another user's
    }
    const tmpdir = environ
      .split("\0")
      .find((v) => v.startsWith("TMPDIR="))
      ?.slice("TMPDIR=".length);
    if (tmpdir === dir || tmpdir?.startsWith(`${dir}/`)) found.push(Number(pid));
  }
  return found;
}
