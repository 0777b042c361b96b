// What the numbers were measured on: CPU, kernel, filesystems of /tmp and /dev/shm, versions.

const fs = require("fs");
const os = require("os");
const { execFileSync } = require("child_process");

/** The filesystem type of the mount that holds `dir` (longest mount-point prefix in /proc/mounts). */
function fsType(dir) {
  let best = { point: "", type: "unknown" };
  for (const line of fs.readFileSync("/proc/mounts", "utf8").split("\n")) {
    const [, point, type] = line.split(" ");
    if (!point) continue;
    const inside = dir === point || dir.startsWith(point.endsWith("/") ? point : point + "/");
    if (inside && point.length >= best.point.length) best = { point, type };
  }
  return best.type;
}

function version(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
      .split("\n")[0]
      .trim();
  } catch {
    return "unavailable";
  }
}

function machineInfo() {
  const cpus = os.cpus();
  return {
    cpu: cpus.length ? cpus[0].model : "unknown",
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    fs: { "/tmp": fsType("/tmp"), "/dev/shm": fsType("/dev/shm") },
    node: process.version,
    cc: version("cc", ["--version"]),
    python: version("/usr/bin/python3", ["--version"]),
    pageSize: 4096,
    // A shared 2-core machine: how busy it was when the run started (1, 5, 15 min).
    loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
  };
}

module.exports = { machineInfo, fsType };
