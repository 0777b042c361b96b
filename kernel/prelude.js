// @ts-check
// The prelude: one import, run at kernel start, that puts every export of the library in scope.
// tslab carries a cell's imports over to later cells (as declarations for the type checker and
// values in its `exports`), so after it every cell can call ftok, shmget, ... without an import,
// with full types. The names are read from the built library, so what others export later is
// preloaded without touching this file.

const fs = require("fs");
const path = require("path");
const { CELL_API_DECLARATIONS } = require("./cell-api");

const IDENT = /^[A-Za-z_$][\w$]*$/;

/** Names exported only as types (`export type { A, B } from ...`) by dist/index.d.ts. */
/** @param {string} dtsPath */
function typeOnlyExports(dtsPath) {
  const names = new Set();
  let text = "";
  try {
    text = fs.readFileSync(dtsPath, "utf8");
  } catch {
    return names;
  }
  for (const m of text.matchAll(/export\s+type\s*\{([^}]*)\}/g)) {
    for (const part of m[1].split(",")) {
      const name = part
        .trim()
        .split(/\s+as\s+/)
        .pop()
        ?.trim();
      if (name && IDENT.test(name)) names.add(name);
    }
  }
  for (const m of text.matchAll(/export\s+(?:declare\s+)?(?:interface|type)\s+([A-Za-z_$][\w$]*)/g)) names.add(m[1]);
  return names;
}

/**
 * The prelude's source for the library at `libDir` (its package root).
 * @param {Record<string, unknown>} lib the loaded library (its values)
 * @param {string} libDir
 */
function preludeSource(lib, libDir) {
  const values = Object.keys(lib).filter((n) => IDENT.test(n) && n !== "default" && n !== "__esModule");
  const types = [...typeOnlyExports(path.join(libDir, "dist", "index.d.ts"))].filter((n) => !values.includes(n));
  const names = [...values, ...types.map((t) => `type ${t}`)];
  return `import { ${names.join(", ")} } from "tslab-ipc";`;
}

/**
 * The kernel's first cell: the library's import, then the declarations of the kernel's own cell
 * API (kernel/cell-api.js). The start-up snapshot compiles this same text (kernel/snapshot.js).
 * @param {Record<string, unknown>} lib @param {string} libDir
 */
function kernelPrelude(lib, libDir) {
  return preludeSource(lib, libDir) + CELL_API_DECLARATIONS;
}

module.exports = { kernelPrelude, preludeSource, typeOnlyExports };
