// @ts-check
// Builds the library (tests use the compiled package, as users and the kernel do) and
// snapshots System V segments and /dev/shm so the end of the run can prove nothing leaked.
const path = require("path");
const { execFileSync } = require("child_process");
const { saveSnapshot } = require("./leaks");

module.exports = async () => {
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(__dirname, "..", "..", "tsconfig.json")], {
    stdio: "inherit",
  });
  saveSnapshot();
};
