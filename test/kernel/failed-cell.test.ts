// What a cell that failed at run time leaves declared (kernel/failed-cell.js), with the kernel's
// own converter and tslab's way of calling it: the declarations from before the failed cell
// come back, and stand for those the cell assigned.
import path from "path";

const repo = path.resolve(__dirname, "..", "..");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { createConverter } = require(path.join(repo, "kernel", "converter.js"));
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { keepingFailedCells, declarationsAssigned } = require(path.join(repo, "kernel", "failed-cell.js"));

jest.setTimeout(60_000);

type Converted = { output?: string; declOutput?: string; diagnostics: Array<{ messageText: string }> };
const messages = (r: Converted) => r.diagnostics.map((d) => d.messageText);

test("a cell's declarations keep the names assigned, its types, and statements' other names", () => {
  const cell = [
    'declare const a = 1, z = "q";',
    "declare const b: number, cc: number;",
    "/** documented */",
    "declare function f(): number;",
    "declare class K {\n}",
    "interface I {\n    x: number;\n}",
    "type T = string;",
    "declare enum E {\n    A = 0\n}",
    "declare const after = 5;",
    "",
  ].join("\n");
  const assigned = new Set(["a", "cc", "f", "E"]);
  expect(declarationsAssigned(cell, (n: string) => assigned.has(n))).toBe(
    [
      "declare const a = 1;",
      "declare const cc: number;",
      "/** documented */",
      "declare function f(): number;",
      "interface I {\n    x: number;\n}",
      "type T = string;",
      "declare enum E {\n    A = 0\n}",
      "",
    ].join("\n"),
  );
  expect(declarationsAssigned(cell, () => true)).toBe(cell);
  expect(declarationsAssigned("", () => true)).toBe("");
});

describe("with the kernel's converter, called as tslab's executor calls it", () => {
  const conv = keepingFailedCells(createConverter({ isJS: false, isBrowser: false }));
  afterAll(() => conv.close());
  /**
   * tslab's executor's way with declarations: it keeps those of the last cell that compiled and
   * ran to its end (`ran`); a cell tried (`tried`) that does not compile leaves them.
   */
  const session = () => {
    let prevDecl = "";
    return {
      decl: () => prevDecl,
      ran(src: string): Converted {
        const r: Converted = conv.convert(prevDecl, src);
        expect(messages(r)).toEqual([]);
        prevDecl = r.declOutput ?? "";
        return r;
      },
      tried: (src: string) => messages(conv.convert(prevDecl, src)),
    };
  };

  test("after a cell threw, the names it assigned are declared and the others are not, until a cell runs to its end", () => {
    const { decl, ran, tried } = session();
    ran("let old = 'x';\nconst earlier = 1;");
    // This cell throws at its third line: `old` (declared again) and `after` are never assigned.
    const failed: Converted = conv.convert(
      decl(),
      "const id = 7;\nfunction helper() { return id; }\nthrow new Error('x');\nconst after = 1;\nlet old = 2;",
    );
    expect(failed.output).toContain("exports.old = exports.after = exports.id = exports.helper = void 0;");
    const values: Record<string, unknown> = { id: 7, helper: () => 7, after: undefined, old: undefined };
    conv.ranUntilFailure((name: string) => values[name] !== undefined);

    // Cells that do not compile leave the executor where it is.
    expect(tried("after")).toEqual(["Cannot find name 'after'."]);
    expect(tried("old")).toEqual(["Cannot find name 'old'."]);
    // Completion and inspection see the kept names too.
    const names = conv.complete(decl(), "hel", 3).candidates as string[];
    expect(names).toContain("helper");
    // A second failure in a row (it compiles against the first's names) keeps what both assigned.
    conv.convert(decl(), "const second = id + 1;\nthrow new Error('again');");
    conv.ranUntilFailure((name: string) => name === "second");
    // A cell that runs to its end: tslab takes its declarations, which carry the kept names.
    ran("[id, helper(), earlier, second]");
    ran("const third = id + second;");
    expect(tried("[id, second, third, earlier, after]")).toEqual(["Cannot find name 'after'."]);
  });

  test("a failed cell run again and to its end: its declarations hold, though they equal those before it failed", () => {
    const { decl, ran, tried } = session();
    const before = ran("let again = 1;").declOutput;
    conv.convert(decl(), "throw new Error('first');\nlet again = 2;");
    conv.ranUntilFailure(() => false); // `again` was set to undefined, and never assigned
    expect(tried("again")).toEqual(["Cannot find name 'again'."]);
    // Fixed and run again to its end: tslab takes its declarations, the same text as before.
    expect(ran("let again = 2;").declOutput).toBe(before);
    expect(tried("again + 1")).toEqual([]);
  });

  test("a cell that does not compile, or ran to its end, changes nothing kept", () => {
    const prevDecl = conv.convert("", "const base = 1;").declOutput;
    conv.convert(prevDecl, "const x: number = 'no';"); // diagnostics: never runs
    conv.ranUntilFailure(() => true); // not called by the kernel then; nothing to keep
    expect(messages(conv.convert(prevDecl, "x"))).toEqual(["Cannot find name 'x'."]);
  });
});

test("prepareNext makes ready the declarations the next cell is handed: a compiled cell's, after a failure the kept ones, none after a cell that does not compile", () => {
  const inner = createConverter({ isJS: false, isBrowser: false });
  const prepared: string[] = [];
  const handed: string[] = [];
  const conv = keepingFailedCells({
    ...inner,
    prepare(decls: string) {
      prepared.push(decls);
      inner.prepare(decls);
    },
    convert(prevDecl: string, src: string) {
      handed.push(prevDecl);
      return inner.convert(prevDecl, src);
    },
  });
  try {
    // Ran to its end: tslab's executor hands the next cell this cell's declarations.
    const first: Converted = conv.convert("", "let kept = 1;");
    conv.prepareNext();
    conv.prepareNext(); // once per cell
    expect(prepared).toEqual([first.declOutput]);
    const executorDecl = first.declOutput ?? "";
    // Threw after assigning `made`: the next cell is handed the kept declarations.
    conv.convert(executorDecl, "const made = 2;\nthrow new Error('x');\nconst never = 3;");
    conv.ranUntilFailure((name: string) => name === "made");
    conv.prepareNext();
    expect(prepared).toHaveLength(2);
    expect(prepared[1]).toContain("made");
    expect(prepared[1]).not.toContain("never");
    // Does not compile: the executor keeps its declarations, and the converter was handed the
    // prepared ones for it; nothing new to prepare.
    expect(messages(conv.convert(executorDecl, "const bad: number = 'no';"))).toHaveLength(1);
    expect(handed[handed.length - 1]).toBe(prepared[1]);
    conv.prepareNext();
    expect(prepared).toHaveLength(2);
    expect(messages(conv.convert(executorDecl, "made + kept"))).toEqual([]);
  } finally {
    inner.close();
  }
});

test("prepareNext makes the next cell's declarations ready once per cell, and a cell that declares nothing leaves nothing to do", () => {
  const inner = createConverter({ isJS: false, isBrowser: false });
  const calls: string[] = [];
  const conv = keepingFailedCells({
    ...inner,
    prepare(decls: string) {
      calls.push(decls);
      inner.prepare(decls);
    },
  });
  try {
    expect(conv.nextPrepared()).toBe(true); // nothing known yet
    const first: Converted = conv.convert("", "let one = 1;");
    const decls = first.declOutput ?? "";
    expect(conv.nextPrepared()).toBe(false);
    conv.prepareNext();
    expect(conv.nextPrepared()).toBe(true);
    conv.prepareNext(); // once per cell
    expect(calls).toEqual([decls]);
    // A cell that declares nothing hands on the same text, whose tree its program made and bound,
    // and printed, and whose kept declarations it worked out: nothing to do.
    const second: Converted = conv.convert(decls, "one + 1");
    expect(second.declOutput).toBe(decls);
    expect(conv.nextPrepared()).toBe(true);
  } finally {
    inner.close();
  }
});
