// Workloads that are not a runner per system: the kernel's start, its cells and memory (against
// Python's ipykernel), the notebook suite, and what each Node version changes, all through real Jupyter (/usr/bin/python3 with
// jupyter_client and nbclient).

const path = require("path");
const { spawnSync } = require("child_process");
const { ROOT } = require("./setup");
const { nodeBinary } = require("../../.ci/node-versions");

const SCRIPT = path.join(__dirname, "..", "runners", "kernel_bench.py");

let snapshotBuilt = false;

/**
 * Our kernel's start-up snapshot for this Node and checkout, built once per bench run (a user's
 * second kernel start on has one: kernel/snapshot.js). "tslab-ipc" starts from it,
 * "tslab-ipc-no-snapshot" without it (a user's very first start where the machine has no blob
 * either, or TSLAB_IPC_SNAPSHOT=0).
 */
function ensureSnapshot() {
  if (snapshotBuilt) return;
  const r = spawnSync(process.execPath, [path.join(ROOT, "kernel", "snapshot.js"), "build"], { encoding: "utf8" });
  if (r.status !== 0) console.error(`bench: no kernel snapshot (${(r.stderr || "").trim().slice(-300)})`);
  snapshotBuilt = true;
}

/** Our kernel ("tslab-ipc", "tslab-ipc-no-snapshot") or Python's ipykernel, measured the same way through jupyter_client. */
function command(name, ctx, system = "tslab-ipc") {
  const kernelDir = path.join(ROOT, "kernel");
  /** @type {Record<string, string>} */
  const env = { PYDEVD_DISABLE_FILE_VALIDATION: "1" };
  if (system === "tslab-ipc-no-snapshot") env.TSLAB_IPC_SNAPSHOT = "0";
  if (system.startsWith("tslab-ipc") && (name === "kernel-start" || name === "kernel-cells")) ensureSnapshot();
  if (name === "kernel-start") {
    return {
      cmd: "/usr/bin/python3",
      // One start a process: the workload's turns alternate the systems (bench/workloads.js).
      argv: [SCRIPT, "start", kernelDir, process.execPath, "1", system],
      env,
    };
  }
  if (name === "kernel-cells") {
    return {
      cmd: "/usr/bin/python3",
      argv: [SCRIPT, "cells", kernelDir, process.execPath, ctx.quick ? "15" : "30", system],
      env,
    };
  }
  if (name === "notebooks") {
    return {
      cmd: "/usr/bin/python3",
      argv: [SCRIPT, "notebooks", kernelDir, process.execPath, path.join(ROOT, "notebooks")],
    };
  }
  if (name === "node-versions") {
    // "tslab-ipc" is this Node; "node-24" another major from .cache/node; "-no-compile-cache"
    // starts it with the module compile cache switched off.
    const m = /^node-(\d+)(-no-compile-cache)?$/.exec(system);
    let node = process.execPath;
    if (m) {
      try {
        node = nodeBinary(Number(m[1]));
      } catch (e) {
        return { skipped: `no Node ${m[1]} binary: ${e instanceof Error ? e.message : String(e)}` };
      }
    }
    return {
      cmd: node,
      argv: [path.join(__dirname, "..", "runners", "node-version.js"), ...(ctx.quick ? ["--quick"] : [])],
      env: m?.[2] ? { TSLAB_IPC_COMPILE_CACHE: "0" } : {},
    };
  }
  if (name === "npm-start") {
    return { cmd: process.execPath, argv: [path.join(__dirname, "..", "runners", "npm-start.js")] };
  }
  if (name === "grading") {
    return {
      cmd: process.execPath,
      argv: [path.join(__dirname, "..", "runners", "grading.js"), ...(ctx.quick ? ["--quick"] : [])],
    };
  }
  throw new Error(`unknown custom workload ${name}`);
}

module.exports = { command };
