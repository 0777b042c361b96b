// A temporary folder lives as long as its work and never longer than its process
// (src/process/temp-folder.ts): release's, the kernelspec's and Chromium's folders were left in
// the temp directory by a Ctrl-C, which runs no finally block.
import { spawn } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { tempFolder } from "../../src/process/temp-folder";
import { needsOr, repoRoot } from "../helpers";

const dist = path.join(repoRoot, "dist", "process", "temp-folder.js");
const built = fs.existsSync(dist) ? null : "dist/ is not built (npm run build)";

function fresh(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-temptest-"));
}

describe("tempFolder", () => {
  test("makes a private folder that remove() takes away with its contents, once", () => {
    const parent = fresh();
    try {
      const folder = tempFolder("work-", { parent });
      expect(path.dirname(folder.path)).toBe(parent);
      expect(fs.statSync(folder.path).mode & 0o777).toBe(0o700);
      fs.mkdirSync(path.join(folder.path, "a", "b"), { recursive: true });
      fs.writeFileSync(path.join(folder.path, "a", "b", "f"), "x");
      folder.remove();
      expect(fs.readdirSync(parent)).toEqual([]);
      folder.remove(); // harmless
    } finally {
      fs.rmSync(parent, { recursive: true, force: true });
    }
  });

  test("runs `before` first, whichever way the folder goes", () => {
    const parent = fresh();
    try {
      const seen: boolean[] = [];
      const folder = tempFolder("work-", { parent, before: () => seen.push(fs.existsSync(folder.path)) });
      folder.remove();
      folder.remove();
      expect(seen).toEqual([true]);
    } finally {
      fs.rmSync(parent, { recursive: true, force: true });
    }
  });
});

needsOr([], built).describe("tempFolder in a command-line run (a child process, real signals)", () => {
  test.each(["SIGINT", "SIGTERM", "SIGHUP"] as const)(
    "stopped by %s, it leaves no folder and dies of the signal",
    async (signal) => {
      const parent = fresh();
      try {
        const script = `
          const { tempFolder } = require(${JSON.stringify(dist)});
          const fs = require("fs");
          const folder = tempFolder("work-", { parent: ${JSON.stringify(parent)}, before: () => fs.writeFileSync(${JSON.stringify(path.join(parent, "before-ran"))}, "") });
          fs.writeFileSync(folder.path + "/file", "x");
          console.log("ready");
          setTimeout(() => {}, 30000);`;
        const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
        let out = "";
        child.stdout!.on("data", (d) => {
          out += d;
          if (out.includes("ready\n") && !child.killed) child.kill(signal);
        });
        const [code, died] = await new Promise<[number | null, string | null]>((resolve) =>
          child.on("close", (c, s) => resolve([c, s])),
        );
        expect({ code, died, left: fs.readdirSync(parent) }).toEqual({
          code: null,
          died: signal,
          left: ["before-ran"],
        });
      } finally {
        fs.rmSync(parent, { recursive: true, force: true });
      }
    },
    30_000,
  );
});
