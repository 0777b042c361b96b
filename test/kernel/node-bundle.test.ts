// @types/node's scripts served as one file (NODE_BUNDLE_MARKER in kernel/converter.js): a kernel
// takes the start-up snapshot's bundle only while every file in it has the stamp it was bundled
// at; with one changed it reads @types/node file by file, and either way a cell is checked and
// compiled the same. The converter's own test compares the bundle's results with tslab's.
import path from "path";
import { converterFolder } from "../helpers";

const repo = path.resolve(__dirname, "..", "..");
// This file's own module registry: the seeds below are module-wide state of the converter.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const converter = require(path.join(repo, "kernel", "converter.js"));
const { ts } = converter;

const folder = converterFolder("tslab-ipc-node-bundle-", ts);

/** Cells whose types come from several of @types/node's scripts and modules, and an error. */
const CELLS = [
  'import * as fs from "fs";\nconst buf = Buffer.alloc(4);\nconst st = fs.statSync(".");\nst.isDirectory()',
  "const ac = new AbortController();\nconst u = new URL('http://h');\nbuf.length + u.host.length",
  "process.hrtime.bigint() > 0n && ac.signal.aborted",
  "fs.readFileSync(42, { encoding: 'nope' })",
];

type Converter = {
  convert(prev: string, src: string): Record<string, unknown>;
  trees(): Array<[string, { sf: { text: string }; stamp: string; languageVersion: string }]>;
  close(): void;
};

/** Each cell's result in one converter, and the @types/node files it read as trees of their own. */
function run(conv: Converter) {
  let prev = "";
  const results = [];
  try {
    for (const cell of CELLS) {
      const r = conv.convert(prev, cell);
      results.push({ output: r.output, diagnostics: r.diagnostics });
      if ((r.diagnostics as unknown[]).length === 0) prev = String(r.declOutput);
    }
    const nodeFiles = conv
      .trees()
      .map(([name]) => name)
      .filter((name) => name.includes("/@types/node/"));
    return { results, nodeFiles };
  } finally {
    conv.close();
  }
}

test("a kernel takes the snapshot's bundle of @types/node only while none of its files changed", () => {
  const plain = run(converter.createConverter({}));
  expect(plain.nodeFiles.length).toBeGreaterThan(50);
  expect(plain.results[3].diagnostics).toEqual(expect.arrayContaining([expect.objectContaining({ code: 2322 })]));

  // What the snapshot's builder keeps: the bundle, served for @types/node's index.d.ts.
  const maker: Converter = converter.createConverter({ bundleLib: true });
  maker.convert("", CELLS[0]);
  const kept = maker.trees().filter(([name]) => !name.startsWith(`${folder()}/`));
  maker.close();
  const bundle = kept.find(([, { sf }]) => sf.text.startsWith("// tslab-ipc: @types/node's script files"));
  expect(bundle).toBeDefined();
  const [home, entry] = bundle as (typeof kept)[number];
  const held: Array<[string, string]> = converter.treeSources(home, entry);
  expect(held.map(([name]) => path.relative(path.dirname(home), name))).toEqual(
    expect.arrayContaining(["../fs.d.ts", "../buffer.d.ts", "index.d.ts"]),
  );

  // One of its files has another stamp now (as after an edit or a reinstall): not taken.
  const [changedName, changedStamp] = held[1];
  const staleText = entry.sf.text.replace(JSON.stringify(changedStamp), JSON.stringify(`${changedStamp}0`));
  expect(staleText).not.toBe(entry.sf.text);
  const staleTree = ts.createSourceFile(home, staleText, ts.ScriptTarget.ES2022);
  converter.seedTrees([...kept.filter(([name]) => name !== home), [home, { ...entry, sf: staleTree }]]);
  const stale = run(converter.createConverter({}));
  expect(converter.seedsTaken.nodeBundle).toBe(false);
  expect(stale.nodeFiles).toContain(changedName);
  expect(stale).toEqual(plain);

  // Unchanged: taken, and the cells come out the same; @types/node's scripts are not read.
  converter.seedTrees(kept);
  const taken = run(converter.createConverter({}));
  expect(converter.seedsTaken.nodeBundle).toBe(true);
  expect(taken.nodeFiles).toContain(home);
  expect(taken.nodeFiles).not.toContain(changedName);
  expect(taken.results).toEqual(plain.results);
});
