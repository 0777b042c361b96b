// With the real kernel under Jupyter's client: a kernel killed with SIGKILL leaves its segment
// and POSIX object behind; the next kernel start removes them (reap at start), and leaves alone
// the objects of a live kernel and a segment of another program (Python's sysv_ipc).
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { IPC_RMID, shmctl } from "../../src";
import { privateJupyterEnv, segmentExists } from "../helpers";

const repo = path.resolve(__dirname, "..", "..");
const PY = "/usr/bin/python3";
const missing = spawnSync(PY, ["-c", "import jupyter_client, sysv_ipc"]).status !== 0;
const kernelMissing =
  !fs.existsSync(path.join(repo, "kernel", "install.js")) || !fs.existsSync(path.join(repo, "kernel", "main.js"));
const skipReason = missing
  ? "no jupyter_client/sysv_ipc at /usr/bin/python3"
  : kernelMissing
    ? "kernel/ has no install.js/main.js"
    : null;
const maybe = skipReason ? test.skip : test;
if (skipReason) console.log(`kernel reap test skipped: ${skipReason}`);

maybe(
  "SIGKILLed kernel's segment and POSIX object are removed by the next kernel start; live and foreign ones stay",
  () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-reap-"));
    // Every kernel of this test journals into one folder of its own: reap sees only them.
    const env = privateJupyterEnv(tmp, { TSLAB_IPC_RECORDS: path.join(tmp, "records") });
    const notebooks = path.join(tmp, "notebooks");
    fs.mkdirSync(notebooks);
    let report: any;
    try {
      const install = spawnSync(process.execPath, [path.join(repo, "kernel", "install.js"), "install", "--user"], {
        env,
        encoding: "utf8",
      });
      expect(install.status).toBe(0);
      const r = spawnSync(PY, [path.join(__dirname, "fixtures", "kernel_sigkill.py"), notebooks], {
        env,
        encoding: "utf8",
        timeout: 240_000,
      });
      if (r.status !== 0) throw new Error(`driver failed (${r.status ?? r.signal}): ${r.stderr.slice(-3000)}`);
      report = JSON.parse(r.stdout.trim().split("\n").pop()!);
      console.log(`kernel reap: ${JSON.stringify(report)}`);
      expect(report.doomed_dead).toBe(true);
      expect(report.left_behind).toEqual({ segment: true, posix: true });
      expect(report.next_kernel_answers).toBe("42");
      expect(report.after_next_start).toEqual({
        doomed_segment: false,
        doomed_posix: false,
        live_segment: true,
        live_posix: true,
        foreign_segment: true,
      });
      // (Cleanup at a graceful shutdown is the kernel's own test, test/kernel/kernel.e2e.test.ts;
      // here the live kernel may be SIGKILLed by jupyter_client when slow to answer, so
      // report.after_shutdown is printed, not asserted.)
    } finally {
      // Whatever happened, leave nothing behind.
      for (const who of ["live", "doomed"]) {
        const made = report?.[who];
        if (made && segmentExists(made.sid)) shmctl(made.sid, IPC_RMID);
        if (made) fs.rmSync("/dev/shm" + made.name, { force: true });
      }
      if (report?.foreign !== undefined && segmentExists(report.foreign)) shmctl(report.foreign, IPC_RMID);
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
  300_000,
);
