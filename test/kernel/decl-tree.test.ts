// The declarations file from one cell to the next (kernel/decl-tree.js): a tree made from the
// last one is the tree a fresh parse makes, and statements printed one by one (some from the last
// print) are what TypeScript's printer makes of the whole file. The converter's comparison with
// tslab (converter.test.ts) shows the same through whole cells; these walk many more edits.
import path from "path";
import { prng } from "../../stress/prng";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { changeRange, reparse, createStatementPrinter } = require("../../kernel/decl-tree.js");
const tslabDir = path.dirname(require.resolve("tslab/package.json"));
// eslint-disable-next-line @typescript-eslint/no-var-requires
const ts = require(require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] }));

const FILE = "/notebook/__prev__.d.ts";
const PREFIX = "export {};\n";
const OPTIONS = { languageVersion: ts.ScriptTarget.ES2019 };

/** Declarations as cells leave them, with comments everywhere a printer may meet one. */
const POOL = [
  "declare const id{i}: number;\n",
  "declare let seg{i}: Attachment, other{i}: string;\n",
  "/** Doubles {i}. @param x a number */\ndeclare function dbl{i}(x: number): number;\n",
  "declare function over{i}(x: string): string;\ndeclare function over{i}(x: number): number;\n",
  "declare class P{i} {\n    x: number;\n    /** y */\n    get y(): number;\n    constructor(x: number);\n}\n",
  "interface Shape{i} {\n    area(): number; // per unit\n}\n",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template literal type, in a declaration's text
  "type Id{i} = string | number | `k${string}`;\n",
  "declare enum Color{i} {\n    Red = 0,\n    Green = 1\n}\n",
  "declare namespace NS{i} {\n    const v: 1;\n}\n",
  'import { shmget as get{i}, type IpcsEntry as E{i} } from "tslab-ipc";\n',
  'import * as fs{i} from "fs";\n',
  '/// <reference types="node" />\ndeclare const buf{i}: Buffer;\n',
  "declare const k{i}: 1; // trailing {i}\n",
  // The same statement with another comment after it: kept by its text with the comment.
  "declare const same: 1; // the note of cell {i}\n",
  "/* block\n   spans */ declare let b{i}: string; /* after\n x */\n",
  "// a line alone\ndeclare const g{i}: <T extends object>(t: T) => keyof T;\n",
  "declare let a{i}: any;\n\n\n// two blank lines before\ndeclare const z{i}: { [k: string]: 1 };\n",
];

/**
 * Every node's kind, span, flags and text, jsDoc included, in order. Whether a node or one below
 * it has a parse error is a flag TypeScript works out when first asked (the incremental parser
 * asks it of the nodes it may reuse): asked here of every node of both trees.
 */
function dump(sf: any): unknown[] {
  const out: unknown[] = [];
  const visit = (node: any) => {
    ts.containsParseError(node);
    out.push([ts.SyntaxKind[node.kind], node.pos, node.end, node.flags, node.escapedText ?? node.text ?? null]);
    for (const doc of node.jsDoc ?? []) visit(doc);
    ts.forEachChild(node, visit, (nodes: any) => {
      out.push(["list", nodes.pos, nodes.end, nodes.length]);
      nodes.forEach(visit);
    });
  };
  visit(sf);
  return out;
}

/**
 * What a file's parse gives besides its nodes, that the program and the checker read. Not its
 * nodeCount and identifierCount: an incremental parse counts the nodes it made, not those it
 * reused, and only TypeScript's statistics read them (checker.getNodeCount, --extendedDiagnostics).
 * Nor all of its `identifiers`, which lists the names of the identifiers the parse made: only
 * the emitter reads it, to make a name unique in a file it emits (isFileLevelUniqueName), and the
 * declarations file is never emitted. The test asks that it lists no name the text lacks.
 */
function facts(sf: any) {
  return {
    text: sf.text,
    diagnostics: sf.parseDiagnostics.map((d: any) => [d.start, d.length, d.code]),
    external: sf.externalModuleIndicator !== undefined,
    referencedFiles: sf.referencedFiles.map((r: any) => r.fileName),
    typeReferences: sf.typeReferenceDirectives.map((r: any) => r.fileName),
    locals: [...(sf.locals?.keys() ?? [])].sort(),
  };
}

/** The declarations of POOL that edits() has put in a text. */
const used = new Set<string>();

/** The declarations after `steps` cells: each puts new statements first, and some drop one. */
function* edits(seed: number, steps: number) {
  const random = prng(seed);
  const pick = (n: number) => random.int(0, n - 1);
  let statements: string[] = [];
  for (let i = 0; i < steps; i++) {
    const fresh = Array.from({ length: 1 + pick(3) }, () => {
      const declaration = POOL[pick(POOL.length)];
      used.add(declaration);
      return declaration.replaceAll("{i}", String(i));
    });
    if (statements.length > 3 && pick(3) === 0) statements.splice(pick(statements.length), 1);
    statements = [...fresh, ...statements];
    let text = PREFIX + statements.join("");
    // Now and then an edit no cell makes (a character in the middle changed, a run cut): the
    // incremental parser's own work, where a wrong span would show.
    if (pick(5) === 0) {
      const at = PREFIX.length + pick(text.length - PREFIX.length);
      text =
        pick(2) === 0 ? text.slice(0, at) + "x" + text.slice(at + 1) : text.slice(0, at) + text.slice(at + pick(20));
    }
    yield text;
  }
}

const withoutEmptyExports = (sf: any) =>
  sf.statements.filter(
    (s: any) =>
      !(ts.isExportDeclaration(s) && !s.moduleSpecifier && s.exportClause && s.exportClause.elements.length === 0),
  );

/** printer.printFile for `sf` with only `statements`, as the converter printed before. */
function printFileWith(sf: any, statements: any[]) {
  const parsed = sf.statements;
  sf.statements = ts.factory.createNodeArray(statements);
  try {
    return ts.createPrinter({ newLine: ts.NewLineKind.LineFeed }).printFile(sf);
  } finally {
    sf.statements = parsed;
  }
}

describe("the declarations' tree from one cell to the next", () => {
  test("the one span where two texts differ", () => {
    expect(changeRange("abc", "abc")).toEqual({ span: { start: 3, length: 0 }, newLength: 0 });
    expect(changeRange("x;\nb;\n", "x;\na;\nb;\n")).toEqual({ span: { start: 3, length: 0 }, newLength: 3 });
    expect(changeRange("x;\na;\nb;\n", "x;\nb;\n")).toEqual({ span: { start: 3, length: 3 }, newLength: 0 });
    // Repeats: the head is taken first, and the tail never reaches back into it.
    expect(changeRange("aaa", "aaaa")).toEqual({ span: { start: 3, length: 0 }, newLength: 1 });
    expect(changeRange("aaaa", "aa")).toEqual({ span: { start: 2, length: 2 }, newLength: 0 });
    expect(changeRange("", "ab")).toEqual({ span: { start: 0, length: 0 }, newLength: 2 });
    expect(changeRange("a1b", "a22b")).toEqual({ span: { start: 1, length: 1 }, newLength: 2 });
  });

  test("a tree made from the last one, bound as a program binds it, is the tree a fresh parse makes; a text with syntax errors is left to a fresh parse", () => {
    let checked = 0;
    let refused = 0;
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      let tree: any = null;
      for (const text of edits(seed, 40)) {
        const fresh = ts.createSourceFile(FILE, text, OPTIONS);
        const made = tree === null ? null : reparse(ts, tree, text);
        if (tree !== null && made === null) {
          // Where a reused node would keep its old error flags (kernel/decl-tree.js's header).
          expect(fresh.parseDiagnostics.length).toBeGreaterThan(0);
          refused++;
        }
        if (made !== null) {
          expect(made).not.toBe(tree);
          ts.bindSourceFile(made, {});
          ts.bindSourceFile(fresh, {});
          expect(facts(made)).toEqual(facts(fresh));
          for (const name of made.identifiers.keys()) expect(fresh.identifiers.has(name)).toBe(true);
          expect(dump(made)).toEqual(dump(fresh));
          checked++;
          // A tree parsed from once is not parsed from again (TypeScript allows one).
          expect(reparse(ts, tree, text + "\n")).toBeNull();
        }
        tree = made ?? fresh;
        ts.bindSourceFile(tree, {});
      }
    }
    expect(checked + refused).toBe(6 * 39);
    // Both kinds occur: the edits now and then leave syntax errors.
    expect(refused).toBeGreaterThan(0);
    expect(checked).toBeGreaterThan(refused);
  });

  test("statements printed one by one, some kept from the last print, read as the printer prints the file", () => {
    const printer = createStatementPrinter(ts);
    let prints = 0;
    for (const seed of [7, 8, 9]) {
      let tree: any = null;
      for (const text of edits(seed, 40)) {
        tree = (tree && reparse(ts, tree, text)) ?? ts.createSourceFile(FILE, text, OPTIONS);
        const statements = withoutEmptyExports(tree);
        expect(printer.printStatements(tree, statements)).toBe(printFileWith(tree, statements));
        // Some left out, as a redeclaring cell leaves out its earlier declarations.
        const some = statements.filter((_: unknown, i: number) => i % 3 !== 1);
        expect(printer.printStatements(tree, some)).toBe(printFileWith(tree, some));
        prints++;
      }
    }
    expect(prints).toBe(120);
    // Every kind of declaration and comment of the pool was printed, as a hit and as a miss.
    expect(POOL.filter((d) => !used.has(d))).toEqual([]);
  });

  test("a statement whose tree lost names is printed as it now is, not as its text was", () => {
    const printer = createStatementPrinter(ts);
    const text = PREFIX + "/** two */\ndeclare let a: number, b: string; // both\ndeclare const c: 1;\n";
    const first = ts.createSourceFile(FILE, text, OPTIONS);
    expect(printer.printStatements(first, withoutEmptyExports(first))).toBe(
      printFileWith(first, withoutEmptyExports(first)),
    );
    // The same text again (a cell that redeclares `a`): the variable statement keeps only `b`.
    const tree = ts.createSourceFile(FILE, text, OPTIONS);
    const statements = withoutEmptyExports(tree);
    const list = statements[0].declarationList;
    list.declarations = ts.factory.createNodeArray(list.declarations.filter((d: any) => d.name.escapedText === "b"));
    const printed = printer.printStatements(tree, statements, new Set([statements[0]]));
    expect(printed).toBe(printFileWith(tree, statements));
    expect(printed).toContain("declare let b: string;");
    expect(printed).not.toContain("a: number");
  });
});
