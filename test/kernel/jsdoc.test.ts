// The start-up snapshot keeps its declaration trees without their documentation comments
// (stripJsDoc in kernel/converter.js, 2.5 MB of every kernel's heap), and inspect puts a file's
// back before it reads them: what inspect shows is what a converter with every comment shows, for
// the library's own documentation, the lib's, and a member that takes its base type's; the
// comments with `@deprecated`, which the checker reads, are never dropped.
import path from "path";
import { converterFolder } from "../helpers";

const repo = path.resolve(__dirname, "..", "..");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const converter = require(path.join(repo, "kernel", "converter.js"));
const { ts } = converter;

const folder = converterFolder("tslab-ipc-jsdoc-", ts);

const PRELUDE = 'import { shmget } from "tslab-ipc";\nimport * as fs from "fs";';
/** Each: a cell and the offset inspected in it. */
const INSPECTS: Array<[string, number]> = [
  // A member without a comment of its own, whose documentation is its base type's (in the lib,
  // which no inspect has read before this one).
  ["interface Sized extends ReadonlyArray<number> { readonly length: number }\ndeclare const s: Sized;\ns.length", 106],
  ["shmget", 2], // the library's TSDoc
  ["[1].map", 6], // the lib's
  ["fs.readFileSync", 8], // @types/node's
  ["Buffer.alloc", 10], // @types/node's, with {@link} parts
  ["process.cwd", 10], // a member of an interface of @types/node
  // A class member without a comment, whose documentation is its base class's in @types/node.
  [
    'class R extends (require("stream") as typeof import("stream")).Readable { read(size?: number) { return super.read(size); } }\nnew R().read',
    135,
  ],
];

/** What a converter shows for INSPECTS, and the trees it made. */
function inspectAll(conv: { convert: Function; inspect: Function; close: Function }) {
  try {
    const decl = String(conv.convert("", PRELUDE).declOutput);
    return INSPECTS.map(([cell, at]) => conv.inspect(decl, cell, at));
  } finally {
    conv.close();
  }
}

test("the kept trees lose their comments without losing V8's fast layout of each node", () => {
  // First in this file: its trees are parsed afresh (the next test seeds converters with stripped ones).
  // A deleted property other than an object's last one turns the object into a hash table of its
  // properties: `delete node.jsDoc` did so to 3,361 nodes of the snapshot (4.2 MB of the heap,
  // each read through a lookup when a cell was checked against it).
  require("v8").setFlagsFromString("--allow-natives-syntax");
  const hasFastProperties = new Function("o", "return %HasFastProperties(o)") as (o: object) => boolean;
  const maker = converter.createConverter({ isJS: false, isBrowser: false, bundleLib: true });
  maker.convert("", PRELUDE);
  const kept = maker.trees().filter(([name]: [string]) => !name.startsWith(`${folder()}/`));
  maker.close();
  const documented: object[] = [];
  const collect = (node: { jsDoc?: unknown }) => {
    if (node.jsDoc && hasFastProperties(node)) documented.push(node);
    ts.forEachChild(node, collect);
  };
  for (const [, { sf }] of kept) collect(sf);
  expect(documented.length).toBeGreaterThan(1000);
  for (const [, { sf }] of kept) converter.stripJsDoc(sf);
  expect(documented.filter((node) => !hasFastProperties(node)).length).toBe(0);
});

test("inspect shows every documentation comment after the kept trees lost theirs", () => {
  const expected = inspectAll(converter.createConverter({ isJS: false, isBrowser: false, bundleLib: true }));
  // Trees of another converter, never inspected (TypeScript caches a symbol's documentation).
  const maker = converter.createConverter({ isJS: false, isBrowser: false, bundleLib: true });
  maker.convert("", PRELUDE);
  const kept = maker.trees().filter(([name]: [string]) => !name.startsWith(`${folder()}/`));
  maker.close();
  // The documentation is there to lose: the base type's, the library's, the lib's, @types/node's.
  expect(expected.map((info) => ts.displayPartsToString(info?.documentation))).toEqual([
    expect.stringContaining("Gets the length of the array"),
    expect.stringMatching(/segment/i),
    expect.stringContaining("Calls a defined callback function on each element"),
    expect.stringMatching(/contents of the `path`/),
    expect.stringContaining("Allocates a new `Buffer`"),
    expect.stringContaining("returns the current working directory"),
    expect.stringContaining("method reads data out of the internal buffer"),
  ]);

  // What the snapshot's builder does: the trees lose their comments, then a kernel is seeded with them.
  let deprecated = 0;
  for (const [, { sf }] of kept) converter.stripJsDoc(sf);
  const count = (node: { jsDoc?: Array<{ tags?: Array<{ tagName: { escapedText: string } }> }> }): number => {
    let n = node.jsDoc ? 1 : 0;
    if (node.jsDoc)
      expect(node.jsDoc.some((d) => d.tags?.some((t) => t.tagName.escapedText === "deprecated"))).toBe(true);
    ts.forEachChild(node, (c: typeof node) => {
      n += count(c);
    });
    return n;
  };
  for (const [, { sf }] of kept) deprecated += count(sf);
  expect(deprecated).toBeGreaterThan(10); // @types/node's deprecated APIs keep theirs
  converter.seedTrees(kept);
  const stripped = converter.createConverter({ isJS: false, isBrowser: false, bundleLib: true });
  expect(inspectAll(stripped)).toEqual(expected);
});
