// The kernel over jupyter_client's "ipc" transport (Unix sockets beside the connection file),
// which a shared server uses so that no other user reads a kernel's traffic: over "tcp", any
// local user may subscribe to a kernel's iopub port on 127.0.0.1 and read every cell's code
// and output (no key is needed to read). The sockets live in the user's runtime folder (0700).
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { jupyterUnavailableReason } from "../../src/handouts";
import { AS_NOBODY, nobodyUnavailable, privateJupyterEnv } from "../helpers";

const repo = path.join(__dirname, "..", "..");
const PY = "/usr/bin/python3";
const unavailable = jupyterUnavailableReason();
const maybe = unavailable ? test.skip : test;

// Starts the kernel as a student's server does (a connection file in the runtime folder, so the
// sockets' path is there too), runs a cell, and lists what is in the folder while it runs.
const DRIVER = `
import json, os, sys
from jupyter_client.manager import KernelManager
runtime = sys.argv[1]
km = KernelManager(kernel_name="tslab-ipc", transport="ipc", connection_file=os.path.join(runtime, "kernel-t.json"))
km.start_kernel(cwd=sys.argv[2])
kc = km.client()
kc.start_channels()
try:
    kc.wait_for_ready(timeout=60)
    result = []
    reply = kc.execute_interactive("const answer: number = 6 * 7; answer", timeout=60,
        output_hook=lambda m: result.append(m["content"]["data"]["text/plain"]) if m["msg_type"] == "execute_result" else None)
    sockets = sorted(f for f in os.listdir(runtime) if not f.endswith(".json"))
    denied = None
    if len(sys.argv) > 3:  # another user tries to connect to the kernel's iopub socket
        import subprocess
        probe = "import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print('connected')"
        r = subprocess.run(sys.argv[3:] + [sys.executable, "-c", probe, km.ip + "-" + str(km.iopub_port)], capture_output=True, text=True)
        denied = "PermissionError" in r.stderr and "connected" not in r.stdout
    print(json.dumps({"status": reply["content"]["status"], "result": result, "ip": km.ip, "sockets": sockets, "denied": denied}))
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=False)
print(json.dumps({"left": sorted(os.listdir(runtime))}))
`;

maybe(
  `over "ipc", the kernel answers through Unix sockets in the runtime folder, removed at shutdown${unavailable ? ` [skipped: ${unavailable}]` : ""}`,
  () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-transport-"));
    try {
      const env = privateJupyterEnv(tmp);
      const runtime = env.JUPYTER_RUNTIME_DIR!;
      fs.mkdirSync(runtime, { mode: 0o700 });
      const install = spawnSync(process.execPath, [path.join(repo, "kernel", "install.js"), "install", "--user"], {
        env,
        encoding: "utf8",
      });
      expect(install.status).toBe(0);
      const who = nobodyUnavailable() ? [] : ["setpriv", ...AS_NOBODY];
      const r = spawnSync(PY, ["-c", DRIVER, runtime, tmp, ...who], { env, encoding: "utf8", timeout: 120_000 });
      expect({ status: r.status, stderr: r.status === 0 ? "" : r.stderr }).toEqual({ status: 0, stderr: "" });
      const [during, after] = r.stdout
        .trim()
        .split("\n")
        .slice(-2)
        .map((l) => JSON.parse(l));
      expect(during).toMatchObject({ status: "ok", result: ["42"], ip: path.join(runtime, "kernel-t-ipc") });
      // Five sockets (iopub, shell, control, stdin, hb), each a Unix socket file of this user.
      expect(during.sockets).toHaveLength(5);
      for (const name of during.sockets) expect(name).toMatch(/^kernel-t-ipc-\d+$/);
      if (who.length > 0) expect(during.denied).toBe(true);
      else console.warn(`not checked: another user's connection (${nobodyUnavailable()})`);
      expect(after.left).toEqual([]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
  180_000,
);
