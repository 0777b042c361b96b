#!/usr/bin/env node
// @ts-check
// Registers (or removes) the "TypeScript (IPC)" kernelspec with the Jupyter on this machine.
//
//   node kernel/install.js [install|uninstall] [--user|--sys] [--soft]
//
// install   writes kernel.json with the absolute paths of node and of kernel/main.js (so
//           re-running after moving the repository re-registers it) and runs
//           `jupyter kernelspec install --replace --name tslab-ipc` (idempotent). User-level
//           unless root; --user / --sys choose. JUPYTER_DATA_DIR is honoured (Jupyter's own rule).
//           Where no Jupyter is found it installs one (Debian as root: apt-get; otherwise
//           pip --user) and says so, or prints the command to run.
// --soft    never fail (npm's "prepare" uses it: the library must install without Jupyter).
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawnSync } = require("child_process");

const KERNEL_NAME = "tslab-ipc";
const kernelDir = __dirname;
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** @param {string} cmd @param {string[]} args */
function run(cmd, args, inherit = false) {
  return spawnSync(cmd, args, { encoding: "utf8", stdio: inherit ? "inherit" : "pipe" });
}

/**
 * The way to call `jupyter`: [command, ...leading args], or null. /usr/bin/python3 first (the
 * python3 first on PATH may lack Jupyter), then the jupyter on PATH, then python3 on PATH.
 * @returns {string[] | null}
 */
function findJupyter() {
  const candidates = [
    ["/usr/bin/python3", "-m", "jupyter"],
    ["jupyter"],
    ["python3", "-m", "jupyter"],
  ];
  for (const c of candidates) {
    const r = run(c[0], [...c.slice(1), "kernelspec", "--version"]);
    if (r.status === 0) return c;
  }
  return null;
}

const APT_PACKAGES = ["jupyter-notebook", "jupyter-nbconvert", "jupyter-client", "python3-nbclient"];
const PIP_ARGS = ["-m", "pip", "install", "--user", "notebook", "nbconvert", "nbclient"];

/** Installs Jupyter the way this machine allows, saying what it runs; the finder, or null. */
function installJupyter() {
  const debian = fs.existsSync("/etc/debian_version");
  let ok;
  if (debian && isRoot) {
    console.log(`tslab-ipc: no Jupyter found; installing it: apt-get install -y ${APT_PACKAGES.join(" ")}`);
    ok = run("apt-get", ["install", "-y", ...APT_PACKAGES], true).status === 0;
    if (!ok) {
      console.log("tslab-ipc: retrying after apt-get update");
      ok = run("apt-get", ["update"], true).status === 0 && run("apt-get", ["install", "-y", ...APT_PACKAGES], true).status === 0;
    }
  } else {
    console.log(`tslab-ipc: no Jupyter found; installing it: python3 ${PIP_ARGS.join(" ")}`);
    ok = run("python3", PIP_ARGS, true).status === 0;
  }
  const jupyter = ok ? findJupyter() : null;
  if (!jupyter) {
    // Debian's pip refuses --user installs into the system Python (PEP 668): apt is the way there.
    const command = debian ? `sudo apt-get install -y ${APT_PACKAGES.join(" ")}` : `python3 ${PIP_ARGS.join(" ")}`;
    console.log(`tslab-ipc: could not install Jupyter. Run this, then \`npm run kernel:install\`:\n  ${command}`);
  }
  return jupyter;
}

/** The kernel.json to register: our template with absolute paths. */
function kernelSpec() {
  const template = JSON.parse(fs.readFileSync(path.join(kernelDir, "kernel.json"), "utf8"));
  const spec = { ...template, argv: [process.execPath, path.join(kernelDir, "main.js"), "{connection_file}"] };
  delete spec.metadata;
  return spec;
}

/** @param {string[]} jupyter @param {boolean} user */
function install(jupyter, user) {
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-kernelspec-"));
  try {
    fs.writeFileSync(path.join(staging, "kernel.json"), JSON.stringify(kernelSpec(), null, 2) + "\n");
    const args = [...jupyter.slice(1), "kernelspec", "install", "--replace", "--name", KERNEL_NAME];
    if (user) args.push("--user");
    args.push(staging);
    const r = run(jupyter[0], args);
    if (r.status !== 0) throw new Error(`${jupyter.join(" ")} kernelspec install failed: ${r.stderr || r.stdout}`);
    const where = (r.stderr + r.stdout).match(/Installed kernelspec \S+ in (\S+)/);
    console.log(`tslab-ipc: registered the "TypeScript (IPC)" kernel (${KERNEL_NAME})${where ? " in " + where[1] : ""}`);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** @param {string[]} jupyter */
function uninstall(jupyter) {
  const r = run(jupyter[0], [...jupyter.slice(1), "kernelspec", "uninstall", "-y", KERNEL_NAME]);
  const text = r.stderr + r.stdout;
  if (r.status !== 0 && !/No such kernel|Couldn't find kernel spec/i.test(text)) {
    throw new Error(`${jupyter.join(" ")} kernelspec uninstall failed: ${text}`);
  }
  console.log(`tslab-ipc: ${r.status === 0 ? "removed" : "there was no"} kernel ${KERNEL_NAME}`);
}

function main() {
  const args = process.argv.slice(2);
  const action = args.find((a) => !a.startsWith("--")) ?? "install";
  const soft = args.includes("--soft");
  const user = args.includes("--user") || (!args.includes("--sys") && !isRoot);
  try {
    if (action === "install") {
      if (process.env.TSLAB_IPC_SKIP_KERNEL === "1") {
        console.log("tslab-ipc: TSLAB_IPC_SKIP_KERNEL=1, not registering the kernel");
        return;
      }
      const jupyter = findJupyter() ?? installJupyter();
      if (!jupyter) {
        if (!soft) process.exitCode = 1;
        return;
      }
      install(jupyter, user);
    } else if (action === "uninstall") {
      const jupyter = findJupyter();
      if (!jupyter) {
        console.log("tslab-ipc: no Jupyter found, nothing to unregister");
        return;
      }
      uninstall(jupyter);
    } else {
      throw new Error(`unknown action ${action}: use install or uninstall`);
    }
  } catch (e) {
    console.error(`tslab-ipc: ${e instanceof Error ? e.message : e}`);
    if (!soft) process.exitCode = 1;
  }
}

if (require.main === module) main();
module.exports = { KERNEL_NAME, kernelSpec, findJupyter };
