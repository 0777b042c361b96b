// @ts-check
// A package's declaration modules served as one file: the library's 53 .d.ts, undici-types' 37
// (which @types/node reaches for its fetch types). Each file of a program costs every program and
// every type checker of a cell its own path work, lookups and merges, whatever it declares: with
// both packages bundled a cell's program has 17 files instead of 103, and a `1+1` cell compiles
// in 1.21 ms instead of 1.44 in one process.
//
// Who bundles what (kernel/converter.js, `bundleModules`): a converter bundles a package of two
// or more modules its last program read, before the next cell, when the package's name resolves
// from the notebook's folder to its types entry (so a cell could reach its modules by name before
// as well). The start-up snapshot's builder does so for the library and undici-types, whose
// names kernel/resolve.js makes resolve from every folder, and compiles the prelude against the
// bundles, so a kernel holds the bundles' trees instead of the 90 files'. Never bundled: the
// notebook folder's own files and the cells'. A cell that reaches a bundled file by its path
// (`./node_modules/x/a`) gets that package's files back, from that cell on; a change to one of
// its files drops the bundle until the next cell makes it anew.
//
// The package's types entry (dist/index.d.ts) stays a file module of its own, served with its
// relative specifiers rewritten and a `/// <reference path>` to the bundle: a virtual file beside
// it holding the package's other module files, each as an ambient module named by the specifier
// that reaches the file from outside the package (`tslab-ipc/dist/sys/region` for
// dist/sys/region.d.ts), with the file's text as it is but for its relative specifiers, which
// become the names of their targets. The type checker looks a module name up among ambient
// modules before it takes the file the name resolved to, so those names resolve to no file
// (kernel/converter.js) and find their ambient module.
// Invariants (what makes a cell see the same declarations and the same messages):
// - A .d.ts module file and the body of `declare module "x" { }` read the same: both are ambient
//   contexts, and in both a declaration without `export` is the module's own unless the body
//   has no export declaration or assignment, in which case everything is exported (the binder's
//   setExportContextFlag); the text is the file's own, so the same rule gives the same exports.
// - A module's name is the specifier an import from outside reaches it by, so a cell reaches the
//   same modules by the same names (and TypeScript writes those names where a cell's carried-over
//   declarations refer to a type it does not import), and no other.
// - Where TypeScript prints a module in a message, it prints a file module by its path and an
//   ambient one by its name: `restoreModulePaths` writes the path back, so a message reads as it
//   did with the files. The entry stays a file, so `typeof import("<path>/dist/index")` is the
//   entry's own.
// - Where a cell's carried-over declarations name a bundled module (`import("tslab-ipc/dist/x")`),
//   TypeScript also writes a `/// <reference types>` to the file that declares it, which the file
//   module needs not: `withoutBundleReferences` takes it out, so they are the files' declarations.
// - Packages where this would not hold stay files: a module augmentation (`declare module` or
//   `declare global` in a module), `export as namespace`, a `/// <reference path>`, a relative
//   specifier that does not resolve to a module file of the same package.

const path = require("path");

/** The bundle's first line: the files it stands for (its entry among them) and their stamps, as JSON. */
const MODULE_BUNDLE_MARKER = "// tslab-ipc: a package's declaration modules in one, as ambient modules: ";

/**
 * @typedef {object} ModuleBundle
 * @property {string} pkgName the package's name (what a cell imports)
 * @property {string} home the package's types entry, served as `homeText`
 * @property {string} homeText
 * @property {string} file the bundle's (virtual) file, beside the entry, served as `text`
 * @property {string} text
 * @property {Array<[string, string]>} files the real files it stands for, with their stamps
 * @property {Map<string, string>} paths each ambient module's name, to the path TypeScript
 *   names the file module by (its file name without `.d.ts`)
 */

/**
 * The bundle of the package at `pkgDir` (named `pkgName`, types entry `entry`) made of `files`
 * (the program's trees of its module .d.ts, the entry among them), or null where it would not
 * read the same (see the header).
 * @param {any} ts the kernel's TypeScript
 * @param {{ pkgDir: string, pkgName: string, entry: string, files: any[] }} pkg
 * @param {(specifier: string, fromFile: string) => string | undefined} resolve the file a specifier resolves to
 * @param {(fileName: string) => string} stampOf
 * @returns {ModuleBundle | null}
 */
function moduleBundle(ts, { pkgDir, pkgName, entry, files }, resolve, stampOf) {
  const home = files.find((f) => f.fileName === entry);
  if (files.length < 2 || !home) return null;
  /** @type {Map<string, string>} */
  const nameOf = new Map();
  for (const f of files) {
    if (!f.isDeclarationFile || !ts.isExternalModule(f) || f.referencedFiles.length > 0) return null;
    const rel = path.relative(pkgDir, f.fileName).replace(/(\/index)?\.d\.ts$/, "");
    nameOf.set(f.fileName, f === home ? pkgName : `${pkgName}/${rel}`);
  }
  /** @type {string[]} */
  const directives = [];
  /** @type {string[]} */
  const modules = [];
  /** @type {string | null} */
  let homeText = null;
  for (const f of [home, ...files.filter((f) => f !== home)]) {
    const text = withSpecifiersNamed(ts, f, (specifier) => {
      const target = resolve(specifier, f.fileName);
      return target === entry ? undefined : target && nameOf.get(target);
    });
    if (text === null) return null;
    if (f === home) {
      homeText = text;
      continue;
    }
    for (const r of f.typeReferenceDirectives) directives.push(`/// <reference types="${r.fileName}" />`);
    for (const r of f.libReferenceDirectives) directives.push(`/// <reference lib="${r.fileName}" />`);
    modules.push(`declare module "${nameOf.get(f.fileName)}" {\n${text}\n}`);
  }
  /** @type {Array<[string, string]>} */
  const stamped = files.map((f) => [f.fileName, stampOf(f.fileName)]);
  const file = entry.replace(/\.d\.ts$/, ".tslab-ipc-modules.d.ts");
  return {
    pkgName,
    home: entry,
    homeText: `/// <reference path="./${path.basename(file)}" />\n${homeText}`,
    file,
    text: `${MODULE_BUNDLE_MARKER}${JSON.stringify(stamped)}\n${[...new Set(directives)].join("\n")}\n${modules.join("\n")}\n`,
    files: stamped,
    paths: new Map([...nameOf].filter(([f]) => f !== entry).map(([f, name]) => [name, f.replace(/\.d\.ts$/, "")])),
  };
}

/**
 * `f`'s text with each relative specifier replaced by the name `nameOf` gives its target; null
 * when one has none, or `f` holds what a module bundle cannot (see the header).
 * @param {any} ts @param {any} f @param {(specifier: string) => string | undefined} nameOf
 * @returns {string | null}
 */
function withSpecifiersNamed(ts, f, nameOf) {
  /** @type {Array<[number, number, string]>} */
  const edits = [];
  let ok = true;
  const specifier = (/** @type {any} */ node) => {
    if (!node || !ts.isStringLiteral(node) || !ts.isExternalModuleNameRelative(node.text)) return;
    const name = nameOf(node.text);
    if (name) edits.push([node.getStart(f) + 1, node.end - 1, name]);
    else ok = false;
  };
  const visit = (/** @type {any} */ node) => {
    if (!ok) return;
    if (ts.isModuleDeclaration(node) && (ts.isStringLiteral(node.name) || node.flags & ts.NodeFlags.GlobalAugmentation))
      ok = false;
    else if (ts.isNamespaceExportDeclaration(node)) ok = false;
    else if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) specifier(node.moduleSpecifier);
    else if (ts.isExternalModuleReference(node)) specifier(node.expression);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) specifier(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(f);
  if (!ok) return null;
  let text = f.text;
  for (const [start, end, name] of edits.sort((a, b) => b[0] - a[0]))
    text = text.slice(0, start) + name + text.slice(end);
  return text;
}

/**
 * The real files a bundle's text (a tree's) stands for, with the stamps it was made at; null if
 * the text is not a bundle's. @param {string} text @returns {Array<[string, string]> | null}
 */
function moduleBundleSources(text) {
  if (!text.startsWith(MODULE_BUNDLE_MARKER)) return null;
  return JSON.parse(text.slice(MODULE_BUNDLE_MARKER.length, text.indexOf("\n")));
}

/**
 * A message with each bundled module TypeScript printed by its name (`import("tslab-ipc/dist/x")`,
 * `'"tslab-ipc/dist/x"'`) printed by its path instead, as TypeScript prints the file module: in
 * an import type the path is a string literal, which TypeScript escapes (`escapeLiteral`, its
 * `escapeNonAsciiString`: a checkout under `/home/josé` reads `jos\u00E9`); a module's own name
 * it prints as it is.
 * @param {string} message @param {Iterable<ModuleBundle>} bundles
 * @param {(text: string) => string} escapeLiteral
 */
function restoreModulePaths(message, bundles, escapeLiteral) {
  for (const bundle of bundles) {
    if (!message.includes(`"${bundle.pkgName}/`)) continue;
    message = message.replace(/(import\()?"([^"\s]+)"/g, (quoted, importType, name) => {
      const file = bundle.paths.get(name);
      if (file === undefined) return quoted;
      return importType ? `import("${escapeLiteral(file)}"` : `"${file}"`;
    });
  }
  return message;
}

/** A `/// <reference types>` line to a bundle (see withoutBundleReferences). */
const BUNDLE_REFERENCE = /^\/\/\/ <reference types="[^"]*\.tslab-ipc-modules" \/>\n/gm;

/**
 * A cell's declarations without the `/// <reference types="tslab-ipc/dist/index.tslab-ipc-modules" />`
 * TypeScript writes when they name a module of a bundle by `import("tslab-ipc/dist/x")`: it adds
 * a reference to the file that declares an ambient module it names, where the file module needs
 * none. The name alone finds the module in the next cell's program.
 * @param {string} declarations
 */
function withoutBundleReferences(declarations) {
  return declarations.replace(BUNDLE_REFERENCE, "");
}

module.exports = {
  moduleBundle,
  moduleBundleSources,
  restoreModulePaths,
  withoutBundleReferences,
};
