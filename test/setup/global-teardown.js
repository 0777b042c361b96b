// @ts-check
// Fails the run (exit code) if this run left segments or /dev/shm entries of its own behind;
// the summary reporter has already counted that as a failure in the closing line. Then removes
// them, the run's records folder and the temp folders its tests made: nothing of a run outlives
// it, even when it failed.
const fs = require("fs");
const { leaks, readState, removeOwnLeftovers, removeTempDirs, stopWatching } = require("./leaks");

module.exports = async () => {
  const found = leaks();
  stopWatching();
  removeOwnLeftovers();
  const state = readState();
  if (state?.recordsDir) fs.rmSync(state.recordsDir, { recursive: true, force: true });
  removeTempDirs();
  if (found) throw new Error(found);
};
