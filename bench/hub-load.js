#!/usr/bin/env node
// npm run bench:hub: a course's first minutes on one server. 20 students (by default) log in
// to a private hub through the REST API, start their servers, and each runs notebook 02's
// walk-through and notebook 08's locked counter (4 workers x 50 000 increments) through the
// kernel websocket, all at once, while one more student runs a fork bomb and asks for 20 GiB.
// Prints time to all servers ready, p50/p95 cell latency, peak memory per student, and whether
// every run was correct, isolated, and left nothing; writes the report to
// bench/.build/hub-load.json. Needs root, jupyterhub (Debian) and `npm install`.
//
//   node bench/hub-load.js [--students N] [--rounds R] [--core]

const fs = require("fs");
const path = require("path");
const { spawnSync } = require("child_process");

const args = process.argv.slice(2);
const withDefault = (flag, value) => (args.includes(flag) ? [] : [flag, value]);
const driverArgs = [...withDefault("--students", "20"), ...withDefault("--rounds", "50000"), "--limits", ...args];
const r = spawnSync(process.execPath, [path.join(__dirname, "..", "deploy", "load-test.js"), ...driverArgs], {
  stdio: ["ignore", "pipe", "inherit"],
  encoding: "utf8",
  maxBuffer: 64 << 20,
});
let report;
try {
  report = JSON.parse(r.stdout);
} catch {
  console.error(r.stdout);
  process.exit(1);
}
const out = path.join(__dirname, ".build", "hub-load.json");
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify(report, null, 2) + "\n");

const mib = report.memoryPerStudentMiB ?? [];
const mean = mib.length ? Math.round(mib.reduce((a, b) => a + b, 0) / mib.length) : NaN;
const rows = [
  ["students", `${report.students} (+1 fork bomb)`],
  ["all servers ready", `${(report.allReadyMs / 1000).toFixed(1)} s`],
  ["whole run", `${(report.totalMs / 1000).toFixed(1)} s`],
  ["cells run", String(report.cells)],
  [
    "cell latency p50 / p95 / max",
    `${report.cellLatencyMs?.p50} / ${report.cellLatencyMs?.p95} / ${report.cellLatencyMs?.max} ms`,
  ],
  [
    "peak memory per student",
    `mean ${mean} MiB, min ${Math.min(...mib)}, max ${Math.max(...mib)} (${report.memorySource})`,
  ],
  [
    "locked counter exact",
    `${(report.locked ?? []).filter((l) => l && l.count === l.expected).length} of ${report.students}`,
  ],
  ["one IPC namespace each", String(report.separateNamespaces)],
  [
    "each sees only its own segment",
    String((report.views ?? []).every((v) => v && v.owners.length === 1 && v.owners[0] === v.user)),
  ],
  ["20 GiB segment", report.limits?.segment20GiB ?? "-"],
  ["fork bomb", report.limits?.forkBomb ?? "-"],
  ["stop all servers", `${(report.stopMs / 1000).toFixed(1)} s`],
  ["left after stop", JSON.stringify(report.leftAfterStop)],
  ["failures", String((report.failures ?? []).length + (report.errors ?? []).length)],
];
const width = Math.max(...rows.map(([k]) => k.length));
for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
for (const f of [...(report.failures ?? []), ...(report.errors ?? [])]) console.log(`  ${f.split("\n")[0]}`);
console.log(`report: ${path.relative(process.cwd(), out)}`);
process.exitCode = report.ok ? 0 : 1;
