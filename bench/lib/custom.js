// Workloads that are not a runner per system: the kernel's start and the notebook suite, both
// through real Jupyter (/usr/bin/python3 with jupyter_client and nbclient).
"use strict";
const path = require("path");
const { ROOT } = require("./setup");

const SCRIPT = path.join(__dirname, "..", "runners", "kernel_bench.py");

function command(name, ctx) {
  const kernelDir = path.join(ROOT, "kernel");
  if (name === "kernel-start") {
    return { cmd: "/usr/bin/python3", argv: [SCRIPT, "start", kernelDir, process.execPath, ctx.quick ? "1" : "2"] };
  }
  if (name === "notebooks") {
    return { cmd: "/usr/bin/python3", argv: [SCRIPT, "notebooks", kernelDir, process.execPath, path.join(ROOT, "notebooks")] };
  }
  if (name === "grading") {
    return { cmd: process.execPath, argv: [path.join(__dirname, "..", "runners", "grading.js"), ...(ctx.quick ? ["--quick"] : [])] };
  }
  throw new Error(`unknown custom workload ${name}`);
}

module.exports = { command };
