// An OfflineBrowser held across signals, as a kernel holds one for many renderings: the signals
// are process/lifecycle's. playwright-core's own SIGINT handler closed the browser and exited
// the process (a kernel died when a cell was interrupted), and its SIGTERM handler closed the
// browser under a process that went on. Each case runs in a Node process of its own, from dist/.
import { spawn } from "child_process";
import fs from "fs";
import path from "path";
import { needsOr, repoRoot } from "../helpers";

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
