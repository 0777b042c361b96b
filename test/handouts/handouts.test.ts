// src/handouts without Jupyter: judging executed notebooks, the student version, npm start's options.
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { judgeNotebook, SOLUTION_STUB, studentVersion, type Notebook, type NotebookCell } from "../../src/handouts";
import { copyJson, readNotebook } from "../../src/handouts/notebook";
import { caught, tempDir } from "../helpers";

function cell(
  source: string,
  tags: string[] = [],
  outputs: NotebookCell["outputs"] = [],
  count: number | null = 1,
): NotebookCell {
  return { cell_type: "code", source, metadata: tags.length ? { tags } : {}, outputs, execution_count: count };
}
const error = (ename: string) => ({ output_type: "error", ename, evalue: "boom", traceback: [] });
const text = (t: string) => ({ output_type: "stream", name: "stdout", text: t });
const nb = (cells: NotebookCell[]): Notebook => ({ cells, metadata: {}, nbformat: 4, nbformat_minor: 4 });

describe("judgeNotebook", () => {
  test("passes errors only in raises-exception cells, and counts checks", () => {
    const j = judgeNotebook(
      nb([cell("a"), cell("b", ["raises-exception"], [error("IpcError")]), cell("c", ["check"], [text("ok")])]),
    );
    expect(j).toMatchObject({ ok: true, codeCells: 3, executed: 3, checks: { total: 1, passed: 1 }, problems: [] });
  });
  test("flags an unexpected error, a failed check, a tagged cell that did not raise, a cell never run", () => {
    const j = judgeNotebook(
      nb([
        cell("a", [], [error("TypeError")]),
        cell("b", ["check"], [error("Error")]),
        cell("c", ["raises-exception"]),
        cell("d", [], [], null),
      ]),
    );
    expect(j.ok).toBe(false);
    expect(j.problems.map((p) => [p.cell, p.kind])).toEqual([
      [0, "unexpected error"],
      [1, "check failed"],
      [2, "expected an error"],
      [3, "not executed"],
    ]);
    expect(j.checks).toEqual({ total: 1, passed: 0 });
  });
  test("counts nbgrader test cells as checks", () => {
    const graded: NotebookCell = {
      ...cell("check()", [], [error("Error")]),
      metadata: {
        nbgrader: { grade: true, solution: false, locked: true, points: 1, grade_id: "t", schema_version: 3 },
      },
    };
    const j = judgeNotebook(nb([graded]));
    expect(j.checks).toEqual({ total: 1, passed: 0 });
    expect(j.problems.map((p) => p.kind)).toEqual(["check failed"]);
  });
});

describe("studentVersion", () => {
  test("stubs solutions, clears solution and check outputs, keeps everything else, leaves the input alone", () => {
    const input = nb([
      cell("setup", [], [text("x")]),
      cell("function f() {}", ["solution"], [text("sol")]),
      cell("check(f)", ["check"], [text("✓")]),
    ]);
    const before = JSON.stringify(input);
    const s = studentVersion(input);
    expect(JSON.stringify(input)).toBe(before);
    expect(s.cells[0]).toEqual(input.cells[0]);
    // Legacy tags convert to nbgrader's format on the way (test/assign has the details).
    expect(s.cells[1]).toMatchObject({
      source: SOLUTION_STUB.join("\n"),
      outputs: [],
      execution_count: null,
      metadata: { tags: ["solution"], nbgrader: { solution: true } },
    });
    expect(s.cells[2]).toMatchObject({
      source: "check(f)",
      outputs: [],
      execution_count: null,
      metadata: { nbgrader: { grade: true, points: 1 } },
    });
  });
});

describe("readNotebook", () => {
  // JSON.parse's own message named no file: "Unexpected token '<', "<<<<<<< HEAD"... is not valid
  // JSON", from npm start's eleven notebooks or the grader's source.
  test.each([
    ["a merge left in it", '<<<<<<< HEAD\n{"cells": []}', /conflict\.ipynb is not a notebook: Unexpected token '<'/],
    ["no cells", '{"nbformat": 4}', /conflict\.ipynb is not an nbformat 4 notebook \(no cells\)/],
  ])("names the file that is not a notebook (%s)", (_, text, message) => {
    const dir = tempDir("tslab-ipc-readnb-");
    try {
      fs.writeFileSync(path.join(dir, "conflict.ipynb"), text);
      expect(caught(() => readNotebook(path.join(dir, "conflict.ipynb")))).toMatchObject({
        code: "ERR_INVALID_NOTEBOOK",
        message: expect.stringMatching(message),
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("copyJson (every copy of a notebook: the student version, the print copy, the grader's)", () => {
  test("is what a JSON round trip gives, with no object or array shared with the original", () => {
    const original = JSON.parse(
      '{"cells":[{"outputs":[{"data":{"text/html":["<div>","</div>"],"n":[1,2.5,null,true]}}]}],' +
        '"metadata":{"kernelspec":{"name":"tslab-ipc"}},"__proto__":{"polluted":1},"nbformat":4}',
    );
    const copy = copyJson(original);
    expect(JSON.stringify(copy)).toBe(JSON.stringify(original));
    // A key named __proto__ stays an own data property: the copy's prototype is Object's.
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.hasOwn(copy, "__proto__")).toBe(true);
    expect(copy.polluted).toBeUndefined();
    const before = JSON.stringify(original);
    const objects: unknown[] = [];
    const walk = (a: unknown, b: unknown) => {
      if (a === null || typeof a !== "object") return;
      objects.push(a);
      expect(b).not.toBe(a);
      for (const key of Object.keys(a)) walk((a as never)[key], (b as never)[key]);
    };
    walk(copy, original);
    expect(objects.length).toBe(11); // the root, cells, a cell, outputs, an output, data, two arrays, metadata, kernelspec, __proto__
    copy.cells[0].outputs[0].data["text/html"].push("changed");
    copy.cells[0].outputs[0].data.n[0] = 9;
    copy.metadata.kernelspec.name = "changed";
    expect(JSON.stringify(original)).toBe(before);
  });
  test("a student version changed afterwards leaves the executed notebook as it was", () => {
    const input = nb([cell("plot()", [], [{ output_type: "display_data", data: { "text/html": "<div>" } }])]);
    const before = JSON.stringify(input);
    const s = studentVersion(input);
    (s.cells[0].outputs?.[0].data as Record<string, unknown>)["text/html"] = "changed";
    s.cells[0].metadata.tags = ["changed"];
    expect(JSON.stringify(input)).toBe(before);
  });
});

describe("npm start's command line", () => {
  test("a --jobs that is not a positive integer is refused with its reason, before anything runs", () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-cli-")), "out");
    try {
      for (const [jobs, reason] of [
        ["0", /--jobs must be a whole number of at least 1, got 0/],
        ["two", /--jobs must be a whole number.*got two/],
        ["1.5", /--jobs must be a whole number.*got 1\.5/],
      ] as const) {
        const r = spawnSync(
          process.execPath,
          [path.join(__dirname, "..", "..", "dist", "handouts", "cli.js"), "--jobs", jobs, "--out", out],
          { encoding: "utf8" },
        );
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(reason);
        expect(fs.existsSync(out)).toBe(false);
      }
    } finally {
      fs.rmSync(path.dirname(out), { recursive: true, force: true });
    }
  });

  test("--help prints the usage, and an option it does not take is refused by name: nothing runs", () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-cli-")), "out");
    const cli = path.join(__dirname, "..", "..", "dist", "handouts", "cli.js");
    const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args, "--out", out], { encoding: "utf8" });
    try {
      const help = run("--help");
      expect({ status: help.status, stdout: help.stdout }).toEqual({
        status: 0,
        stdout: expect.stringMatching(/^usage: node dist\/handouts\/cli\.js \[--only 02,05\]/),
      });
      for (const [args, reason] of [
        [["--no-pfd"], /^Unknown option '--no-pfd'/],
        [["notebooks/02"], /^Unexpected argument 'notebooks\/02'/],
        // `--name=value` is read as `--name value`: it was ignored, and all notebooks built.
        [["--jobs=0"], /^--jobs must be a whole number of at least 1, got 0\n/],
        [["--only=99"], /^--only 99 names no notebook of 01-why-ipc, 02-system-v-shared-memory, /],
      ] as const) {
        const r = run(...args);
        expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 1, stderr: expect.stringMatching(reason) });
        expect(r.stderr).toContain("\nusage: ");
      }
      expect(fs.existsSync(out)).toBe(false);
    } finally {
      fs.rmSync(path.dirname(out), { recursive: true, force: true });
    }
  });
});
