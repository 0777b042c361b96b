#!/usr/bin/env node
// npm run bench: tslab-ipc against a C baseline compiled in the same invocation and against
// the peers a user would pick instead, on the same workloads, side by side; prints ratios.
//
//   node bench/run.js                 the whole run (writes bench/results.json and bench/RESULTS.md)
//   node bench/run.js --quick         a short run (written to bench/.build/ unless --write)
//   node bench/run.js --only NAME     one workload (or several: --only a,b); also to bench/.build/
//   --rounds N                        how many times each system runs each workload (default 2, quick 1)

const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawn, spawnSync } = require("child_process");
const { workloads, systemCommand, PEERS } = require("./workloads");
const { buildC, buildLibrary, ensurePeers, BENCH, BUILD } = require("./lib/setup");
const { machineInfo, diskIrqCpu } = require("./lib/machine");
const { Cleanup } = require("./lib/cleanup");
const { quantile, quietestTurn } = require("./lib/stats");
const report = require("./lib/report");
const custom = require("./lib/custom");

/**
 * @typedef {object} BenchArgs
 * @property {boolean} quick
 * @property {string[] | null} only
 * @property {number | null} rounds
 * @property {boolean} [roundsGiven]
 * @property {boolean | null} write
 */

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {BenchArgs} */
  const opts = { quick: false, only: null, rounds: null, write: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") opts.quick = true;
    else if (a === "--only") opts.only = (argv[++i] || "").split(",").filter(Boolean);
    else if (a.startsWith("--only=")) opts.only = a.slice(7).split(",").filter(Boolean);
    else if (a === "--rounds") {
      opts.rounds = Number(argv[++i]);
      opts.roundsGiven = true;
    } else if (a === "--write") opts.write = true;
    else if (a === "--help" || a === "-h") {
      console.log(
        fs
          .readFileSync(__filename, "utf8")
          .split("\n")
          .slice(1, 9)
          .join("\n")
          .replace(/^\/\/ ?/gm, ""),
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (try --help)`);
  }
  if (opts.rounds === null) opts.rounds = opts.quick ? 1 : 2;
  if (opts.write === null) opts.write = !opts.quick && !opts.only;
  return opts;
}

const cleanup = new Cleanup();
/** @type {import("child_process").ChildProcess | null} */
let current = null; // the runner process now running
let interrupted = false;

const log = (msg) => process.stderr.write(`${msg}\n`);

/** Runs one runner; resolves {result} (its JSON line) or {error}. */
function runRunner(spec, timeoutMs) {
  return new Promise((resolve) => {
    // A process group of its own: the cleanup can stop the runner and whatever it started.
    const child = spawn(spec.cmd, spec.argv, {
      env: { ...process.env, ...(spec.env || {}), BENCH_SHM_PREFIX: cleanup.prefix },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    current = child;
    cleanup.noteChild(child.pid);
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => {
      err += `\ntimed out after ${timeoutMs / 1000} s`;
      child.kill("SIGTERM");
      setTimeout(() => cleanup.killAll(), 2000).unref();
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      current = null;
      resolve({ error: String(e) });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      current = null;
      const line = out.trim().split("\n").filter(Boolean).pop();
      if (code === 0 && line) {
        try {
          return resolve({ result: JSON.parse(line) });
        } catch {
          /* fall through */
        }
      }
      const why = err.trim().split("\n").filter(Boolean).slice(-2).join(" / ") || `exit ${code ?? signal}`;
      resolve({ error: why });
    });
  });
}

/**
 * The CPU to run every turn of a disk-bound workload on: the one that takes the interrupts of the
 * disk holding `dir`, so no system's turn pays a cross-CPU wake-up that another's does not (which
 * CPU a process lands on is otherwise decided at its start and kept for the turn). Null when it
 * cannot be told or `taskset` is missing: then the turns run where the scheduler puts them.
 */
function pinnableCpu(dir) {
  const cpu = diskIrqCpu(dir);
  if (cpu === null) return null;
  return pinnable(cpu);
}

/** `cpu` when taskset can pin a process to it here, else null. */
function pinnable(cpu) {
  return spawnSync("taskset", ["-c", String(cpu), "true"]).status === 0 ? cpu : null;
}

/** Replaces {file: dir} placeholders with a fresh path the sweep knows. */
function concreteArgs(args) {
  return args.map((a) => (a && typeof a === "object" && a.file ? cleanup.file(a.file) : String(a)));
}

async function measure(w, ctx, opts) {
  const load = Number(os.loadavg()[0].toFixed(2)); // how busy the shared machine was
  const collected = {}; // system -> { field -> samples[] }
  const skipped = {};
  const notes = {};
  const order = [...w.systems];
  // Every process of every turn on one CPU: the disk's (msync on disk), or a fixed one (w.pinToCpu).
  const cpu = w.pinToDiskOf ? pinnableCpu(w.pinToDiskOf) : w.pinToCpu !== undefined ? pinnable(w.pinToCpu) : null;
  // A kernel start or a notebook suite is long enough once, unless the workload asks for more
  // turns; so do some of the others.
  const rounds = w.custom ? w.rounds || 1 : opts.roundsGiven ? opts.rounds : w.rounds || opts.rounds;
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < order.length; k++) {
      if (interrupted) return null;
      const system = order[(k + round) % order.length]; // rotate: nobody always goes first
      if (skipped[system]) continue;
      let spec = w.custom ? custom.command(w.custom, ctx, system) : systemCommand(system, concreteArgs(w.args), ctx);
      if (cpu !== null && spec.cmd && spec.argv)
        spec = { ...spec, cmd: "taskset", argv: ["-c", String(cpu), spec.cmd, ...spec.argv] };
      if (spec.skipped) {
        skipped[system] = spec.skipped;
        log(`  ${system}: skipped (${spec.skipped})`);
        continue;
      }
      const t0 = Date.now();
      const { result, error } = await runRunner(spec, w.timeoutMs || (w.custom ? 600000 : 120000));
      if (interrupted) return null;
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      if (error || result.skipped) {
        skipped[system] = error ? `failed: ${error}` : result.skipped;
        log(`  ${system}: ${error ? "FAILED" : "skipped"} (${skipped[system]}) [${secs} s]`);
        continue;
      }
      if (result.note) notes[system] = result.note;
      const bag = (collected[system] ||= {});
      for (const [field, v] of Object.entries(result)) {
        if (Array.isArray(v)) (bag[field] ||= []).push(...v);
      }
      const first = w.outputs[0];
      const shown = quantile(result[first.field || "samples"], first.stat ?? 0.5);
      log(`  ${system}: ${report.fmt(shown)} ${first.unit} [${secs} s]`);
    }
  }
  // Peers that could not run at all are listed by reason; the others are reported.
  const outputs = w.outputs.map((o) => {
    const values = {};
    const samples = {};
    for (const [system, bag] of Object.entries(collected)) {
      const s = bag[o.field || "samples"];
      if (!s?.length) continue;
      values[system] = o.turn ? quietestTurn(s, o.turn) : quantile(s, o.stat ?? 0.5);
      samples[system] = s;
    }
    const out = {
      name: o.name,
      workload: w.name,
      unit: o.unit,
      higherIsBetter: o.higherIsBetter,
      statistic: o.turn
        ? "median of the quietest turn"
        : o.stat === undefined || o.stat === 0.5
          ? "median"
          : `p${Math.round(o.stat * 100)}`,
      values,
      samples,
      skipped,
      target: o.target,
    };
    // References are shown for scale but are not peers doing the same work.
    Object.assign(
      out,
      report.judge(
        out,
        PEERS.filter((p) => !(w.references || []).includes(p)),
      ),
    );
    return out;
  });
  return {
    workload: {
      name: w.name,
      title:
        cpu === null
          ? w.title
          : w.pinToDiskOf
            ? `${w.title}; every turn on CPU ${cpu}, the one that takes the disk's interrupts`
            : `${w.title}; every turn on CPU ${cpu}`,
      systems: w.systems,
      references: w.references || [],
      notes,
      load,
    },
    outputs,
  };
}

function printWorkload(m) {
  console.log(`\n== ${m.workload.name}: ${m.workload.title} (load average ${m.workload.load})`);
  for (const o of m.outputs) {
    if (m.outputs.length > 1) console.log(`-- ${o.name} (${o.statistic})`);
    console.log(report.textTable(report.outputRows(o, m.workload.systems, m.workload.references)));
    for (const v of o.verdicts) console.log(`   ${report.verdictText(v)}`);
  }
  for (const [s, n] of Object.entries(m.workload.notes)) console.log(`   note, ${s}: ${n}`);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const machine = machineInfo(); // now, so its load average is the one the run started under
  let list = workloads(opts.quick);
  if (opts.only) {
    const want = opts.only;
    list = list.filter((w) => want.some((n) => w.name === n || w.outputs.some((o) => o.name === n)));
    if (!list.length)
      throw new Error(
        `--only ${want.join(",")}: no such workload. Workloads: ${workloads(false)
          .map((w) => w.name)
          .join(", ")}`,
      );
  }
  log(`tslab-ipc bench${opts.quick ? " --quick" : ""}: ${list.length} workloads, ${opts.rounds} round(s)`);
  const ctx = { quick: opts.quick };
  ctx.cExe = buildC(log);
  ctx.libDir = buildLibrary(log);
  const needsPeers = list.some((w) => w.systems.includes("shm-typed-array") || w.systems.includes("mmap-io"));
  if (needsPeers) {
    const peers = ensurePeers(log);
    ctx.peersOk = peers.ok;
    ctx.peersReason = peers.reason;
    log(peers.ok ? "peers: shm-typed-array and @riaskov/mmap-io load" : `peers: Node peers skipped: ${peers.reason}`);
  }
  const measured = [];
  for (let i = 0; i < list.length; i++) {
    const w = list[i];
    log(`[${i + 1}/${list.length}] ${w.name}`);
    const m = await measure(w, ctx, opts);
    if (!m) break;
    measured.push(m);
    printWorkload(m);
    const left = cleanup.sweep();
    if (left.length) log(`  swept leftovers: ${left.join(", ")}`);
  }
  if (interrupted) return;
  const outputs = measured.flatMap((m) => m.outputs);
  console.log("\n== Summary (ratios are ours / other)");
  console.log(report.textTable(report.summaryRows(outputs)));
  const results = {
    machine,
    date: new Date().toISOString(),
    command: `node bench/run.js ${process.argv.slice(2).join(" ")}`.trim(),
    durationSeconds: (Date.now() - started) / 1000,
    quick: opts.quick,
    workloads: outputs.map((o) => ({
      name: o.name,
      workload: o.workload,
      loadAverage: measured.find((m) => m.workload.name === o.workload).workload.load,
      unit: o.unit,
      higherIsBetter: o.higherIsBetter,
      statistic: o.statistic,
      values: o.values,
      ratios: o.ratios,
      targets: o.verdicts,
      skipped: o.skipped,
      samples: o.samples,
    })),
  };
  const dir = opts.write ? BENCH : BUILD;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "results.json"), JSON.stringify(results, null, 1) + "\n");
  const analysisFile = path.join(BENCH, "analysis.md");
  const analysis = fs.existsSync(analysisFile) ? fs.readFileSync(analysisFile, "utf8") : "";
  const md = report.markdown({ ...results, outputs, workloads: measured.map((m) => m.workload) }, analysis);
  fs.writeFileSync(path.join(dir, "RESULTS.md"), md);
  log(
    `\nwrote ${path.relative(process.cwd(), path.join(dir, "results.json"))} and RESULTS.md in ${results.durationSeconds.toFixed(0)} s`,
  );
}

function onSignal(sig) {
  if (interrupted) return;
  interrupted = true;
  log(`\n${sig}: stopping the runner and removing what it made...`);
  if (current) current.kill("SIGTERM");
  setTimeout(() => {
    // Whatever did not stop on SIGTERM (a runner, a peer it started) goes now, before the sweep.
    cleanup.killAll();
    const left = cleanup.sweep();
    if (left.length) log(`removed: ${left.join(", ")}`);
    process.exit(130);
  }, 300);
}
process.on("SIGINT", () => onSignal("SIGINT"));
process.on("SIGTERM", () => onSignal("SIGTERM"));

main()
  .catch((e) => {
    log(`bench: ${e?.stack ? e.stack : e}`);
    process.exitCode = 1;
  })
  .finally(() => {
    if (!interrupted) {
      cleanup.killAll();
      cleanup.sweep();
    }
  });
