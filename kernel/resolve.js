// @ts-check
// Makes `tslab-ipc` and Node's own types resolvable from a notebook in ANY folder.
//
// tslab type-checks each cell with its TypeScript (@tslab/typescript-for-tslab), resolving
// modules from the notebook's folder (the kernel's cwd). Its converter reads the file system
// through `ts.sys` (its own `sys` object inherits from it and forwards to it), and fakes a
// `<cwd>/node_modules` so that `import "tslab"` works anywhere. We do the same for two more
// packages by wrapping `ts.sys`:
//   <cwd>/node_modules/tslab-ipc/**    -> this repository (package.json, dist/*.d.ts)
//   <cwd>/node_modules/@types/node/**  -> the @types/node this repository uses, but only when
//                                          no @types/node is reachable from the notebook's folder
//                                          (tslab's fallback is its own nested copy, which a
//                                          different npm layout may not have);
//   <cwd>/node_modules/undici-types/** -> with it, the undici-types that @types/node imports for
//                                          its fetch types, so that the name resolves from every
//                                          folder as it does from @types/node, and the start-up
//                                          snapshot can hold its modules as one file for every
//                                          kernel (kernel/module-bundle.js).
// And for a notebook inside this repository (notebooks/), the repository's own node_modules/@types
// lists only `node`: the test tooling's types (jest's global describe/test/expect, babel) would
// otherwise be declared in every cell, although nothing defines them at run time, and would slow
// the kernel's start.
// `realpath` maps the virtual paths to the real files, so a .d.ts is loaded once under its real
// name and `/// <reference types="node" />` in our .d.ts finds the same copy.
// At run time, `require("tslab-ipc")` in a cell is answered from this repository as well.

const fs = require("fs");
const path = require("path");

const repoRoot = path.resolve(__dirname, "..");

/**
 * The folder of the package `name` reachable from `dir` (Node's lookup through each parent's
 * node_modules), or null. By hand, not require.resolve: the start-up snapshot's builder loads
 * this file with a require of its own. @param {string} dir @param {string} name @returns {string | null}
 */
function packageFrom(dir, name) {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const candidate = path.join(d, "node_modules", name);
    if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
    if (path.dirname(d) === d) return null;
  }
}

/** The folder of the @types/node reachable from `dir` (walking up), or null. @param {string} dir */
function nodeTypesFrom(dir) {
  return packageFrom(dir, path.join("@types", "node"));
}

/**
 * Wraps ts.sys so that the virtual packages resolve from `cwd`. Returns the list of
 * [virtual folder, real folder] pairs in effect (for logs and tests).
 * @param {any} ts the TypeScript module tslab uses
 * @param {string} cwd the notebook's folder
 */
function installTypeResolution(ts, cwd) {
  const norm = (/** @type {string} */ p) => p.replace(/\\/g, "/");
  const nodeModules = norm(path.join(cwd, "node_modules"));
  /** @type {Array<[string, string]>} */
  const forwards = [[`${nodeModules}/tslab-ipc`, norm(repoRoot)]];
  const ownNodeTypes = nodeTypesFrom(cwd);
  if (!ownNodeTypes) {
    const ours = nodeTypesFrom(repoRoot);
    if (ours) {
      const nodeTypes = fs.realpathSync(ours);
      forwards.push([`${nodeModules}/@types/node`, norm(nodeTypes)]);
      const undici = packageFrom(nodeTypes, "undici-types");
      if (undici && !fs.existsSync(path.join(cwd, "node_modules", "undici-types")))
        forwards.push([`${nodeModules}/undici-types`, norm(fs.realpathSync(undici))]);
    }
  }
  /** Virtual folders that must exist for the lookups to reach the forwarded ones. */
  const virtualDirs = new Set([nodeModules]);
  for (const [from] of forwards) {
    for (let d = path.posix.dirname(from); d.startsWith(nodeModules); d = path.posix.dirname(d)) virtualDirs.add(d);
  }

  /** The real path for `p` if it lies in a forwarded folder, else `p`. */
  const forward = (/** @type {string} */ p) => {
    const n = norm(p);
    for (const [from, to] of forwards) {
      if (n === from) return to;
      if (n.startsWith(from + "/")) return to + n.slice(from.length);
    }
    return p;
  };

  const sys = ts.sys;
  const orig = {
    fileExists: sys.fileExists,
    directoryExists: sys.directoryExists,
    readFile: sys.readFile,
    getDirectories: sys.getDirectories,
    readDirectory: sys.readDirectory,
    realpath: sys.realpath,
  };
  sys.fileExists = (/** @type {string} */ p) => orig.fileExists.call(sys, forward(p));
  sys.directoryExists = (/** @type {string} */ p) =>
    orig.directoryExists.call(sys, forward(p)) || virtualDirs.has(norm(p).replace(/\/$/, ""));
  sys.readFile = (/** @type {string} */ p, /** @type {any} */ enc) => orig.readFile.call(sys, forward(p), enc);
  sys.readDirectory = (/** @type {string} */ p, /** @type {any[]} */ ...rest) =>
    orig.readDirectory.call(sys, forward(p), ...rest);
  const ourTypes = norm(path.join(repoRoot, "node_modules", "@types"));
  sys.getDirectories = (/** @type {string} */ p) => {
    const n = norm(p).replace(/\/$/, "");
    if (n === ourTypes) return orig.getDirectories.call(sys, n).filter((/** @type {string} */ d) => d === "node");
    const real = orig.directoryExists.call(sys, forward(n)) ? orig.getDirectories.call(sys, forward(n)) : [];
    // Children that exist only virtually (e.g. "node" under <cwd>/node_modules/@types).
    for (const v of [...virtualDirs, ...forwards.map(([from]) => from)]) {
      if (path.posix.dirname(v) === n && !real.includes(path.posix.basename(v))) real.push(path.posix.basename(v));
    }
    return real;
  };
  if (orig.realpath) {
    sys.realpath = (/** @type {string} */ p) => orig.realpath.call(sys, forward(p));
  }
  return forwards;
}

/**
 * Wraps the `require` tslab gives cells (globalThis.__tslab__.require) so that `tslab-ipc` and
 * `tslab-ipc/...` load from this repository wherever the notebook is.
 */
function installRuntimeResolution() {
  const g = /** @type {any} */ (globalThis).__tslab__;
  const inner = g.require;
  g.require = new Proxy(inner, {
    apply(target, thisArg, args) {
      const id = args[0];
      if (args.length === 1 && typeof id === "string" && (id === "tslab-ipc" || id.startsWith("tslab-ipc/"))) {
        return require(id === "tslab-ipc" ? repoRoot : path.join(repoRoot, id.slice("tslab-ipc/".length)));
      }
      return Reflect.apply(target, thisArg, args);
    },
  });
}

module.exports = { installTypeResolution, installRuntimeResolution, repoRoot, nodeTypesFrom };
