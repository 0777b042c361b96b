// The command line of `npm run release` and `npm run grade` (src/assign/cli.ts): an option the
// command does not take, a bad value or a missing argument is refused by name before anything
// runs; --help prints the usage.
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { repoRoot } from "../helpers";

const cli = path.join(repoRoot, "dist", "assign", "cli.js");

describe("tslab-ipc release|grade's command line", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-assign-cli-"));
  const out = path.join(dir, "graded");
  const source = path.join(repoRoot, "test", "assign", "fixtures", "assignment.ipynb");
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: dir });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test.each([["release", "--help"], ["grade", "-h"], ["--help"]])("%s %s prints the usage", (...args) => {
    const r = run(...args);
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/^usage:\n {2}tslab-ipc release SOURCE\.ipynb/);
  });

  test.each([
    // A misspelt option was ignored: the grade ran with the default it meant to change.
    [["grade", source, dir, "--out", out, "--job", "2"], /^Unknown option '--job'/],
    // `--name=value` was a flag of that whole name, ignored: these values were never checked.
    [["grade", source, dir, `--out=${out}`, "--jobs=2.5"], /^--jobs must be a whole number of at least 1, got 2\.5\n/],
    [["grade", source, dir, `--out=${out}`, "--timeout=-1"], /^--timeout must be a positive number, got -1\n/],
    [["grade", source, dir, `--out=${out}`, "--snapshot=sometimes"], /^--snapshot must be one of auto, always, never/],
    [["grade", source, dir], /^grade needs --out DIR\n/],
    [["grade", source, "--out", out], /^grade takes a notebook and a folder, got 1 argument\n/],
    [["release", source, "--no-pdf=yes"], /^Option '--no-pdf' does not take an argument/],
    [["release", source, "--jobs", "2"], /^Unknown option '--jobs'/],
    [["release"], /^release takes one notebook, got 0 arguments\n/],
  ])("%j is refused, and nothing runs", (args, reason) => {
    const r = run(...args);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 1, stderr: expect.stringMatching(reason) });
    expect(r.stderr).toContain("\nusage:\n");
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.existsSync(path.join(dir, "release"))).toBe(false);
  });
});
