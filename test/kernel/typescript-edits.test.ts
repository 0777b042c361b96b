// The kernel's edits to TypeScript's text (kernel/typescript-edits.js, loaded by
// kernel/typescript.js): they apply to the TypeScript installed, the transformation hooks behave
// as before, and a dead cell's type checker no longer survives a scavenge. That the cells'
// output, declarations and diagnostics are unchanged is converter.test.ts's comparison with
// tslab's converter, which under Jest compiles with the unedited TypeScript.
import { spawnSync } from "child_process";
import fs from "fs";
import path from "path";

const repo = path.resolve(__dirname, "..", "..");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { editTypeScript, EDITS } = require(path.join(repo, "kernel", "typescript-edits.js"));
// eslint-disable-next-line @typescript-eslint/no-var-requires
const loaded = require(path.join(repo, "kernel", "typescript.js"));
const tslabDir = path.dirname(require.resolve("tslab/package.json"));
const tsFile = require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] });

test("every edit is found once in the installed TypeScript, and the kernel's TypeScript has them", () => {
  const text = fs.readFileSync(tsFile, "utf8");
  const { text: edited, missing } = editTypeScript(text);
  expect(missing).toEqual([]);
  expect(edited).not.toBe(text);
  expect(loaded.edited).toBe(true);
  expect(loaded.missing).toEqual([]);
  expect(loaded.ts.createTypeChecker.toString()).toContain("noIterationTypesAccessors");
  // Another TypeScript (an edit's text not there): the text comes back as it was, and says which.
  const other = editTypeScript(text.replace(EDITS[0].find, ""));
  expect(other.text).toBe(text.replace(EDITS[0].find, ""));
  expect(other.missing).toEqual([EDITS[0].name]);
});

test("a transformer's hooks are set and read as before, and refused as before", () => {
  const ts = loaded.ts;
  const sf = ts.createSourceFile("a.ts", "let x = 1;", ts.ScriptTarget.ES2020);
  const substitute = (_hint: number, node: unknown) => node;
  let seen: unknown;
  let context: { onSubstituteNode: unknown; onEmitNode: unknown } | undefined;
  const result = ts.transform(sf, [
    (ctx: { onSubstituteNode: unknown; onEmitNode: unknown }) => {
      ctx.onSubstituteNode = substitute;
      seen = ctx.onSubstituteNode;
      context = ctx;
      expect(Object.keys(ctx)).toEqual(expect.arrayContaining(["onSubstituteNode", "onEmitNode"]));
      return (node: unknown) => node;
    },
  ]);
  expect(seen).toBe(substitute);
  expect(result.transformed).toHaveLength(1);
  // After initialization, and with undefined: TypeScript's own assertions.
  expect(() => {
    if (context) context.onEmitNode = () => undefined;
  }).toThrow("Cannot modify transformation hooks after initialization has completed.");
  expect(() =>
    ts.transform(sf, [
      (ctx: { onEmitNode: unknown }) => {
        ctx.onEmitNode = undefined;
        return (node: unknown) => node;
      },
    ]),
  ).toThrow("Value must not be 'undefined'");
});

/**
 * MB that survive one scavenge after 18 of the bench's cells compiled by the kernel's converter,
 * after a full collection (so nothing earlier is counted): in a fresh Node, with the kernel's
 * V8 flag, with the edited TypeScript or (unedited) with TypeScript required before the converter.
 */
function survivors(unedited: boolean): number {
  const script = `
    const path = require("path"), v8 = require("v8");
    const repo = ${JSON.stringify(repo)};
    const dir = require("fs").mkdtempSync(path.join(require("os").tmpdir(), "tslab-ipc-edits-"));
    process.on("exit", () => require("fs").rmSync(dir, { recursive: true, force: true }));
    process.chdir(dir);
    if (${unedited}) require(${JSON.stringify(tsFile)});
    const conv_mod = require(path.join(repo, "kernel", "converter.js"));
    require(path.join(repo, "kernel", "resolve.js")).installTypeResolution(conv_mod.ts, process.cwd());
    const conv = conv_mod.createConverter({ isJS: false, isBrowser: false });
    const cells = ["1+1", "function bump{i}(x: number): number { return x + 1; }\\nbump{i}(1)", "const v{i} = {i} * 2;\\nv{i}"];
    let decl = "", n = 0;
    const round = () => { for (const c of cells) { const r = conv.convert(decl, c.replaceAll("{i}", String(n++))); if (r.diagnostics.length) throw new Error(JSON.stringify(r.diagnostics)); decl = r.declOutput; conv.prepare(decl); } };
    for (let i = 0; i < 20; i++) round();
    global.gc(); global.gc();
    for (let i = 0; i < 6; i++) round();
    global.gc({ type: "minor" });
    const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_used_size;
    console.log(JSON.stringify({ mb: young / 1e6, edited: require(path.join(repo, "kernel", "typescript.js")).edited }));
    conv.close();`;
  const r = spawnSync(
    process.execPath,
    [
      "--expose-gc",
      "--no-allocation-site-pretenuring",
      "--max-semi-space-size=64",
      "--min-semi-space-size=64",
      "-e",
      script,
    ],
    { encoding: "utf8", cwd: repo },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").pop() as string);
  expect(out.edited).toBe(!unedited);
  return out.mb;
}

test("a cell's dead type checker does not survive a scavenge with the edits, and does without them", () => {
  const edited = survivors(false);
  const unedited = survivors(true);
  // Measured over 18 cells: 0.9-1.3 MB edited (the last cells' programs and checkers, alive; once
  // 2.9), 8.7-8.8 unedited (every checker since the collection). Over 9 cells one run gave 1.75 MB
  // against 4.4, at the limit.
  expect(unedited).toBeGreaterThan(5);
  expect(edited).toBeLessThan(unedited / 2.5);
}, 120_000);
