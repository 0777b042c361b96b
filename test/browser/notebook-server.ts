// A Jupyter Notebook server for the browser tests: on a free port of 127.0.0.1, with a random
// token, serving one folder with this checkout's kernel (the env of projectKernel()).
// stop() shuts the kernels down through the server's API first, so they run their cleanup
// (what they created is removed), then the server: SIGTERM, and SIGKILL after 10 s.
import { spawn } from "child_process";
import crypto from "crypto";
import net from "net";
import { jupyterPython } from "../../src/handouts";

export interface NotebookServer {
  /** http://127.0.0.1:<port> */
  base: string;
  token: string;
  /** What the server printed so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Starts the server and waits (60 s at most) until its API answers; stops it again on failure. */
export async function startNotebookServer(workDir: string, env: NodeJS.ProcessEnv): Promise<NotebookServer> {
  const token = crypto.randomBytes(16).toString("hex");
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(
    jupyterPython(),
    [
      "-m",
      "notebook",
      "--no-browser",
      "--ip=127.0.0.1",
      `--port=${port}`,
      "--port-retries=0",
      `--NotebookApp.token=${token}`,
      "--allow-root",
      `--notebook-dir=${workDir}`,
    ],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const server: NotebookServer = {
    base,
    token,
    log: () => log,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        const kernels = (await (await fetch(`${base}/api/kernels?token=${token}`)).json()) as { id: string }[];
        await Promise.all(
          kernels.map((k) => fetch(`${base}/api/kernels/${k.id}?token=${token}`, { method: "DELETE" })),
        );
      } catch {
        /* the server is going anyway */
      }
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
  try {
    for (const deadline = Date.now() + 60_000; ; ) {
      if (child.exitCode !== null) throw new Error(`jupyter notebook exited with ${child.exitCode}:\n${log}`);
      const ok = await fetch(`${base}/api/status?token=${token}`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return server;
      if (Date.now() > deadline) throw new Error(`jupyter notebook did not answer within 60 s:\n${log}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (e) {
    await server.stop();
    throw e;
  }
}
