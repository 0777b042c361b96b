// Every ```ts example in README.md and every example of the API reference (docs/examples/*.ts,
// included into the TypeDoc pages by @includeCode) runs as written (transpiled, in a child
// process, importing "tslab-ipc" as a user would), prints nothing on stderr, and prints what its
// comments promise: on a line with console.log, the comment up to the first "; " is the
// promised output ("…" stands for any text; what follows "; " explains). Examples of notebook
// cells, which rely on the kernel's preloaded names, are fenced ```typescript instead and not
// run here. Examples that need an optional tool (Chromium, a C compiler) are skipped where it is
// missing, saying which package brings it back: their promise cannot be checked there.
// The examples use unique names and remove their files; reap() in them sees only this run's
// journals (global-setup points TSLAB_IPC_RECORDS at a folder of the run's own).
import { spawnSync } from "child_process";
import fs from "fs";
import path from "path";
import ts from "typescript";
import { needs, repoRoot, type OptionalTool } from "./helpers";

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

/** Calls that need an optional tool to print what the example promises. */
const TOOL_CALLS: Array<[RegExp, OptionalTool]> = [
  [/\brenderFigurePngs?\(|\battachRenderedPng\(|\baddPngsToNotebook\(/, "chromium"],
  [/\bcompileC\(/, "cc"],
];

export interface PromisedOutput {
  line: number;
  expected: string;
}

/**
 * The example with each promising console.log(…) replaced by __promised(k, …), which also
 * reports what it printed on file descriptor 3; and the promises, in order.
 */
export function instrument(code: string): { code: string; promises: PromisedOutput[] } {
  const promises: PromisedOutput[] = [];
  const lines = code.split("\n").map((line, i) => {
    const at = line.lastIndexOf(" // ");
    if (at < 0 || !line.slice(0, at).includes("console.log(")) return line;
    const expected = line
      .slice(at + 4)
      .split("; ")[0]
      .trim();
    promises.push({ line: i + 1, expected });
    return line.slice(0, at).replace("console.log(", `__promised(${i + 1}, `) + line.slice(at);
  });
  return { code: lines.join("\n"), promises };
}

/** Whether `printed` is what `expected` promises: the same text, "…" standing for any. */
export function keepsPromise(expected: string, printed: string): boolean {
  const squash = (t: string) => t.replace(/\s+/g, " ").trim();
  const pattern = squash(expected)
    .split("…")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${pattern}$`, "s").test(squash(printed));
}

const PRELUDE = `const __promised = (line, ...args) => {
  require("fs").writeSync(3, JSON.stringify([line, require("util").format(...args)]) + "\\n");
  console.log(...args);
};\n`;

test("README is a front page (at most 16,000 characters) with a runnable tour, and the API reference has examples", () => {
  expect(readme.length).toBeLessThanOrEqual(16000);
  expect(examples.filter((e) => e.title.startsWith("README")).length).toBeGreaterThanOrEqual(1);
  expect(examples.filter((e) => e.title.startsWith("docs/examples")).length).toBeGreaterThan(20);
  // Most examples promise an output, which is compared.
  expect(examples.filter((e) => instrument(e.code).promises.length > 0).length).toBeGreaterThan(15);
});

test("the promise check compares: a wrong output fails it, '…' matches any text", () => {
  expect(keepsPromise("7 7 9", "7 7 9")).toBe(true);
  expect(keepsPromise("7 7 9", "7 7 8")).toBe(false);
  expect(keepsPromise("7 7 9", "7")).toBe(false);
  expect(keepsPromise("{ removed: […], live: … }", "{ removed: [], live: 0 }")).toBe(true);
  expect(keepsPromise("SIGSEGV child … was killed", "SIGSEGV child 12 was killed")).toBe(true);
  expect(keepsPromise("SIGSEGV child … was killed", "null child 12 exited")).toBe(false);
  const { promises, code } = instrument(`console.log(a); // 15000; exactly\nx(); // not a promise\nconsole.log(b)`);
  expect(promises).toEqual([{ line: 1, expected: "15000" }]);
  expect(code.split("\n")[0]).toBe("__promised(1, a); // 15000; exactly");
});

for (const e of examples) {
  const tools = TOOL_CALLS.filter(([re]) => re.test(e.code)).map(([, tool]) => tool);
  needs(...tools).test(`example ${e.index}, ${e.title}`, () => {
    const { code, promises } = instrument(e.code);
    const js = ts.transpileModule(code, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    // Top-level await: run the module body in an async function; a rejection fails the example.
    const body = `${PRELUDE}(async () => {\n${js}\n})().catch((e) => { console.error(e); process.exitCode = 1; });`;
    // Run from the repo so "tslab-ipc" resolves to this package (self-reference via "exports").
    // The records folder (reap's journals) is this run's own: global-setup points TSLAB_IPC_RECORDS at it.
    const r = spawnSync(process.execPath, ["-e", body], {
      cwd: repoRoot,
      encoding: "utf8",
      timeout: 30000,
      stdio: ["ignore", "pipe", "pipe", "pipe"],
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const printed = String(r.output[3] ?? "")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as [number, string]);
    const got = promises.map((p) => ({
      line: p.line,
      expected: p.expected,
      printed: printed.filter(([l]) => l === p.line).map(([, t]) => t),
    }));
    for (const g of got) {
      expect({ ...g, kept: g.printed.length === 1 && keepsPromise(g.expected, g.printed[0]) }).toEqual({
        ...g,
        kept: true,
      });
    }
  });
}
