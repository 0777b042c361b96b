#!/usr/bin/env node
// @ts-check
// `npm test`: jest in an IPC namespace and a /dev/shm of the run's own, where Linux allows it.
//
// Then what the suite finds left at the end is exactly what it made, whatever else runs on the
// machine (another checkout's tests, a student's notebook), and whatever it leaves vanishes with
// the namespace. Where unshare is not allowed (not root and no user namespaces), jest runs in
// the machine's namespaces and the leak check attributes objects to the run by creator pid and
// journal instead (test/setup/leaks.js). Either way the mode is in $TSLAB_IPC_TEST_ISOLATION.
//   node test/setup/run.js [jest args...]
//   TSLAB_IPC_TEST_ISOLATION=attributed npm test     skip the namespace

const { spawn, spawnSync } = require("child_process");
const path = require("path");

const JEST = path.join(path.dirname(require.resolve("jest/package.json")), "bin", "jest.js");
const UNSHARE = "/usr/bin/unshare";
// A private mount namespace whose /dev/shm is a fresh tmpfs, then the command.
const PRIVATE_DEV_SHM = 'mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm && exec "$@"';
const NAMESPACE = [
  UNSHARE,
  "--ipc",
  "--mount",
  "--propagation",
  "private",
  "--",
  "/bin/sh",
  "-c",
  PRIVATE_DEV_SHM,
  "sh",
];

function namespaceAllowed() {
  const r = spawnSync(NAMESPACE[0], [...NAMESPACE.slice(1), "/bin/true"], { stdio: "ignore" });
  return !r.error && r.status === 0;
}

function main() {
  const args = process.argv.slice(2);
  const env = { ...process.env };
  let command = [process.execPath, JEST, ...args];
  if (env.TSLAB_IPC_TEST_ISOLATION === undefined) {
    if (namespaceAllowed()) {
      env.TSLAB_IPC_TEST_ISOLATION = "namespace";
      command = [...NAMESPACE, ...command];
    } else {
      env.TSLAB_IPC_TEST_ISOLATION = "attributed";
      process.stdout.write(
        "tslab-ipc tests: unshare --ipc --mount is not allowed here; leaks are judged by creator pid and journal\n",
      );
    }
  }
  const child = spawn(command[0], command.slice(1), { stdio: "inherit", env, cwd: path.join(__dirname, "..", "..") });
  // Ctrl-C reaches jest through the terminal; a SIGTERM to this runner is passed on.
  for (const sig of /** @type {const} */ (["SIGTERM", "SIGHUP"])) process.on(sig, () => child.kill(sig));
  process.on("SIGINT", () => {});
  child.on("exit", (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
}

if (require.main === module) main();
module.exports = { namespaceAllowed };
