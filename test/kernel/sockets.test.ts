// The kernel binds its five sockets before anything else (kernel/sockets.js): a client that
// connected early finds its requests waiting, a port someone else took ends the kernel with a
// reason instead of a hang, and so does a connection file it cannot read.
import { spawnSync } from "child_process";
import fs from "fs";
import net from "net";
import os from "os";
import path from "path";
import { freePort, onFreshPorts } from "../helpers";

const repo = path.join(__dirname, "..", "..");
const { bindKernelSockets, tslabZeromq, IOPUB_HIGH_WATER_MARK } = require(path.join(repo, "kernel", "sockets.js"));
const zmq = tslabZeromq();

/** A connection file as jupyter_client writes one, with fresh ports (some given). */
async function connectionFile(dir: string, ports: Record<string, number> = {}): Promise<string> {
  const info: Record<string, unknown> = { transport: "tcp", ip: "127.0.0.1", key: "", signature_scheme: "hmac-sha256" };
  for (const name of ["iopub", "shell", "control", "stdin", "hb"])
    info[`${name}_port`] = ports[name] ?? (await freePort());
  const file = path.join(dir, "kernel.json");
  fs.writeFileSync(file, JSON.stringify(info));
  return file;
}

/** The kernel's sockets bound on fresh ports (onFreshPorts: a port may be taken meanwhile). */
function bindOnFreshPorts(dir: string) {
  return onFreshPorts(async () => {
    const kernel = bindKernelSockets(await connectionFile(dir));
    try {
      await kernel.bound;
      return kernel;
    } catch (e) {
      for (const sock of Object.values(kernel.sockets) as Array<{ close(): void }>) sock.close();
      throw e;
    }
  });
}

describe("the kernel's sockets, bound first", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-sockets-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("a request sent before anything reads the shell socket waits for the first read", async () => {
    const { connInfo, sockets } = await bindOnFreshPorts(dir);
    const client = new zmq.Dealer();
    try {
      expect(sockets.iopub.sendHighWaterMark).toBe(IOPUB_HIGH_WATER_MARK);
      client.connect(`tcp://127.0.0.1:${connInfo.shell_port}`);
      await client.send(["kernel_info_request"]);
      // The kernel's read loop starts only later (the handler ready): the request is there.
      const [identity, body] = await sockets.shell.receive();
      expect(identity.length).toBeGreaterThan(0);
      expect(body.toString()).toBe("kernel_info_request");
    } finally {
      client.close();
      for (const sock of Object.values(sockets) as Array<{ close(): void }>) sock.close();
    }
  });

  test("a port taken before the kernel binds it: the kernel says so and exits 1, no hang", async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    try {
      const file = await connectionFile(dir, { shell: (taken.address() as net.AddressInfo).port });
      const r = spawnSync(process.execPath, [path.join(repo, "kernel", "main.js"), file], {
        cwd: dir,
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(r.signal).toBeNull();
      expect(r.stderr).toContain("tslab-ipc: cannot bind the kernel's sockets");
      expect(r.status).toBe(1);
    } finally {
      taken.close();
    }
  }, 90_000);

  test("a connection file it cannot read: the kernel names it and exits 1", () => {
    const missing = path.join(dir, "no-such-connection-file.json");
    const r = spawnSync(process.execPath, [path.join(repo, "kernel", "main.js"), missing], {
      cwd: dir,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.stderr).toContain(`tslab-ipc: cannot make the kernel's sockets from ${missing}`);
    expect(r.stderr).toContain("ENOENT");
    expect(r.status).toBe(1);
  });
});
