// `npm run stress`: the reliability experiments of issue 7 at full size, with a report.
//   npm run stress                 full run (a few minutes)
//   npm run stress -- --quick      about the npm-test sizes, to try it out
//   TSLAB_IPC_SEED=123 npm run stress   replay a run (every random choice comes from the seed)
// Exit code 1 if any property failed. Build first (npm run build): children load dist/.

const { performance } = require("perf_hooks");
const { seedFromEnv, prng } = require("./prng");
const { runFuzz, formatReport } = require("./fuzz/run");
const { recordKillExperiment } = require("./record-kill");
const { counterExperiment } = require("./counter");
const { lockRepairExperiment } = require("./lock-repair");
const { cyclesExperiment } = require("./cycles");
const { errnoExperiment, nodeBinaries } = require("./errno");

const quick = process.argv.includes("--quick");
const size = quick
  ? {
      fuzzWorkers: 4,
      fuzzCalls: 2600,
      recordKills: 25,
      counter: [16, 5_000],
      repairs: 15,
      cycles: 10_000,
      errno: 25_000,
    }
  : {
      fuzzWorkers: 16,
      fuzzCalls: 12_500,
      recordKills: 200,
      counter: [64, 10_000],
      repairs: 100,
      cycles: 100_000,
      errno: 250_000,
    };

async function main() {
  const seed = seedFromEnv();
  const seeds = prng(seed);
  const lines = [];
  /** @type {string[]} */
  const failures = [];
  const section = async (name, run) => {
    const t0 = performance.now();
    process.stdout.write(`\n== ${name}\n`);
    try {
      await run();
    } catch (e) {
      failures.push(`${name}: ${e instanceof Error ? e.stack : e}`);
    }
    lines.push(`  (${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  };
  const check = (name, ok, text) => {
    lines.push(`${ok ? "PASS" : "FAIL"} ${name}: ${text}`);
    if (!ok) failures.push(name);
    process.stdout.write(`${ok ? "PASS" : "FAIL"} ${name}: ${text}\n`);
  };

  await section("fuzz", async () => {
    const r = await runFuzz({
      seed: seeds.seed32(),
      workers: size.fuzzWorkers,
      callsPerWorker: size.fuzzCalls,
      parallel: 2,
      timeoutMs: 300_000,
      log: (l) => process.stdout.write(`  ${l}\n`),
    });
    process.stdout.write(formatReport(r) + "\n");
    const classes = Object.entries(r.errors)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    check(
      "fuzz",
      r.crashes.length === 0 && r.leaks.length === 0 && r.newBugs.length === 0,
      `${r.calls} calls (seed ${r.seed}), ${r.ok} returned, ${r.errorTotal} threw [${classes}]; crashes ${r.crashes.length}, leaks ${r.leaks.length}, new bugs ${r.newBugs.length}, known bugs seen ${r.knownSeen.length}`,
    );
  });

  await section("record: writers SIGKILLed mid-write", async () => {
    const r = await recordKillExperiment({ iterations: size.recordKills, seed: seeds.seed32(), maxDelayMs: 30 });
    check(
      "record",
      r.invalidAccepted === 0 && r.readFailures.length === 0 && r.writerFailures.length === 0 && r.killedMidWrite > 0,
      `${r.kills} kills (seed ${r.seed}), ${r.killedMidWrite} mid-write, ${r.tornLeftInMemory} left torn bytes in memory; ` +
        `${r.readsAccepted} records accepted by readers, ${r.invalidAccepted} torn accepted; last generation ${r.lastGeneration}`,
    );
  });

  await section("counter under ShmLock", async () => {
    const [n, m] = size.counter;
    const r = await counterExperiment({ processes: n, increments: m, lock: true });
    check(
      "counter",
      r.total === r.expected && r.failures.length === 0,
      `${n} processes x ${m}: total ${r.total} of ${r.expected}; spawn ${r.spawnMs} ms, run ${r.runMs} ms (${r.lockPairsPerSecond} lock/unlock pairs per second)`,
    );
    const c = await counterExperiment({ processes: 4, increments: 200_000, lock: false });
    lines.push(`     control without the lock: ${c.lost} of ${c.expected} updates lost`);
  });

  await section("lock: holders SIGKILLed mid-update, state repaired", async () => {
    const r = await lockRepairExperiment({ iterations: size.repairs, seed: seeds.seed32(), repair: true });
    check(
      "lock-repair",
      r.sumWrong === 0 && r.workerFailures.length === 0 && r.ownerDied > 0,
      `${r.kills} kills (seed ${r.seed}), ownerDied seen ${r.ownerDied} times, half-done updates found ${r.foundHalfDone}, repaired ${r.repaired}, invariant broken ${r.sumWrong}`,
    );
  });

  await section("cycles", async () => {
    const r = cyclesExperiment({ segmentCycles: size.cycles, mapCycles: size.cycles });
    const d = (k) => r.after[k] - r.before[k];
    check(
      "cycles",
      r.segmentsLeft === 0 && r.tracked === 0 && d("sizeKiB") < 128 * 1024 && d("rssKiB") < 64 * 1024,
      `${r.segmentCycles} create/attach/detach/remove + ${r.mapCycles} map/unmap: segments left ${r.segmentsLeft}; ` +
        `VmRSS ${r.before.rssKiB} -> ${r.after.rssKiB} KiB (peak ${r.peak.rssKiB}), VmSize ${r.before.sizeKiB} -> ${r.after.sizeKiB} KiB (peak ${r.peak.sizeKiB}), ` +
        `mappings ${r.before.maps} -> ${r.after.maps} (peak ${r.peak.maps})`,
    );
  });

  // The fuzz again as a user who is not root (a student on a course server), when we are root.
  // Last, so that the sections before it draw the same seeds as in runs made before it existed.
  if (process.getuid?.() === 0) {
    await section("fuzz as uid 65534", async () => {
      const r = await runFuzz({
        seed: seeds.seed32(),
        workers: Math.max(2, size.fuzzWorkers / 4),
        callsPerWorker: size.fuzzCalls,
        parallel: 2,
        timeoutMs: 300_000,
        uid: 65534,
        log: (l) => process.stdout.write(`  ${l}\n`),
      });
      process.stdout.write(formatReport(r) + "\n");
      check(
        "fuzz as uid 65534",
        r.crashes.length === 0 && r.leaks.length === 0 && r.newBugs.length === 0,
        `${r.calls} calls (seed ${r.seed}); crashes ${r.crashes.length}, leaks ${r.leaks.length}, new bugs ${r.newBugs.length}`,
      );
    });
  }

  // Failed calls' codes under allocation pressure, on every Node here (stress/errno.js). Last
  // too, and drawing no seed.
  for (const node of nodeBinaries()) {
    await section(`errno under allocation (${node === process.execPath ? "this Node" : node})`, async () => {
      const r = errnoExperiment({ node, calls: size.errno });
      const wrong = Object.entries(r.wrong);
      check(
        `errno ${r.version}`,
        wrong.length === 0,
        `${r.calls} failing calls, ${wrong.length === 0 ? "every code right" : `wrong: ${wrong.map(([k, n]) => `${k} x${n}`).join(", ")}`}`,
      );
    });
  }

  process.stdout.write(
    `\n==== stress report (seed ${seed}; replay with TSLAB_IPC_SEED=${seed}${quick ? ", --quick" : ""})\n${lines.join("\n")}\n`,
  );
  if (failures.length) {
    process.stdout.write(`\n${failures.length} failed:\n  ${failures.join("\n  ")}\n`);
    process.exitCode = 1;
  } else process.stdout.write("\nall properties held\n");
}

main();
