// `npm run build` rewrites only what changed. `npm start`, `npm test`, `npm run grade` and
// `npm run release` all build first, and the kernel's start-up snapshot and its cached trees are
// keyed on the stamps of dist/'s files (kernel/stamp.js: modification time, size, inode): a build
// that wrote every file anew made each of those commands start its kernels without the snapshot
// (0.8 s a start became 2.5 s) while a new blob was built beside them.
import { spawnSync } from "child_process";
import fs from "fs";
import path from "path";

const root = path.join(__dirname, "..");

/** Every file under `dir` with its stamp. */
function stamps(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath ?? entry.path, entry.name);
    const st = fs.statSync(file);
    out.set(path.relative(dir, file), `${st.mtimeMs}:${st.size}:${st.ino}`);
  }
  return out;
}

test("a build with nothing changed leaves every file of dist/ as it was", () => {
  const dist = path.join(root, "dist");
  const before = stamps(dist);
  expect(before.get(path.join("handouts", "cli.js"))).toBeDefined(); // the global setup built it
  const r = spawnSync("npm", ["run", "build", "--silent"], { cwd: root, encoding: "utf8" });
  expect(r.stderr + r.stdout).toBe("");
  expect(r.status).toBe(0);
  const after = stamps(dist);
  const rewritten = [...after].filter(([file, stamp]) => before.get(file) !== stamp).map(([file]) => file);
  expect(rewritten).toEqual([]);
});
