// @ts-check
// Fails the run (exit code) if this run left segments or /dev/shm entries of its own behind;
// the summary reporter has already counted that as a failure in the closing line. Then removes
// them, and the run's records folder: nothing of a run outlives it, even when it failed.
const fs = require("fs");
const { leaks, readState, removeOwnLeftovers, stopWatching } = require("./leaks");

module.exports = async () => {
  const found = leaks();
  stopWatching();
  removeOwnLeftovers();
  const state = readState();
  if (state && state.recordsDir) fs.rmSync(state.recordsDir, { recursive: true, force: true });
  if (found) throw new Error(found);
};
