// @ts-check
// The cell compiler: tslab 1.0.22's createConverter (node_modules/tslab/dist/converter.js,
// Apache-2.0, by Yu Watanabe), with the same compiler options, file names, transforms and
// diagnostics, on a lighter program. tslab rebuilds a watch program per cell, whose builder
// computes the references of every file of the program (lib, @types/node, the library's .d.ts)
// only to find the cell's own .ts dependencies; and a cell that declares names is compiled twice
// (once to learn its names, once to export them). Here:
// - a plain program per cell, built with the previous one as oldProgram (unchanged files and
//   their module resolutions are reused, as the watch program reuses them);
// - the cell's names come from binding its parse alone, so it is compiled once, with its
//   `export { names }` already appended;
// - the cell's .ts/.js dependencies are found by walking its resolved imports;
// - the program's emit gives CommonJS itself, where tslab transpiles its ES output again in a
//   second program (emitsCommonJS says when, and why not for enums and namespaces);
// - a kernel from the start-up snapshot gets trees, module resolutions and its compiled prelude
//   made by the snapshot's builder (seedTrees, seedResolutions, seedCompiledCell), each used only
//   while the files it came from are unchanged, and TypeScript's lib as one tree (bundleLib);
// - a package of declaration modules (the library's, undici-types') is served as its entry and one
//   file of ambient modules (bundleModules, kernel/module-bundle.js), both from the snapshot
//   (seedModuleBundles): 17 files a program instead of 103.
// Invariants (what makes a cell's result the same as tslab's):
// - The program sees the same texts: `export {};` + the previous cells' declarations in
//   __prev__.d.ts, `export {};` + the cell (+ `export { names }`) in __tslab__.ts, modules of
//   `//@module` cells as virtual files, and real files through the same `sys`.
// - __tslab__.ts is parsed afresh for every program (a cell that declares nothing: once, since
//   the program's text is then the one localNames parsed and bound, and it takes that tree
//   while the parse options are the same); __prev__.d.ts too, unless its text is the
//   same and remainingDecls (which rewrites its tree in place) took no names out of its
//   statements, or the kernel had it parsed and bound for this text ahead of the cell (prepare,
//   with the last program's parse options: the same tree), and where its text changed, from
//   the last tree that still matches its own text (kernel/decl-tree.js: the tree a fresh parse
//   makes); other files are reused while they
//   stay the same: files of the notebook's folder by their modification time and size before
//   each program, others (packages, the library's .d.ts) by a watch on their folder, which also
//   drops a module bundle holding a changed file.
// - Diagnostics come from ts.getPreEmitDiagnosticsOfFiles over the cell and its .ts/.js
//   dependencies, as tslab's do. A cell that declares nothing (no top-level names, and only
//   statements that are not declarations: expressions, blocks, loops...) has an empty .d.ts, so
//   it has no declaration diagnostics and nothing to emit as declarations: neither is computed
//   for it (`declaresNothing`). What a cell keeps of the earlier cells' declarations is worked
//   out once per declarations tree for every cell that declares none of their names again.
// - The declarations a cell carries on are printed as TypeScript's printer prints the file with
//   the statements kept, one statement at a time, a statement whose text is that of one the last
//   print printed taking that print (kernel/decl-tree.js).

const fs = require("fs");
const path = require("path");
const tslabDir = path.dirname(require.resolve("tslab/package.json"));
/**
 * tslab's TypeScript, with its internals (bindSourceFile, Completions, ...): the one that
 * compiles the cells, and the one the rest of the kernel uses (exported), never a second copy.
 * Loaded before anything of tslab's, with kernel/typescript-edits.js's edits (kernel/typescript.js).
 * @type {any}
 */
const { ts } = require("./typescript");
/** The double quote (CharacterCodes.doubleQuote) that delimits an import type's specifier in a message. */
const QUOTE = 34;
/** @type {any} */
const tslabConverter = require("tslab/dist/converter");
const { esModuleToCommonJSModule, keepNamesInImport } = tslabConverter;
const { normalizeJoin } = require("tslab/dist/tspath");
const { isValidModuleName } = require("tslab/dist/util");
const { stampOf: fileStamp } = require("./stamp");
const { isBuiltin } = require("module");
const { moduleBundle, moduleBundleSources, restoreModulePaths, withoutBundleReferences } = require("./module-bundle");
const { reparse, createStatementPrinter } = require("./decl-tree");

/**
 * The statements that declare nothing at a file's top level (besides a `var` among them, which
 * the cell's top-level names show): the kinds a cell's .d.ts leaves out whole.
 */
const NON_DECLARING_STATEMENTS = new Set([
  ts.SyntaxKind.ExpressionStatement,
  ts.SyntaxKind.Block,
  ts.SyntaxKind.EmptyStatement,
  ts.SyntaxKind.IfStatement,
  ts.SyntaxKind.DoStatement,
  ts.SyntaxKind.WhileStatement,
  ts.SyntaxKind.ForStatement,
  ts.SyntaxKind.ForInStatement,
  ts.SyntaxKind.ForOfStatement,
  ts.SyntaxKind.SwitchStatement,
  ts.SyntaxKind.TryStatement,
  ts.SyntaxKind.ThrowStatement,
  ts.SyntaxKind.LabeledStatement,
]);

/**
 * TypeScript's emit takes its internal EmitOnly in place of `emitOnlyDtsFiles`; EmitOnly.Js (0)
 * emits the JavaScript alone (emitter.ts: emitDeclarationFileOrBundle returns at once).
 */
const EMIT_ONLY_JS = /** @type {any} */ (0);

/**
 * Trees parsed and bound before this process started: the start-up snapshot's
 * (kernel/snapshot-entry.js), by file name. A converter takes one the first time it needs that
 * file, if the file's stamp is still the one it was parsed at (so a changed .d.ts is read anew).
 * Never emptied: kernel/snapshot-pages.js maps the pages of these trees' large texts from a file,
 * which is safe only while V8 never frees them.
 * @type {Map<string, { sf: any, stamp: string, languageVersion: string }>}
 */
const seededTrees = new Map();

/**
 * Hands this module trees parsed earlier (a converter's `trees()`, kept in the snapshot).
 * @param {Iterable<[string, { sf: any, stamp: string, languageVersion: string }]>} entries
 */
function seedTrees(entries) {
  for (const [fileName, entry] of entries) {
    seededTrees.set(fileName, entry);
    const bundled = libBundleTexts(fileName, entry.sf.text);
    if (bundled) seededLibTexts = bundled;
    seededNodeBundle = nodeBundleOf(fileName, entry.sf.text) ?? seededNodeBundle;
  }
}

/**
 * TypeScript's lib as one file. A program's default lib is ~55 files (lib.es5.d.ts to
 * lib.es2022.*.d.ts, each a script adding to the globals), and every type checker merges their
 * globals again, cloning each symbol declared in several of them (Array, Promise, Symbol... are
 * declared in up to ten): ~1 ms of each cell. Bundled, the same declarations in the same order
 * are one file, whose symbols the binder merged once, when its tree was made; the checker only
 * copies them into its globals. The bundle is served as the first file of the `lib` option (the
 * one TypeScript reads first), the other files it holds as empty texts, so a `/// <reference
 * lib>` to any of them adds nothing twice and one to a lib outside it (dom) reads that file as
 * before. What a cell sees is the same: the same declarations, merged in the same order (the
 * checker merges files in the program's order, the binder a file's declarations in text order),
 * with the same options; errors inside the lib are not reported either way (`skipLibCheck`,
 * and a cell's diagnostics name no file outside the notebook's folder).
 *
 * The bundle's first line names the files it holds, so a tree of it handed over by the start-up
 * snapshot says which files to serve empty. Made by converters created with `bundleLib` (the
 * snapshot's builder, tests); a kernel without a snapshot reads the lib files one by one.
 */
const LIB_BUNDLE_MARKER = "// tslab-ipc: TypeScript's lib files in one, in the program's order: ";

/**
 * The texts to serve for each file of a lib bundle, if `text` (of `fileName`) is one.
 * @param {string} fileName @param {string} text @returns {Map<string, string> | null}
 */
function libBundleTexts(fileName, text) {
  if (!text.startsWith(LIB_BUNDLE_MARKER)) return null;
  const names = text.slice(LIB_BUNDLE_MARKER.length, text.indexOf("\n")).split(" ");
  const dir = path.dirname(fileName);
  return new Map(names.map((name) => [path.join(dir, name), path.join(dir, name) === fileName ? text : ""]));
}

/** The lib bundle among the snapshot's trees, if any (see LIB_BUNDLE_MARKER). @type {Map<string, string> | null} */
let seededLibTexts = null;

/**
 * @types/node's script files as one. Its index.d.ts references 62 files (`/// <reference
 * path>`), 57 of them scripts declaring globals and `declare module "fs"`...; besides the path
 * work each of them costs a program, every type checker walks those references again (the emit
 * resolver's map of files to type packages) and merges each file's globals anew: with the lib
 * bundled, ~0.5 ms of a warm cell and ~1 ms of a kernel's first ones (in-process, the bench's
 * three cells, six processes each way). Bundled, index.d.ts is served as the scripts' texts in
 * the program's order without their `/// <reference path>` lines, so TypeScript reads none of
 * them; the modules among them (web-globals/* and globals.typedarray.d.ts, which augment the
 * globals) stay files of their own, referenced from the bundle in the same order. The
 * declarations, their order and the options are the same, so a cell is checked and emitted the
 * same; what differs is how often the declarations a cell's output carries repeat `/// <reference
 * types="node" />`: TypeScript writes it once for each file of @types/node the cell's types come
 * from, and the scripts are now one file.
 *
 * The first line names the files held and their stamps: a converter serves a bundle handed
 * over by the start-up snapshot only while every one of them is unchanged, and stops when a
 * watch on their folders sees one change. Made by converters created with `bundleLib`.
 */
const NODE_BUNDLE_MARKER = "// tslab-ipc: @types/node's script files in one, in the program's order: ";

/**
 * What a node bundle holds, if `text` (served as `fileName`) is one.
 * @param {string} fileName @param {string} text @returns {{ home: string, text: string, files: Array<[string, string]> } | null}
 */
function nodeBundleOf(fileName, text) {
  if (!text.startsWith(NODE_BUNDLE_MARKER)) return null;
  /** @type {Array<[string, string]>} */
  const files = JSON.parse(text.slice(NODE_BUNDLE_MARKER.length, text.indexOf("\n")));
  const dir = path.dirname(fileName);
  return { home: fileName, text, files: files.map(([name, stamp]) => [path.join(dir, name), stamp]) };
}

/** The node bundle among the snapshot's trees, if any (see NODE_BUNDLE_MARKER). @type {ReturnType<typeof nodeBundleOf>} */
let seededNodeBundle = null;

/**
 * The real files a tree (one of a converter's `trees()`) was made from, with their stamps: the
 * files a node bundle holds, or the tree's own file. For the start-up snapshot's record of what
 * it was made from. @param {string} fileName @param {{ sf: any, stamp: string }} entry
 * @returns {Array<[string, string]>}
 */
function treeSources(fileName, { sf, stamp }) {
  return nodeBundleOf(fileName, sf.text)?.files ?? moduleBundleSources(sf.text) ?? [[fileName, realStamp(stamp)]];
}

/** A real file's stamp in the one its tree was kept under (a module bundle's entry: see stampFor). @param {string} stamp */
function realStamp(stamp) {
  return stamp.startsWith(MODULE_BUNDLE_STAMP) ? stamp.slice(stamp.lastIndexOf(" ") + 1) : stamp;
}

/** How the trees of a module bundle's entry and file are stamped: the prefix, then the stamps of every file it holds. */
const MODULE_BUNDLE_STAMP = "module-bundle:";

/**
 * Module bundles (kernel/module-bundle.js) made before this process started: the start-up
 * snapshot's builder serves the library's and undici-types', and compiles the prelude against them. A converter
 * created with `bundleModules` serves each while every file it holds has the stamp it was made
 * at and its package's name still resolves to its entry from the notebook's folder; the trees of
 * its entry and its file come with the snapshot's trees.
 * @type {Array<import("./module-bundle").ModuleBundle>}
 */
let seededModuleBundles = [];

/** Hands this module the bundles a converter served (its moduleBundles()). @param {Array<import("./module-bundle").ModuleBundle>} bundles */
function seedModuleBundles(bundles) {
  seededModuleBundles = bundles;
  // The builder's converter served them too, in the heap the snapshot keeps.
  seedsTaken.moduleBundles = 0;
}

/**
 * A first cell compiled before this process started: the kernel's prelude, compiled while the
 * start-up snapshot was built (kernel/snapshot-entry.js), with what it was compiled against.
 * @typedef {{ src: string, options: string, baseFiles: string[], files: Array<[string, string]>, result: any }} CompiledCell
 * A converter whose first compile is this same cell, after no earlier cells, answers it from
 * here (once) when its options and the real files of its first program are the builder's, and
 * every real file the cell was checked against still has the stamp it had: the compile is a
 * function of exactly those inputs (the cell's text, the options, the files' texts), so the
 * answer is the one compiling it again would give. It saves the prelude's check of ~240 imported
 * names and its emit (~200 ms of a kernel's start).
 * @type {CompiledCell | null}
 */
let seededCell = null;

/** Hands this module a first cell compiled earlier (a converter's compileFirstCell().entry). @param {CompiledCell | null} entry */
function seedCompiledCell(entry) {
  seededCell = entry;
}

/**
 * Module resolutions made before this process started (the start-up snapshot's converter's,
 * made in another folder), with the stamp of every folder and package.json their lookups read.
 * @typedef {{ options: string, cache: any, resolved: Set<any>, stamps: Array<[string, string]> }} SeededResolutions
 * A converter with the same options takes them (once) when every stamp is unchanged: a lookup
 * that failed would now succeed only if a file appeared in its folder, which changes the
 * folder's stamp, and a resolved file that went away changes its folder's too. They save a new
 * kernel re-resolving the imports of the library's .d.ts and @types/node (~60 ms).
 * @type {SeededResolutions | null}
 */
let seededResolutions = null;

/** Which of the seeds above a converter of this process has taken (for the kernel's start-up timing). */
const seedsTaken = {
  compiledCell: false,
  resolutions: false,
  libBundle: false,
  nodeBundle: false,
  /** How many of the seeded module bundles a converter serves. */
  moduleBundles: 0,
};

/** Hands this module resolutions made earlier (a converter's resolutionSeed()). @param {SeededResolutions | null} seed */
function seedResolutions(seed) {
  seededResolutions = seed;
}

/** @param {any} o @returns {any} */
function asMutable(o) {
  return o;
}

/**
 * The documentation comments of trees kept for the kernel's life (the snapshot's seeded trees):
 * 2.5 MB of a kernel's heap, read only to show a declaration's documentation (inspect). What a
 * cell is checked against does not use them in a declaration file, but for `@deprecated`, whose
 * comments stay. stripJsDoc drops the others when the snapshot is built; restoreJsDoc puts them
 * back from a fresh parse of the same text, node for node, before inspect reads a file's.
 */
const JSDOC_STRIPPED = Symbol("tslab-ipc: JSDoc stripped");

/** @param {any} node */
function isDeprecatedDoc(node) {
  return node.jsDoc.some((/** @type {any} */ d) =>
    d.tags?.some((/** @type {any} */ t) => t.tagName.escapedText === "deprecated"),
  );
}

/**
 * Drops the tree's documentation comments but those with `@deprecated`. Each is set to undefined,
 * never deleted (TypeScript reads an absent jsDoc and an undefined one alike): V8 turns an object
 * whose property other than its last one is deleted into a hash table of its properties, and
 * `delete` made 3,361 of the snapshot's declaration nodes such tables, 4.2 MB of its heap (a heap
 * snapshot of a kernel, 3 December), each read through a lookup instead of an inline cache when a
 * cell is checked against it.
 * @param {any} sf
 */
function stripJsDoc(sf) {
  const visit = (/** @type {any} */ node) => {
    if (node.jsDoc && !isDeprecatedDoc(node)) node.jsDoc = undefined;
    ts.forEachChild(node, visit);
  };
  visit(sf);
  sf[JSDOC_STRIPPED] = true;
}

/**
 * Puts back the documentation comments stripJsDoc dropped from a whole tree, from a parse of the
 * same text (which gives the same nodes in the same order); if the two trees differ anywhere, it
 * stops there.
 * @param {any} sf
 */
function restoreJsDoc(sf) {
  if (!sf[JSDOC_STRIPPED]) return;
  sf[JSDOC_STRIPPED] = false;
  restoreFrom(sf, parseLike(sf, sf.text), 0);
}

/** Top-level statements of stripped trees whose comments restoreJsDocAround put back. @type {WeakSet<object>} */
const restoredStatements = new WeakSet();

/**
 * Puts back the documentation comments of the top-level statement that holds `node`, from a
 * parse of that statement's text alone: a declaration's comments without a parse of its whole
 * file (@types/node's scripts as one are 2.2 M characters, 264 ms to parse; the lib's 0.45 M).
 * The statement's text starts with its leading comments, so its own documentation is in it.
 * @param {any} node
 */
function restoreJsDocAround(node) {
  let statement = node;
  while (statement.parent && statement.parent.kind !== ts.SyntaxKind.SourceFile) statement = statement.parent;
  const sf = statement.parent;
  if (!sf) return restoreJsDoc(statement);
  if (!sf[JSDOC_STRIPPED] || restoredStatements.has(statement)) return;
  restoredStatements.add(statement);
  const fresh = parseLike(sf, sf.text.slice(statement.pos, statement.end));
  if (fresh.statements.length === 1) restoreFrom(statement, fresh.statements[0], statement.pos);
}

/** `text` parsed as `sf` was. @param {any} sf @param {string} text */
function parseLike(sf, text) {
  return ts.createSourceFile(
    sf.fileName,
    text,
    { languageVersion: sf.languageVersion, impliedNodeFormat: sf.impliedNodeFormat },
    false,
    sf.scriptKind,
  );
}

/**
 * Gives `kept` and every node in it the documentation comments of the same node in `parsed`, the
 * same text parsed afresh from `offset` characters further on (their positions moved by that
 * much), where it has none; where the two trees differ, it stops.
 * @param {any} kept @param {any} parsed @param {number} offset
 */
function restoreFrom(kept, parsed, offset) {
  /** @param {any} node @returns {any[]} */
  const childrenOf = (node) => {
    /** @type {any[]} */
    const out = [];
    ts.forEachChild(node, (/** @type {any} */ c) => {
      out.push(c);
    });
    return out;
  };
  /** @param {any} node */
  const shift = (node) => {
    node.pos += offset;
    node.end += offset;
    ts.forEachChild(node, shift, (/** @type {any} */ nodes) => {
      nodes.pos += offset;
      nodes.end += offset;
      nodes.forEach(shift);
    });
  };
  const walk = (/** @type {any} */ kept, /** @type {any} */ parsed) => {
    if (kept.kind !== parsed.kind || kept.pos !== parsed.pos + offset || kept.end !== parsed.end + offset) return false;
    if (parsed.jsDoc && !kept.jsDoc) {
      kept.jsDoc = parsed.jsDoc;
      for (const doc of parsed.jsDoc) {
        if (offset !== 0) shift(doc);
        doc.parent = kept;
        ts.setParentRecursive(doc, true);
      }
    }
    const a = childrenOf(kept);
    const b = childrenOf(parsed);
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!walk(a[i], b[i])) return false;
    return true;
  };
  walk(kept, parsed);
}

const cancellationToken = {
  isCancellationRequested: () => false,
  throwIfCancellationRequested: () => {},
};

/** tslab's rule: the newest ECMAScript target the running Node supports. */
function getTranspileTargets() {
  const nodeVersion = Number(process.versions.node.split(".")[0]);
  if (nodeVersion >= 18) return { target: ts.ScriptTarget.ES2022, lib: ["es2022"] };
  if (nodeVersion >= 16) return { target: ts.ScriptTarget.ES2021, lib: ["es2021"] };
  return { target: ts.ScriptTarget.ES2020, lib: ["es2020"] };
}

/**
 * A converter with tslab's interface (convert, inspect, complete, addModule, close).
 * `bundleLib`: serve TypeScript's lib files as one (see LIB_BUNDLE_MARKER); a converter seeded
 * with such a bundle by the start-up snapshot serves it without being asked. `bundleModules`:
 * serve each package of declaration modules a cell reached as one (kernel/module-bundle.js), from
 * the next cell on, and those handed over by seedModuleBundles from the start; the kernel's
 * converters and the snapshot's builder do.
 * @param {{ isJS?: boolean, isBrowser?: boolean, bundleLib?: boolean, bundleModules?: boolean }} [options]
 */
function createConverter(options) {
  const cwd = ts.sys.getCurrentDirectory();
  const srcFilename = normalizeJoin(cwd, options?.isJS ? "__tslab__.js" : "__tslab__.ts");
  const declFilename = normalizeJoin(cwd, "__prev__.d.ts");
  /** Root files in tslab's order: the declarations, the cell, then `//@module` files. */
  const rootFiles = new Set([declFilename, srcFilename]);
  const outDir = "outDir";
  const dstFilename = normalizeJoin(outDir, "__tslab__.js");
  const dstDeclFilename = normalizeJoin(outDir, "__tslab__.d.ts");
  const { target: transpileTarget, lib: transpileLib } = getTranspileTargets();
  if (options?.isBrowser) {
    transpileLib.push("dom");
    transpileLib.push("dom.iterable");
  }
  /** Makes every source an external module (a file with a top-level import or export is one). */
  const srcPrefix = "export {};" + ts.sys.newLine;
  const srcPrefixOffsets = {
    offset: srcPrefix.length,
    line: (srcPrefix.match(/\n/g) || []).length,
    char: srcPrefix.length - (srcPrefix.lastIndexOf("\n") + 1),
  };
  let srcContent = "";
  let declContent = "";
  /** Dependencies already emitted (emitted again when they change). */
  const sideInputsConverted = new Set();
  /** Modules of `//@module` cells, by path; `srcPrefix` is prepended to their values. */
  const virtualFiles = new Map();

  /** TypeScript's lib files served as one (see LIB_BUNDLE_MARKER): their texts, by file name. */
  const libTexts = new Map(seededLibTexts ?? []);
  if (seededLibTexts) seedsTaken.libBundle = true;
  /** @types/node's scripts served as one (see NODE_BUNDLE_MARKER), while none of them changes. @type {(NonNullable<ReturnType<typeof nodeBundleOf>> & { names: Set<string> }) | null} */
  let nodeBundle = null;
  /**
   * Packages whose declaration modules are served as one (kernel/module-bundle.js), by their
   * types entry; made when created with `bundleModules`. @type {Map<string, import("./module-bundle").ModuleBundle>}
   */
  const moduleBundles = new Map();
  /** The texts served for them (each entry's and each bundle's), and whose. @type {Map<string, { text: string, bundle: import("./module-bundle").ModuleBundle }>} */
  const moduleBundleTexts = new Map();
  /** Bundles whose files a program reached by another way (a relative import): dropped after it. @type {Set<string>} */
  const bypassedBundles = new Set();
  /** Packages not to bundle again (bypassed once). @type {Set<string>} */
  const unbundled = new Set();
  /** How many files the program had when its packages were last looked at for bundling. */
  let filesLookedAt = 0;

  const sys = Object.create(ts.sys);
  sys.getCurrentDirectory = () => cwd;
  sys.readFile = (/** @type {string} */ p, /** @type {string | undefined} */ encoding) => {
    if (p === srcFilename) return srcPrefix + srcContent;
    if (p === declFilename) return srcPrefix + declContent;
    if (virtualFiles.has(p)) return virtualFiles.get(p);
    if (libTexts.has(p)) return libTexts.get(p);
    if (p === nodeBundle?.home) return nodeBundle.text;
    const bundled = moduleBundleTexts.get(p);
    if (bundled) return bundled.text;
    return ts.sys.readFile(forwardTslabPath(cwd, p), encoding);
  };
  sys.directoryExists = (/** @type {string} */ p) => {
    if (ts.sys.directoryExists(forwardTslabPath(cwd, p))) return true;
    // tslab fakes <cwd>/node_modules so that `import "tslab"` works anywhere (forwardTslabPath).
    return normalizeJoin(cwd, "node_modules") === p;
  };
  sys.fileExists = (/** @type {string} */ p) => ts.sys.fileExists(forwardTslabPath(cwd, p)) || virtualFiles.has(p);
  sys.readDirectory = (/** @type {string} */ p, /** @type {any[]} */ ...rest) =>
    ts.sys.readDirectory(forwardTslabPath(cwd, p), ...rest);

  const compilerOptions = {
    // ESNext, not ES2015, for dynamic import; the output becomes CommonJS afterwards.
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    target: transpileTarget,
    lib: transpileLib.map((lib) => `lib.${lib}.d.ts`),
    declaration: true,
    newLine: ts.NewLineKind.LineFeed,
    noImplicitUseStrict: true,
    experimentalDecorators: true,
    resolveJsonModule: true,
    jsx: ts.JsxEmit.React,
    typeRoots: getTypeRoots(),
    // allowJs, checkJs and outDir transpile .js files.
    allowJs: true,
    checkJs: true,
    disableTopLevelAwait: true,
    skipLibCheck: true,
    // rootDir stabilizes the paths of output files.
    rootDir: cwd,
    outDir,
  };

  /** Real files' trees, reused while the file's modification time and size stay the same. @type {Map<string, { sf: any, stamp: string, languageVersion: unknown }>} */
  const fileCache = new Map();
  const stampOf = (/** @type {string} */ p) => fileStamp(forwardTslabPath(cwd, p));
  /** Files under TypeScript's own lib folder never change while the kernel runs. */
  const libDir = path.dirname(ts.getDefaultLibFilePath(compilerOptions));
  /**
   * Cached files whose stamp is checked before each program: those in the notebook's folder
   * (outside node_modules), which a cell may have just written. The others (packages, the
   * library's .d.ts) are many and rarely change: a watch on their folder drops them when they do.
   */
  const checked = new Set();
  /** Folder watches, by folder: null where watching failed (its files are then checked by stamp). @type {Map<string, fs.FSWatcher | null>} */
  const folderWatches = new Map();
  /** Set when a watched file changed: the module resolutions are dropped before the next program. */
  let watchedChange = false;
  /** Whether `fileName` (a real file) is one whose stamp is checked before each program. @param {string} fileName */
  const checkedEachTime = (fileName) =>
    (fileName.startsWith(cwd + "/") && !fileName.includes("/node_modules/")) || !watchFolder(path.dirname(fileName));
  /** Drops a real file's tree (a dependency is emitted again). @param {string} fileName */
  const forget = (fileName) => {
    uncache(fileName);
    if (nodeBundle?.names.has(fileName)) dropNodeBundle();
    for (const bundle of moduleBundles.values())
      if (bundle.files.some(([f]) => f === fileName)) dropModuleBundle(bundle.home);
  };
  /** @param {string} fileName */
  const uncache = (fileName) => {
    fileCache.delete(fileName);
    checked.delete(fileName);
    sideInputsConverted.delete(fileName);
  };
  /** Drops the trees of what `dir` holds (a change there that names no file). @param {string} dir */
  const forgetFolder = (dir) => {
    for (const fileName of [...fileCache.keys()]) if (path.dirname(fileName) === dir) forget(fileName);
    if (nodeBundle?.files.some(([fileName]) => path.dirname(fileName) === dir)) dropNodeBundle();
    for (const bundle of moduleBundles.values())
      if (bundle.files.some(([f]) => path.dirname(f) === dir)) dropModuleBundle(bundle.home);
  };
  /** Serves a package's module files one by one again. @param {string} home its types entry */
  const dropModuleBundle = (home) => {
    const bundle = moduleBundles.get(home);
    if (!bundle) return;
    moduleBundles.delete(home);
    for (const f of [bundle.home, bundle.file]) {
      moduleBundleTexts.delete(f);
      uncache(f);
    }
    filesLookedAt = 0;
    watchedChange = true;
  };
  /** Serves @types/node's files one by one again (one of them changed, or cannot be watched). */
  const dropNodeBundle = () => {
    uncache(/** @type {string} */ (nodeBundle?.home));
    nodeBundle = null;
    watchedChange = true;
  };
  /** Watches `dir` (once); false if it cannot be watched. @param {string} dir */
  function watchFolder(dir) {
    const known = folderWatches.get(dir);
    if (known !== undefined) return known !== null;
    try {
      const watch = fs.watch(dir, { persistent: false }, (_event, name) => {
        watchedChange = true;
        if (name) forget(`${dir}/${name}`);
        else forgetFolder(dir);
      });
      watch.on("error", () => {
        watch.close();
        folderWatches.set(dir, null);
        // Back to stamps for what this folder holds.
        forgetFolder(dir);
      });
      folderWatches.set(dir, watch);
      return true;
    } catch {
      folderWatches.set(dir, null);
      return false;
    }
  }
  /**
   * A real file's stamp ("lib" for TypeScript's own lib files; the node bundle's home, while it
   * is served, has one of its own, so that its tree and a tree of the file itself are never
   * taken for each other). @param {string} fileName
   */
  const stampFor = (fileName) =>
    fileName.startsWith(libDir + "/")
      ? "lib"
      : fileName === nodeBundle?.home
        ? `node-bundle:${stampOf(fileName)}`
        : moduleBundleTexts.has(fileName)
          ? moduleBundleStamp(fileName)
          : stampOf(fileName);
  /**
   * A served module bundle's entry or file: stamped by every file the bundle holds, so that a
   * tree of it is never taken for another bundle's, and by the entry's own stamp last (realStamp).
   * @param {string} fileName
   */
  const moduleBundleStamp = (fileName) => {
    const { bundle } = /** @type {{ bundle: import("./module-bundle").ModuleBundle }} */ (
      moduleBundleTexts.get(fileName)
    );
    return `${MODULE_BUNDLE_STAMP}${bundle.files.map(([, stamp]) => stamp).join(",")} ${stampOf(bundle.home)}`;
  };
  /** Keeps a real file's tree, and how it is checked for changes. @param {string} fileName @param {{ sf: any, stamp: string, languageVersion: string }} entry */
  const remember = (fileName, entry) => {
    fileCache.set(fileName, entry);
    if (entry.stamp !== "lib" && checkedEachTime(fileName)) checked.add(fileName);
  };
  /**
   * The declarations' tree, reused while the declarations' text stays the same and
   * remainingDecls has dropped nothing from it (it rewrites the tree in place).
   * @type {{ text: string, sf: any, languageVersion: string } | null}
   */
  let declTree = null;
  /** The parse options of the last program's declarations (what prepare parses with). @type {any} */
  let declParseOptions = null;
  /**
   * The cell's tree as localNames parsed and bound it, for the program to take when the cell
   * declares nothing at its top level (its text is then the program's as it is): one parse and
   * one bind a cell fewer. Taken once, then dropped. @type {{ text: string, sf: any } | null}
   */
  let cellTree = null;
  /** What remainingDecls printed for a declarations tree it left whole. @type {WeakMap<object, string>} */
  const printedDecls = new WeakMap();
  /** How remainingDecls prints: a statement printed for the last declarations is not printed again. */
  const declPrinter = createStatementPrinter(ts);
  /**
   * What remainingDecls returned for a declarations tree and a cell that declares none of its
   * names again (no top-level names, or only new ones): it keeps every declaration a cell can
   * keep, so its result depends on the tree alone.
   * @type {WeakMap<object, string>}
   */
  const declsBesideNewNames = new WeakMap();
  /**
   * Module resolutions, kept across programs while every lookup succeeds and no file changes
   * (a failed lookup may succeed once the file exists; the watch program watches for that).
   */
  let resolutionCache = ts.createModuleResolutionCache(cwd, (/** @type {string} */ f) => f, compilerOptions);
  /** Type reference directives (`types: ["node"]`, `/// <reference types>`): TypeScript makes a new cache per program. */
  let typeReferenceCache = newTypeReferenceCache();
  let resolutionFailed = false;
  /** Every module resolution resolutionCache holds (what resolutionSeed records the lookups of). @type {Set<any>} */
  let resolvedModules = new Set();
  /** What TypeScript's createProgram makes for itself, kept across programs with the resolutions. */
  function newTypeReferenceCache() {
    return ts.createTypeReferenceDirectiveResolutionCache(
      cwd,
      (/** @type {string} */ f) => f,
      undefined,
      resolutionCache.getPackageJsonInfoCache(),
    );
  }

  /**
   * The declarations' tree for `text`, parsed with `parseOptions`, made declTree: made from the
   * last one where their texts differ (kernel/decl-tree.js), or parsed afresh without a last one
   * of the same parse options (or where reparse declines).
   * @param {string} text @param {any} parseOptions
   */
  function parseDecls(text, parseOptions) {
    const languageVersion = languageKey(parseOptions);
    const base = declTree?.languageVersion === languageVersion ? declTree.sf : null;
    // The base's nodes become the new tree's: it is nobody's declTree from here on, even if the
    // parse does not finish.
    declTree = null;
    const sf = (base && reparse(ts, base, text)) ?? ts.createSourceFile(declFilename, text, parseOptions);
    declTree = { text, sf, languageVersion };
    return sf;
  }

  const host = {
    getSourceFile(
      /** @type {string} */ fileName,
      /** @type {any} */ languageVersionOrOptions,
      /** @type {any} */ onError,
    ) {
      const fresh = fileName === srcFilename || fileName === declFilename || virtualFiles.has(fileName);
      if (!fresh) {
        const hit = fileCache.get(fileName);
        if (hit && hit.languageVersion === languageKey(languageVersionOrOptions)) return hit.sf;
        const seeded = seededTrees.get(fileName);
        if (
          seeded &&
          seeded.languageVersion === languageKey(languageVersionOrOptions) &&
          seeded.stamp === stampFor(fileName)
        ) {
          remember(fileName, seeded);
          return seeded.sf;
        }
      }
      if (fileName === srcFilename && cellTree) {
        const taken = cellTree;
        cellTree = null;
        if (taken.text === srcPrefix + srcContent && sameParseOptions(taken.sf, languageVersionOrOptions))
          return taken.sf;
      }
      if (fileName === declFilename) {
        const made = treeMadeFor(declContent, languageVersionOrOptions);
        if (made) return made;
      }
      let text;
      try {
        text = sys.readFile(fileName);
      } catch (e) {
        onError?.(e instanceof Error ? e.message : String(e));
        text = "";
      }
      if (text === undefined) return undefined;
      const sf =
        fileName === declFilename
          ? parseDecls(text, languageVersionOrOptions)
          : ts.createSourceFile(fileName, text, languageVersionOrOptions);
      if (fileName === declFilename) declParseOptions = languageVersionOrOptions;
      if (!fresh)
        remember(fileName, { sf, stamp: stampFor(fileName), languageVersion: languageKey(languageVersionOrOptions) });
      return sf;
    },
    getDefaultLibFileName: (/** @type {any} */ o) => ts.getDefaultLibFilePath(o),
    getDefaultLibLocation: () => libDir,
    writeFile() {
      throw new Error("writeFile must not be called");
    },
    getCurrentDirectory: () => cwd,
    getCanonicalFileName: (/** @type {string} */ f) => f,
    useCaseSensitiveFileNames: () => true,
    getNewLine: () => "\n",
    fileExists: (/** @type {string} */ f) => sys.fileExists(f),
    readFile: (/** @type {string} */ f) => sys.readFile(f),
    directoryExists: (/** @type {string} */ d) => sys.directoryExists(d),
    getDirectories: (/** @type {string} */ d) => sys.getDirectories(d),
    realpath: (/** @type {string} */ p) => sys.realpath(p),
    getEnvironmentVariable: (/** @type {string} */ name) => sys.getEnvironmentVariable?.(name) ?? "",
    /** The same cache for the lookups TypeScript makes itself (`@typescript/lib-*` for each lib file). */
    getModuleResolutionCache: () => resolutionCache,
    /** TypeScript's own resolution of type reference directives (its default loader), with the cache above. */
    resolveTypeReferenceDirectiveReferences(
      /** @type {any[]} */ references,
      /** @type {string} */ containingFile,
      /** @type {any} */ redirectedReference,
      /** @type {any} */ options,
      /** @type {any} */ containingSourceFile,
    ) {
      const resolutions = ts.loadWithModeAwareCache(
        references,
        containingFile,
        redirectedReference,
        options,
        containingSourceFile,
        host,
        typeReferenceCache,
        ts.createTypeReferenceResolutionLoader,
      );
      if (resolutions.some((/** @type {any} */ r) => !r.resolvedTypeReferenceDirective?.resolvedFileName))
        resolutionFailed = true;
      return resolutions;
    },
    /** TypeScript's own resolution (as its default loader calls it), with the cache above. */
    resolveModuleNameLiterals(
      /** @type {any[]} */ literals,
      /** @type {string} */ containingFile,
      /** @type {any} */ redirectedReference,
      /** @type {any} */ options,
      /** @type {any} */ containingSourceFile,
    ) {
      return literals.map((literal) => {
        // A module of a bundle is its ambient module (kernel/module-bundle.js): no file.
        if (moduleBundles.size > 0 && [...moduleBundles.values()].some((b) => b.paths.has(literal.text)))
          return { resolvedModule: undefined };
        const resolution = ts.resolveModuleName(
          literal.text,
          containingFile,
          options,
          host,
          resolutionCache,
          redirectedReference,
          ts.getModeForUsageLocation(containingSourceFile, literal),
        );
        // A Node built-in ("fs", "node:url", ... from a cell, the library's .d.ts or @types/node)
        // resolves to no file but to @types/node's `declare module`: not a lookup that may
        // succeed later, so the resolutions are kept (dropping them cost the first cell after
        // the prelude ~100 ms of re-resolving @types/node's ~250 imports).
        if (!resolution.resolvedModule && !isBuiltin(literal.text)) resolutionFailed = true;
        resolvedModules.add(resolution);
        const target = resolution.resolvedModule?.resolvedFileName;
        if (moduleBundles.size > 0 && target)
          for (const bundle of moduleBundles.values())
            if (
              bundle.files.some(([f]) => f === target) &&
              !(target === bundle.home && literal.text === bundle.pkgName)
            )
              bypassedBundles.add(bundle.home);
        return resolution;
      });
    },
  };

  // The type packages included without an import (`@types/*` in the type roots), read once and
  // again when a type root's listing changes, instead of reading their package.json per program.
  const typeRootStamps = () => compilerOptions.typeRoots.map(stampOf).join("|");
  let typeRootsSeen = typeRootStamps();
  /** @type {any} */ (compilerOptions).types = ts.getAutomaticTypeDirectiveNames(compilerOptions, host);
  adoptSeededResolutions();
  presetLibReplacementLookups();
  if (seededNodeBundle && serveNodeBundle(seededNodeBundle)) seedsTaken.nodeBundle = true;
  if (options?.bundleModules)
    for (const bundle of seededModuleBundles) if (serveModuleBundle(bundle)) seedsTaken.moduleBundles++;

  /** @type {any} */
  let program = null;
  /** How many cells this converter has compiled. */
  let compiled = 0;
  /** The cell's own declarations, which a result's declOutput begins with (kernel/failed-cell.js). */
  const ownDeclarations = new WeakMap();
  updateContent("", "");
  if (options?.bundleLib && libTexts.size === 0) bundleLib();
  if (options?.bundleLib && !nodeBundle) bundleNode();

  /** Serves the lib files of the program as one (see LIB_BUNDLE_MARKER) from now on. */
  function bundleLib() {
    const home = path.join(libDir, compilerOptions.lib[0]);
    const files = program
      .getSourceFiles()
      .filter((/** @type {any} */ f) => program.isSourceFileDefaultLibrary(f) && path.dirname(f.fileName) === libDir);
    if (files.length < 2 || !files.some((/** @type {any} */ f) => f.fileName === home)) return;
    const names = files.map((/** @type {any} */ f) => path.basename(f.fileName));
    const text = `${LIB_BUNDLE_MARKER}${names.join(" ")}\n${files.map((/** @type {any} */ f) => f.text).join("\n")}`;
    for (const [fileName, served] of /** @type {Map<string, string>} */ (libBundleTexts(home, text))) {
      libTexts.set(fileName, served);
      forget(fileName);
    }
    program = null;
    updateContent("", "");
  }

  /**
   * Serves `bundle` from now on if every file it holds has the stamp it was bundled at and its
   * folder can be watched (a change then drops it). @param {NonNullable<ReturnType<typeof nodeBundleOf>>} bundle
   */
  function serveNodeBundle(bundle) {
    if (!bundle.files.every(([fileName, stamp]) => stampOf(fileName) === stamp && watchFolder(path.dirname(fileName))))
      return false;
    for (const [fileName] of bundle.files) uncache(fileName);
    nodeBundle = { ...bundle, names: new Set(bundle.files.map(([fileName]) => fileName)) };
    return true;
  }

  /** Serves @types/node's scripts as one (see NODE_BUNDLE_MARKER) from now on. */
  function bundleNode() {
    /** @type {string | undefined} */
    let home;
    program.getResolvedTypeReferenceDirectives().forEach((/** @type {any} */ r, /** @type {string} */ name) => {
      if (name === "node") home = r.resolvedTypeReferenceDirective?.resolvedFileName;
    });
    if (!home) return;
    // The files @types/node's index reaches by `/// <reference path>`, in the program's order.
    const reached = new Set();
    const visit = (/** @type {any} */ sf) => {
      if (!sf || reached.has(sf.fileName)) return;
      reached.add(sf.fileName);
      for (const ref of sf.referencedFiles)
        visit(program.getSourceFile(ts.resolveTripleslashReference(ref.fileName, sf.fileName)));
    };
    visit(program.getSourceFile(home));
    const files = program.getSourceFiles().filter((/** @type {any} */ f) => reached.has(f.fileName));
    const scripts = files.filter((/** @type {any} */ f) => !ts.isExternalModule(f));
    // The bundle is served as index.d.ts, so that file must be one of the scripts it holds.
    if (
      scripts.length < 2 ||
      !scripts.some((/** @type {any} */ f) => f.fileName === home) ||
      scripts.some((/** @type {any} */ f) => f.hasNoDefaultLib)
    )
      return;
    const dir = path.dirname(home);
    const directive = (/** @type {string} */ kind, /** @type {any} */ ref) =>
      `/// <reference ${kind}="${ref.fileName}"${ref.resolutionMode ? ` resolution-mode="${ref.resolutionMode === ts.ModuleKind.ESNext ? "import" : "require"}"` : ""} />`;
    const header = [
      // The directives of every script but its `path` ones, which only a file's first lines may
      // hold, and the modules it reached, as references from the bundle.
      ...scripts.flatMap((/** @type {any} */ f) => [
        ...f.libReferenceDirectives.map((/** @type {any} */ r) => directive("lib", r)),
        ...f.typeReferenceDirectives.map((/** @type {any} */ r) => directive("types", r)),
      ]),
      ...files
        .filter((/** @type {any} */ f) => ts.isExternalModule(f))
        .map((/** @type {any} */ f) => `/// <reference path="${path.relative(dir, f.fileName)}" />`),
    ];
    const stamps = JSON.stringify(
      scripts.map((/** @type {any} */ f) => [path.relative(dir, f.fileName), stampOf(f.fileName)]),
    );
    const bodies = scripts.map((/** @type {any} */ f) => f.text.replace(/^\/\/\/\s*<reference\s.*$/gm, ""));
    const text = `${NODE_BUNDLE_MARKER}${stamps}\n${header.join("\n")}\n${bodies.join("\n")}`;
    if (!serveNodeBundle(/** @type {NonNullable<ReturnType<typeof nodeBundleOf>>} */ (nodeBundleOf(home, text))))
      return;
    program = null;
    updateContent("", "");
  }

  return {
    close,
    convert,
    inspect,
    complete,
    addModule,
    trees,
    compileFirstCell,
    cellDeclarations,
    prepare,
    isPrepared,
    resolutionSeed,
    moduleBundles: () => [...moduleBundles.values()],
    bundleModules: servedModuleBundles,
  };

  /**
   * TypeScript first looks each lib file up as a package from the notebook's folder (a "lib
   * replacement": `@typescript/lib-es2022` in some parent's node_modules), ~20 lookups through
   * every parent folder's node_modules, ~25 ms of a new converter's first program (the seeded
   * resolutions are another folder's). Such a lookup can only succeed where a parent folder has
   * node_modules/@typescript, or a node_modules/@types entry named typescript__lib-*; where none
   * has, every one fails, and its failed result goes into the cache as TypeScript would put it.
   */
  function presetLibReplacementLookups() {
    for (let dir = cwd; ; dir = path.dirname(dir)) {
      const nodeModules = normalizeJoin(dir, "node_modules");
      if (sys.directoryExists(normalizeJoin(nodeModules, "@typescript"))) return;
      const atTypes = normalizeJoin(nodeModules, "@types");
      if (sys.directoryExists(atTypes)) {
        let names = sys.getDirectories(atTypes);
        try {
          names = names.concat(fs.readdirSync(atTypes));
        } catch {
          // Only virtual (kernel/resolve.js): its listing above is all there is.
        }
        if (names.some((/** @type {string} */ n) => n.startsWith("typescript__lib-"))) return;
      }
      if (path.dirname(dir) === dir) break;
    }
    const lookups = resolutionCache.getOrCreateCacheForDirectory(cwd);
    for (const libFileName of /** @type {Map<string, string>} */ (ts.libMap).values()) {
      // The package TypeScript's pathForLibFile looks up: lib.es2015.core.d.ts, @typescript/lib-es2015/core.
      const [first, ...rest] = libFileName.replace(/^lib\.|\.d\.ts$/g, "").split(".");
      const name = `@typescript/lib-${[first, rest.join("-")].filter(Boolean).join("/")}`;
      if (lookups.get(name, undefined) === undefined) lookups.set(name, undefined, { resolvedModule: undefined });
    }
  }

  /** Takes the seeded module resolutions, if they were made with these options and every folder they looked in is unchanged. */
  function adoptSeededResolutions() {
    const seeded = seededResolutions;
    if (!seeded || seeded.options !== optionsKey()) return;
    seededResolutions = null;
    if (!seeded.stamps.every(([p, stamp]) => fileStamp(p) === stamp)) return;
    resolutionCache = seeded.cache;
    resolvedModules = seeded.resolved;
    typeReferenceCache = newTypeReferenceCache();
    seedsTaken.resolutions = true;
  }

  /**
   * This converter's module resolutions, for seedResolutions in another process, with the stamps
   * of the folders and package.json files their lookups read, except those under `except` (the
   * snapshot builder's own folder, where no kernel runs). Null after a failed lookup.
   * @param {string} except
   * @returns {SeededResolutions | null}
   */
  function resolutionSeed(except) {
    if (resolutionFailed) return null;
    /** @type {Set<string>} */
    const paths = new Set();
    const outside = (/** @type {string} */ p) => p !== except && !p.startsWith(except + "/");
    for (const r of resolvedModules) {
      for (const p of r.failedLookupLocations ?? []) if (outside(p)) paths.add(path.dirname(p));
      for (const p of r.affectingLocations ?? []) if (outside(p)) paths.add(p).add(path.dirname(p));
      const file = r.resolvedModule?.resolvedFileName;
      if (file && outside(file)) paths.add(path.dirname(file));
    }
    /** @type {Array<[string, string]>} */
    const stamps = [...paths].sort().map((p) => [p, fileStamp(p)]);
    return { options: optionsKey(), cache: resolutionCache, resolved: resolvedModules, stamps };
  }

  /** What makes a compile differ beyond the files and the cell: the options that are not constants here. */
  function optionsKey() {
    const { target, lib, types } = /** @type {any} */ (compilerOptions);
    return JSON.stringify({ isJS: Boolean(options?.isJS), target, lib, types });
  }

  /**
   * The real files of the current program (not the cell, the declarations or `//@module` files), sorted.
   * @returns {string[]}
   */
  function realFileNames() {
    return program
      .getSourceFiles()
      .map((/** @type {any} */ sf) => sf.fileName)
      .filter((/** @type {string} */ f) => f !== srcFilename && f !== declFilename && !virtualFiles.has(f))
      .sort();
  }

  /**
   * Compiles `src` as this converter's first cell and returns, beside the result, what
   * seedCompiledCell needs to answer the same compile in another process (null when the cell
   * has errors, or is not the first).
   * @param {string} src
   * @returns {{ result: any, entry: CompiledCell | null }}
   */
  function compileFirstCell(src) {
    const first = compiled === 0 && virtualFiles.size === 0;
    const baseFiles = realFileNames();
    const result = convert("", src);
    if (!first || result.diagnostics.length > 0) return { result, entry: null };
    /** @type {Array<[string, string]>} */
    const files = realFileNames().map((f) => [f, fileCache.get(f)?.stamp ?? stampFor(f)]);
    return { result, entry: { src, options: optionsKey(), baseFiles, files, result } };
  }

  /** The seeded first cell's result, if it answers convert(prevDecl, src) now (see seededCell). @param {string} prevDecl @param {string} src */
  function seededResult(prevDecl, src) {
    const seeded = seededCell;
    if (!seeded || prevDecl !== "" || src !== seeded.src || compiled > 0 || virtualFiles.size > 0) return null;
    seededCell = null;
    if (seeded.options !== optionsKey()) return null;
    const base = realFileNames();
    if (base.length !== seeded.baseFiles.length || base.some((f, i) => f !== seeded.baseFiles[i])) return null;
    if (!seeded.files.every(([f, stamp]) => stampFor(f) === stamp)) return null;
    seedsTaken.compiledCell = true;
    return { ...seeded.result, diagnostics: [] };
  }

  /**
   * Serves as one (kernel/module-bundle.js) each package of two or more declaration modules the
   * last program read, whose name resolves from the notebook's folder to the package's types
   * entry (so that a cell could reach its modules by their names before as well).
   */
  function bundleModules() {
    const files = program.getSourceFiles();
    filesLookedAt = files.length;
    /** @type {Map<string, any[]>} */
    const packages = new Map();
    for (const f of files) {
      if (!f.isDeclarationFile || !ts.isExternalModule(f) || moduleBundleTexts.has(f.fileName)) continue;
      // Not the cells' own files, nor the notebook folder's, which may change between any two cells.
      if (f.fileName === declFilename || virtualFiles.has(f.fileName) || checked.has(f.fileName)) continue;
      if (f.fileName.startsWith(cwd + "/") && !f.fileName.includes("/node_modules/")) continue;
      const pkgDir = packageFolder(path.dirname(f.fileName));
      if (pkgDir) packages.set(pkgDir, [...(packages.get(pkgDir) ?? []), f]);
    }
    for (const [pkgDir, group] of packages) {
      if (group.length < 2) continue;
      /** @type {{ name?: unknown, types?: unknown, typings?: unknown }} */
      let manifest;
      try {
        manifest = JSON.parse(sys.readFile(path.join(pkgDir, "package.json")) ?? "");
      } catch {
        continue;
      }
      if (typeof manifest.name !== "string") continue;
      // A package whose types entry is not one of these modules (@types/node's is a script) has
      // no bundle: known without a lookup.
      const declared = path.join(pkgDir, String(manifest.types ?? manifest.typings ?? "index.d.ts"));
      if (!group.some((f) => f.fileName === declared)) continue;
      const entry = resolvedFile(manifest.name, srcFilename);
      if (!entry || unbundled.has(entry) || moduleBundles.has(entry)) continue;
      const bundle = moduleBundle(ts, { pkgDir, pkgName: manifest.name, entry, files: group }, resolvedFile, stampOf);
      if (bundle) serveModuleBundle(bundle);
    }
  }

  /**
   * Serves `bundle` from now on if every file it holds has the stamp it was made at and its
   * folder can be watched (a change then drops it), and its package's name resolves from the
   * notebook's folder to its entry. @param {import("./module-bundle").ModuleBundle} bundle
   */
  function serveModuleBundle(bundle) {
    if (unbundled.has(bundle.home) || moduleBundles.has(bundle.home)) return false;
    if (!bundle.files.every(([f, stamp]) => stampOf(f) === stamp && watchFolder(path.dirname(f)))) return false;
    if (resolvedFile(bundle.pkgName, srcFilename) !== bundle.home) return false;
    moduleBundles.set(bundle.home, bundle);
    moduleBundleTexts.set(bundle.home, { text: bundle.homeText, bundle });
    moduleBundleTexts.set(bundle.file, { text: bundle.text, bundle });
    uncache(bundle.home);
    uncache(bundle.file);
    watchedChange = true;
    return true;
  }

  /**
   * Bundles what the last program read now, rather than before the next cell; returns the module
   * bundles served (for the start-up snapshot's builder: seedModuleBundles).
   */
  function servedModuleBundles() {
    if (options?.bundleModules) bundleModules();
    return [...moduleBundles.values()];
  }

  /** The file `specifier` resolves to from `fromFile`, with the converter's cache. @param {string} specifier @param {string} fromFile */
  function resolvedFile(specifier, fromFile) {
    return ts.resolveModuleName(specifier, fromFile, compilerOptions, host, resolutionCache).resolvedModule
      ?.resolvedFileName;
  }

  /** The folder of the package.json nearest above `dir`, if any. @param {string} dir */
  function packageFolder(dir) {
    for (let d = dir; path.dirname(d) !== d; d = path.dirname(d))
      if (sys.fileExists(path.join(d, "package.json"))) return d;
    return null;
  }

  /** The real files' trees this converter holds (for the start-up snapshot: seedTrees). */
  function trees() {
    return [...fileCache.entries()];
  }

  function close() {
    program = null;
    declTree = null;
    fileCache.clear();
    for (const watch of folderWatches.values()) watch?.close();
    folderWatches.clear();
  }

  /**
   * Drops the trees of real files that changed since they were read (a dependency is emitted
   * again), and the module resolutions when a file changed or a lookup failed last time.
   */
  function refreshChangedFiles() {
    let changed = watchedChange;
    watchedChange = false;
    for (const fileName of checked) {
      const hit = fileCache.get(fileName);
      if (hit && hit.stamp !== stampOf(fileName)) {
        forget(fileName);
        changed = true;
      }
    }
    const roots = typeRootStamps();
    if (roots !== typeRootsSeen) {
      typeRootsSeen = roots;
      delete (/** @type {any} */ (compilerOptions).types);
      /** @type {any} */ (compilerOptions).types = ts.getAutomaticTypeDirectiveNames(compilerOptions, host);
      changed = true;
    }
    if (changed || resolutionFailed) {
      resolutionCache = ts.createModuleResolutionCache(cwd, (/** @type {string} */ f) => f, compilerOptions);
      typeReferenceCache = newTypeReferenceCache();
      resolvedModules = new Set();
      resolutionFailed = false;
    }
  }

  /** The program for these declarations and this cell source. @param {string} decls @param {string} src */
  function updateContent(decls, src) {
    declContent = decls;
    srcContent = src;
    const build = () => {
      refreshChangedFiles();
      program = ts.createProgram({
        rootNames: Array.from(rootFiles),
        options: compilerOptions,
        host,
        oldProgram: program ?? undefined,
      });
    };
    build();
    if (bypassedBundles.size > 0) {
      // A cell reached a bundled file by its path: that package is served as files from now on,
      // and this program is made again without its bundle.
      for (const home of bypassedBundles) {
        unbundled.add(home);
        dropModuleBundle(home);
      }
      bypassedBundles.clear();
      build();
    }
  }

  /**
   * The names a cell declares at its top level: the locals of its tree bound alone (the binder
   * works per file, so these are the locals tslab reads from the cell's tree in its program).
   * @param {string} src
   */
  function localNames(src) {
    const sf = ts.createSourceFile(
      srcFilename,
      srcPrefix + src,
      { languageVersion: transpileTarget },
      false,
      options?.isJS ? ts.ScriptKind.JS : ts.ScriptKind.TS,
    );
    ts.bindSourceFile(sf, compilerOptions);
    /** @type {Set<string>} */
    const keys = new Set();
    // The binder's keys are escaped names: `__x` is "___x" there. tslab exports the key as it
    // is, so a cell declaring `__x` fails with "Cannot find name '___x'"; here it is the name.
    sf.locals?.forEach((/** @type {unknown} */ _, /** @type {string} */ key) => {
      keys.add(ts.unescapeLeadingUnderscores(key));
    });
    cellTree = keys.size === 0 ? { text: srcPrefix + src, sf } : null;
    return keys;
  }

  /**
   * Whether a tree parsed with only a language version (localNames) is the one TypeScript would
   * parse with a program's options: the same version, no implied module format, and the same
   * module indicator (which the binder has used). The indicator is set as the program's parse
   * would set it, and put back when it differs.
   * @param {any} sf @param {any} parseOptions
   */
  function sameParseOptions(sf, parseOptions) {
    const o =
      parseOptions !== null && typeof parseOptions === "object" ? parseOptions : { languageVersion: parseOptions };
    if (sf.languageVersion !== o.languageVersion || o.impliedNodeFormat !== undefined) return false;
    if (!o.setExternalModuleIndicator) return true;
    const before = sf.externalModuleIndicator;
    o.setExternalModuleIndicator(sf);
    if (sf.externalModuleIndicator === before) return true;
    sf.externalModuleIndicator = before;
    return false;
  }

  /**
   * ts.getPreEmitDiagnosticsOfFiles(program, [srcFile, ...others]) but for srcFile's declaration
   * diagnostics, for a cell that declares nothing (it has none): the same diagnostics in the same
   * order, since both sort and deduplicate the whole set. @param {any} srcFile @param {any[]} others
   */
  function diagnosticsWithoutDeclarations(srcFile, others) {
    return ts.sortAndDeduplicateDiagnostics([
      ...ts.getPreEmitDiagnosticsOfFiles(program, others),
      ...program.getSyntacticDiagnostics(srcFile),
      ...program.getSemanticDiagnostics(srcFile),
    ]);
  }

  /**
   * Whether a cell's tree declares nothing its .d.ts would hold: `export {};` and statements of
   * NON_DECLARING_STATEMENTS only (its top-level names are checked apart). @param {any} sf
   */
  function declaresNothing(sf) {
    return sf.statements.every(
      (/** @type {any} */ stmt, /** @type {number} */ i) =>
        (i === 0 && isEmptyExport(stmt)) || NON_DECLARING_STATEMENTS.has(stmt.kind),
    );
  }

  /**
   * The declarations of the cell `result` was converted from, without those of earlier cells
   * its declOutput carries on; undefined for a result this converter did not compile.
   * @param {object} result @returns {string | undefined}
   */
  function cellDeclarations(result) {
    return ownDeclarations.get(result);
  }

  /**
   * Makes the declarations tree of the next cell's program ahead of that cell, from the
   * declarations it will most likely be compiled against (the last compiled cell's declOutput):
   * parsed, bound, and printed whole. A cell compiled after one that declared names otherwise
   * pays these first, for every earlier cell's declarations and the prelude's import of the
   * library's names. The kernel calls this on the next turn of its event loop once a cell's
   * reply and idle status have gone (kernel/main.js): the work falls while the student reads the
   * output, or in the ~1 ms a client that runs cells back to back takes to send the next one.
   *
   * The tree is the one getSourceFile would make: the same file name, text and parse options
   * (those of the last program's declarations), served, as any declTree, only to a program whose
   * declarations are this text with these options. Bound now, it is bound as the type checker
   * would bind it (the binder works per file, with the program's compiler options: localNames
   * relies on the same), and printed as remainingDecls prints a tree it leaves whole
   * (printedWhole); remainingDecls still decides, per cell, whether it is left whole.
   *
   * It also works out what a cell that declares no earlier name again keeps of the tree, which
   * remainingDecls keeps per tree. Each step is done once per tree: a tree a program took is
   * bound already, and the prints and what a cell keeps are kept per tree.
   * @param {string} decls
   */
  function prepare(decls) {
    if (declParseOptions === null) return;
    const sf = treeMadeFor(decls, declParseOptions) ?? parseDecls(srcPrefix + decls, declParseOptions);
    if (!sf.locals) ts.bindSourceFile(sf, compilerOptions);
    // What remainingDecls gives every cell that keeps each earlier declaration, declaring or not.
    printedWhole(sf);
    // What a cell that declares no earlier name again keeps of it, which remainingDecls works out
    // once per tree from the tree alone (no name of the cell to compare, so no type checker
    // asked). It keeps every statement a declaring cell could keep, so when the tree is whole for
    // any cell it is whole here, and takes the print above.
    remainingDecls(null, { locals: new Map() }, sf);
  }

  /**
   * Whether prepare has nothing to do for `decls`: their tree is made, bound and printed whole,
   * and what a cell that declares no earlier name again keeps of it is worked out.
   * @param {string} decls
   */
  function isPrepared(decls) {
    if (declParseOptions === null) return true;
    const sf = treeMadeFor(decls, declParseOptions);
    return sf !== null && Boolean(sf.locals) && printedDecls.has(sf) && declsBesideNewNames.has(sf);
  }

  /**
   * The declarations' tree (declTree) when it is the one for `decls` parsed with `parseOptions`
   * (what getSourceFile serves), or null. @param {string} decls @param {any} parseOptions
   */
  function treeMadeFor(decls, parseOptions) {
    return declTree?.text === srcPrefix + decls && declTree.languageVersion === languageKey(parseOptions)
      ? declTree.sf
      : null;
  }

  /** @param {string} prevDecl @param {string} src */
  function convert(prevDecl, src) {
    const seeded = seededResult(prevDecl, src);
    compiled++;
    if (seeded) return seeded;
    if (options?.bundleModules && program.getSourceFiles().length !== filesLookedAt) bundleModules();
    const keys = localNames(src);
    // Export all local variables.
    updateContent(prevDecl, keys.size > 0 ? src + "\nexport {" + Array.from(keys).join(", ") + "}" : src);
    const declsFile = program.getSourceFile(declFilename);
    const srcFile = program.getSourceFile(srcFilename);
    asMutable(srcFile).parent = declsFile;
    const deps = getAllSrcDependencies(srcFile);
    const others = deps.filter((d) => d !== srcFile.fileName).map((d) => program.getSourceFile(d));
    // No declarations to emit or check in a cell that declares nothing (see the header).
    const onlyJs = keys.size === 0 && ts.getEmitDeclarations(compilerOptions) && declaresNothing(srcFile);
    const diag = convertDiagnostics(
      onlyJs
        ? diagnosticsWithoutDeclarations(srcFile, others)
        : ts.getPreEmitDiagnosticsOfFiles(program, [srcFile, ...others]),
    );
    if (diag.diagnostics.length > 0) {
      return { diagnostics: diag.diagnostics };
    }
    /** @type {string | undefined} */
    let output;
    /** @type {string | undefined} */
    let declOutput;
    /** @type {string | undefined} */
    let lastExpressionVar;
    /** @type {Array<{ path: string, data: string }> | undefined} */
    let sideOutputs;
    for (const dep of deps) {
      if (sideInputsConverted.has(dep)) continue;
      if (dep !== srcFilename) sideInputsConverted.add(dep);
      const file = program.getSourceFile(dep);
      const direct = emitsCommonJS(file);
      const toCommonJS = (/** @type {string} */ js) => (direct ? js : esModuleToCommonJSModule(js, transpileTarget));
      // The cell's .d.ts, when it declares nothing, is empty: what its emit would write.
      const jsAlone = onlyJs && dep === srcFilename;
      if (jsAlone) declOutput = "";
      program.emit(
        file,
        (/** @type {string} */ fileName, /** @type {string} */ data) => {
          if (fileName === dstFilename) {
            output = toCommonJS(data);
            return;
          }
          if (fileName === dstDeclFilename) {
            declOutput = data;
            return;
          }
          if (!fileName.endsWith(".js")) return;
          const rel = path.relative(outDir, fileName);
          if (rel.startsWith("..")) throw new Error("unexpected emit path: " + fileName);
          sideOutputs ??= [];
          sideOutputs.push({ path: normalizeJoin(cwd, rel), data: toCommonJS(data) });
        },
        undefined,
        jsAlone ? EMIT_ONLY_JS : undefined,
        getCustomTransformers(
          program.getTypeChecker(),
          declsFile,
          keys,
          (/** @type {string} */ name) => {
            lastExpressionVar = name;
          },
          direct,
        ),
      );
    }
    sideOutputs?.sort((a, b) => a.path.localeCompare(b.path));
    if (moduleBundles.size > 0 && declOutput) declOutput = withoutBundleReferences(declOutput);
    const cellDeclOutput = declOutput;
    declOutput += remainingDecls(program.getTypeChecker(), srcFile, declsFile);
    const result = {
      output,
      declOutput,
      diagnostics: diag.diagnostics,
      hasToplevelAwait: diag.hasToplevelAwait,
      sideOutputs,
      lastExpressionVar,
    };
    ownDeclarations.set(result, cellDeclOutput);
    return result;
  }

  /**
   * Whether the program's emit gives `sourceFile`'s CommonJS itself, with TypeScript's CommonJS
   * module transformer after ours, rather than tslab's way: ES module output, then
   * ts.transpileModule to CommonJS. The two give the same text (the converter test compares
   * them with tslab's), except for a top-level enum or namespace, whose export the one-step emit
   * places after the object's initializer and tslab's before it; those files go tslab's way.
   * The second way builds a second program and type checker per cell: ~1 ms of a cell's ~5.
   * @param {any} sourceFile
   */
  function emitsCommonJS(sourceFile) {
    return !sourceFile.statements.some((/** @type {any} */ s) => ts.isEnumDeclaration(s) || ts.isModuleDeclaration(s));
  }

  /**
   * The .ts and .js files `sourceFile` depends on (itself included): its imports, `/// <reference
   * path>` files and type references, transitively, as tslab's builder finds them.
   * @param {any} sourceFile
   * @returns {string[]}
   */
  function getAllSrcDependencies(sourceFile) {
    const seen = new Set([sourceFile.fileName]);
    const order = [sourceFile.fileName];
    const queue = [sourceFile];
    /** @param {string | undefined} fileName */
    const visit = (fileName) => {
      if (!fileName || seen.has(fileName)) return;
      const sf = program.getSourceFile(fileName);
      if (!sf) return;
      seen.add(fileName);
      order.push(fileName);
      queue.push(sf);
    };
    while (queue.length) {
      const sf = queue.pop();
      for (const name of sf.imports ?? []) {
        const mode = ts.getModeForUsageLocation(sf, name);
        visit(ts.getResolvedModule(sf, name.text, mode)?.resolvedFileName);
      }
      for (const ref of sf.referencedFiles ?? []) {
        visit(ts.resolveTripleslashReference(ref.fileName, sf.fileName));
      }
      for (const ref of sf.typeReferenceDirectives ?? []) {
        const mode = ref.resolutionMode ?? sf.impliedNodeFormat;
        visit(sf.resolvedTypeReferenceDirectiveNames?.get(ref.fileName, mode)?.resolvedFileName);
      }
    }
    return order.filter((dep) => dep.endsWith(".js") || (dep.endsWith(".ts") && !dep.endsWith(".d.ts")));
  }

  function getTypeRoots() {
    // If @types/node is not in the default type roots, tslab's own node_modules/@types (bug#10).
    const typeRoots = ts.getDefaultTypeRoots(cwd, { directoryExists: sys.directoryExists }) || [];
    for (const root of typeRoots) {
      if (ts.sys.fileExists(normalizeJoin(root, "node", "package.json"))) return typeRoots;
    }
    typeRoots.push(normalizeJoin(tslabDir, "node_modules", "@types"));
    return typeRoots;
  }

  /** @param {string} prevDecl @param {string} src @param {number} position */
  function inspect(prevDecl, src, position) {
    updateContent(prevDecl, src);
    // The checker binds the trees (and so sets their parent pointers) before the services walk them.
    const checker = program.getTypeChecker();
    const declsFile = program.getSourceFile(declFilename);
    const srcFile = program.getSourceFile(srcFilename);
    asMutable(srcFile).parent = declsFile;
    const quickInfoAt = (/** @type {number} */ pos) => {
      restoreDocsFor(checker, checker.getSymbolAtLocation(ts.getTouchingPropertyName(srcFile, pos)));
      return ts.getQuickInfoAtPosition(srcFile, checker, cancellationToken, pos);
    };
    const pos = position + srcPrefix.length;
    let info = quickInfoAt(pos);
    if (!info) {
      const callee = calleeAround(srcFile, pos);
      if (callee) info = quickInfoAt(callee.getStart(srcFile));
    }
    if (info?.textSpan) info.textSpan.start -= srcPrefix.length;
    return info;
  }

  /**
   * With nothing to describe at the cursor (just after "(", a comma, a space, a number), the
   * function whose parentheses hold it, as IPython's inspect does: `shmat(|` and
   * `shmget(IPC_PRIVATE, 4096, |` describe shmat and shmget. The innermost call wins; its name
   * (`f`, or `b` of `a.b`), or undefined outside any call's parentheses.
   * @param {any} srcFile @param {number} pos
   */
  function calleeAround(srcFile, pos) {
    // The token before the cursor: at `shmat(|` the one at it is the end of the file.
    const start = ts.findPrecedingToken(pos, srcFile) ?? ts.getTokenAtPosition(srcFile, pos);
    for (let node = start; node; node = node.parent) {
      if (!ts.isCallOrNewExpression(node) || !node.arguments) continue;
      // Still unclosed (the student is typing its arguments), the parentheses run to the cursor.
      const closed = srcFile.text[node.end - 1] === ")";
      if (pos < node.arguments.pos || (closed && pos > node.arguments.end)) continue;
      const callee = node.expression;
      if (ts.isIdentifier(callee)) return callee;
      if (ts.isPropertyAccessExpression(callee)) return callee.name;
      return undefined;
    }
    return undefined;
  }

  /**
   * Before any documentation of `symbol` is read (TypeScript caches it on the symbol): puts back
   * the documentation comments stripJsDoc took from the statements declaring it, and from those
   * declaring what it may take its documentation from: a class or interface member without its
   * own (or with `@inheritDoc`) takes its base types' member's, found as TypeScript's
   * findBaseOfDeclaration finds it, up the chain. Done for every member of a class or interface
   * with base types, documented or not: more than TypeScript reads, never less.
   * @param {any} checker @param {any} symbol @param {Set<any>} [seen]
   */
  function restoreDocsFor(checker, symbol, seen = new Set()) {
    if (!symbol || seen.has(symbol)) return;
    seen.add(symbol);
    /** @type {any[]} */
    const decls = [...(symbol.declarations ?? [])];
    if (symbol.flags & ts.SymbolFlags.Alias) decls.push(...(checker.getAliasedSymbol(symbol).declarations ?? []));
    for (const d of decls) restoreJsDocAround(d);
    for (const d of decls) {
      const holder = d.parent?.kind === ts.SyntaxKind.Constructor ? d.parent.parent : d.parent;
      if (!holder || !d.symbol) continue;
      for (const superTypeNode of ts.getAllSuperTypeNodes(holder)) {
        const baseType = checker.getTypeAtLocation(superTypeNode);
        const type = ts.hasStaticModifier(d) && baseType.symbol ? checker.getTypeOfSymbol(baseType.symbol) : baseType;
        restoreDocsFor(checker, checker.getPropertyOfType(type, d.symbol.name), seen);
      }
    }
  }

  /** @param {string} prevDecl @param {string} src @param {number} position */
  function complete(prevDecl, src, position) {
    updateContent(prevDecl, src);
    program.getTypeChecker();
    const declsFile = program.getSourceFile(declFilename);
    const srcFile = program.getSourceFile(srcFilename);
    asMutable(srcFile).parent = declsFile;
    const pos = position + srcPrefix.length;
    const info = ts.Completions.getCompletionsAtPositionForTslab(
      {},
      program,
      () => {},
      srcFile,
      pos,
      {},
      undefined,
      ts.CompletionTriggerKind.Invoked,
      cancellationToken,
    );
    if (info?.optionalReplacementSpan) info.optionalReplacementSpan.start -= srcPrefix.length;
    const prev = ts.findPrecedingToken(pos, srcFile);
    // findPrecedingToken may return a token ending after pos; node.pos is not node.getStart().
    if (prev && ts.isIdentifier(prev) && prev.end >= pos) return completionWithId(info, prev, srcFile);
    const next = prev ? ts.findNextToken(prev, srcFile, srcFile) : null;
    if (next && ts.isIdentifier(next) && next.getStart(srcFile) <= pos && pos <= next.end) {
      return completionWithId(info, next, srcFile);
    }
    const entries = info?.entries ? info.entries.slice() : [];
    entries.sort((/** @type {any} */ a, /** @type {any} */ b) => {
      const ord = a.sortText.localeCompare(b.sortText);
      return ord !== 0 ? ord : a.name.localeCompare(b.name);
    });
    return {
      start: pos - srcPrefix.length,
      end: pos - srcPrefix.length,
      candidates: entries.map((/** @type {any} */ e) => e.name),
      original: info,
    };
  }

  /** @param {any} info @param {any} id @param {any} srcFile */
  function completionWithId(info, id, srcFile) {
    const name = id.escapedText.toString();
    const lower = name.toLowerCase();
    const entries = info ? info.entries : [];
    const candidates = entries
      .map((/** @type {any} */ e, /** @type {number} */ index) => {
        const key = (() => {
          if (e.name.startsWith(name)) return "0";
          const lname = e.name.toLowerCase();
          if (lname.startsWith(lower)) return "1";
          if (lname.indexOf(lower) >= 0) return "2";
          return "";
        })();
        if (key === "") return null;
        return { name: e.name, sortKey: key + e.sortText, index };
      })
      .filter((/** @type {any} */ e) => !!e);
    // Sort stably by the original index.
    candidates.sort((/** @type {any} */ a, /** @type {any} */ b) => {
      const ord = a.sortKey.localeCompare(b.sortKey);
      return ord !== 0 ? ord : a.index - b.index;
    });
    return {
      start: id.getStart(srcFile) - srcPrefix.length,
      end: id.end - srcPrefix.length,
      candidates: candidates.map((/** @type {any} */ e) => e.name),
      original: info,
    };
  }

  /**
   * The declarations of earlier cells that this cell does not redeclare, printed. Worked out once
   * per tree for every cell that redeclares none of them: remainingDeclsOf reads the cell only
   * through its locals of the tree's names (and the checker only for those), so for such a cell
   * it gives what it gives a cell with no names at all. A notebook's cells mostly declare new
   * names, and a cell after one that declared nothing, or after prepare (which the kernel runs
   * right after each reply), finds the result made.
   * @param {any} checker @param {any} srcSF @param {any} declsSF
   */
  function remainingDecls(checker, srcSF, declsSF) {
    if (redeclaresAny(srcSF.locals, declsSF.locals)) return remainingDeclsOf(checker, srcSF, declsSF);
    let printed = declsBesideNewNames.get(declsSF);
    if (printed === undefined) {
      printed = remainingDeclsOf(checker, srcSF, declsSF);
      declsBesideNewNames.set(declsSF, printed);
    }
    return printed;
  }

  /**
   * Whether a cell's top-level names include one of the earlier declarations'.
   * @param {Map<string, any> | undefined} locals @param {Map<string, any>} declLocals
   */
  function redeclaresAny(locals, declLocals) {
    if (!locals) return false;
    for (const key of locals.keys()) if (declLocals.has(key)) return true;
    return false;
  }

  /** remainingDecls, worked out. @param {any} checker @param {any} srcSF @param {any} declsSF */
  function remainingDeclsOf(checker, srcSF, declsSF) {
    // Counted while TypeScript's performance log is on (the tests: how often it is worked out).
    ts.performance.mark("beforeRemainingDecls");
    const declLocals = declsSF.locals;
    const locals = srcSF.locals;
    /** @type {Map<any, Set<string>>} */
    const keepMap = new Map();
    /** @param {any} node @param {string} name */
    function addName(node, name) {
      let set = keepMap.get(node);
      if (!set) {
        set = new Set();
        keepMap.set(node, set);
      }
      set.add(name);
    }
    const valueNames = new Set();
    const anyVars = new Set();
    declLocals.forEach((/** @type {any} */ sym, /** @type {string} */ key) => {
      const keep = checkKeepDeclType(checker, locals.get(key));
      if (!keep.type && !keep.value) return;
      sym.declarations.forEach((/** @type {any} */ decl) => {
        let node = decl;
        while (node.parent !== declsSF) node = node.parent;
        if (node.kind === ts.SyntaxKind.VariableStatement) {
          if (keep.value) {
            addName(node, key);
            if (anyVars.has(key)) anyVars.delete(key);
            valueNames.add(key);
          }
          return;
        }
        if (ts.isTypeAliasDeclaration(node)) {
          if (keep.type) addName(node, key);
          return;
        }
        if (ts.isClassDeclaration(node) || ts.isEnumDeclaration(node)) {
          if (keep.type) {
            if (keep.value) addName(node, key);
            // If !keep.value, forget this class.
            return;
          }
          // keep.value === true
          if (!valueNames.has(node.name.escapedText)) anyVars.add(node.name.escapedText);
          return;
        }
        if (ts.isImportDeclaration(node)) {
          if (keep.type && keep.value) {
            addName(node, key);
            return;
          }
          const aliased = checker.getAliasedSymbol(sym);
          if (!keep.value) {
            // Here, keep.type == true.
            if (aliased.flags & ts.SymbolFlags.Value) return; // Overwritten with a new value.
            // tslab's test (`&&`, not `&`): kept as is so the declarations stay tslab's.
            if (aliased.flags && ts.SymbolFlags.Type) addName(node, key);
            return;
          }
          // Here, keep.value == true and keep.type == false.
          if (aliased.flags & ts.SymbolFlags.Type) {
            // Overwritten with a new type.
            if (aliased.flags & ts.SymbolFlags.Value && !valueNames.has(aliased.escapedName)) {
              anyVars.add(aliased.escapedName);
            }
            return;
          }
          addName(node, key);
          return;
        }
        if (ts.isFunctionDeclaration(node)) {
          if (keep.value) addName(node, key);
          return;
        }
        if (ts.isInterfaceDeclaration(node)) {
          if (keep.type) addName(node, key);
        }
      });
    });
    /** @type {any[]} */
    const statements = [];
    /** Whether a whole statement was left out (a redeclared function, class, ...). */
    let dropped = false;
    /** The statements that lost some of their names (their trees are changed in place). @type {Set<any>} */
    const trimmed = new Set();
    declsSF.statements.forEach((/** @type {any} */ stmt) => {
      const names = keepMap.get(stmt);
      // `export {};` (the prefix, and every cell's own .d.ts starts with one) declares nothing:
      // left out of the printed declarations as always, but no change to the tree, which can
      // then serve the next cell (whose declarations are most often the same text).
      if (!names && isEmptyExport(stmt)) return;
      if (!names) {
        dropped = true;
        return;
      }
      statements.push(stmt);
      if (keepsAllNames(stmt, names)) return; // the statement stays as it is
      trimmed.add(stmt);
      if (ts.isVariableStatement(stmt)) {
        /** @type {any[]} */
        const decls = [];
        stmt.declarationList.declarations.forEach((/** @type {any} */ decl) => {
          if (!ts.isIdentifier(decl.name)) return; // This must not happen.
          if (!names.has(decl.name.escapedText)) return;
          decls.push(decl);
        });
        asMutable(stmt.declarationList).declarations = ts.factory.createNodeArray(decls);
      }
      if (ts.isImportDeclaration(stmt)) keepNamesInImport(stmt, names);
    });
    /** @type {string[]} */
    const anyVarsDecls = [];
    anyVars.forEach((name) => {
      anyVarsDecls.push(`let ${name}: any;\n`);
    });
    if (!dropped && trimmed.size === 0) return printedWhole(declsSF) + anyVarsDecls.join("");
    const printed = declPrinter.printStatements(declsSF, statements, trimmed);
    // A tree whose statements lost names no longer matches its text: never reuse it (nor parse
    // from it). One that lost only whole statements stays as it was parsed: a cell run again (it
    // redeclares its function) finds its declarations as the same text, and the same tree.
    if (trimmed.size > 0 && declTree?.sf === declsSF) declTree = null;
    return printed + anyVarsDecls.join("");
  }

  /**
   * A declarations tree printed whole, as remainingDecls gives it when a cell keeps every
   * declaration: its statements but `export {};`. It prints the same every time: once per tree.
   * @param {any} declsSF
   */
  function printedWhole(declsSF) {
    const cached = printedDecls.get(declsSF);
    if (cached !== undefined) return cached;
    const printed = declPrinter.printStatements(
      declsSF,
      declsSF.statements.filter((/** @type {any} */ stmt) => !isEmptyExport(stmt)),
    );
    printedDecls.set(declsSF, printed);
    return printed;
  }

  /** `export {};`: an export declaration without names or a module. @param {any} stmt */
  function isEmptyExport(stmt) {
    return (
      ts.isExportDeclaration(stmt) &&
      !stmt.moduleSpecifier &&
      !stmt.isTypeOnly &&
      stmt.exportClause !== undefined &&
      ts.isNamedExports(stmt.exportClause) &&
      stmt.exportClause.elements.length === 0
    );
  }

  /**
   * Whether a statement keeps every name it declares (remainingDecls then rewrites it to itself).
   * @param {any} stmt @param {Set<string>} names
   */
  function keepsAllNames(stmt, names) {
    /** @type {string[]} */
    const declared = [];
    if (ts.isVariableStatement(stmt)) {
      for (const decl of stmt.declarationList.declarations) {
        if (!ts.isIdentifier(decl.name)) return false;
        declared.push(decl.name.escapedText);
      }
    } else if (ts.isImportDeclaration(stmt)) {
      const clause = stmt.importClause;
      if (!clause) return false;
      if (clause.name) declared.push(clause.name.escapedText);
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) declared.push(bindings.name.escapedText);
      else if (bindings) for (const elm of bindings.elements) declared.push(elm.name.escapedText);
    } else {
      return true;
    }
    return declared.every((name) => names.has(name));
  }

  /** @param {any} checker @param {any} symb */
  function checkKeepDeclType(checker, symb) {
    const ret = { value: true, type: true };
    if (!symb) return ret;
    if (symb.flags & ts.SymbolFlags.Alias) symb = checker.getAliasedSymbol(symb);
    if (symb.flags & ts.SymbolFlags.Value) ret.value = false;
    if (symb.flags & ts.SymbolFlags.Type) ret.type = false;
    return ret;
  }

  /** Whether `d` is a top-level await (tslab allows them, #16). @param {any} srcFile @param {any} d */
  function isTopLevelAwaitDiagnostic(srcFile, d) {
    // await_expression_is_only_allowed_within_an_async_function_1308
    if (d.code !== 1308 || srcFile == null) return false;
    const awaitToken = ts.findPrecedingToken(d.start + d.length, srcFile);
    if (awaitToken.kind !== ts.SyntaxKind.AwaitKeyword) return false;
    let parent = awaitToken.parent;
    while (parent && parent !== srcFile) {
      switch (parent.kind) {
        case ts.SyntaxKind.ArrowFunction:
        case ts.SyntaxKind.FunctionExpression:
        case ts.SyntaxKind.FunctionDeclaration:
        case ts.SyntaxKind.ClassDeclaration:
        case ts.SyntaxKind.ModuleDeclaration:
          // await is not top-level. This is invalid in tslab.
          return false;
      }
      parent = parent.parent;
    }
    return true;
  }

  /** @param {string} fileName @param {number} offset */
  function adjustSrcFileOffset(fileName, offset) {
    const lineChar = ts.getLineAndCharacterOfPosition(program.getSourceFile(fileName), offset);
    const pos = { offset, line: lineChar.line, character: lineChar.character };
    if (fileName === srcFilename || virtualFiles.has(fileName)) {
      pos.offset -= srcPrefixOffsets.offset;
      pos.line -= srcPrefixOffsets.line;
      pos.character -= srcPrefixOffsets.char;
    }
    return pos;
  }

  /** @param {readonly any[]} input */
  function convertDiagnostics(input) {
    let hasToplevelAwait = false;
    /** @type {any[]} */
    const diagnostics = [];
    const srcFile = program.getSourceFile(srcFilename);
    for (const d of input) {
      if (!d.file) continue;
      if (d.file.fileName === srcFilename && isTopLevelAwaitDiagnostic(srcFile, d)) {
        hasToplevelAwait = true;
        continue;
      }
      let fileName;
      if (d.file.fileName !== srcFilename) {
        const rel = path.relative(cwd, d.file.fileName);
        if (rel.startsWith("..")) continue;
        fileName = rel;
      }
      const start = adjustSrcFileOffset(d.file.fileName, d.start);
      const end = adjustSrcFileOffset(d.file.fileName, d.start + d.length);
      if (typeof d.messageText === "string") {
        diagnostics.push({
          start,
          end,
          messageText: modulePaths(d.messageText.toString()),
          category: d.category,
          code: d.code,
          fileName,
        });
        continue;
      }
      traverseDiagnosticMessageChain(start, end, d.messageText, diagnostics, fileName);
    }
    return { diagnostics, hasToplevelAwait };
  }

  /** A message as TypeScript prints it with the bundled packages as files (restoreModulePaths). @param {string} message */
  function modulePaths(message) {
    return moduleBundles.size > 0
      ? restoreModulePaths(message, moduleBundles.values(), (text) => ts.escapeNonAsciiString(text, QUOTE))
      : message;
  }

  /** @param {any} start @param {any} end @param {any} msg @param {any[]} out @param {string | undefined} [fileName] */
  function traverseDiagnosticMessageChain(start, end, msg, out, fileName) {
    out.push({
      start,
      end,
      messageText: modulePaths(msg.messageText),
      category: msg.category,
      code: msg.code,
      fileName,
    });
    if (!msg.next) return;
    // tslab passes no file name to the chain's children: kept, so the messages stay tslab's.
    for (const child of msg.next) traverseDiagnosticMessageChain(start, end, child, out);
  }

  /**
   * @param {any} checker @param {any} declsFile
   * @param {Set<string>} locals names of declared variables
   * @param {(name: string) => void} setLastExprName stores the created name
   * @param {boolean} commonJS whether the emit also turns the module into CommonJS (emitsCommonJS)
   */
  function getCustomTransformers(checker, declsFile, locals, setLastExprName, commonJS) {
    const nullTransformationContext = ts.getNullTransformationContext();
    // ts.transformModule is TypeScript's CommonJS module transformer (the program's own module
    // kind, ESNext, picks the ES one): after ours, it turns the ES module into CommonJS.
    return { after: commonJS ? [after, ts.transformModule] : [after], afterDeclarations: [afterDeclarations] };
    function createLastExprVar() {
      const prefix = "tsLastExpr";
      if (!locals.has(prefix)) return prefix;
      for (let i = 0; ; i++) {
        const name = `${prefix}${i}`;
        if (!locals.has(name)) return name;
      }
    }
    /** Wraps identifiers of earlier cells' variables with exports. @param {any} node @returns {any} */
    function wrapPrevIdentifier(node) {
      if (!ts.isIdentifier(node)) return ts.visitEachChild(node, wrapPrevIdentifier, nullTransformationContext);
      if (node.parent && ts.isPropertyAccessExpression(node.parent) && node.parent.name === node) return node;
      let prev = false;
      for (const decl of checker.getSymbolAtLocation(node)?.declarations ?? []) {
        if (decl.getSourceFile() === declsFile) {
          prev = true;
          break;
        }
      }
      if (!prev) return node;
      return ts.factory.createPropertyAccessExpression(ts.factory.createIdentifier("exports"), node);
    }
    function after() {
      // Stores the last expression in a variable.
      return (/** @type {any} */ node) => {
        node = ts.visitEachChild(node, wrapPrevIdentifier, nullTransformationContext);
        for (let i = node.statements.length - 1; i >= 0; i--) {
          const stmt = node.statements[i];
          if (ts.isExportDeclaration(stmt)) continue;
          if (!ts.isExpressionStatement(stmt)) break;
          const lastName = createLastExprVar();
          const statements = node.statements.slice(0, i);
          statements.push(
            ts.factory.createVariableStatement(
              [ts.factory.createModifier(ts.SyntaxKind.ExportKeyword)],
              ts.factory.createVariableDeclarationList(
                [ts.factory.createVariableDeclaration(lastName, undefined, undefined, stmt.expression)],
                ts.NodeFlags.Const,
              ),
            ),
          );
          setLastExprName(lastName);
          statements.push(...node.statements.slice(i + 1));
          asMutable(node).statements = ts.factory.createNodeArray(statements);
          break;
        }
        return node;
      };
    }
    function afterDeclarations() {
      // Deletes every `export { ... }`.
      return (/** @type {any} */ node) => {
        asMutable(node).statements = ts.factory.createNodeArray(
          node.statements.filter((/** @type {any} */ stmt) => !ts.isExportDeclaration(stmt)),
        );
        return node;
      };
    }
  }

  /** @param {string} name @param {{ jsx?: boolean } | undefined} meta */
  function getModuleFilePath(name, meta) {
    if (!isValidModuleName(name)) throw new Error("invalid module name: " + JSON.stringify(name));
    let ext = options?.isJS ? ".js" : ".ts";
    if (meta?.jsx) ext += "x";
    return normalizeJoin(cwd, name + ext);
  }

  /** A `//@module` cell: its source becomes a module the next cells can import. @param {string} name @param {string} content @param {any} meta */
  function addModule(name, content, meta) {
    const p = getModuleFilePath(name, meta);
    virtualFiles.set(p, srcPrefix + content);
    sideInputsConverted.delete(p);
    rootFiles.add(p);
    updateContent(declContent, srcContent);
    const file = program.getSourceFile(p);
    return convertDiagnostics(ts.getPreEmitDiagnostics(program, file)).diagnostics;
  }
}

/** What a tree's parse depends on besides its text. @param {any} languageVersionOrOptions */
function languageKey(languageVersionOrOptions) {
  if (typeof languageVersionOrOptions !== "object" || languageVersionOrOptions === null)
    return String(languageVersionOrOptions);
  const o = languageVersionOrOptions;
  return `${o.languageVersion}:${o.impliedNodeFormat}:${o.setExternalModuleIndicator ? "s" : ""}`;
}

/** tslab's path forwarding: `<cwd>/node_modules/tslab/**` is tslab's own package. @param {string} cwd @param {string} p */
function forwardTslabPath(cwd, p) {
  const rel = path.relative(normalizeJoin(cwd, "node_modules", "tslab"), p);
  if (rel.startsWith("..")) return p;
  return normalizeJoin(tslabDir, rel);
}

module.exports = {
  createConverter,
  seedTrees,
  seedCompiledCell,
  seedModuleBundles,
  seedResolutions,
  seedsTaken,
  stripJsDoc,
  treeSources,
  ts,
};
