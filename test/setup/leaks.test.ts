// The suite judges only what it created: a run of two fixture tests, one that leaks a segment
// and a /dev/shm entry of its own, one that waits while another program (this test) creates
// and removes segments and /dev/shm entries. The run must fail for its own leak, name only its
// own objects, remove them, and leave the other program's alone. Both ways the suite runs:
// in its own namespace (run.js, where unshare is allowed) and attributed (creator pid, journal).
import { spawn, spawnSync } from "child_process";
import crypto from "crypto";
import fs from "fs";
import os from "os";
import path from "path";
import { repoRoot, segmentExists, tempDir } from "../helpers";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { namespaceAllowed } = require("./run.js");

const CONFIG = JSON.stringify({
  rootDir: repoRoot,
  roots: ["<rootDir>/test/setup/fixtures"],
  testMatch: ["**/*.fixture.ts"],
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
  maxWorkers: 2,
  globalSetup: "<rootDir>/test/setup/global-setup.js",
  globalTeardown: "<rootDir>/test/setup/global-teardown.js",
  reporters: ["<rootDir>/test/setup/summary-reporter.js"],
});

/** A segment made by another program (util-linux's ipcmk): its id. */
function foreignSegment(): number {
  const r = spawnSync("ipcmk", ["-M", "4096", "-p", "0600"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ipcmk failed: ${r.stderr}`);
  return Number(/id: (\d+)/.exec(r.stdout)![1]);
}

function removeSegment(id: number): void {
  if (id >= 0 && segmentExists(id)) spawnSync("ipcrm", ["-m", String(id)]);
}

/** A /dev/shm name with no number in it (a number could read as one of the run's pids). */
const foreignName = (what: string) => `tslab-foreign-${what}-r${crypto.randomBytes(4).toString("hex")}`;

async function waitFor(file: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!fs.existsSync(file)) {
    if (Date.now() > end) throw new Error(`${file} never appeared`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const modes: Array<[string, string | null]> = [
  ["attributed", null],
  [
    "namespace",
    namespaceAllowed() ? null : "unshare --ipc --mount is not allowed here (needs root or user namespaces)",
  ],
];

describe.each(modes)("a run judged %s", (mode, unavailable) => {
  (unavailable ? test.skip : test)(
    `fails for its own leak only, removes it, never touches another program's objects${unavailable ? ` [skipped: ${unavailable}]` : ""}`,
    async () => {
      const dir = tempDir("tslab-ipc-leaks-");
      const files = {
        out: path.join(dir, "leaky.json"),
        ready: path.join(dir, "ready"),
        go: path.join(dir, "go"),
        results: path.join(dir, "results"),
      };
      const before = { id: foreignSegment(), name: foreignName("before") };
      const during = { id: -1, name: foreignName("during") };
      fs.writeFileSync(path.join("/dev/shm", before.name), "");
      let leaked: { id: number; childId: number; name: string; records?: string } | null = null;
      try {
        const env: NodeJS.ProcessEnv = {
          ...process.env,
          TSLAB_IPC_TEST_RESULTS: files.results,
          TSLAB_IPC_TEST_NO_BUILD: "1",
          LEAKY_OUT: files.out,
          BYSTANDER_READY: files.ready,
          BYSTANDER_GO: files.go,
        };
        delete env.TSLAB_IPC_TEST_ISOLATION;
        delete env.TSLAB_IPC_RECORDS;
        if (mode === "attributed") env.TSLAB_IPC_TEST_ISOLATION = "attributed";
        const inner = spawn(
          process.execPath,
          [path.join(repoRoot, "test", "setup", "run.js"), `--config=${CONFIG}`, "--ci"],
          {
            cwd: repoRoot,
            env,
            stdio: ["ignore", "pipe", "pipe"],
          },
        );
        let output = "";
        inner.stdout.on("data", (d) => (output += d));
        inner.stderr.on("data", (d) => (output += d));
        const exited = new Promise<number | null>((resolve) => inner.on("close", resolve));

        // Mid-run, another program creates a segment and a /dev/shm entry and removes older ones.
        await waitFor(files.ready, 60_000);
        during.id = foreignSegment();
        fs.writeFileSync(path.join("/dev/shm", during.name), "");
        removeSegment(before.id);
        fs.rmSync(path.join("/dev/shm", before.name), { force: true });
        fs.writeFileSync(files.go, "");

        const code = await exited;
        leaked = JSON.parse(fs.readFileSync(files.out, "utf8"));
        const summary = fs.readFileSync(path.join(files.results, "summary.txt"), "utf8").trim();
        const leakLine = output.split("\n").find((l) => l.startsWith("LEAK: ")) ?? "";
        expect({ code, summary }).toEqual({ code: 1, summary: "2 passed, 1 failed, 0 skipped" });
        expect(leakLine).toMatch(new RegExp(`leaked 2 System V segment\\(s\\) \\[ids .*\\b${leaked!.id} \\(cpid `));
        expect(leakLine).toMatch(new RegExp(`\\b${leaked!.childId} \\(cpid `));
        expect(leakLine).toContain(`[${leaked!.name}]`);
        expect(leakLine).toContain(mode === "namespace" ? "its own IPC namespace" : "creator pid and journal");
        expect(leakLine).not.toContain(during.name);
        // The run's records folder (reap's journals) was its own, private, and is gone with it.
        expect(leaked!.records).toMatch(new RegExp(`^${os.tmpdir()}/tslab-ipc-test-records-`));
        expect(fs.existsSync(leaked!.records!)).toBe(false);
        // The other program's objects are untouched; ours are gone.
        expect(segmentExists(during.id)).toBe(true);
        expect(fs.existsSync(path.join("/dev/shm", during.name))).toBe(true);
        expect(fs.existsSync(path.join("/dev/shm", leaked!.name))).toBe(false);
        if (mode === "attributed") {
          // The other program's segment is named as not ours, and ours are not. Other files of
          // this suite, running beside this one, may hold segments of their own at that moment
          // (their creators alive): they are not ours either, so the list is not exactly one.
          const notOurs = /not ours, left alone: \d+ segment\(s\) \[([^\]]*)\]/.exec(output)?.[1] ?? "";
          const listed = notOurs.split(", ").map((entry) => Number(entry.split(" ")[0]));
          expect(listed).toContain(during.id);
          expect(listed).not.toContain(leaked!.id);
          expect(listed).not.toContain(leaked!.childId);
          expect(segmentExists(leaked!.id)).toBe(false);
          expect(segmentExists(leaked!.childId)).toBe(false);
        }
      } finally {
        removeSegment(before.id);
        removeSegment(during.id);
        for (const n of [before.name, during.name]) fs.rmSync(path.join("/dev/shm", n), { force: true });
        // Ours too, should the run's own removal have failed (attributed: same namespace as here).
        if (leaked && mode === "attributed") {
          removeSegment(leaked.id);
          removeSegment(leaked.childId);
          fs.rmSync(path.join("/dev/shm", leaked.name), { force: true });
        }
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
