// An OfflineBrowser held across signals, as a kernel holds one for many renderings: the signals
// are process/lifecycle's. playwright-core's own SIGINT handler closed the browser and exited
// the process (a kernel died when a cell was interrupted), and its SIGTERM handler closed the
// browser under a process that went on. A command-line run (no host) dies of Ctrl-C at once, and
// nothing of its browser is left: no Chromium, no profile, no artifacts, no Chromium temporary
// folder (a Ctrl-C of \`release\` left them in /tmp). Each case runs in a Node process of its own,
// from dist/.
import { spawn } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { needsOr, processesIn, repoRoot } from "../helpers";

const dist = path.join(repoRoot, "dist");
const built = fs.existsSync(path.join(dist, "figures", "chromium.js")) ? null : "dist/ is not built (npm run build)";

/** A host that keeps `signal` (as the kernel keeps SIGINT), a browser open, then the signal: a page after it. */
function hostKeeping(
  signal: "SIGINT" | "SIGTERM",
): Promise<{ code: number | null; signal: string | null; out: string }> {
  const script = `
    const { launchOfflineBrowser } = require(${JSON.stringify(path.join(dist, "figures", "chromium.js"))});
    const lifecycle = require(${JSON.stringify(path.join(dist, "process", "lifecycle.js"))});
    ${signal === "SIGINT" ? "lifecycle.setHost({ handlesInterrupts: true }); lifecycle.onInterrupt(() => {});" : "lifecycle.setHost({ handlesTermination: true }); lifecycle.onTerminate(() => {});"}
    (async () => {
      const browser = await launchOfflineBrowser();
      console.log("ready");
      await new Promise((r) => process.once("message", r));
      await new Promise((r) => setTimeout(r, 1000));
      const page = await browser.newPage();
      const two = await page.evaluate(() => 1 + 1);
      await browser.close();
      console.log(JSON.stringify({ two }));
    })().catch((e) => { console.log(JSON.stringify({ error: String(e).split("\\n")[0] })); process.exit(1); });`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit", "ipc"] });
  let out = "";
  child.stdout!.on("data", (d) => {
    out += d;
    if (out.startsWith("ready\n") && !child.killed) {
      child.kill(signal);
      // Then tell it to go on (if it is still there).
      setTimeout(() => child.connected && child.send("go"), 200);
    }
  });
  return new Promise((resolve) => child.on("close", (code, sig) => resolve({ code, signal: sig, out })));
}

needsOr(["chromium"], built).describe("an open browser and the signals a host keeps", () => {
  test.each(["SIGINT", "SIGTERM"] as const)(
    "%s: the process lives on and the browser still renders",
    async (signal) => {
      const r = await hostKeeping(signal);
      expect({ code: r.code, signal: r.signal, last: r.out.trim().split("\n").pop() }).toEqual({
        code: 0,
        signal: null,
        last: JSON.stringify({ two: 2 }),
      });
    },
    60_000,
  );
});

/** A command-line run (no host) in its own temp folder holding an open browser, then `signal`. */
async function commandLineRun(signal: "SIGINT" | "SIGTERM" | null, deeper = "") {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-browsertest-"));
  const tmp = path.join(top, deeper);
  fs.mkdirSync(tmp, { recursive: true });
  const script = `
    const { launchOfflineBrowser } = require(${JSON.stringify(path.join(dist, "figures", "chromium.js"))});
    (async () => {
      const browser = await launchOfflineBrowser();
      const page = await browser.newPage();
      await page.setContent("<p>x</p>");
      console.log("ready");
      if (${signal === null}) await browser.close();
      else setTimeout(() => {}, 60000);
    })();`;
  const child = spawn(process.execPath, ["-e", script], {
    env: { ...process.env, TMPDIR: tmp },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  let sentAt = 0;
  child.stdout!.on("data", (d) => {
    out += d;
    if (signal && out.includes("ready\n") && !sentAt) {
      sentAt = Date.now();
      child.kill(signal);
    }
  });
  const [code, died] = await new Promise<[number | null, string | null]>((resolve) =>
    child.on("close", (c, s) => resolve([c, s])),
  );
  const seconds = sentAt ? (Date.now() - sentAt) / 1000 : 0;
  // Chromium's processes, if any were left, are killed when they are found: a second look.
  await new Promise((r) => setTimeout(r, 500));
  const left = { processes: processesIn(tmp), files: fs.readdirSync(tmp) };
  for (const pid of left.processes) process.kill(pid, "SIGKILL");
  fs.rmSync(top, { recursive: true, force: true });
  return { code, died, seconds, out: out + err, left };
}

needsOr(["chromium"], built).describe("an open browser in a command-line run", () => {
  test.each(["SIGINT", "SIGTERM"] as const)(
    "%s: the run dies of it within seconds and leaves no Chromium and no folder",
    async (signal) => {
      const r = await commandLineRun(signal);
      expect(r.out).toBe("ready\n");
      expect({ code: r.code, died: r.died, left: r.left }).toEqual({
        code: null,
        died: signal,
        left: { processes: [], files: [] },
      });
      expect(r.seconds).toBeLessThan(5);
    },
    60_000,
  );

  test.each([
    ["", ""],
    // Too long for Chromium's singleton socket there or in a folder of ours: old code, Chromium
    // died at start in a TMPDIR of 63 characters or more, and left its socket's folder.
    [
      " (in a TMPDIR 80 characters long)",
      "x".repeat(80 - os.tmpdir().length - "/tslab-ipc-browsertest-XXXXXX/".length),
    ],
  ])(
    "close() leaves no Chromium and no folder%s",
    async (_, deeper) => {
      const r = await commandLineRun(null, deeper);
      expect({ out: r.out, code: r.code, left: r.left }).toEqual({
        out: "ready\n",
        code: 0,
        left: { processes: [], files: [] },
      });
    },
    60_000,
  );
});
