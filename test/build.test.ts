// `npm run build` rewrites only what changed. `npm start`, `npm test`, `npm run grade` and
// `npm run release` all build first, and the kernel's start-up snapshot and its cached trees are
// keyed on the stamps of dist/'s files (kernel/stamp.js: modification time, size, inode): a build
// that wrote every file anew made each of those commands start its kernels without the snapshot
// (0.8 s a start became 2.5 s) while a new blob was built beside them. It runs tsc in build mode
// (`-b`), which calls the project up to date from the files' modification times without loading a
// program: 0.3 s where `-p` took 1.6 s to parse every file and find nothing to do. So the second test
// holds it to what `-p` did: a changed file is compiled again, and type errors are never forgotten.
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
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

/** The files under `dir` written since `before` was taken (new, or with another stamp), sorted. */
function rewrittenSince(before: Map<string, string>, dir: string): string[] {
  return [...stamps(dir)]
    .filter(([file, stamp]) => before.get(file) !== stamp)
    .map(([file]) => file)
    .sort();
}

test("a build with nothing changed leaves every file of dist/ as it was", () => {
  const dist = path.join(root, "dist");
  const before = stamps(dist);
  expect(before.get(path.join("handouts", "cli.js"))).toBeDefined(); // the global setup built it
  const r = spawnSync("npm", ["run", "build", "--silent"], { cwd: root, encoding: "utf8" });
  expect(r.stderr + r.stdout).toBe("");
  expect(r.status).toBe(0);
  expect(rewrittenSince(before, dist)).toEqual([]);
});

test("a build after a source file changes compiles it again, and reports a type error every time", () => {
  // A copy of the project (src/, package.json, tsconfig.json; node_modules linked), built from scratch.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-build-"));
  try {
    fs.cpSync(path.join(root, "src"), path.join(dir, "src"), { recursive: true });
    for (const file of ["package.json", "tsconfig.json"]) fs.copyFileSync(path.join(root, file), path.join(dir, file));
    fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"));
    const build = () => spawnSync("npm", ["run", "build", "--silent"], { cwd: dir, encoding: "utf8" });
    expect(build().status).toBe(0);
    const dist = path.join(dir, "dist");
    const before = stamps(dist);

    const source = path.join(dir, "src", "sys", "page.ts");
    fs.appendFileSync(source, "// build probe: changed\n");
    let r = build();
    expect(r.stderr + r.stdout).toBe("");
    expect(r.status).toBe(0);
    expect(fs.readFileSync(path.join(dist, "sys", "page.js"), "utf8")).toContain("// build probe: changed");
    // What did not change is not rewritten (its stamp keys the kernel's snapshot); `-p` rewrites
    // the same four files.
    expect(rewrittenSince(before, dist)).toEqual([".tsbuildinfo", "sys/page.d.ts", "sys/page.js", "sys/page.js.map"]);

    fs.appendFileSync(source, 'export const buildProbe2: number = "not a number";\n');
    for (let i = 0; i < 2; i++) {
      // The second time nothing has changed since the failed build: still an error, not "up to date".
      r = build();
      expect(r.status).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/src\/sys\/page\.ts\(\d+,\d+\): error TS2322/);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
