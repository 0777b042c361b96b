// After msync(MS_SYNC) returns, the data survives a SIGKILL of the writer: a new process reads
// it back from the file. The reader first drops the file from the page cache, so what it reads
// comes from the disk. (A SIGKILL alone does not lose MAP_SHARED data, which lives in the page
// cache; what msync adds, surviving a machine crash, cannot be tested here. dropFromPageCache
// fsyncs before dropping, so the drop does not tell msync's write-back from its own.)
import { spawn, spawnSync } from "child_process";
import crypto from "crypto";
import fs from "fs";
import path from "path";
import { distIndex, tempDir } from "../helpers";

const dir = tempDir("tslab-ipc-durability-"); // /tmp: ext4 here, a real disk
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("msync(MS_SYNC) then SIGKILL: a new process reads every byte back from the file (from disk, not the page cache)", async () => {
  const file = path.join(dir, "durable.bin");
  const size = 64 * 4096;
  const pattern = crypto.randomBytes(size);
  const patternFile = path.join(dir, "pattern.bin");
  fs.writeFileSync(patternFile, pattern);
  // The writer maps the file, copies the pattern in, msyncs, says so, and waits to be killed.
  const writer = spawn(
    process.execPath,
    [
      "-e",
      `const ipc = require(${JSON.stringify(distIndex)}); const fs = require("fs");
       const m = ipc.mapFile(${JSON.stringify(file)}, { create: ${size} });
       m.buffer.set(fs.readFileSync(${JSON.stringify(patternFile)}));
       ipc.msync(m, m.length, ipc.MS_SYNC);
       process.stdout.write("synced\\n");
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise<void>((resolve, reject) => {
    writer.stdout.on("data", (d) => String(d).includes("synced") && resolve());
    writer.on("exit", (code) => reject(new Error(`writer exited early with ${code}`)));
  });
  writer.kill("SIGKILL");
  const end = await new Promise<string | null>((resolve) => writer.on("close", (_c, s) => resolve(s)));
  expect(end).toBe("SIGKILL");

  const reader = spawnSync(
    process.execPath,
    [
      "-e",
      `const ipc = require(${JSON.stringify(distIndex)}); const fs = require("fs");
       const stillCached = ipc.dropFromPageCache(${JSON.stringify(file)});
       const bytes = fs.readFileSync(${JSON.stringify(file)});
       console.log(JSON.stringify({ stillCached, length: bytes.length, hex: bytes.toString("hex") }));`,
    ],
    { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
  );
  expect(reader.stderr).toBe("");
  const got = JSON.parse(reader.stdout);
  console.log(`msync durability: ${size} bytes written, msync(MS_SYNC), writer SIGKILLed; ${got.stillCached} pages still cached after the drop`);
  expect(got.stillCached).toBe(0); // the read below comes from the disk
  expect(got.length).toBe(size);
  expect(Buffer.from(got.hex, "hex").equals(pattern)).toBe(true);
});
