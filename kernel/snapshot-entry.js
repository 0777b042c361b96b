// @ts-check
// The script `node --build-snapshot` runs to make the kernel's start-up snapshot (see
// kernel/snapshot.js, which runs it with TSLAB_IPC_SNAPSHOT_MANIFEST set). Then, in every kernel
// started from the blob, the function it leaves behind runs in place of a main script.
//
// Building: a snapshot builder may require only Node's built-in modules, so this file loads the
// cell compiler (kernel/converter.js, tslab's converter, TypeScript) itself, by the table of
// resolutions kernel/snapshot.js recorded, and compiles the kernel's prelude (which imports the
// library): every declaration file a cell is checked against is then parsed and bound, in the
// converter's trees; the prelude's compiled result and the module resolutions are kept with what
// they were made from.
//
// Starting: if every file the snapshot came from still has its recorded stamp, its modules go
// into Node's module cache (so main.js's require() returns them) and its trees, compiled prelude
// and resolutions are handed to the converter (which checks them again, file by file, before use);
// otherwise nothing of it is used. Then kernel/main.js runs as the main module, with
// the command line the kernel was given.

const fs = require("fs");
const path = require("path");
const v8 = require("v8");
const vm = require("vm");

const manifestFile = process.env.TSLAB_IPC_SNAPSHOT_MANIFEST;
if (!manifestFile || !v8.startupSnapshot?.isBuildingSnapshot()) {
  throw new Error("kernel/snapshot-entry.js is run by kernel/snapshot.js build, under node --build-snapshot");
}
/** @type {{ resolutions: Record<string, Record<string, string>>, entries: Record<string, string>, cwd: string, prelude: string, strings?: { image: string, index: string } }} */
const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8"));
/** V8 keeps strings of this many bytes or more each in a large-object chunk of its own (128 KiB). */
const LARGE_STRING_BYTES = 128 * 1024;

/** TypeScript's file (loaded by the converter): see latin1Comments. */
const typescriptFile = Object.values(manifest.resolutions)
  .flatMap((r) => Object.entries(r))
  .find(([request]) => request === "@tslab/typescript-for-tslab")?.[1];
if (!typescriptFile) throw new Error("snapshot: TypeScript was not among the recorded modules");

/** Modules loaded here, by file, with the stamp their file had. @type {Map<string, { exports: any, filename: string, loaded: boolean, stamp: string }>} */
const modules = new Map();
/** Node's module system, once the kernel runs: from then on, require() is Node's own. @type {any} */
let runtimeModule = null;

/** The `require` a module loaded here gets. @param {string} from the module's file */
function requireFrom(from) {
  const table = manifest.resolutions[from] ?? {};
  const req = (/** @type {string} */ request) => {
    if (runtimeModule) return runtimeModule.createRequire(from)(request);
    const file = table[request] ?? resolveUnrecorded(from, request);
    return file === undefined ? require(request) : load(file);
  };
  req.resolve = (/** @type {string} */ request, /** @type {any} */ options) => {
    if (runtimeModule) return runtimeModule.createRequire(from).resolve(request, options);
    const file = table[request] ?? resolveUnrecorded(from, request);
    if (file === undefined) throw new Error(`snapshot: require.resolve(${request}) from ${from} was not recorded`);
    return file;
  };
  return req;
}

/**
 * A request the recording did not see from this file: Node resolved it once per folder (its
 * cache of relative requests is keyed by the requiring file's folder), so it was recorded for a
 * neighbour of `from`; a relative one is found as Node would find it. Built-in modules: undefined.
 * @param {string} from @param {string} request
 */
function resolveUnrecorded(from, request) {
  const dir = path.dirname(from);
  for (const [other, table] of Object.entries(manifest.resolutions)) {
    if (path.dirname(other) === dir && table[request] !== undefined) return table[request];
  }
  if (!request.startsWith("./") && !request.startsWith("../")) return undefined;
  const base = path.resolve(dir, request);
  for (const candidate of [base, `${base}.js`, `${base}.json`, path.join(base, "index.js")]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  throw new Error(`snapshot: cannot resolve ${request} from ${from}`);
}

/** TypeScript's source as it was compiled (load() sets it). */
let typescriptText = "";

/** Loads a CommonJS or JSON file as Node would, with the `require` above. @param {string} file */
function load(file) {
  const known = modules.get(file);
  if (known) return known.exports;
  const module = { exports: {}, filename: file, loaded: false, stamp: stampOf(file) };
  modules.set(file, module);
  let text = fs.readFileSync(file, "utf8");
  if (file.endsWith(".json")) {
    module.exports = JSON.parse(text);
  } else {
    if (file === typescriptFile) {
      // The kernel's edits (kernel/typescript.js makes them when not building a snapshot).
      const edited = editTypeScript(text);
      if (edited.missing.length > 0) {
        process.stderr.write(`snapshot: ${uneditedWarning(edited.missing)}\n`);
      }
      text = edited.text;
      text = latin1Comments(text, run(file, text, { exports: {} }).exports);
      typescriptText = text;
    }
    run(file, text, module);
  }
  module.loaded = true;
  return module.exports;
}

/** Runs a CommonJS file's text as Node would, with the `require` above. @param {string} file @param {string} text @param {{ exports: any }} module */
function run(file, text, module) {
  const body = text.startsWith("#!") ? `//${text.slice(2)}` : text;
  const params = ["exports", "require", "module", "__filename", "__dirname"];
  vm.compileFunction(body, params, { filename: file })(
    module.exports,
    requireFrom(file),
    module,
    file,
    path.dirname(file),
  );
  return module;
}

/**
 * typescript.js's text with each character above U+00FF made "?" where it lies in a comment.
 * V8 keeps a script's source in the heap (lazy compilation needs it), one byte a character
 * unless any is above U+00FF, then two for all: the five such characters of TypeScript 5.0's
 * 8.1 MB (’ and →, all in comments) cost 8 MB of heap, and of the blob every kernel reads. Each
 * one is checked to lie in a comment with TypeScript's own parser (`tsCopy`, a first copy of the
 * module, dropped after); if any does not, the text stays as it is.
 * @param {string} text @param {any} tsCopy
 */
function latin1Comments(text, tsCopy) {
  const wide = [...text.matchAll(/[\u0100-\uffff]/g)].map((m) => /** @type {number} */ (m.index));
  if (wide.length === 0) return text;
  const sf = tsCopy.createSourceFile("typescript.js", text, tsCopy.ScriptTarget.Latest, true, tsCopy.ScriptKind.JS);
  for (const at of wide) {
    const token = tsCopy.getTokenAtPosition(sf, at);
    const comments = [
      ...(tsCopy.getTrailingCommentRanges(text, token.pos) ?? []),
      ...(tsCopy.getLeadingCommentRanges(text, token.pos) ?? []),
    ];
    if (!comments.some((/** @type {{ pos: number, end: number }} */ c) => c.pos <= at && at < c.end)) return text;
  }
  const chars = text.split("");
  for (const at of wide) chars[at] = "?";
  return chars.join("");
}

// kernel/stamp.js first: load() records each file's stamp with it (its own too, once it is here).
/** @type {(file: string) => string} */
let stampOf = () => "";
({ stampOf } = load(manifest.entries.stamp));
/** @type {any} */ (modules.get(manifest.entries.stamp)).stamp = stampOf(manifest.entries.stamp);
const { editTypeScript, uneditedWarning } = /** @type {typeof import("./typescript-edits")} */ (
  load(manifest.entries.typescriptEdits)
);

// The warm-up: the converter as a kernel makes it, in an empty folder, compiling the kernel's
// prelude (the library's import, as kernel/snapshot.js computed it): every declaration file a
// cell is checked against is then parsed and bound, in the converter's trees, and the prelude's
// compiled result is kept for the kernel's first compile (seedCompiledCell). ts.sys is wrapped
// for that folder and restored after.
// No process.chdir: Node caches the working folder in the heap, and the snapshot would keep it.
const { installTypeResolution } = load(manifest.entries.resolve);
const converterModule = load(manifest.entries.converter);
const ts = load(typescriptFile);
const sysNames = [
  "fileExists",
  "directoryExists",
  "readFile",
  "getDirectories",
  "readDirectory",
  "realpath",
  "getCurrentDirectory",
];
const savedSys = Object.fromEntries(sysNames.map((n) => [n, ts.sys[n]]));
ts.sys.getCurrentDirectory = () => manifest.cwd;
installTypeResolution(ts, manifest.cwd);
// The declaration modules of the library and of undici-types as one file each
// (kernel/module-bundle.js): made by a first converter from the files the prelude reads, then
// served by the converter whose trees and compiled prelude the kernel gets, so that neither
// holds the files one by one. A converter bundles only packages whose name resolves from its
// folder: from this one (the cache's), the two that kernel/resolve.js makes resolve from every
// folder, so every kernel can serve them and take the prelude compiled against them.
const probe = converterModule.createConverter({ isJS: false, isBrowser: false, bundleLib: true, bundleModules: true });
probe.convert("", manifest.prelude);
converterModule.seedModuleBundles(probe.bundleModules());
probe.close();
// TypeScript's lib as one tree: each cell's type checker merges it faster (kernel/converter.js).
const converter = converterModule.createConverter({
  isJS: false,
  isBrowser: false,
  bundleLib: true,
  bundleModules: true,
});
const warm = converter.compileFirstCell(manifest.prelude);
if (warm.result.diagnostics.length > 0) {
  throw new Error(`snapshot: the prelude did not compile: ${JSON.stringify(warm.result.diagnostics).slice(0, 2000)}`);
}
/** @type {any} */
let compiledPrelude = warm.entry;
/** @type {any} */
let resolutions = converter.resolutionSeed(manifest.cwd);
/** @type {any[] | null} */
let moduleBundles = converter.moduleBundles();
/** @type {Array<[string, any]> | null} */
let trees = converter
  .trees()
  .filter((/** @type {[string, any]} */ [fileName]) => !fileName.startsWith(manifest.cwd + "/"));
converter.close();
Object.assign(ts.sys, savedSys);
// The kept trees' documentation comments are read only by inspect, which puts a file's back when
// it needs them (stripJsDoc in kernel/converter.js): 2.5 MB less in every kernel's heap.
for (const [, { sf }] of trees ?? []) converterModule.stripJsDoc(sf);
// What the blob was made from, for kernel/snapshot.js to tell a fresh blob from a stale one: the
// modules (a changed one makes the whole blob unusable), and the files and folders its trees and
// resolutions depend on (a changed one makes that part unused, and the kernel that finds it so
// builds a new blob: `npm run build` rewrites the library's .d.ts). The compiled prelude's files
// are the trees' own, with the same stamps (TypeScript's lib files, "lib", never change); a tree
// of @types/node's scripts as one was made from each of them.
/** @type {Record<string, string>} */
const madeFrom = {};
for (const [fileName, entry] of trees ?? [])
  for (const [file, stamp] of converterModule.treeSources(fileName, entry)) if (stamp !== "lib") madeFrom[file] = stamp;
for (const [folder, stamp] of resolutions?.stamps ?? []) madeFrom[folder] = stamp;
for (const m of modules.values()) madeFrom[m.filename] = m.stamp;
fs.writeFileSync(path.join(manifest.cwd, "stamps.json"), JSON.stringify(madeFrom));

// The large strings the heap will hold for the kernel's life, as V8 stores them (one byte a
// character when every one fits, else UTF-16): TypeScript's source and the declaration texts of
// the trees kept (the lib, the largest of @types/node). The pages writer finds them in a process
// started from the blob and writes their pages to a file a kernel maps (kernel/snapshot-pages.js).
if (manifest.strings) {
  /** @type {Array<{ name: string, offset: number, length: number }>} */
  const index = [];
  /** @type {Buffer[]} */
  const parts = [];
  let offset = 0;
  const texts = [["typescript.js", typescriptText], ...(trees ?? []).map(([name, { sf }]) => [name, sf.text])];
  for (const [name, text] of /** @type {Array<[string, string]>} */ (texts)) {
    const bytes = Buffer.from(text, /^[\0-\xff]*$/.test(text) ? "latin1" : "utf16le");
    if (bytes.length < LARGE_STRING_BYTES) continue;
    index.push({ name, offset, length: bytes.length });
    parts.push(bytes);
    offset += bytes.length;
  }
  fs.writeFileSync(manifest.strings.image, Buffer.concat(parts));
  fs.writeFileSync(manifest.strings.index, JSON.stringify(index));
}
typescriptText = "";

v8.startupSnapshot.setDeserializeMainFunction(() => {
  // Node takes Error.stackTraceLimit out of a snapshot and puts it back only after this function:
  // errors thrown meanwhile (every cell's, since the kernel runs from here) would have no stack.
  if (typeof Error.stackTraceLimit !== "number") Error.stackTraceLimit = 10;
  // process.cwd() is cached in the heap: the working folder of this process, from the system.
  process.chdir(fs.readlinkSync("/proc/self/cwd"));
  const Module = /** @type {any} */ (require("module"));
  runtimeModule = Module;
  const fresh = [...modules.values()].every((m) => stampOf(m.filename) === m.stamp);
  if (fresh) {
    for (const [file, loaded] of modules) {
      const module = new Module(file, null);
      module.filename = file;
      module.paths = Module._nodeModulePaths(path.dirname(file));
      module.exports = loaded.exports;
      module.loaded = true;
      Module._cache[file] = module;
    }
    converterModule.seedTrees(trees ?? []);
    converterModule.seedCompiledCell(compiledPrelude);
    converterModule.seedModuleBundles(moduleBundles ?? []);
    converterModule.seedResolutions(resolutions);
  }
  trees = null;
  compiledPrelude = null;
  resolutions = null;
  moduleBundles = null;
  modules.clear();
  // kernel/snapshot.js's STATE (the builder cannot load that file), read by startedFrom().
  /** @type {any} */ (globalThis)[Symbol.for("tslab-ipc.snapshot")] = fresh ? "snapshot" : "stale";
  // Node resolves the main script's path before running it; from a snapshot that is ours to do.
  if (process.argv[1]) process.argv[1] = path.resolve(process.argv[1]);
  Module.runMain();
});
