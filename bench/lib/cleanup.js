// Nothing a benchmark run makes may outlive it, even on Ctrl-C or a crashed runner.
//
// The runners already unlink each file right after mapping it and mark each segment for
// removal right after attaching it. This sweeps what a runner killed in between could leave:
// files named with this run's prefix in /dev/shm and /tmp, and System V segments whose
// creator was one of this run's child processes. Runners start in process groups of their own
// (spawn with `detached`), so killAll() also stops what a runner started (a ping-pong peer)
// before the sweep, and nothing attaches or creates after it.

const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");

// util-linux's, by its path: the sweep runs on Ctrl-C, whatever PATH the run was given.
const IPCRM = fs.existsSync("/usr/bin/ipcrm") ? "/usr/bin/ipcrm" : "ipcrm";

class Cleanup {
  constructor() {
    this.prefix = `tslab-bench-${process.pid}-`;
    this.dirs = ["/dev/shm", "/tmp"];
    this.childPids = new Set();
    this.counter = 0;
  }

  /** A fresh path in `dir` that the sweep will remove if a runner leaves it. */
  file(dir) {
    return path.join(dir, `${this.prefix}${++this.counter}`);
  }

  noteChild(pid) {
    if (pid) this.childPids.add(pid);
  }

  /** SIGKILLs the process group of every runner noted (each was spawned detached). */
  killAll() {
    for (const pid of this.childPids) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        /* the group is gone already */
      }
    }
  }

  /** Removes leftovers; returns what it removed (so a run can say so). */
  sweep() {
    const removed = [];
    for (const dir of this.dirs) {
      let names = [];
      try {
        names = fs.readdirSync(dir);
      } catch {
        continue;
      }
      for (const name of names) {
        if (!name.startsWith(this.prefix)) continue;
        try {
          fs.rmSync(path.join(dir, name), { force: true, recursive: true });
          removed.push(path.join(dir, name));
        } catch {
          /* raced with its runner */
        }
      }
    }
    for (const seg of this.segmentsOfChildren()) {
      try {
        execFileSync(IPCRM, ["-m", String(seg)], { stdio: "ignore" });
        removed.push(`segment ${seg}`);
      } catch {
        /* already gone */
      }
    }
    return removed;
  }

  segmentsOfChildren() {
    let text = "";
    try {
      text = fs.readFileSync("/proc/sysvipc/shm", "utf8");
    } catch {
      return [];
    }
    const lines = text.trim().split("\n");
    const header = lines[0].trim().split(/\s+/);
    const idCol = header.indexOf("shmid");
    const cpidCol = header.indexOf("cpid");
    const ids = [];
    for (const line of lines.slice(1)) {
      const f = line.trim().split(/\s+/);
      if (this.childPids.has(Number(f[cpidCol]))) ids.push(Number(f[idCol]));
    }
    return ids;
  }
}

module.exports = { Cleanup };
