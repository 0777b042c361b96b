// Runs fuzz workers (stress/fuzz/worker.js) in child processes and sums up: calls, errors by
// class, bugs (wrong error class, engine errors, hangs), crashes (a worker ended by a signal or
// an unexpected exit), and leaks (segments created by a worker, /dev/shm names of the run).
// Used by test/reliability/fuzz.test.ts and `npm run stress`. Standalone:
//   node stress/fuzz/run.js [calls] [seed]

const { spawn } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { prng } = require("../prng");
const { matchKnown } = require("./known");

const WORKER = path.join(__dirname, "worker.js");

function segmentsBy(pids) {
  const lines = fs.readFileSync("/proc/sysvipc/shm", "utf8").trim().split("\n");
  const head = lines[0].trim().split(/\s+/);
  const col = (n) => head.indexOf(n);
  return lines
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => pids.has(Number(f[col("cpid")])))
    .map((f) => ({ shmid: Number(f[col("shmid")]), cpid: Number(f[col("cpid")]) }));
}

/**
 * The command that runs a worker: Node itself, or, with `uid`, Node as that user and group
 * through setpriv (util-linux), which execs it, so the child's pid is the worker's.
 */
function workerCommand(args, uid) {
  if (uid === undefined) return [process.execPath, args];
  return ["setpriv", [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", process.execPath, ...args]];
}

function runWorker(seed, calls, timeoutMs, recordsDir, uid) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-fuzz-"));
  fs.chmodSync(dir, 0o755);
  if (uid !== undefined) fs.chownSync(dir, uid, uid);
  const progressFile = path.join(dir, "progress.log");
  return new Promise((resolve) => {
    const [command, args] = workerCommand([WORKER, String(seed), String(calls), progressFile], uid);
    const child = spawn(command, args, {
      cwd: dir,
      // Another user gets a home of their own (the worker's folder), as a login would.
      env: { ...process.env, TSLAB_IPC_RECORDS: recordsDir, ...(uid === undefined ? {} : { HOME: dir }) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      let lastCalls = [];
      try {
        lastCalls = fs.readFileSync(progressFile, "utf8").trim().split("\n").slice(-5);
      } catch {
        /* no progress at all */
      }
      let summary = null;
      try {
        // Calls (display, console.log in a callback) may print too: the summary is the last line of ours.
        const line = out
          .trim()
          .split("\n")
          .reverse()
          .find((l) => l.startsWith('{"seed":'));
        summary = line ? JSON.parse(line) : null;
      } catch {
        /* crashed before printing */
      }
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ seed, pid: child.pid, code, signal, timedOut, summary, stderr: err.slice(-2000), lastCalls });
    });
  });
}

/**
 * Runs `workers` processes of `callsPerWorker` calls each (at most `parallel` at a time), with
 * seeds drawn from `seed`. Returns the totals and every problem found. With `uid` (the caller
 * must be root) the workers run as that user, as a student on a shared server does: root may
 * read and map what a user may not, so some failures show only there.
 */
async function runFuzz({
  seed,
  workers = 4,
  callsPerWorker = 2500,
  parallel = 2,
  timeoutMs = 120_000,
  uid = /** @type {number | undefined} */ (undefined),
  log = /** @param {string} _line */ (_line) => {},
}) {
  const rng = prng(seed);
  const seeds = Array.from({ length: workers }, () => rng.seed32());
  const recordsDir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-fuzz-records-"));
  if (uid !== undefined) fs.chownSync(recordsDir, uid, uid);
  const devshmBefore = new Set(fs.readdirSync("/dev/shm"));
  /** @type {any[]} what each worker reported (parsed JSON) */
  const results = [];
  let next = 0;
  const lane = async () => {
    while (next < seeds.length) {
      const s = seeds[next++];
      const r = await runWorker(s, callsPerWorker, timeoutMs, recordsDir, uid);
      log(
        `worker seed ${s}: ${r.signal ? `killed by ${r.signal}` : `exit ${r.code}`}, ${r.summary ? r.summary.counts.calls : 0} calls`,
      );
      results.push(r);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, workers) }, () => lane()));

  /**
   * @type {{ seed: number, uid: number | undefined, workers: number, calls: number, ok: number, errors: Record<string, number>, bugs: any[],
   *   crashes: object[], leaks: string[], byTarget: Record<string, { calls: number, ok: number, ms: number }>,
   *   errorTotal: number, newBugs: any[], knownSeen: string[] }}
   */
  const report = {
    seed,
    uid,
    workers,
    calls: 0,
    ok: 0,
    errors: {},
    bugs: [],
    crashes: [],
    leaks: [],
    byTarget: {},
    errorTotal: 0,
    newBugs: [],
    knownSeen: [],
  };
  for (const r of results) {
    if (r.summary) {
      report.calls += r.summary.counts.calls;
      report.ok += r.summary.counts.ok;
      for (const [k, v] of Object.entries(r.summary.counts.errors)) report.errors[k] = (report.errors[k] ?? 0) + v;
      for (const [k, v] of Object.entries(r.summary.counts.byTarget)) {
        const t = (report.byTarget[k] ??= { calls: 0, ok: 0, ms: 0 });
        t.calls += v.calls;
        t.ok += v.ok;
        t.ms += v.ms;
      }
      for (const b of r.summary.bugs) report.bugs.push({ workerSeed: r.seed, ...b });
    }
    if (r.signal !== null || r.code !== 0) {
      report.crashes.push({
        workerSeed: r.seed,
        how: r.timedOut
          ? `hung (killed after ${timeoutMs} ms)`
          : r.signal
            ? `killed by ${r.signal}`
            : `exit code ${r.code}`,
        lastCalls: r.lastCalls,
        stderr: r.stderr,
      });
    }
  }
  // Leaks: segments whose creator was one of our workers, /dev/shm names that were not there before.
  const pids = new Set(results.map((r) => r.pid));
  for (const s of segmentsBy(pids)) {
    report.leaks.push(`System V segment ${s.shmid} (created by worker pid ${s.cpid})`);
    spawnSyncQuiet("ipcrm", ["-m", String(s.shmid)]);
  }
  for (const n of fs.readdirSync("/dev/shm")) {
    if (!devshmBefore.has(n) && n.startsWith("tfz")) {
      report.leaks.push(`/dev/shm/${n}`);
      fs.rmSync(path.join("/dev/shm", n), { force: true });
    }
  }
  fs.rmSync(recordsDir, { recursive: true, force: true });
  report.errorTotal = Object.values(report.errors).reduce((a, b) => a + b, 0);
  // Bugs already reported (stress/fuzz/known.js) vs new ones.
  for (const b of report.bugs) b.known = matchKnown(b)?.id;
  report.newBugs = report.bugs.filter((b) => !b.known);
  report.knownSeen = [...new Set(report.bugs.filter((b) => b.known).map((b) => b.known))];
  return report;
}

function spawnSyncQuiet(cmd, args) {
  try {
    require("child_process").spawnSync(cmd, args, { stdio: "ignore" });
  } catch {
    /* best effort */
  }
}

/** Lines for people: the totals, errors by class, and each problem with its reproducer. */
function formatReport(r) {
  const lines = [];
  lines.push(
    `fuzz: seed ${r.seed} (replay: TSLAB_IPC_SEED=${r.seed}), ${r.workers} worker processes${r.uid === undefined ? "" : ` as uid ${r.uid}`}`,
  );
  lines.push(`  calls ${r.calls}, returned ${r.ok}, threw ${r.errorTotal}`);
  for (const [k, v] of Object.entries(r.errors).sort((a, b) => b[1] - a[1])) lines.push(`    ${k.padEnd(28)} ${v}`);
  lines.push(
    `  crashes ${r.crashes.length}, leaks ${r.leaks.length}, new bugs ${r.newBugs.length}, known bugs seen ${r.bugs.length - r.newBugs.length} (${r.knownSeen.join(", ") || "none"})`,
  );
  for (const c of r.crashes)
    lines.push(
      `  CRASH worker seed ${c.workerSeed}: ${c.how}; last calls:\n      ${c.lastCalls.join("\n      ")}\n      ${c.stderr.split("\n").slice(0, 6).join("\n      ")}`,
    );
  const seen = new Set();
  for (const b of r.bugs) {
    const sig = `${b.target} ${b.outcome} ${b.error.replace(/\d+/g, "N").slice(0, 60)}`;
    if (seen.has(sig)) continue;
    seen.add(sig);
    lines.push(
      `  ${b.known ? `KNOWN(${b.known})` : "BUG"} worker seed ${b.workerSeed} call ${b.call}: ${b.text}\n      -> ${b.outcome}: ${b.error}\n      at ${b.stack}`,
    );
  }
  for (const l of r.leaks) lines.push(`  LEAK ${l}`);
  return lines.join("\n");
}

module.exports = { runFuzz, formatReport };

if (require.main === module) {
  const calls = Number(process.argv[2] ?? 10000);
  const seed = process.argv[3] !== undefined ? Number(process.argv[3]) >>> 0 : require("../prng").seedFromEnv();
  runFuzz({ seed, workers: 4, callsPerWorker: Math.ceil(calls / 4), log: (l) => console.log(l) }).then((r) => {
    console.log(formatReport(r));
    if (process.env.FUZZ_TIMES)
      console.log(
        Object.entries(r.byTarget)
          .sort((a, b) => b[1].ms - a[1].ms)
          .slice(0, 15)
          .map(([k, v]) => `${k} ${v.calls} calls ${Math.round(v.ms)} ms`)
          .join("\n"),
      );
    process.exitCode = r.crashes.length || r.newBugs.length || r.leaks.length ? 1 : 0;
  });
}
