// @ts-check
// What the suite left behind compared with the snapshot global-setup took: System V segments
// and /dev/shm entries that were not there before.
const fs = require("fs");
const path = require("path");

const resultsDir = path.join(__dirname, "..", "..", "test-results");

function snapshot() {
  return {
    shm: fs.readFileSync("/proc/sysvipc/shm", "utf8").trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/)[1]),
    devshm: fs.readdirSync("/dev/shm"),
  };
}

function saveSnapshot() {
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.writeFileSync(path.join(resultsDir, "before.json"), JSON.stringify(snapshot()));
}

/** A sentence naming every leak, or "" when nothing leaked. */
function leaks() {
  let before;
  try {
    before = JSON.parse(fs.readFileSync(path.join(resultsDir, "before.json"), "utf8"));
  } catch {
    return "";
  }
  const now = snapshot();
  const shm = now.shm.filter((id) => !before.shm.includes(id));
  const dev = now.devshm.filter((n) => !before.devshm.includes(n));
  if (!shm.length && !dev.length) return "";
  return `the test suite leaked ${shm.length} System V segment(s) [ids ${shm.join(", ")}] and ${dev.length} /dev/shm entr(ies) [${dev.join(", ")}]`;
}

module.exports = { saveSnapshot, leaks, resultsDir };
