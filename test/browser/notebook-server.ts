// A Jupyter Notebook server for the browser tests: on a free port of 127.0.0.1, with a random
// token, serving one folder with this checkout's kernel (the env of projectKernel()).
// stop() shuts the kernels down through the server's API first, so they run their cleanup
// (what they created is removed), then the server: SIGTERM, and SIGKILL after 10 s.
// withNotebookPage() is the whole set-up of a browser test: server, Chromium, the notebook's
// page with its kernel connected, and the teardown of all of them.
import { spawn } from "child_process";
import crypto from "crypto";
import fs from "fs";
import type { Page } from "playwright-core";
import { CHROMIUM_ARGS } from "../../src/figures/chromium";
import { jupyterPython, projectKernel, type KernelEnvironment } from "../../src/handouts";
import { chromiumPath, freePort, onFreshPorts, raceTimeout } from "../helpers";

export interface NotebookServer {
  /** http://127.0.0.1:<port> */
  base: string;
  token: string;
  /** What the server printed so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts the server and waits (60 s at most) until its API answers; stops it again on failure.
 * On a fresh port when the one freePort found was taken before the server bound it (the server
 * then exits saying so): onFreshPorts.
 */
export function startNotebookServer(workDir: string, env: NodeJS.ProcessEnv): Promise<NotebookServer> {
  return onFreshPorts(async () => startOnPort(await freePort(), workDir, env));
}

async function startOnPort(port: number, workDir: string, env: NodeJS.ProcessEnv): Promise<NotebookServer> {
  const token = crypto.randomBytes(16).toString("hex");
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
      await raceTimeout([exited], 10_000);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
  try {
    for (const deadline = Date.now() + 60_000; ; ) {
      if (child.exitCode !== null) throw new Error(`jupyter notebook exited with ${child.exitCode}:\n${log}`);
      // Bounded: whatever holds the port may accept a connection and never answer.
      const ok = await fetch(`${base}/api/status?token=${token}`, { signal: AbortSignal.timeout(2000) }).then(
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

/**
 * Serves `workDir` with this checkout's kernel, opens its notebook `name` in headless Chromium,
 * waits (90 s at most) until the page's kernel is the connected "tslab-ipc", and runs `use`.
 * Whatever happens, the browser, the server (its kernels first) and the kernel's environment
 * are stopped, and `workDir` is removed.
 */
export async function withNotebookPage(
  workDir: string,
  name: string,
  use: (page: Page) => Promise<void>,
): Promise<void> {
  const { chromium } = require("playwright-core") as typeof import("playwright-core");
  let kernel: KernelEnvironment | undefined;
  let server: NotebookServer | undefined;
  let browser: Awaited<ReturnType<typeof chromium.launch>> | undefined;
  try {
    kernel = projectKernel();
    server = await startNotebookServer(workDir, kernel.env);
    browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
    const page = await browser.newPage();
    const pageLog: string[] = [];
    page.on("console", (m) => pageLog.push(m.text()));
    page.on("pageerror", (e) => pageLog.push(String(e)));
    await page.goto(`${server.base}/notebooks/${encodeURIComponent(name)}?token=${server.token}`);
    // The page's notebook object exists and its kernel ("TypeScript (IPC)", from the metadata) is up.
    await page
      .waitForFunction(
        () => {
          const nb = (window as any).Jupyter?.notebook;
          return nb?.kernel?.is_connected?.() && nb.kernel.name === "tslab-ipc";
        },
        null,
        { timeout: 90_000 },
      )
      .catch((e) => {
        throw new Error(
          `the kernel did not connect: ${e.message}\npage console:\n${pageLog.slice(-20).join("\n")}\nserver:\n${server?.log().slice(-2000)}`,
        );
      });
    await use(page);
  } finally {
    await browser?.close().catch(() => {});
    await server?.stop();
    kernel?.dispose();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}
