// `npm run notebook`: Jupyter Notebook on notebooks/, with the "TypeScript (IPC)" kernel
// registered (the notebooks name it in their metadata, so it is selected when one opens).
// Prints the URL to open. Extra arguments go to Jupyter: npm run notebook -- --port 9999
import { spawn, spawnSync } from "child_process";
import fs from "fs";
import path from "path";
import { onInterrupt, onTerminate, setHost } from "../process/lifecycle";
import { packageRoot } from "../process/paths";
import { KERNEL_NAME } from "./jupyter";

const JUPYTER = process.env.TSLAB_IPC_JUPYTER ?? "/usr/bin/jupyter";

/** Registers this checkout's kernel unless the registered one already runs this checkout's kernel/start.sh. */
function ensureKernel(root: string): void {
  const list = spawnSync(JUPYTER, ["kernelspec", "list", "--json"], { encoding: "utf8" });
  const main = path.join(root, "kernel", "start.sh");
  try {
    const spec = JSON.parse(list.stdout).kernelspecs?.[KERNEL_NAME]?.spec;
    if (spec && Array.isArray(spec.argv) && spec.argv.includes(main)) return;
  } catch {
    /* no usable answer: register */
  }
  const installer = path.join(root, "kernel", "install.js");
  if (!fs.existsSync(installer)) {
    console.log(`(kernel/install.js not found: using whatever "${KERNEL_NAME}" kernel Jupyter has)`);
    return;
  }
  spawnSync(process.execPath, [installer, "install"], { stdio: "inherit" });
}

/**
 * Jupyter's arguments. It listens on 127.0.0.1 unless the user names another address (`--ip`):
 * Jupyter's own default may follow the machine's name resolution. It runs as root only when the
 * user says so (`--allow-root`), never because we added it.
 */
export function jupyterArgs(root: string, userArgs: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const given = (option: string) =>
    userArgs.some(
      (a) => a === option || a.startsWith(option + "=") || a.startsWith("--NotebookApp." + option.slice(2) + "="),
    );
  const args = ["notebook", `--notebook-dir=${path.join(root, "notebooks")}`];
  if (!given("--ip")) args.push("--ip=127.0.0.1");
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) args.push("--no-browser");
  args.push(...userArgs);
  return args;
}

function main(): void {
  const root = packageRoot();
  if (!fs.existsSync(JUPYTER)) {
    console.error(`${JUPYTER} not found: apt-get install jupyter-notebook (Debian), then npm run kernel:install`);
    process.exit(1);
  }
  ensureKernel(root);
  const userArgs = process.argv.slice(2);
  if (typeof process.getuid === "function" && process.getuid() === 0 && !userArgs.includes("--allow-root")) {
    console.error("Running as root: Jupyter refuses unless you ask for it (npm run notebook -- --allow-root).");
  }
  const args = jupyterArgs(root, userArgs);

  const child = spawn(JUPYTER, args, { stdio: ["inherit", "inherit", "pipe"] });
  let announced = false;
  child.stderr.on("data", (chunk: Buffer) => {
    const text = chunk.toString();
    process.stderr.write(text);
    const url = /(https?:\/\/(?:127\.0\.0\.1|localhost)[^\s]*)/.exec(text);
    if (url && !announced) {
      announced = true;
      console.log(`\n  Open the notebooks at: ${url[1]}\n`);
    }
  });
  // This launcher hosts the signals. Ctrl-C reaches Jupyter too (same process group); Jupyter
  // asks to confirm, then stops, and we exit with it. A SIGTERM/SIGHUP sent to us alone (a
  // supervisor, `timeout`) must stop Jupyter too, which then shuts its kernels down (they remove
  // what they created).
  setHost({ handlesInterrupts: true, handlesTermination: true });
  onInterrupt(() => {});
  onTerminate((signal) => child.kill(signal));
  child.on("close", (code) => process.exit(code ?? 0));
}

if (require.main === module) main();
