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

/**
 * Whether every system call empties the TLB: the kernel isolates its page tables (PTI) and the CPU
 * has no PCID to tag the two sets of entries, so each entry into the kernel and each return
 * switches page tables and drops the user's translations. `meltdown` is the text of
 * /sys/devices/system/cpu/vulnerabilities/meltdown, `flags` the CPU's flags from /proc/cpuinfo.
 */
function syscallsEmptyTlb(meltdown, flags) {
  return /\bPTI\b/.test(meltdown) && !flags.split(/\s+/).includes("pcid");
}

function readSyscallsEmptyTlb() {
  try {
    const meltdown = fs.readFileSync("/sys/devices/system/cpu/vulnerabilities/meltdown", "utf8");
    const flags = /^flags\s*:(.*)$/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"));
    return flags ? syscallsEmptyTlb(meltdown, flags[1]) : null;
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
    // Then a runtime pays for its larger footprint after every call into the kernel: on such a
    // host ~0.35 µs a syscall over C, for Node's own bindings and CPython alike (bench/analysis.md).
    syscallsEmptyTlb: readSyscallsEmptyTlb(),
  };
}

module.exports = { machineInfo, fsType, diskIrqCpu, syscallsEmptyTlb };
