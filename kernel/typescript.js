// @ts-check
// tslab's TypeScript (@tslab/typescript-for-tslab) as the kernel runs it: compiled from its text
// with kernel/typescript-edits.js's edits, into Node's module cache under its own file name, so
// that tslab's modules, which require it by name, get this same module.
//
// Invariants:
// - One TypeScript in the process: the first require of this file compiles it (kernel/converter.js
//   requires this before anything of tslab's); if TypeScript was loaded before, that one is used
//   as it is, and `edited` says so.
// - Building the start-up snapshot (kernel/snapshot-entry.js, whose `require` has no cache), the
//   builder loads TypeScript itself and makes the same edits.

const fs = require("fs");
const path = require("path");
const { editTypeScript, uneditedWarning } = require("./typescript-edits");

const tslabDir = path.dirname(require.resolve("tslab/package.json"));
const file = require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] });

/** @returns {{ ts: any, edited: boolean, missing: string[] }} */
function load() {
  // The snapshot's builder: it makes the edits as it loads TypeScript, and says if any is not found.
  if (!require.cache) return { ts: require("@tslab/typescript-for-tslab"), edited: true, missing: [] };
  const cached = require.cache[file];
  if (cached) return { ts: cached.exports, edited: false, missing: [] };
  const Module = /** @type {any} */ (require("module"));
  const { text, missing } = editTypeScript(fs.readFileSync(file, "utf8"));
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(path.dirname(file));
  require.cache[file] = mod;
  try {
    mod._compile(text, file);
  } catch (e) {
    delete require.cache[file];
    throw e;
  }
  mod.loaded = true;
  return { ts: mod.exports, edited: missing.length === 0, missing };
}

const loaded = load();
if (loaded.missing.length > 0) {
  process.stderr.write(`tslab-ipc: ${uneditedWarning(loaded.missing)}\n`);
}

module.exports = loaded;
