// The API reference is generated from the doc comments (TypeDoc, typedoc.json): every public
// export must be documented and every @includeCode must name an example that exists, or TypeDoc's
// validation fails (typedoc.json treats its warnings as errors). The examples themselves run in
// test/readme.test.ts.
import { spawnSync } from "child_process";
import fs from "fs";
import path from "path";
import { repoRoot } from "../helpers";

test("TypeDoc validates the whole public API: every export documented, every example found", () => {
  const typedoc = path.join(repoRoot, "node_modules", "typedoc", "bin", "typedoc");
  const r = spawnSync(process.execPath, [typedoc, "--emit", "none"], {
    cwd: repoRoot,
    encoding: "utf8",
    timeout: 120000,
  });
  expect(r.stdout + r.stderr).not.toMatch(/warning|error/i);
  expect(r.status).toBe(0);
});

test("every example in docs/examples is included by some doc comment in src/", () => {
  const sources = fs
    .readdirSync(path.join(repoRoot, "src"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => fs.readFileSync(path.join(repoRoot, "src", f), "utf8"))
    .join("\n");
  const examples = fs.readdirSync(path.join(repoRoot, "docs", "examples")).filter((f) => f.endsWith(".ts"));
  const orphans = examples.filter((f) => !sources.includes(`docs/examples/${f}}`));
  expect(orphans).toEqual([]);
});
