// The kernel's cell rewrites for what tslab's compiler gets wrong: shorthand properties and
// `await (expr)`. Lines never move, so tracebacks keep pointing at the right line.
const { rewriteCell } = require("../../kernel/rewrite");

test.each([
  ["const o = { aa, PROT_READ }; o", "const o = { aa: aa, PROT_READ: PROT_READ }; o"],
  ["({ a = 1 } = y)", "({ a: a = 1 } = y)"],
  ["await (async () => 3)()", "await Promise.resolve( (async () => 3)())"],
  ["x = await (p).then((v) => v + 1)", "x = await Promise.resolve( (p).then((v) => v + 1))"],
])("%s", (source, expected) => {
  expect(rewriteCell(source)).toBe(expected);
});

test.each([
  "const { a, b } = x;",
  "async function f() { return await (g()); }",
  "const s = `{ a }`;",
  "foo(a, b)",
  "await f()",
])("left alone: %s", (source) => {
  expect(rewriteCell(source)).toBe(source);
});

test("keeps every line where it was", () => {
  const source = "const a = 1;\nconst o = {\n  a,\n};\nawait (Promise.resolve(o))";
  expect(rewriteCell(source).split("\n")).toHaveLength(source.split("\n").length);
});
