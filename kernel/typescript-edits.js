// @ts-check
// Two edits to the text of tslab's TypeScript (@tslab/typescript-for-tslab, 5.0) before it is
// compiled, so that a cell's type checker does not outlive the cell in V8's young generation.
//
// Why: V8 allocates the accessor pair of every getter or setter an object literal (or
// Object.defineProperty) defines straight in the old generation, and a young-generation
// collection (a scavenge) treats every old object as alive; only a full collection finds the
// dead ones. TypeScript 5.0 makes such accessors in two places that run for every cell:
// - createTypeChecker's `noIterationTypes` (three getters that only fail),
// - transformNodes's transformation context (onSubstituteNode, onEmitNode), once per emit.
// Each accessor's function closes over its function's whole scope: the type checker's (all its
// closures, types, symbol tables and merged globals) or the emit's (which holds the checker's
// emit resolver). So each old accessor pair kept a dead cell's checker alive through every
// scavenge until the next full collection, and each scavenge copied all of them again and then
// promoted them: ~3.1 MB a scavenge in a kernel running the bench's cells, into old-space pages
// touched for the first time. With these edits (and kernel/main.js's
// --no-allocation-site-pretenuring, the other way the checkers were kept) a scavenge promotes
// ~0.04 MB (bench/analysis.md, the kernel section, 7 December).
//
// What: the accessors' functions move to the module's top level (they close over nothing that
// dies), and each per-call object gets its accessor properties from them. Behaviour is the same:
// the same getters and setters, the same assertions with the same messages, on the same objects;
// the setters' state stays in the function that owns it, reached through a symbol-keyed property
// of the context.
//
// Invariants:
// - Every edit's text is found exactly once, or the text is returned unedited (another
//   TypeScript): `missing` names the edits not found, and the caller says so.
// - Nothing in the type checking, the emit's output or the diagnostics changes.

/** @typedef {{ name: string, find: string, replace: string }} Edit */

/** @type {Edit[]} */
const EDITS = [
  {
    name: "noIterationTypes: its getters at the top level",
    find: `    var noIterationTypes = {
      get yieldType() {
        return Debug.fail("Not supported");
      },
      get returnType() {
        return Debug.fail("Not supported");
      },
      get nextType() {
        return Debug.fail("Not supported");
      }
    };
`,
    replace: `    var noIterationTypes = Object.defineProperties({}, Object.getOwnPropertyDescriptors(noIterationTypesAccessors));
`,
  },
  {
    name: "noIterationTypes: the accessors, once",
    find: `  function createTypeChecker(host) {
`,
    replace: `  var noIterationTypesAccessors = {
    get yieldType() {
      return Debug.fail("Not supported");
    },
    get returnType() {
      return Debug.fail("Not supported");
    },
    get nextType() {
      return Debug.fail("Not supported");
    }
  };
  function createTypeChecker(host) {
`,
  },
  {
    name: "transformNodes: the hooks' accessors from the top level",
    find: `      get onSubstituteNode() {
        return onSubstituteNode;
      },
      set onSubstituteNode(value) {
        Debug.assert(state < 1 /* Initialized */, "Cannot modify transformation hooks after initialization has completed.");
        Debug.assert(value !== void 0, "Value must not be 'undefined'");
        onSubstituteNode = value;
      },
      get onEmitNode() {
        return onEmitNode;
      },
      set onEmitNode(value) {
        Debug.assert(state < 1 /* Initialized */, "Cannot modify transformation hooks after initialization has completed.");
        Debug.assert(value !== void 0, "Value must not be 'undefined'");
        onEmitNode = value;
      },
      addDiagnostic(diag2) {
        diagnostics.push(diag2);
      }
    };
`,
    replace: `      [transformationHooks]: {
        getOnSubstituteNode: () => onSubstituteNode,
        setOnSubstituteNode(value) {
          Debug.assert(state < 1 /* Initialized */, "Cannot modify transformation hooks after initialization has completed.");
          Debug.assert(value !== void 0, "Value must not be 'undefined'");
          onSubstituteNode = value;
        },
        getOnEmitNode: () => onEmitNode,
        setOnEmitNode(value) {
          Debug.assert(state < 1 /* Initialized */, "Cannot modify transformation hooks after initialization has completed.");
          Debug.assert(value !== void 0, "Value must not be 'undefined'");
          onEmitNode = value;
        }
      },
      addDiagnostic(diag2) {
        diagnostics.push(diag2);
      }
    };
    Object.defineProperties(context, transformationHookProperties);
`,
  },
  {
    name: "transformNodes: the accessors, once",
    find: `  function transformNodes(resolver, host, factory2, options, nodes, transformers, allowDtsFiles) {
`,
    replace: `  var transformationHooks = Symbol("transformationHooks");
  var transformationHookProperties = {
    onSubstituteNode: {
      get() {
        return this[transformationHooks].getOnSubstituteNode();
      },
      set(value) {
        this[transformationHooks].setOnSubstituteNode(value);
      },
      enumerable: true,
      configurable: true
    },
    onEmitNode: {
      get() {
        return this[transformationHooks].getOnEmitNode();
      },
      set(value) {
        this[transformationHooks].setOnEmitNode(value);
      },
      enumerable: true,
      configurable: true
    }
  };
  function transformNodes(resolver, host, factory2, options, nodes, transformers, allowDtsFiles) {
`,
  },
];

/**
 * TypeScript's text with the edits above, or as it was if any edit's text is not found exactly once.
 * @param {string} text typescript.js
 * @returns {{ text: string, missing: string[] }} missing: the edits not found (then text is unedited)
 */
function editTypeScript(text) {
  const missing = EDITS.filter((e) => text.split(e.find).length !== 2).map((e) => e.name);
  if (missing.length > 0) return { text, missing };
  let edited = text;
  for (const e of EDITS) edited = edited.replace(e.find, () => e.replace);
  return { text: edited, missing };
}

module.exports = { editTypeScript, EDITS };
