// Jupyter from Node: run nbrun.py (nbclient / nbconvert) with the Python that has Jupyter, and
// make the project's kernel visible to it.
//
// The kernelspec is installed into a private JUPYTER_DATA_DIR for each run (kernel/install.js
// honours it), so what executes the notebooks is this checkout's kernel, not whatever an older
// checkout registered. Jupyter searches the user data dir before the system ones, so the
// private copy wins over a system-wide "tslab-ipc".
import { spawn, spawnSync } from "child_process";
import fs from "fs";
import path from "path";
import { withCode } from "../codes";
import { packageRoot } from "../process/paths";
import { onExit } from "../process/lifecycle";
import { asCallerAgain, unshareArgv } from "../process/namespaces";
import { tempFolder } from "../process/temp-folder";

export const KERNEL_NAME = "tslab-ipc";

/** The Python with Jupyter: /usr/bin/python3 (the python3 first on PATH may have none), or $TSLAB_IPC_PYTHON. */
export function jupyterPython(): string {
  return process.env.TSLAB_IPC_PYTHON ?? "/usr/bin/python3";
}

export function nbrunScript(): string {
  return path.join(packageRoot(), "src", "handouts", "nbrun.py");
}

// Finds the packages without importing them: their imports take half a second, and every
// `npm start` and test file asks.
const FIND_JUPYTER = `
import importlib.util, sys
for name in ("nbclient", "nbconvert", "nbformat"):
    if importlib.util.find_spec(name) is None:
        sys.exit("ModuleNotFoundError: No module named '%s'" % name)
`;

/** Why notebooks cannot be executed here, or null when nbclient, nbconvert and nbformat are installed. */
export function jupyterUnavailableReason(): string | null {
  const r = spawnSync(jupyterPython(), ["-c", FIND_JUPYTER], { encoding: "utf8" });
  if (r.error) return `${jupyterPython()} cannot run: ${r.error.message}`;
  if (r.status !== 0)
    return `${jupyterPython()} lacks nbclient/nbconvert (apt-get install jupyter-nbconvert python3-nbclient): ${r.stderr.trim().split("\n").pop()}`;
  return null;
}

export interface KernelEnvironment {
  /** Environment for Jupyter processes: JUPYTER_DATA_DIR points at the private kernelspec. */
  env: NodeJS.ProcessEnv;
  /** Where the kernelspec came from, for people. */
  description: string;
  /** Removes the private data dir. */
  dispose(): void;
}

/**
 * Writes this checkout's kernelspec into a fresh private JUPYTER_DATA_DIR, or, if the kernel's
 * installer is missing, falls back to the kernel registered on the machine. The spec is the
 * installer's own (kernel/install.js: this checkout's start.sh, this Node), written where
 * `jupyter kernelspec install --user` would put it: a kernelspec is a folder with a kernel.json,
 * and for a private data dir Jupyter's own installer (a Python start, ~1 s, before the first
 * notebook can start) adds nothing. `parent` is where the data dir goes (default the temp
 * folder); `packageDir` a copy of this package whose kernel to use (default this checkout);
 * `buildSnapshot` false: no start-up snapshot built for it in the background (default true).
 */
export function projectKernel(
  options: { parent?: string; packageDir?: string; buildSnapshot?: boolean } = {},
): KernelEnvironment {
  const kernelDir = path.join(options.packageDir ?? packageRoot(), "kernel");
  const installer = path.join(kernelDir, "install.js");
  const quiet = { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: "1" };
  if (!fs.existsSync(installer)) {
    return {
      env: quiet,
      description: `the registered "${KERNEL_NAME}" kernel (kernel/install.js not found)`,
      dispose() {},
    };
  }
  const data = tempFolder("tslab-ipc-jupyter-", { parent: options.parent });
  const dataDir = data.path;
  const env = { ...quiet, JUPYTER_DATA_DIR: dataDir };
  const spec = path.join(dataDir, "kernels", KERNEL_NAME, "kernel.json");
  try {
    const { kernelSpec } = require(installer) as { kernelSpec(): object };
    fs.mkdirSync(path.dirname(spec), { recursive: true, mode: 0o755 });
    // Every kernel of this spec runs a notebook once, top to bottom (kernel/main.js: batch), and
    // keeps no input history (a device is never written: kernel/history-store.js): its cells
    // are no one's history, and a kernel that outlived this process by the second it takes to
    // see its client gone (a Ctrl-C of npm start) made the removed data dir again to write them.
    const batch = { ...kernelSpec(), env: { TSLAB_IPC_BATCH: "1", TSLAB_IPC_HISTORY_FILE: "/dev/null" } };
    fs.writeFileSync(spec, `${JSON.stringify(batch, null, 2)}\n`, { mode: 0o644 });
  } catch (e) {
    data.remove();
    throw withCode(
      new Error(`could not write the ${KERNEL_NAME} kernelspec: ${(e as Error).message}`),
      "ERR_JUPYTER_FAILED",
    );
  }
  // The first kernels of a user without a start-up snapshot build one (kernel/snapshot.js).
  if (options.buildSnapshot !== false)
    (
      require(path.join(kernelDir, "snapshot.js")) as { buildInBackground(env: NodeJS.ProcessEnv): void }
    ).buildInBackground(env);
  return {
    env,
    description: `this checkout's kernel (${spec})`,
    dispose: data.remove,
  };
}

// A private /dev/shm (tmpfs) inside a private mount namespace, then the command.
const PRIVATE_DEV_SHM = 'mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm && exec "$@"';

let isolation: string[] | null | undefined;

/**
 * How to run a notebook apart from the rest of the machine, or null where that is not allowed:
 * its own System V IPC namespace (what it creates and what `ipcs` shows are its own) and, where
 * mounts are allowed too, its own /dev/shm (POSIX shm names). Then what a run leaves behind is
 * exactly the notebook's, whatever else runs on the machine, and it vanishes with the run.
 */
export function isolationPrefix(): string[] | null {
  if (isolation !== undefined) return isolation;
  // As a normal user, through a user namespace whose root only mounts (see process/namespaces).
  const full = [...unshareArgv(["--ipc", "--mount"]), "sh", "-c", PRIVATE_DEV_SHM, "sh", ...asCallerAgain()];
  const ipcOnly = [...unshareArgv(["--ipc"]), ...asCallerAgain()];
  isolation = null;
  for (const prefix of [full, ipcOnly]) {
    const r = spawnSync(prefix[0], [...prefix.slice(1), "true"], { stdio: "ignore" });
    if (!r.error && r.status === 0) {
      isolation = prefix;
      break;
    }
  }
  return isolation;
}

/** Whether notebooks get their own IPC namespace here (see isolationPrefix). */
export function ipcNamespaceAvailable(): boolean {
  return isolationPrefix() !== null;
}

/** Whether notebooks also get their own /dev/shm here. */
export function privateDevShmAvailable(): boolean {
  return isolationPrefix()?.includes("--mount") ?? false;
}

function runNbrun(
  args: string[],
  env: NodeJS.ProcessEnv,
  isolate = false,
): Promise<{ json: Record<string, unknown> | null; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const command = [jupyterPython(), nbrunScript(), ...args];
    const prefix = isolate ? isolationPrefix() : null;
    if (prefix) command.unshift(...prefix);
    const child = spawn(command[0], command.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
    // This process ending first (Ctrl-C, or a SIGTERM to it alone): the run stops as on Ctrl-C,
    // its kernel and connection file gone with it (nbrun.py), rather than run on to its end.
    // The prefix's commands exec, so the child is nbrun.py itself.
    const unregister = onExit(() => child.kill("SIGINT"));
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", (e) => {
      unregister();
      reject(e);
    });
    child.on("close", (code) => {
      unregister();
      const last = stdout.trim().split("\n").pop() ?? "";
      let json: Record<string, unknown> | null = null;
      try {
        json = JSON.parse(last);
      } catch {
        json = null;
      }
      resolve({ json, stderr, code });
    });
  });
}

export interface ExecuteResult {
  /** False when the run broke (kernel died, a cell timed out, the kernel did not start). */
  ok: boolean;
  seconds: number;
  error: string | null;
  /** System V segments the run left behind (lines of /proc/sysvipc/shm: key shmid perms size cpid lpid nattch). */
  segmentsLeft: string[];
  /** New names in /dev/shm after the run. */
  devShmLeft: string[];
  /** Ran in its own IPC namespace (segmentsLeft is then exactly what the notebook left). */
  isolated: boolean;
  /** Ran with its own /dev/shm too (devShmLeft is then exactly what the notebook left). */
  privateDevShm: boolean;
  /** The executed notebook of each run, in order (the last is `output`); runs that did not happen are missing on disk. */
  runFiles: string[];
}

/** Executes `input` with the project's kernel in the notebook's folder and writes `output`. */
export async function executeNotebook(
  input: string,
  output: string,
  options: {
    env: NodeJS.ProcessEnv;
    timeoutSeconds?: number;
    cwd?: string;
    /** Run in a private IPC namespace where `unshare --ipc` works (default true). */
    isolate?: boolean;
    /** Run All this many times in one kernel (default 1); earlier runs are written to OUTPUT.runK.ipynb. */
    runs?: number;
  },
): Promise<ExecuteResult> {
  const isolated = (options.isolate ?? true) && ipcNamespaceAvailable();
  const privateDevShm = isolated && privateDevShmAvailable();
  const args = ["execute", input, output, "--kernel", KERNEL_NAME, "--timeout", String(options.timeoutSeconds ?? 120)];
  if (options.cwd) args.push("--cwd", options.cwd);
  const runs = options.runs ?? 1;
  if (runs !== 1) args.push("--runs", String(runs));
  const runFiles = Array.from(
    { length: runs - 1 },
    (_, k) => output.replace(/\.ipynb$/, "") + `.run${k + 1}.ipynb`,
  ).concat(output);
  const r = await runNbrun(args, options.env, isolated);
  // The last lines of stderr (the kernel's own, and nbclient's): why a run broke.
  const why = r.stderr
    .trim()
    .split("\n")
    .filter((l) => l.trim() !== "" && !/frozen modules|Debugg|PYDEVD|0\.00s/.test(l))
    .slice(-6)
    .join(" | ");
  if (!r.json) {
    return {
      ok: false,
      seconds: 0,
      error: `nbrun.py exited with ${r.code}: ${why}`,
      segmentsLeft: [],
      devShmLeft: [],
      isolated,
      privateDevShm,
      runFiles,
    };
  }
  return {
    ok: r.json.ok === true,
    seconds: Number(r.json.seconds),
    error: r.json.error ? `${r.json.error as string}${why ? ` (stderr: ${why})` : ""}` : null,
    segmentsLeft: Array.isArray(r.json.segments_left) ? (r.json.segments_left as string[]) : [],
    devShmLeft: Array.isArray(r.json.dev_shm_left) ? (r.json.dev_shm_left as string[]) : [],
    isolated,
    privateDevShm,
    runFiles,
  };
}

/** nbconvert's HTML for each [notebook, html] pair, self-contained and without CDN scripts. */
export async function exportHtml(pairs: [string, string][], env: NodeJS.ProcessEnv): Promise<void> {
  if (pairs.length === 0) return;
  const exporter = openHtmlExporter(env);
  try {
    await exporter.export(pairs);
  } finally {
    await exporter.close();
  }
}

/** One nbconvert process that writes the HTML pages of a whole run, request after request. */
export interface HtmlExporter {
  /** Writes nbconvert's HTML for each [notebook, html] pair (as exportHtml); requests queue. */
  export(pairs: [string, string][]): Promise<void>;
  /** Ends the process once the requests made are answered. */
  close(): Promise<void>;
}

/**
 * Starts `nbrun.py html --serve`: nbconvert's imports and templates once for every page of a
 * run (about half a second of CPU each time otherwise), and pages written as soon as their
 * notebook is done rather than all at the end.
 */
export function openHtmlExporter(env: NodeJS.ProcessEnv): HtmlExporter {
  const child = spawn(jupyterPython(), [nbrunScript(), "html", "--serve"], {
    env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  const waiting: { resolve(): void; reject(e: Error): void }[] = [];
  let stderr = "";
  let stdout = "";
  let ended: Error | null = null;
  const failure = (why: string) => withCode(new Error(`HTML export failed: ${why}`), "ERR_JUPYTER_FAILED");
  child.stderr.on("data", (d) => (stderr += d));
  // A process that died is reported by "close" below, with its stderr; not as a write error.
  child.stdin.on("error", () => undefined);
  child.stdout.on("data", (d) => {
    stdout += d;
    let newline = stdout.indexOf("\n");
    while (newline >= 0) {
      const line = stdout.slice(0, newline).trim();
      stdout = stdout.slice(newline + 1);
      newline = stdout.indexOf("\n");
      let answer: { ok?: unknown; error?: unknown };
      try {
        answer = JSON.parse(line);
      } catch {
        continue; // not an answer (a library's print)
      }
      const request = waiting.shift();
      if (answer.ok === true) request?.resolve();
      else request?.reject(failure(String(answer.error ?? "")));
    }
  });
  const exited = new Promise<void>((resolve) => {
    const end = (why: string) => {
      ended ??= failure(why);
      for (const request of waiting.splice(0)) request.reject(ended);
      resolve();
    };
    child.on("error", (e) => end(`${jupyterPython()} cannot run: ${e.message}`));
    child.on("close", (code) =>
      end(`nbrun.py exited with ${code}: ${stderr.trim().split("\n").slice(-3).join(" | ")}`),
    );
  });
  return {
    export(pairs) {
      if (pairs.length === 0) return Promise.resolve();
      if (ended) return Promise.reject(ended);
      return new Promise<void>((resolve, reject) => {
        waiting.push({ resolve, reject });
        child.stdin.write(`${JSON.stringify(pairs.flat())}\n`);
      });
    },
    close() {
      child.stdin.end();
      return exited;
    },
  };
}
