// The kernel's cell compiler (kernel/converter.js) against tslab's own (node_modules/tslab): the
// same sequence of cells gives the same JavaScript, the same carried-over declarations and the
// same diagnostics, line for line, in both. A difference here is a difference a student sees.
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { bareTempBase, converterFolder } from "../helpers";
import { prng } from "../../stress/prng";

const repo = path.resolve(__dirname, "..", "..");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const ours = require(path.join(repo, "kernel", "converter.js"));
// eslint-disable-next-line @typescript-eslint/no-var-requires
const tslabs = require("tslab/dist/converter");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { printQuickInfo } = require("tslab/dist/inspect");
const tslabDir = path.dirname(require.resolve("tslab/package.json"));
// eslint-disable-next-line @typescript-eslint/no-var-requires
const ts = require(require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] }));

/** Cells in the order a notebook runs them: declarations, redeclarations, errors, awaits, imports. */
const CELLS = [
  'import { shmget, IPC_PRIVATE, IPC_CREAT, type IpcsEntry } from "tslab-ipc";',
  "1+1",
  "function bump(x: number): number { return x + 1; }\nbump(1)",
  "let a = 1, b = 'two';\nconst { c, d } = { c: 3, d: [4] };\n{ var hoisted = 5; }\na + c",
  "class P { constructor(public x: number) {} get y() { return this.x + 1; } }\nnew P(1).y",
  "interface Shape { area(): number }\ntype Id = string | number;\nenum Color { Red, Green }\nconst s: Shape = { area: () => 2 };\nColor.Green",
  "const bad: number = 'text';\nlet ok = 1;",
  "\n\nbump('x')\nundefinedName + 1",
  "function bump(s: string): string { return s + '!'; }\nbump('a')",
  "let a = 'now a string';\na.toUpperCase()",
  // Runs and throws: the executor keeps the previous declarations, which must still hold bump(string).
  "/* throws */ function bump(n: number): number { return n; }\nlet a = 2;\nthrow new Error('x')",
  "bump('still a string')\na.length",
  "1",
  "2",
  // Cells that declare nothing leave the declarations' text as it was, so its tree is reused:
  // a name carried over must still be there, and a redeclaration after them must still win.
  "bump('reused') + a",
  "3",
  "function bump(b: boolean): boolean { return !b; }\nbump(true)",
  // The same cell again: it drops its own earlier bump, and its declarations' text comes back
  // the same, so the next cell's tree is that one (its statements restored after the print).
  "function bump(b: boolean): boolean { return !b; }\nbump(true)",
  "function bump(b: boolean): boolean { return !b; }\nbump(true)",
  "bump(false)",
  "bump(1)",
  // Cells that declare nothing in every kind of statement (their .d.ts is empty, so the
  // converter neither checks nor emits declarations for them), one with an error in a block.
  "if (a.length > 0) { const inner: number = 1; inner; } else { for (const k of [1]) k; }\ntry { throw new Error('t'); } catch { /* none */ } finally { }\nswitch (a.length) { case 1: break; default: }\nwhile (false) {}\ndo {} while (false);\n;\nout: { break out; }\nfor (const key in {}) key;\n(class Q {}).name",
  "{ const z: string = 1; }\n[a, bump(true)]",
  "bump('a string, now a type error')",
  "const r = await Promise.resolve(42);\nr + 1",
  "async function f() { return 1; }\nconst g = () => { await f(); };",
  "import * as fs from 'fs';\nimport { join } from 'path';\nfs.existsSync(join('/', 'tmp'))",
  // Types from several of @types/node's files (the converter may serve its scripts as one) and
  // from its modules (web-globals/*), carried over as declarations.
  "const buf = Buffer.alloc(2);\nconst st = fs.statSync('.');\nconst t = setTimeout(() => {}, 1);\nconst ac = new AbortController();\nconst u = new URL('http://x');\nbuf",
  "clearTimeout(t);\nst.isDirectory() && ac.signal.aborted === false && u.host.length + buf.length",
  "process.hrtime.bigint() > 0n ? require('os').EOL : new TextEncoder().encode('x')",
  "const id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600);\nconst e: IpcsEntry | null = null;\nid",
  "type Id = boolean;\nconst x: Id = true;\nx",
  "class Color { static Red = 1 }\nColor.Red",
  "let x: any = 1; x = 'y'; const fn = function named() {}; x",
  "const broken = ;\n",
  "for (var i = 0; i < 3; i++) {}\ni",
  "declare const ambient: number;\nexport const exported = 1;\nexported",
  // Emitted as CommonJS by the program itself, or (enums, namespaces) transpiled again as tslab does.
  "const m = await import('path');\nm.join('a', 'b')",
  "namespace NS { export const v = 1; }\nNS.v",
  "function* gen() { yield 1; }\nconst all = [...gen()];\nlabel: for (const v of all) { if (v) break label; }\nall",
  "import fsDefault from 'fs';\nimport { sep as separator } from 'path';\ntypeof fsDefault.existsSync + separator",
  "let counter = 0;\nconst inc = () => ++counter;\ninc(); counter",
  "counter += 10;\n[counter, inc()]",
  // Comments a cell's declarations keep (doc comments, and others beside a declaration), which
  // the converter prints statement by statement, a statement it printed before from that print.
  "/** Doubles x. */\nfunction dbl(x: number) { return 2 * x; } // trailing\n/* block\n spans */ const k1 = dbl(1), k2 = 2; /* after\n x */\nk1",
  "/** Again, a string. */ let k1 = 'one'; // redeclared\n/** A type. */\ninterface Doc { /** a member */ m: number } // after it\nk1 + k2",
  "dbl(k2)",
  // What the lib declares, in several of its files (the converter may serve them as one): merged
  // interfaces, overloads in their order (an error lists them), a member of a later lib than the
  // target (the message suggests the lib option), Node's own overloads on top of the lib's.
  "const arr = Array.from(new Set([3, 1, 2])).sort();\nconst m = new Map(arr.map((v) => [v, String(v)] as const));\n[...m.entries()].flat().includes(1)",
  "'abc'.replace(1, 2)",
  "[1, 2].findLast((x) => x > 1)",
  "Promise.all([1, Promise.resolve('a')]).then(([n, s]) => n.toFixed() + s.padStart(3)); Symbol.asyncIterator",
  "setTimeout(() => {}, 'soon')",
  "new Date().toLocaleString(1)\nObject.entries({ a: 1 }).at(-1)?.[1]",
  // Messages that name a module of the library (kernel/module-bundle.js serves them as ambient
  // modules, and writes back the path TypeScript names a file module by).
  'import { JUPYTER_DISPLAY, lifecycle } from "tslab-ipc";\nconst sym: { nope: 1 } = JUPYTER_DISPLAY;\nconst ns: { nope: 1 } = lifecycle;',
  'import * as everything from "tslab-ipc";\nconst all: string = everything;',
  'import { nothing } from "tslab-ipc";',
  // Declaration diagnostics (from TypeScript's declaration transform): alone, beside a type
  // error, and none where a declaration names a type the same cell imports (the declaration emit
  // marks the import visible late); then a cell that uses what the import cell carried over and a
  // name of a cell that failed.
  "const Anon = class { private p = 1; };\nnew Anon()",
  "const Anon2 = class { protected q = 1; };\nconst wrong: string = 2;",
  'import { type IpcsEntry as Entry, IPC_CREAT as CREAT } from "tslab-ipc";\nconst entries: Entry[] = [];\nconst flag = CREAT;\nentries.length + flag',
  "entries.concat([]).length + Anon2",
  // Object types compared, through the type checker's generators (getUnmatchedProperties and those
  // of the error elaborations, which kernel/typescript-edits.js moves): a property missing, a
  // property's and a tuple element's errors elaborated, a discriminated union, and callbacks given
  // to generic methods.
  "const pt: { x: number; y: number } = { x: 1 };",
  "const named: { a: number; b: string } = { a: 1, b: 2 };\nconst pair: [number, string] = [1, 2];",
  'type Shape = { kind: "c"; r: number } | { kind: "s"; a: number };\nconst sh: Shape = { kind: "s", r: 1 };',
  "[1, 2, 3].map((n) => ({ n })).filter((o) => o.n > 1).length",
];

type Create = (o: object) => {
  convert(p: string, s: string): Record<string, unknown>;
  prepare?(decls: string): void;
  close(): void;
};

/**
 * A result with each `/// <reference ...>` line of its declarations kept once. TypeScript writes
 * `/// <reference types="node" />` once for each of @types/node's files a cell's declared types
 * come from; with its scripts served as one (bundleLib), fewer files, so fewer copies of the line.
 */
function referencesOnce(result: Record<string, unknown>) {
  if (typeof result.declOutput !== "string") return result;
  const seen = new Set<string>();
  const lines = result.declOutput.split("\n").filter((line) => {
    if (!line.startsWith("/// <reference ")) return true;
    if (seen.has(line)) return false;
    seen.add(line);
    return true;
  });
  return { ...result, declOutput: lines.join("\n") };
}

/**
 * The results of CELLS in one converter. With `prepare`, each compiled cell's declarations are
 * made ready for the next cell (the kernel's prepare, after a reply), also after the cell that
 * throws, whose next cell is then compiled against other declarations than the ones prepared.
 */
function sequence(create: Create, extra: object = {}, prepare = false, cells: readonly string[] = CELLS) {
  const conv = create({ isJS: false, isBrowser: false, ...extra });
  const out: Array<Record<string, unknown>> = [];
  let prevDecl = "";
  try {
    for (const cell of cells) {
      const r = conv.convert(prevDecl, cell);
      out.push(r);
      if ((r.diagnostics as unknown[]).length === 0) {
        if (!cell.startsWith("/* throws */")) prevDecl = String(r.declOutput ?? "");
        const decls = String(r.declOutput ?? "");
        if (prepare) conv.prepare?.(decls);
      }
    }
  } finally {
    conv.close();
  }
  return out;
}

/**
 * `count` cells as a student's notebook grows: names declared, declared again with other kinds and
 * types (a statement of several names losing one), doc and other comments, cells that use earlier
 * names or fail, from a fixed seed. Five names of each kind, so redeclarations are frequent.
 */
function randomCells(seed: number, count: number): string[] {
  const random = prng(seed);
  const pick = (n: number) => random.int(0, n - 1);
  const kinds = [
    (i: number, j: number) => `const v${j} = ${i};\nv${j}`,
    (i: number, j: number) => `let v${j} = 'again ${i}'; // v${j} is a string now\nv${j}.length`,
    (i: number, j: number) => `/** Adds ${i}. */\nfunction f${j}(x: number): number { return x + ${i}; }\nf${j}(1)`,
    (i: number, j: number) => `function f${j}(s: string) { return s + '${i}'; } /* trailing */\nf${j}('a')`,
    (i: number, j: number) => `class C${j} {\n  /** m */ m() { return ${i}; }\n}\nnew C${j}().m()`,
    (i: number, j: number) =>
      `interface I${j} { a${i}: number } // merged? no: replaced\nconst i${j}: I${j} = { a${i}: 1 };`,
    (i: number, j: number) => `type T${j} = number | 'x${i}';\nconst t${j}: T${j} = 1;`,
    (i: number, j: number) => `let a${j} = ${i}, b${j} = 'b', c${j} = [${i}];\na${j} + c${j}[0]`,
    (i: number, j: number) => `let b${j} = ${i};\nb${j} * 2`,
    (i: number, j: number) => `enum E${j} { A = ${i}, B }\nE${j}.B`,
    (_i: number, j: number) => `v${j} + f${j}(1)`,
    (_i: number, j: number) => `new C${j}().m() + a${j}`,
    (i: number) => `${i} * 2`,
    (i: number, j: number) => `const bad${j}: number = 'not a number ${i}';`,
    (i: number, j: number) =>
      `import { shmget as get${j}, IPC_PRIVATE as P${j} } from "tslab-ipc";\ntypeof get${j} === 'function' && P${j} === ${i}`,
  ];
  return Array.from({ length: count }, (_, i) => kinds[pick(kinds.length)](i, pick(5)));
}

describe("the kernel's converter", () => {
  // tslab's converter compiles with the TypeScript required above, the kernel's with its own.
  const folder = converterFolder("tslab-ipc-converter-", ts, ours.ts);

  test("gives tslab's output, declarations and diagnostics for the same cells, with the lib as one file or many", () => {
    const expected = sequence(tslabs.createConverter);
    // bundleLib: how a kernel started from its snapshot reads TypeScript's lib.
    // bundleModules: how a kernel serves the library's declaration modules from its second cell on.
    // prepare: how a kernel compiles every cell after its first (each one's declarations made
    // ready before the next cell, once its reply has gone).
    const kernels = { bundleLib: true, bundleModules: true };
    for (const [extra, prepare] of [[{}], [{ bundleLib: true }], [kernels], [kernels, true]] as const) {
      const actual = sequence(ours.createConverter, extra, prepare);
      expect(actual).toHaveLength(CELLS.length);
      for (let i = 0; i < CELLS.length; i++) {
        expect({ cell: CELLS[i], extra, prepare, result: referencesOnce(actual[i]) }).toEqual({
          cell: CELLS[i],
          extra,
          prepare,
          result: referencesOnce(expected[i]),
        });
      }
    }
    // The corpus exercises what it claims to: errors with lines, a top-level await, carried names.
    expect(expected.some((r) => (r.diagnostics as unknown[]).length > 1)).toBe(true);
    expect(expected.some((r) => r.hasToplevelAwait === true)).toBe(true);
    const codes = expected.map((r) => (r.diagnostics as Array<{ code: number }>).map((d) => d.code).sort());
    expect(codes).toContainEqual([4094]);
    expect(codes).toContainEqual([2322, 4094]);
    expect(codes).toContainEqual([2741]);
    expect(codes).toContainEqual([2322, 2322]);
    expect(expected.filter((r) => String(r.declOutput).includes("function bump(s: string)")).length).toBeGreaterThan(3);
  });

  test("a long notebook of random declarations, redeclarations and comments gives tslab's results, cell for cell", () => {
    // The declarations' text changes in every way a notebook changes it, so their tree is made
    // from the last one in most cells, and their print reuses most statements (kernel/decl-tree.js).
    const cells = randomCells(2026, 120);
    const expected = sequence(tslabs.createConverter, {}, false, cells);
    const kernels = { bundleLib: true, bundleModules: true };
    for (const prepare of [false, true]) {
      const actual = sequence(ours.createConverter, kernels, prepare, cells);
      for (let i = 0; i < cells.length; i++) {
        expect({ cell: cells[i], prepare, result: referencesOnce(actual[i]) }).toEqual({
          cell: cells[i],
          prepare,
          result: referencesOnce(expected[i]),
        });
      }
    }
    // The sequence does what it is for: cells fail, and names are declared again.
    expect(expected.filter((r) => (r.diagnostics as unknown[]).length > 0).length).toBeGreaterThan(5);
    expect(expected.filter((r) => String(r.declOutput).includes("/** Adds")).length).toBeGreaterThan(20);
  });

  test("declarations prepared ahead of a cell are not parsed in it, and a cell compiled against others is compiled as before", () => {
    const conv = ours.createConverter({ isJS: false, isBrowser: false });
    // TypeScript counts its parses (its `beforeParse` mark) while its performance log is on, and
    // the converter its parses of the declarations from their last tree (`beforeReparse`).
    ours.ts.performance.enable();
    const count = () => ours.ts.performance.getCount("beforeParse") + ours.ts.performance.getCount("beforeReparse");
    try {
      const parses = (prevDecl: string, cell: string) => {
        const before = count();
        const r = conv.convert(prevDecl, cell);
        expect(r.diagnostics).toEqual([]);
        return { parses: count() - before, r };
      };
      const first = parses("", "const first = 1;\nfunction twice(n: number) { return 2 * n; }").r;
      const decls = String(first.declOutput);
      // Unprepared: the cell (once: it declares nothing) and the declarations' new text.
      expect(parses(decls, "twice(first)").parses).toBe(2);
      const second = parses(decls, "const second = twice(first);").r;
      const next = String(second.declOutput);
      conv.prepare(next);
      const prepared = parses(next, "second + 1");
      expect(prepared.parses).toBe(1);
      conv.prepare(String(parses(next, "const third = 3;").r.declOutput));
      // Compiled against the earlier text after all (a cell that threw): parsed, and the same result.
      const other = parses(next, "second + 1");
      expect(other.parses).toBe(2);
      expect(other.r).toEqual(prepared.r);
      // Prepared twice: one parse in all, and none in the cell.
      const after = String(parses(next, "const fourth = 4;").r.declOutput);
      expect(conv.isPrepared(after)).toBe(false);
      const before = count();
      conv.prepare(after);
      expect(conv.isPrepared(after)).toBe(true);
      conv.prepare(after);
      expect(count() - before).toBe(1);
      expect(parses(after, "fourth + 1").parses).toBe(1);
    } finally {
      ours.ts.performance.disable();
      conv.close();
    }
  });

  test("what a cell keeps of the earlier declarations is worked out once per tree for cells that declare no earlier name again", () => {
    const conv = ours.createConverter({ isJS: false, isBrowser: false });
    // remainingDeclsOf marks each time it works the kept declarations out (TypeScript's
    // performance log, on only here).
    ours.ts.performance.enable();
    const count = () => ours.ts.performance.getCount("beforeRemainingDecls");
    try {
      const worked = (prevDecl: string, cell: string) => {
        const before = count();
        const r = conv.convert(prevDecl, cell);
        expect(r.diagnostics).toEqual([]);
        return { times: count() - before, decls: String(r.declOutput) };
      };
      const decls = worked("", "const a = 1;\nfunction f(): number { return a; }").decls;
      expect(conv.isPrepared(decls)).toBe(false);
      const before = count();
      conv.prepare(decls);
      expect(count() - before).toBe(1);
      expect(conv.isPrepared(decls)).toBe(true);
      // Prepared (as the kernel does after each reply): a cell with new names, and one with none, find it made.
      const fresh = worked(decls, "const b = f() + 1;\nb");
      expect(fresh).toEqual({ times: 0, decls: expect.stringContaining("declare const b: number;") });
      expect(fresh.decls).toContain("declare const a = 1;");
      expect(fresh.decls).toContain("declare function f(): number;");
      expect(worked(decls, "f() + a").times).toBe(0);
      // A cell that declares `a` again keeps the rest only: worked out for it, and its own.
      const again = worked(decls, "const a = 'two';\na");
      expect(again.times).toBe(1);
      expect(again.decls).toContain('declare const a = "two";');
      expect(again.decls).not.toContain("declare const a = 1;");
      expect(again.decls).toContain("declare function f(): number;");
      // Unprepared, once for the tree: the first cell with new names works it out, the next takes it.
      const next = worked(fresh.decls, "const c = 3;");
      expect(next.times).toBe(1);
      expect(worked(fresh.decls, "const d = 4;").times).toBe(0);
      expect(worked(fresh.decls, "a + b").times).toBe(0);
    } finally {
      ours.ts.performance.disable();
      conv.close();
    }
  });

  test("from a checkout whose path is not ASCII (/home/josé), a message naming a library module reads as tslab's", () => {
    // A copy of what the converter reads, under a name TypeScript escapes in an import type.
    const base = fs.mkdtempSync(path.join(bareTempBase() ?? os.tmpdir(), "tslab-ipc-josé "));
    try {
      const copy = path.join(base, "checkout");
      const notebook = path.join(base, "notebook");
      fs.mkdirSync(notebook);
      fs.mkdirSync(copy);
      for (const part of ["package.json", "kernel", "dist"])
        fs.cpSync(path.join(repo, part), path.join(copy, part), { recursive: true });
      fs.symlinkSync(path.join(repo, "node_modules"), path.join(copy, "node_modules"));
      const cells = [
        'import { JUPYTER_DISPLAY } from "tslab-ipc";\n1',
        'import { JUPYTER_DISPLAY } from "tslab-ipc";\nconst sym: { nope: 1 } = JUPYTER_DISPLAY;',
      ];
      const script = `
        const path = require("path");
        const copy = ${JSON.stringify(copy)};
        const ours = require(path.join(copy, "kernel", "converter.js"));
        const tslabs = require(require.resolve("tslab/dist/converter", { paths: [copy] }));
        const tslabDir = path.dirname(require.resolve("tslab/package.json", { paths: [copy] }));
        const ts = require(require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] }));
        process.chdir(${JSON.stringify(notebook)});
        require(path.join(copy, "kernel", "resolve.js")).installTypeResolution(ts, process.cwd());
        const messages = (create) => {
          const conv = create({ isJS: false, isBrowser: false, bundleLib: true, bundleModules: true });
          try { return ${JSON.stringify(cells)}.map((cell) => conv.convert("", cell).diagnostics.map((d) => d.messageText)); }
          finally { conv.close(); }
        };
        console.log(JSON.stringify({ tslab: messages(tslabs.createConverter), ours: messages(ours.createConverter) }));`;
      const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
      const { tslab, ours: mine } = JSON.parse(r.stdout.trim().split("\n").pop()!);
      // TypeScript's own: the path as a string literal, its non-ASCII letter escaped.
      expect(tslab[1].join("\n")).toContain(
        `typeof import("${base.replace("é", "\\u00E9")}/checkout/dist/display/mime")`,
      );
      expect(mine).toEqual(tslab);
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });

  test("a top-level name that begins with two underscores is declared and carried over (tslab: Cannot find name '___x')", () => {
    const conv = ours.createConverter({ isJS: false, isBrowser: false });
    try {
      const first = conv.convert("", "let __count = 1;\nfunction __bump(): number { return ++__count; }\n__bump()");
      expect(first.diagnostics).toEqual([]);
      expect(first.output).toMatch(/exports\.__count = __count;/);
      expect(first.declOutput).toMatch(/declare let __count: number;/);
      const next = conv.convert(first.declOutput, "__bump() + __count");
      expect(next.diagnostics).toEqual([]);
      expect(next.output).toMatch(/exports\.__bump\(\) \+ exports\.__count/);
      // tslab itself exports the binder's escaped name, and the cell fails.
      const theirs = tslabs.createConverter({ isJS: false, isBrowser: false });
      try {
        expect(
          theirs.convert("", "let __count = 1;").diagnostics.map((d: { messageText: string }) => d.messageText),
        ).toEqual([expect.stringMatching(/Cannot find name '___count'/)]);
      } finally {
        theirs.close();
      }
    } finally {
      conv.close();
    }
  });

  test("completes, inspects and adds //@module files as tslab does, with the lib as one file or many", () => {
    const run = (create: typeof ours.createConverter, extra: object = {}) => {
      const conv = create({ isJS: false, isBrowser: false, ...extra });
      try {
        const decl = String(
          conv.convert("", 'import { shmget } from "tslab-ipc";\nconst seg = { attach: 1, detach: 2 };').declOutput,
        );
        return {
          names: conv.complete(decl, "sh", 2),
          members: conv.complete(decl, "seg.", 4),
          info: conv.inspect(decl, "shmget", 2),
          // Globals of the lib: completed and documented from the lib's own trees.
          globals: conv.complete(decl, "Prom", 4),
          arrayMembers: conv.complete(decl, "[1].fi", 6),
          libInfo: conv.inspect(decl, "[1].map", 6),
          // @types/node's: from its files, or from its scripts as one (bundleLib).
          nodeMembers: conv.complete(decl, "process.hr", 10),
          nodeInfo: conv.inspect(decl, "Buffer.alloc", 10),
          moduleInfo: conv.inspect(decl, 'import { readFileSync } from "fs";', 12),
          nodeFiles: (conv.trees?.() ?? [])
            .map(([fileName]: [string]) => fileName)
            .filter((fileName: string) => fileName.includes("/@types/node/"))
            .map((fileName: string) => fileName.replace(/.*\/@types\/node\//, "")),
          module: conv.addModule("mymod", "export const q: number = 'x';", {}),
          afterModule: conv.convert(decl, 'import { q } from "./mymod";\nq'),
        };
      } finally {
        conv.close();
      }
    };
    const actual = run(ours.createConverter);
    expect(actual.members.candidates).toEqual(["attach", "detach"]);
    expect(actual.module).toEqual([expect.objectContaining({ fileName: "mymod.ts", code: 2322 })]);
    expect(actual.arrayMembers.candidates).toEqual(expect.arrayContaining(["fill", "filter", "find", "findIndex"]));
    expect(JSON.stringify(actual.libInfo)).toContain("Calls a defined callback function on each element");
    expect(JSON.stringify(actual.nodeInfo)).toContain("Allocates a new `Buffer` of `size` bytes");
    expect(JSON.stringify(actual.moduleInfo)).toContain("Returns the contents of the `path`");
    expect(actual.nodeMembers.candidates).toContain("hrtime");
    // One file at a time, every script of @types/node is a tree (tslab has no trees to list).
    expect(actual.nodeFiles).toEqual(expect.arrayContaining(["fs.d.ts", "buffer.d.ts", "globals.d.ts"]));
    const expected = { ...run(tslabs.createConverter), nodeFiles: actual.nodeFiles };
    expect(actual).toEqual(expected);
    // As one: the bundle and @types/node's modules, which stay files of their own.
    const bundled = run(ours.createConverter, { bundleLib: true });
    expect(bundled.nodeFiles.sort()).toEqual([
      "ts5.6/globals.typedarray.d.ts",
      "ts5.6/index.d.ts",
      "web-globals/abortcontroller.d.ts",
      "web-globals/domexception.d.ts",
      "web-globals/events.d.ts",
      "web-globals/fetch.d.ts",
    ]);
    // Its documentation's `{@link}` parts point into the bundle, not @types/node's own files;
    // what a person is shown of them (tslab's printQuickInfo: the parts' text) is the same.
    const shown = (r: typeof actual) => ({
      ...r,
      nodeFiles: actual.nodeFiles,
      nodeInfo: printQuickInfo(r.nodeInfo),
      moduleInfo: printQuickInfo(r.moduleInfo),
    });
    expect(JSON.stringify(bundled.nodeInfo)).toContain("ts5.6/index.d.ts");
    expect(shown(bundled)).toEqual(shown(expected));
  });

  test("a package of declaration modules is served as one from the second cell on, with tslab's results, until a cell reaches one of its files by path or one changes", async () => {
    // A package as tsc writes them: an entry re-exporting modules in subfolders, a type it does not
    // export, a unique symbol, a namespace re-export, a module without export declarations.
    const pkg = path.join(folder(), "node_modules", "modpkg");
    const write = (rel: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(pkg, rel)), { recursive: true });
      fs.writeFileSync(path.join(pkg, rel), text);
    };
    write("package.json", JSON.stringify({ name: "modpkg", types: "lib/index.d.ts" }));
    write(
      "lib/index.d.ts",
      'export * from "./shapes";\nexport { area } from "./geometry/area";\nexport * as units from "./units";\nimport type { Hidden } from "./hidden";\nexport declare function hidden(): Hidden;\n',
    );
    write("lib/shapes.d.ts", "export interface Square { side: number }\nexport declare const TAG: unique symbol;\n");
    write(
      "lib/geometry/area.d.ts",
      'import { Square } from "../shapes";\nexport declare function area(s: Square): number;\n',
    );
    write("lib/units.d.ts", "export declare const metre = 1;\nexport type Unit = typeof metre;\n");
    write(
      "lib/hidden.d.ts",
      "declare const secret: number;\nexport interface Hidden { secret: typeof secret }\nexport {};\n",
    );
    // The file a converter serves the package's modules from, beside its entry.
    const bundleFile = path.join(
      fs.realpathSync(folder()),
      "node_modules",
      "modpkg",
      "lib",
      "index.tslab-ipc-modules.d.ts",
    );
    const cells = [
      'import { area, hidden, TAG, units, type Square } from "modpkg";',
      "area({ side: 2 })",
      "const h = hidden();\nconst n: string = h;",
      "const t: { nope: 1 } = TAG;",
      "const u: { nope: 1 } = units;",
      "area({ side: 'x' })",
      'import { area as a2 } from "modpkg/lib/geometry/area";\nconst s: Square = { side: 1 };\na2(s) + area(s)',
      "const kept = hidden();\nkept.secret",
      "kept.nope",
      // By path, not by name: the package is read as files again from here on.
      'import { area as a3 } from "./node_modules/modpkg/lib/geometry/area";\na3({ side: 3 })',
      "area({ side: 4 }) + kept.secret",
    ];
    const run = (create: Create, extra: object) => {
      const conv = create({ isJS: false, isBrowser: false, ...extra }) as ReturnType<Create> & {
        trees?(): Array<[string, unknown]>;
      };
      const bundled: boolean[] = [];
      const out: Array<Record<string, unknown>> = [];
      let prevDecl = "";
      try {
        for (const cell of cells) {
          const r = conv.convert(prevDecl, cell);
          out.push(r);
          bundled.push(Boolean(conv.trees?.().some(([f]) => f === bundleFile)));
          if ((r.diagnostics as unknown[]).length === 0) prevDecl = String(r.declOutput ?? "");
        }
      } finally {
        conv.close();
      }
      return { out, bundled };
    };
    const expected = run(tslabs.createConverter, {});
    const actual = run(ours.createConverter, { bundleModules: true });
    for (let i = 0; i < cells.length; i++)
      expect({ cell: cells[i], result: actual.out[i] }).toEqual({ cell: cells[i], result: expected.out[i] });
    // Served as one from the second cell to the cell that imports a file by path, files after it.
    expect(actual.bundled).toEqual(cells.map((_, i) => i >= 1 && i < 9));
    // The corpus shows what it claims: module paths in messages, errors from inside the package.
    const messages = JSON.stringify(expected.out.map((r) => r.diagnostics));
    expect(messages).toContain(`typeof import(\\"${path.join(fs.realpathSync(pkg), "lib", "units")}\\")`);
    expect(messages).toContain("not assignable to type 'number'");

    // A change to one of its files is seen once its folder reports it (the bundle is dropped).
    const conv = ours.createConverter({ isJS: false, isBrowser: false, bundleModules: true });
    try {
      const prev = String(conv.convert("", cells[0]).declOutput);
      expect(conv.convert(prev, "area({ side: 1 })").diagnostics).toEqual([]);
      expect(conv.trees().some(([f]: [string]) => f === bundleFile)).toBe(true);
      write(
        "lib/geometry/area.d.ts",
        'import { Square } from "../shapes";\nexport declare function area(s: Square): string;\n',
      );
      let diagnostics: Array<{ code: number }> = [];
      for (let i = 0; i < 50 && diagnostics.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        diagnostics = conv.convert(prev, "const n: number = area({ side: 1 });").diagnostics;
      }
      expect(diagnostics).toEqual([expect.objectContaining({ code: 2322 })]);
    } finally {
      conv.close();
      fs.rmSync(pkg, { recursive: true, force: true });
    }
  });

  test("a module outside the notebook's folder is compiled again once its folder reports a change", async () => {
    const outside = fs.mkdtempSync(path.join(bareTempBase() ?? os.tmpdir(), "tslab-ipc-converter-outside-"));
    const conv = ours.createConverter({ isJS: false, isBrowser: false });
    try {
      const mod = path.join(outside, "shared.d.ts");
      fs.writeFileSync(mod, "export declare const limit: number;\n");
      const cell = `import { limit } from ${JSON.stringify(path.join(outside, "shared"))};\nconst n: number = limit;`;
      expect(conv.convert("", cell).diagnostics).toEqual([]);
      fs.writeFileSync(mod, "export declare const limit: string;\n");
      let diagnostics: Array<{ code: number }> = [];
      for (let i = 0; i < 50 && diagnostics.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        diagnostics = conv.convert("", cell).diagnostics;
      }
      expect(diagnostics).toEqual([expect.objectContaining({ code: 2322 })]);
    } finally {
      conv.close();
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  test("a local module a cell imports is type-checked and emitted, and recompiled when it changes", () => {
    const helper = path.join(folder(), "helper.ts");
    fs.writeFileSync(helper, "export const twice = (n: number): number => n * 2;\n");
    const run = (create: typeof ours.createConverter) => {
      const conv = create({ isJS: false, isBrowser: false });
      try {
        const first = conv.convert("", 'import { twice } from "./helper";\ntwice(2)');
        fs.writeFileSync(helper, 'export const twice = (n: number): number => n * 2;\nconst wrong: number = "no";\n');
        // A different mtime even on a coarse clock.
        const later = new Date(Date.now() + 5000);
        fs.utimesSync(helper, later, later);
        const second = conv.convert("", 'import { twice } from "./helper";\ntwice(3)');
        return { first, second };
      } finally {
        conv.close();
        fs.writeFileSync(helper, "export const twice = (n: number): number => n * 2;\n");
      }
    };
    const actual = run(ours.createConverter);
    expect(actual.first.sideOutputs).toEqual([
      { path: helper.replace(/\.ts$/, ".js"), data: expect.stringContaining("exports.twice") },
    ]);
    expect(actual.second.diagnostics).toEqual([
      expect.objectContaining({
        fileName: "helper.ts",
        messageText: "Type 'string' is not assignable to type 'number'.",
      }),
    ]);
    // tslab polls for the change; here the first result is compared (the second depends on its timer).
    const expected = run(tslabs.createConverter);
    expect(actual.first).toEqual(expected.first);
  });
});
