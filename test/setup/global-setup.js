// @ts-check
// Builds the library (tests use the compiled package, as users and the kernel do), gives the
// run a records folder of its own (so reap() in a test or a README example only ever sees this
// run's journals), and notes what exists before the run so the end can judge only what the run
// itself created (see leaks.js).
const fs = require("fs");
const os = require("os");
const path = require("path");
const { execFileSync } = require("child_process");
const { saveState } = require("./leaks");

module.exports = async () => {
  if (process.env.TSLAB_IPC_TEST_NO_BUILD !== "1") {
    execFileSync(
      process.execPath,
      [require.resolve("typescript/bin/tsc"), "-b", path.join(__dirname, "..", "..", "tsconfig.json")],
      {
        stdio: "inherit",
      },
    );
  }
  // mkdtemp creates it 0700, owned by us: the library's per-user checks accept it. Set before
  // the workers start, so every test process and its children inherit it.
  const records = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-test-records-"));
  process.env.TSLAB_IPC_RECORDS = records;
  saveState(records);
};
