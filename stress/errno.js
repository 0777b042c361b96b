// Failed calls whose IpcError must carry the errno the call left, under allocation pressure: a
// failed call's errno is read before any JavaScript runs (src/errors.ts, throwErrno). Under
// Node 24 an object literal built between the call and the reading let V8 overwrite errno
// (futex EAGAIN, ENOENT) about once in 200,000 calls. Each kind of failure runs `calls` times in
// a child of the given Node binary; every code must be the one the kernel gives. Used by
// `npm run stress` (with each Node in .cache/node, which `npm run test:node` fetches).

const { spawnSync } = require("child_process");
const os = require("os");
const path = require("path");
const { cachedNodeBinaries } = require("../.ci/node-versions");

const DIST = path.join(__dirname, "..", "dist", "index.js");

// The child: one segment of 1024 bytes under a key, then failures whose errno is known.
const CHILD = `
const ipc = require(${JSON.stringify(DIST)});
const fs = require("fs");
const calls = Number(process.argv[1]);
const keyFile = process.argv[2];
fs.writeFileSync(keyFile, "");
const key = ipc.ftok(keyFile, "E");
const id = ipc.shmget(key, 1024, ipc.IPC_CREAT | ipc.IPC_EXCL | 0o600);
const gone = ipc.shmget(ipc.IPC_PRIVATE, 4096, ipc.IPC_CREAT | 0o600);
ipc.shmctl(gone, ipc.IPC_RMID);
const kinds = {
  // larger than the segment under the key
  "shmget EINVAL": [() => ipc.shmget(key, 8192, 0o600), "EINVAL"],
  // a removed segment: IPC_STAT (through shmctl) and shmat's size question
  "shmctl EINVAL": [() => ipc.shmctl(gone, ipc.IPC_STAT), "EINVAL"],
  "shmat EINVAL": [() => ipc.shmat(gone), "EINVAL"],
  "shm_open ENOENT": [() => ipc.shm_open("/tslab-ipc-errno-missing-" + process.pid, ipc.O_RDWR, 0o600), "ENOENT"],
};
const wrong = {};
let junk = [];
try {
  for (const [name, [call, want]] of Object.entries(kinds)) {
    for (let i = 0; i < calls; i++) {
      // What a notebook's other work does meanwhile: short-lived objects, so V8 collects often.
      junk.push({ i, s: "x" + i });
      if (junk.length > 5000) junk = [];
      let code = "returned";
      try { call(); } catch (e) { code = e.code; }
      if (code !== want) wrong[name + " -> " + code] = (wrong[name + " -> " + code] || 0) + 1;
    }
  }
} finally {
  ipc.shmctl(id, ipc.IPC_RMID);
  fs.rmSync(keyFile, { force: true });
}
console.log(JSON.stringify({ version: process.version, kinds: Object.keys(kinds).length, wrong }));
`;

/** The Node binaries to try: this one, and those `npm run test:node` cached (.ci/node-versions.js). */
function nodeBinaries() {
  return [process.execPath, ...cachedNodeBinaries()];
}

/**
 * Runs each failure `calls` times under `node`.
 * @returns {{ version: string, calls: number, wrong: Record<string, number> }} wrong: "kind -> code" counts
 */
function errnoExperiment({ node = process.execPath, calls = 100_000 } = {}) {
  const keyFile = path.join(os.tmpdir(), `tslab-ipc-errno-${process.pid}-${Date.now()}`);
  const r = spawnSync(node, ["-e", CHILD, String(calls), keyFile], { encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0) throw new Error(`errno child (${node}) failed: ${r.stderr || r.signal}`);
  const out = JSON.parse(r.stdout.trim().split("\n").pop() ?? "null");
  return { version: out.version, calls: calls * out.kinds, wrong: out.wrong };
}

module.exports = { errnoExperiment, nodeBinaries };
