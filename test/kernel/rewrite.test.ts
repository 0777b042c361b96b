// The kernel's cell rewrites for what tslab's compiler gets wrong: shorthand properties,
// `await (expr)` and `export` in a cell. Lines never move, so tracebacks keep pointing at the
// right line.
const { rewriteCell } = require("../../kernel/rewrite");
const { createConverter } = require("../../kernel/converter");

test.each([
  ["const o = { aa, PROT_READ }; o", "const o = { aa: aa, PROT_READ: PROT_READ }; o"],
  ["({ a = 1 } = y)", "({ a: a = 1 } = y)"],
  ["await (async () => 3)()", "await Promise.resolve( (async () => 3)())"],
  ["x = await (p).then((v) => v + 1)", "x = await Promise.resolve( (p).then((v) => v + 1))"],
  ["export const z = 3;\nz", "       const z = 3;\nz"],
  ["export default function f() {}", "               function f() {}"],
  ["export interface P {\n  x: number;\n}", "       interface P {\n  x: number;\n}"],
  ["const q = 1;\nexport { q };", `const q = 1;\n${" ".repeat(13)}`],
])("%s", (source, expected) => {
  expect(rewriteCell(source)).toBe(expected);
});

test.each([
  "const { a, b } = x;",
  "async function f() { return await (g()); }",
  "const s = `{ a }`;",
  "foo(a, b)",
  "await f()",
  'const s = "export";',
  // A module cell's exports are what it gives the cells that import it.
  "/** @module shapes */\nexport const side = 2;",
  // Renamed, re-exported or without a name: not a declaration of the cell's own names.
  "export { q as r };",
  'export * from "fs";',
  "export default class {}",
])("left alone: %s", (source) => {
  expect(rewriteCell(source)).toBe(source);
});

test("keeps every line where it was", () => {
  const source = "const a = 1;\nconst o = {\n  a,\n};\nawait (Promise.resolve(o))";
  expect(rewriteCell(source).split("\n")).toHaveLength(source.split("\n").length);
});

test("a cell with `export` declares its names for the next cells, as one without", () => {
  const conv = createConverter({ isJS: false, isBrowser: false });
  try {
    const declared = conv.convert("", rewriteCell("export function addOne(a: number) {\n  return a + 1;\n}"));
    expect(declared.diagnostics.map((d: { messageText: string }) => d.messageText)).toEqual([]);
    const next = conv.convert(declared.declOutput, "const two: number = addOne(1);");
    expect(next.diagnostics).toEqual([]);
    // Unrewritten, tslab's own `export { addOne }` conflicts with the cell's export.
    expect(conv.convert("", "export function addOne(a: number) { return a; }").diagnostics).not.toEqual([]);
  } finally {
    conv.close();
  }
});
