// Every ```ts example in README.md and every example of the API reference (docs/examples/*.ts,
// included into the TypeDoc pages by @includeCode) runs as written (transpiled, in a child
// process, importing "tslab-ipc" as a user would) and leaves nothing behind. Examples of
// notebook cells, which rely on the kernel's preloaded names, are fenced ```typescript instead
// and not run here.
import { spawnSync } from "child_process";
import fs from "fs";
import path from "path";
import ts from "typescript";
import { repoRoot } from "./helpers";

const readme = fs.readFileSync(path.join(repoRoot, "README.md"), "utf8");
const examplesDir = path.join(repoRoot, "docs", "examples");
const sources = [
  ...[...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m, i) => ({ where: `README example ${i + 1}`, code: m[1] })),
  ...fs
    .readdirSync(examplesDir)
    .filter((f) => f.endsWith(".ts"))
    .sort()
    .map((f) => ({ where: `docs/examples/${f}`, code: fs.readFileSync(path.join(examplesDir, f), "utf8") })),
];
const examples = sources.map((s, i) => ({
  index: i + 1,
  code: s.code,
  title: `${s.where}: ${s.code.split("\n").find((l) => /from "tslab-ipc"/.test(l)) ?? s.code.split("\n")[0]}`,
}));

test("README is a front page (at most 16,000 characters) with a runnable tour, and the API reference has examples", () => {
  expect(readme.length).toBeLessThanOrEqual(16000);
  expect(examples.filter((e) => e.title.startsWith("README")).length).toBeGreaterThanOrEqual(1);
  expect(examples.filter((e) => e.title.startsWith("docs/examples")).length).toBeGreaterThan(20);
});

// Examples that touch fixed names (/tmp/shmdemo.c, /demo) run one at a time, in order.
test.each(examples.map((e) => [e.index, e.title, e.code] as const))("example %i, %s", (_i, _title, code) => {
  const js = ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  }).outputText;
  // Top-level await: run the module body in an async function; a rejection fails the example.
  const body = `(async () => {\n${js}\n})().catch((e) => { console.error(e); process.exitCode = 1; });`;
  // Run from the repo so "tslab-ipc" resolves to this package (self-reference via "exports").
  const r = spawnSync(process.execPath, ["-e", body], { cwd: repoRoot, encoding: "utf8", timeout: 30000 });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
});
