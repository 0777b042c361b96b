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

/**
 * The CPU that takes most of the interrupts of the disk that holds `dir`, or null when that cannot
 * be told: the MSI/MSI-X vectors of the disk's PCI device (msi_irqs in sysfs), summed per CPU from
 * /proc/interrupts. A process that waits for that disk on this CPU is woken where the completion
 * arrives; on another CPU the wake-up crosses CPUs (an IPI, which on a VM costs a VM exit).
 */
function diskIrqCpu(dir) {
  try {
    const dev = fs.statSync(dir).dev;
    const major = (dev >> 8) & 0xfff;
    const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    let at = fs.realpathSync(`/sys/dev/block/${major}:${minor}`);
    while (at !== "/sys" && !fs.existsSync(`${at}/msi_irqs`)) at = at.slice(0, at.lastIndexOf("/"));
    if (at === "/sys") return null;
    const irqs = new Set(fs.readdirSync(`${at}/msi_irqs`));
    const perCpu = [];
    for (const line of fs.readFileSync("/proc/interrupts", "utf8").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (!irqs.has(cols[0].replace(":", ""))) continue;
      for (let c = 0; c < os.cpus().length; c++) perCpu[c] = (perCpu[c] || 0) + (Number(cols[c + 1]) || 0);
    }
    const best = perCpu.indexOf(Math.max(...perCpu));
    return best >= 0 && perCpu[best] > 0 ? best : null;
  } catch {
    return null;
  }
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
    // Node reads this file as every process starts, the kernels included, and Python does not:
    // on this machine 40-55 ms a start (bench/analysis.md, the kernel section).
    nodeExtraCaCerts: process.env.NODE_EXTRA_CA_CERTS || null,
  };
}

module.exports = { machineInfo, fsType, diskIrqCpu };
