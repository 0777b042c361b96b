// countCalls for child processes: a check that gives a student's function a job to do "in
// another process" (runTs, spawnTs) needs to see the child's calls, not only its output, or a
// function that prints the right answer without doing the work would pass.
//
// How: while `work` runs, NODE_OPTIONS carries `--require <spy>`, so every Node child started in
// that time (they inherit the environment) loads this library first and appends each named call to
// a report file as it happens (a stand-in through countCalls that writes a line, then makes the
// real call), so a child that dies of a signal right after still leaves its record. Children of
// other kinds (C programs) are not seen. NODE_OPTIONS is restored when `work` settles.
import fs from "fs";
import { validateFunction, validateStringArray } from "../validators";
import path from "path";
import type { RecordedCall } from "../sys/calls";
import { countableCalls } from "../sys/calls";
import { distIndex } from "../process/paths";
import { tempFolder } from "../process/temp-folder";
import { labDir } from "./labdir";
import { ERR_INVALID_ARG_VALUE_RANGE } from "../codes";

/** What each Node child started during the work called, in the order the children exited. */
export interface ChildCalls<T> {
  result: T;
  children: RecordedCall[][];
}

/**
 * Runs `work` and records the named libc calls of every Node child it starts (by C name, as in
 * countCalls). Arguments are recorded as strings (they cross a process boundary).
 * @example
 * const { result, children } = await countChildCalls(["mmap"], () => peek(file));
 * children[0].some((c) => c.name === "mmap")
 */
export async function countChildCalls<T>(names: string[], work: () => Promise<T>): Promise<ChildCalls<T>> {
  validateStringArray(names, "names");
  validateFunction(work, "work");
  const known = countableCalls();
  names.forEach((name, i) => {
    if (!known.includes(name))
      throw new ERR_INVALID_ARG_VALUE_RANGE(
        `names[${i}]`,
        name,
        "is not a call the library makes (see countableCalls())",
      );
  });
  // In the lab folder, and removed at exit too: a kernel ended mid-work (its client gone, a
  // SIGTERM) runs no finally block, and left the folder in the temp directory.
  const folder = tempFolder("tslab-ipc-child-calls-", { parent: labDir() });
  const dir = folder.path;
  const spy = path.join(dir, "spy.js");
  const library = distIndex(); // the built library, also when this file runs from src/ (tests)
  const table = path.join(path.dirname(library), "ffi", "libc.js");
  fs.writeFileSync(
    spy,
    `const fs = require("fs");
const { fn } = require(${JSON.stringify(table)});
const report = ${JSON.stringify(dir)} + "/" + process.pid + ".jsonl";
const standIns = {};
for (const name of ${JSON.stringify(names)}) {
  const real = fn[name] ?? fn["syscall_" + name];
  if (real) standIns[name] = (...args) => {
    fs.appendFileSync(report, JSON.stringify({ name, args: args.map(String) }) + "\\n");
    return real(...args);
  };
}
require(${JSON.stringify(library)}).countCalls(Object.keys(standIns), { standIns, keep: 0 });\n`,
  );
  const before = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${before ?? ""} --require ${spy}`.trim();
  try {
    const result = await work();
    const reports = fs.readdirSync(dir).filter((f) => f.endsWith(".jsonl"));
    const children = reports
      .map((f) => {
        const lines = fs
          .readFileSync(path.join(dir, f), "utf8")
          .split("\n")
          .filter((l) => l !== "");
        return { at: fs.statSync(path.join(dir, f)).mtimeMs, calls: lines.map((l) => JSON.parse(l) as RecordedCall) };
      })
      .sort((a, b) => a.at - b.at)
      .map((r) => r.calls);
    return { result, children };
  } finally {
    if (before === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = before;
    folder.remove();
  }
}
