// Everything a run needs before it measures: the C baseline compiled now (cc -O2), the
// library compiled from the current src/, and the peers installed into bench/.peers.

const fs = require("fs");
const path = require("path");
const { spawnSync } = require("child_process");

const BENCH = path.join(__dirname, "..");
const ROOT = path.join(BENCH, "..");
const BUILD = path.join(BENCH, ".build");
const PEERS = path.join(BENCH, ".peers");

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", ...opts });
  const out = `${r.stdout || ""}${r.stderr || ""}`.trim();
  return { ok: r.status === 0, out: r.error ? String(r.error) : out };
}

/** cc -O2 bench/c/bench.c; throws if it does not compile (there is no run without the baseline). */
function buildC(log) {
  fs.mkdirSync(BUILD, { recursive: true });
  const exe = path.join(BUILD, "bench");
  const r = run("cc", ["-O2", "-Wall", "-o", exe, path.join(BENCH, "c", "bench.c")]);
  if (!r.ok) throw new Error(`cc -O2 bench/c/bench.c failed:\n${r.out}`);
  log(`C baseline: cc -O2 bench/c/bench.c -> bench/.build/bench`);
  return exe;
}

/**
 * The library as the current src/ compiles, into bench/.build/dist (so a run never measures a
 * stale dist/ and never rewrites the dist/ others use). Falls back to dist/ if it does not compile.
 */
function buildLibrary(log) {
  const out = path.join(BUILD, "dist");
  const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
  const r = run(process.execPath, [
    tsc,
    "-p",
    path.join(ROOT, "tsconfig.json"),
    "--outDir",
    out,
    "--sourceMap",
    "false",
  ]);
  if (r.ok) {
    log("library: compiled src/ -> bench/.build/dist");
    return out;
  }
  const fallback = path.join(ROOT, "dist");
  log(
    `library: src/ does not compile right now, measuring dist/ instead:\n${r.out.split("\n").slice(0, 5).join("\n")}`,
  );
  if (!fs.existsSync(path.join(fallback, "index.js")))
    throw new Error("no compiled library (dist/index.js) to measure");
  return fallback;
}

/** Whether the two native addons load here. */
function peersLoad() {
  const code =
    `require(${JSON.stringify(path.join(PEERS, "node_modules", "shm-typed-array"))});` +
    `require(${JSON.stringify(path.join(PEERS, "node_modules", "@riaskov", "mmap-io"))});`;
  return run(process.execPath, ["-e", code]);
}

/**
 * Installs shm-typed-array and @riaskov/mmap-io into bench/.peers the first time (their own
 * package.json approves their install scripts: npm 11 blocks dependency builds otherwise).
 * Returns { ok, reason }: a failure skips those peers, with the reason printed.
 */
function ensurePeers(log) {
  if (peersLoad().ok) return { ok: true };
  fs.mkdirSync(PEERS, { recursive: true });
  fs.copyFileSync(path.join(BENCH, "peers.package.json"), path.join(PEERS, "package.json"));
  log("peers: npm install shm-typed-array @riaskov/mmap-io into bench/.peers (native builds, once)...");
  const r = run("npm", ["install", "--no-audit", "--no-fund", "--no-save"], { cwd: PEERS });
  if (!r.ok)
    return { ok: false, reason: `npm install in bench/.peers failed: ${r.out.split("\n").slice(-3).join(" ")}` };
  const loaded = peersLoad();
  if (!loaded.ok) return { ok: false, reason: `installed but does not load: ${loaded.out.split("\n")[0]}` };
  return { ok: true };
}

/** numpy for the Python fill (the runner skips that cell without it). */
function pythonHas(module) {
  return run("/usr/bin/python3", ["-c", `import ${module}`]).ok;
}

module.exports = { buildC, buildLibrary, ensurePeers, pythonHas, BENCH, ROOT, BUILD, PEERS };
