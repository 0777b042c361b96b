// The benchmark's own machinery: statistics, ratios and verdicts, the leftover sweep, and a
// smoke run of the C baseline and of tslab-ipc's runner on tiny workloads (no timing asserted).
import { execFileSync, spawn, spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { cCompiler, distIndex, needs, repoRoot, segmentExists, tempDir } from "../helpers";

/* eslint-disable @typescript-eslint/no-var-requires */
const stats = require(path.join(repoRoot, "bench", "lib", "stats.js"));
const report = require(path.join(repoRoot, "bench", "lib", "report.js"));
const { Cleanup } = require(path.join(repoRoot, "bench", "lib", "cleanup.js"));
const machine = require(path.join(repoRoot, "bench", "lib", "machine.js"));

describe("stats", () => {
  test("quantile interpolates between closest ranks and ignores input order", () => {
    expect(stats.quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(stats.quantile([10, 20, 30], 0)).toBe(10);
    expect(stats.quantile([10, 20, 30], 1)).toBe(30);
    expect(stats.quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 0.9)).toBe(10);
    expect(Number.isNaN(stats.quantile([], 0.5))).toBe(true);
  });

  test("quietestTurn is the lowest per-turn median", () => {
    // Turns of 3: medians 5, 2, 7.
    expect(stats.quietestTurn([5, 4, 6, 1, 2, 9, 7, 7, 8], 3)).toBe(2);
  });
});

describe("report.judge", () => {
  const peers = ["p1", "p2"];
  const base = { unit: "x", skipped: {}, samples: {} };

  test("higher is better: ratios of values, best peer is the largest", () => {
    const out = {
      ...base,
      higherIsBetter: true,
      values: { "tslab-ipc": 9, c: 10, p1: 8, p2: 12 },
      target: { vsC: [">=", 0.9], peers: true },
    };
    const { ratios, verdicts } = report.judge(out, peers);
    expect(ratios.vsC).toBeCloseTo(0.9);
    expect(ratios.bestPeer).toBe("p2");
    expect(ratios.vsBestPeer).toBeCloseTo(0.75);
    expect(verdicts.map((v: { holds: boolean }) => v.holds)).toEqual([true, false]);
  });

  test("lower is better: best peer is the smallest; a miss by under 5% is marked near", () => {
    const out = {
      ...base,
      higherIsBetter: false,
      values: { "tslab-ipc": 1.55, c: 1, p1: 1.6 },
      target: { vsC: ["<=", 1.5], peers: true },
    };
    const { ratios, verdicts } = report.judge(out, peers);
    expect(ratios.bestPeer).toBe("p1");
    expect(verdicts[0]).toMatchObject({ holds: false, near: true });
    expect(verdicts[1]).toMatchObject({ holds: true });
  });

  test("no peer ran, no C: no ratio and only the absolute target", () => {
    const out = { ...base, higherIsBetter: false, values: { "tslab-ipc": 2 }, target: { abs: ["<", 3] } };
    const { ratios, verdicts } = report.judge(out, peers);
    expect(ratios).toEqual({ vsC: null, bestPeer: null, vsBestPeer: null, vsControl: null });
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0].holds).toBe(true);
  });
});

describe("the control (ours a second time)", () => {
  const peers = ["p1", "p2"];
  const row = (name: string, values: Record<string, number>) => {
    const out = {
      name,
      unit: "GB/s",
      skipped: {},
      samples: {},
      higherIsBetter: true,
      values,
      target: { peers: 0.03 },
    };
    return { ...out, ...report.judge(out, peers) };
  };

  test("is not a peer: ours against it is its own ratio, named in the peer verdict", () => {
    const r = row("w", { "tslab-ipc": 10, [report.CONTROL]: 11, p1: 9 });
    expect(r.ratios.bestPeer).toBe("p1");
    expect(r.ratios.vsControl).toBeCloseTo(10 / 11);
    expect(r.verdicts[0].holds).toBe(true);
    expect(r.verdicts[0].got).toBe("1.11x of p1; ours against ours again 0.91x");
  });

  test("the Targets sentence gives its range, and the peer misses no further from ours than the control on the same row", () => {
    const rows = [
      row("a", { "tslab-ipc": 10, [report.CONTROL]: 9.3, p1: 10.6 }), // control 1.08x; p1 ahead 0.94x: inside
      row("b", { "tslab-ipc": 10, [report.CONTROL]: 10.2, p1: 12 }), // control 0.98x; p1 ahead 0.83x: outside
      row("c", { "tslab-ipc": 10, [report.CONTROL]: 8, p1: 10.5 }), // control 1.25x, a noisy row
      row("d", { "tslab-ipc": 10, p1: 9 }), // no control on this row
    ];
    const text = report.controlSpread(rows);
    expect(text).toContain("came out at 0.98x–1.25x of ours on the 3 peer rows");
    // c's wide control excuses no other row's miss: b's p1 is judged against b's own control.
    expect(text).toContain("the same row: a (0.94x of p1, 1.08x of ours), c (0.95x of p1, 1.25x of ours).");
    expect(text).not.toContain("b (");
    expect(report.controlSpread([rows[1]])).toContain("the peer is further from ours than the control");
    expect(report.controlSpread([rows[3]])).toBeNull();
  });
});

describe("report.markdown's machine line", () => {
  const results = (nodeExtraCaCerts: string | null, syscallsEmptyTlb: boolean | null = false) => ({
    date: "2026-12-03T19:06:39.783Z",
    command: "node bench/run.js",
    durationSeconds: 798,
    machine: {
      cpu: "AMD EPYC",
      cores: 2,
      memoryGiB: 24,
      kernel: "Linux 6.18",
      fs: { "/tmp": "ext4", "/dev/shm": "tmpfs" },
      node: "v20.20.2",
      cc: "cc 12.2.0",
      python: "Python 3.11.2",
      loadAverage: [0.05, 0.59, 1.9],
      nodeExtraCaCerts,
      syscallsEmptyTlb,
    },
    outputs: [],
    workloads: [],
  });

  test("says when NODE_EXTRA_CA_CERTS is set, since every Node start of the run pays for it", () => {
    const set = report.markdown(results("/etc/ssl/certs/ca-certificates.crt"), "");
    expect(set).toContain("`NODE_EXTRA_CA_CERTS` is set (/etc/ssl/certs/ca-certificates.crt)");
    expect(report.markdown(results(null), "")).not.toContain("NODE_EXTRA_CA_CERTS");
  });

  test("says when every system call empties the TLB (PTI on a CPU without PCID), which each runtime pays for", () => {
    expect(report.markdown(results(null, true), "")).toContain("every system call empties the TLB");
    for (const unknownOrNo of [false, null]) {
      expect(report.markdown(results(null, unknownOrNo), "")).not.toContain("TLB");
    }
  });

  test("PTI without PCID is read from the kernel's meltdown line and the CPU's flags", () => {
    const flags = "fpu vme de pse tsc msr pae mce cx8 apic sep pge";
    expect(machine.syscallsEmptyTlb("Mitigation: PTI\n", flags)).toBe(true);
    expect(machine.syscallsEmptyTlb("Mitigation: PTI\n", `${flags} pcid invpcid`)).toBe(false);
    expect(machine.syscallsEmptyTlb("Not affected\n", flags)).toBe(false);
    expect(machine.syscallsEmptyTlb("Vulnerable\n", flags)).toBe(false);
  });
});

describe("Cleanup", () => {
  test("a runner killed mid-run: killAll stops it and what it started, the sweep removes its segment", async () => {
    const c = new Cleanup();
    const runner = spawn(
      process.execPath,
      [
        "-e",
        `const ipc = require(${JSON.stringify(distIndex)});
         const id = ipc.shmget(ipc.IPC_PRIVATE, 4096, ipc.IPC_CREAT | 0o600, { persist: true });
         const peer = require("child_process").spawn("sleep", ["60"], { stdio: "ignore" });
         console.log(JSON.stringify({ id, peer: peer.pid }));
         setInterval(() => {}, 1000);`,
      ],
      { detached: true, stdio: ["ignore", "pipe", "inherit"] },
    );
    c.noteChild(runner.pid);
    let made: { id: number; peer: number } | null = null;
    try {
      made = await new Promise<{ id: number; peer: number }>((resolve, reject) => {
        let out = "";
        runner.stdout!.on("data", (d) => {
          out += d;
          if (out.includes("\n")) resolve(JSON.parse(out));
        });
        runner.on("exit", () => reject(new Error("the runner died early")));
      });
      const closed = new Promise((r) => runner.on("close", r));
      c.killAll();
      await closed;
      expect(c.sweep()).toEqual([`segment ${made.id}`]);
      expect(segmentExists(made.id)).toBe(false);
      // Gone, or a zombie waiting for whoever adopted it to reap it: not running either way.
      const state = () => {
        try {
          return fs.readFileSync(`/proc/${made!.peer}/stat`, "utf8").split(") ")[1][0];
        } catch {
          return "gone";
        }
      };
      for (let i = 0; i < 40 && !["gone", "Z"].includes(state()); i++) await new Promise((r) => setTimeout(r, 50));
      expect(["gone", "Z"]).toContain(state());
    } finally {
      try {
        process.kill(-runner.pid!, "SIGKILL");
      } catch {
        /* gone */
      }
      if (made && segmentExists(made.id)) spawnSync("ipcrm", ["-m", String(made.id)]);
    }
  });

  test("sweep removes files with the run's prefix in /dev/shm and /tmp, and nothing else", () => {
    const c = new Cleanup();
    const mine = [c.file("/dev/shm"), c.file("/tmp")];
    const other = path.join(os.tmpdir(), `tslab-bench-other-${process.pid}`);
    for (const f of [...mine, other]) fs.writeFileSync(f, "x");
    try {
      const removed = c.sweep();
      expect(removed.sort()).toEqual([...mine].sort());
      for (const f of mine) expect(fs.existsSync(f)).toBe(false);
      expect(fs.existsSync(other)).toBe(true);
    } finally {
      for (const f of [...mine, other]) fs.rmSync(f, { force: true });
    }
  });
});

describe("runners (tiny workloads)", () => {
  const cc = cCompiler();
  const smoke = needs("cc").test; // without a C compiler there is no baseline to build

  function samplesOf(out: string): number[] {
    const result = JSON.parse(out.trim().split("\n").pop() as string);
    expect(result.skipped).toBeUndefined();
    expect(Array.isArray(result.samples)).toBe(true);
    return result.samples;
  }

  smoke("the C baseline builds with cc -O2 and reports positive samples", () => {
    const dir = tempDir("tslab-bench-test-");
    try {
      const exe = path.join(dir, "bench");
      execFileSync(cc as string, ["-O2", "-o", exe, path.join(repoRoot, "bench", "c", "bench.c")]);
      const seg = samplesOf(execFileSync(exe, ["segcycle", "20", "2"], { encoding: "utf8" }));
      expect(seg).toHaveLength(2);
      for (const s of seg) expect(s).toBeGreaterThan(0);
      const file = path.join("/dev/shm", `tslab-bench-test-${process.pid}`);
      const ms = samplesOf(execFileSync(exe, ["msync", file, "20"], { encoding: "utf8" }));
      expect(ms).toHaveLength(20);
      expect(fs.existsSync(file)).toBe(false); // unlinked right after mapping
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("tslab-ipc's runner measures through the compiled library and leaves nothing", () => {
    const env = { ...process.env, TSLAB_IPC_LIB: path.dirname(distIndex) };
    const runner = path.join(repoRoot, "bench", "runners", "ours.js");
    const seg = samplesOf(execFileSync(process.execPath, [runner, "segcycle", "20", "2"], { encoding: "utf8", env }));
    expect(seg).toHaveLength(2);
    const file = path.join("/dev/shm", `tslab-bench-test-${process.pid}-f`);
    const fill = samplesOf(
      execFileSync(process.execPath, [runner, "fill", "file", file, String(1 << 20), "2"], { encoding: "utf8", env }),
    );
    expect(fill).toHaveLength(2);
    for (const s of fill) expect(s).toBeGreaterThan(0);
    expect(fs.existsSync(file)).toBe(false);
  });
});
