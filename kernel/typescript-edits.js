// @ts-check
// Edits to the text of tslab's TypeScript (@tslab/typescript-for-tslab, 5.0) before it is
// compiled, so that a cell's type checker does not outlive the cell in V8's young generation.
//
// Why: a young-generation collection (a scavenge) treats every object in the old generation as
// alive; only a full collection finds the dead ones. V8 makes two kinds of object that a cell's
// type checker or emit reaches old from the start:
// - the accessor pair of every getter or setter an object literal (or Object.defineProperty)
//   defines. TypeScript 5.0 makes such accessors in two places that run for every cell:
//   createTypeChecker's `noIterationTypes` (three getters that only fail) and transformNodes's
//   transformation context (onSubstituteNode, onEmitNode), once per emit;
// - the initial map (hidden class) of a generator function, made at its first call, which holds
//   the generator function. createTypeChecker declares five generator functions, and one of them,
//   getUnmatchedProperties, runs for every structural comparison of two object types: an object
//   literal given to a typed name, a callback given to a generic method like `[1, 2].map`;
// - a function literal assigned straight to a property (`o.f = () => ...`): V8's parser marks it
//   to be made old. createModuleResolutionCache does that, and every ts.transpileModule makes one
//   (a cell with a top-level enum or namespace is emitted that way: kernel/converter.js
//   emitsCommonJS; so is each child of runTs and spawnTs).
// Each such function closes over its function's whole scope: the type checker's (all its
// closures, types, symbol tables and merged globals) or the emit's (which holds the checker's
// emit resolver). So each old accessor pair or map kept a dead cell's checker alive through every
// scavenge until the next full collection, and each scavenge copied all of them again and then
// promoted them: ~3.1 MB a scavenge in a kernel running the bench's cells, into old-space pages
// touched for the first time. With these edits (and kernel/main.js's
// --no-allocation-site-pretenuring, the other way the checkers were kept) a scavenge promotes
// ~0.04 MB (bench/analysis.md, the kernel section, 7 December). Cells that compare object types
// kept ~0.35-0.45 MB each the same way until the generators moved too, and cells with an enum
// ~0.2 MB each until the resolution cache's method did (the same section).
//
// What:
// - the accessors' functions move to the module's top level (they close over nothing that
//   dies), and each per-call object gets its accessor properties from them. The same getters and
//   setters, the same assertions with the same messages, on the same objects; the setters' state
//   stays in the function that owns it, reached through a symbol-keyed property of the context;
// - each of the checker's generator functions moves to the module's top level, its body
//   TypeScript's text as it was, and the checker's function of that name calls it with the
//   checker's functions the body uses, passed under their own names (HOISTS); the one anonymous
//   generator, which yields one element, becomes TypeScript's own `singleIterator`;
// - createModuleResolutionCache's method is made in a constant first, then assigned: the same
//   function, not a literal on the assignment's right.
//
// Invariants:
// - Every edit's text is found exactly once, overlapping no other edit's, and every generator
//   moved uses no name of the checker's scope but those it is given, or the text is returned
//   unedited (another TypeScript): `missing` names the edits not made, and the caller says so
//   (uneditedWarning).
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
  {
    name: "createModuleResolutionCache: its method not a literal on an assignment's right",
    find: `    result.getOrCreateCacheForModuleName = (nonRelativeName, mode, redirectedReference) => result.getOrCreateCacheForNonRelativeName(nonRelativeName, mode, redirectedReference);
`,
    replace: `    const getOrCreateCacheForModuleName = (nonRelativeName, mode, redirectedReference) => result.getOrCreateCacheForNonRelativeName(nonRelativeName, mode, redirectedReference);
    result.getOrCreateCacheForModuleName = getOrCreateCacheForModuleName;
`,
  },
  {
    name: "elaborateJsxComponents: TypeScript's singleIterator for its one-element generator",
    find: `              result = elaborateElementwise(
                function* () {
                  yield elem;
                }(),
`,
    replace: `              result = elaborateElementwise(
                singleIterator(elem),
`,
  },
];

/** @typedef {{ generator: string, scoped: string[] }} Hoist */

/**
 * The type checker's generator functions, each with the names of the checker's scope its body
 * uses (all of them: editTypeScript refuses a body that uses another).
 * @type {Hoist[]}
 */
const HOISTS = [
  {
    generator: "getUnmatchedProperties",
    scoped: [
      "getPropertiesOfType",
      "isStaticPrivateIdentifierProperty",
      "getPropertyOfType",
      "getTypeOfSymbol",
      "getRegularTypeOfLiteralType",
    ],
  },
  { generator: "generateJsxAttributes", scoped: ["isHyphenatedJsxName", "getStringLiteralType"] },
  { generator: "generateJsxChildren", scoped: ["getNumberLiteralType", "getElaborationElementForJsxChild"] },
  {
    generator: "generateLimitedTupleElements",
    scoped: ["isTupleLikeType", "getPropertyOfType", "getNumberLiteralType"],
  },
  { generator: "generateObjectLiteralElements", scoped: ["getLiteralTypeFromProperty", "getSymbolOfDeclaration"] },
];

const CHECKER_START = "  function createTypeChecker(host) {\n";

/** @param {Hoist} h */
const hoistName = (h) => `${h.generator}: at the top level`;

/**
 * The names createTypeChecker declares at its top (functions, generator functions, variables) and
 * its parameter: the scope a generator of the checker closes over. Empty if not found.
 * @param {string} text
 * @param {number} start where CHECKER_START is in `text` (-1: not there)
 */
function checkerScope(text, start) {
  if (start < 0) return new Set();
  const end = text.indexOf("\n  }\n", start);
  const names = new Set(["host"]);
  for (const m of text.slice(start, end).matchAll(/^ {4}(?:function\*? |var |let |const )([\w$]+)/gm)) names.add(m[1]);
  return names;
}

/** Where `find` is in `text` if it is there exactly once, else -1. @param {string} text @param {string} find */
function onlyIndexOf(text, find) {
  const at = text.indexOf(find);
  return at >= 0 && text.indexOf(find, at + 1) < 0 ? at : -1;
}

/**
 * Where and how `h` moves in `text`: the checker's generator (find, at `at`) and its stand-in
 * (replace), and the generator at the top level; undefined if it is not there exactly once as
 * expected, or its body uses a name of the checker's scope that `h.scoped` does not list.
 * @param {string} text
 * @param {Hoist} h
 * @param {Set<string>} scope
 * @returns {{ at: number, find: string, replace: string, topLevel: string } | undefined}
 */
function hoistGenerator(text, h, scope) {
  const header = `\n    function* ${h.generator}(`;
  const found = onlyIndexOf(text, header);
  if (found < 0) return undefined;
  const start = found + 1;
  const open = text.indexOf(") {\n", start);
  const close = open < 0 ? -1 : text.indexOf("\n    }\n", open);
  if (close < 0) return undefined;
  const params = text.slice(start + header.length - 1, open);
  if (!/^[\w$]+(, [\w$]+)*$/.test(params)) return undefined;
  const end = close + "\n    }\n".length;
  const lines = text.slice(open + ") {\n".length, close).split("\n");
  if (lines.some((l) => l !== "" && !l.startsWith("      "))) return undefined;
  // Every name of the checker's scope the body mentions (not as a property: after a dot) must be
  // given to it, and the body must not declare one itself (the parameter would clash with it).
  const body = lines.join("\n");
  const mentioned = new Set([...body.matchAll(/(?<![\w$.])[A-Za-z_$][\w$]*/g)].map((m) => m[0]));
  const used = [...mentioned].filter((n) => scope.has(n));
  if (used.some((n) => !h.scoped.includes(n)) || h.scoped.some((n) => !used.includes(n))) return undefined;
  const declared = [...body.matchAll(/\b(?:const|let|var|function\*?|class)\s+([A-Za-z_$][\w$]*)/g)].map((m) => m[1]);
  if (declared.some((n) => h.scoped.includes(n))) return undefined;
  return {
    at: start,
    find: text.slice(start, end),
    replace: `    function ${h.generator}(${params}) {\n      return ${h.generator}AtTopLevel(${h.scoped.join(", ")}, ${params});\n    }\n`,
    topLevel: `  function* ${h.generator}AtTopLevel(${h.scoped.join(", ")}, ${params}) {\n${lines.map((l) => l.slice(2)).join("\n")}\n  }\n`,
  };
}

/**
 * TypeScript's text with the edits above, or as it was if any edit's text is not found exactly
 * once or any generator cannot move.
 *
 * The edited text is put together once, from slices of the original: each replace of the 8 MB
 * text would make a new string that the next one flattens, ~50 ms each on a host where a fresh
 * page costs ~12 µs (11 replaces took ~530 ms of a kernel start without a snapshot).
 * @param {string} text typescript.js
 * @param {string[]} [leaveOut] names of edits (EDITS' names, hoistName's) not to make: how a test
 *   measures what one edit does
 * @returns {{ text: string, missing: string[] }} missing: the edits not made (then text is unedited)
 */
function editTypeScript(text, leaveOut = []) {
  // Where the checker starts: its scope is read there, and the moved generators go in before it
  // (without it the scope is empty, and no generator moves).
  const checkerAt = text.indexOf(CHECKER_START);
  const scope = checkerScope(text, checkerAt);
  const hoists = HOISTS.filter((h) => !leaveOut.includes(hoistName(h))).map((h) => ({
    h,
    move: hoistGenerator(text, h, scope),
  }));
  const edits = EDITS.filter((e) => !leaveOut.includes(e.name)).map((e) => ({ e, at: onlyIndexOf(text, e.find) }));
  const missing = [
    ...edits.filter(({ at }) => at < 0).map(({ e }) => e.name),
    ...hoists.filter(({ move }) => !move).map(({ h }) => hoistName(h)),
  ];
  if (missing.length > 0) return { text, missing };
  // Each splice replaces `length` characters at `at`. The moved generators go in just before the
  // checker starts, ahead of an edit that replaces the checker's first line itself.
  const moved = hoists.map(({ h, move }) => ({
    name: hoistName(h),
    .../** @type {NonNullable<typeof move>} */ (move),
  }));
  const splices = [
    ...moved.map((m) => ({ name: m.name, at: m.at, length: m.find.length, replace: m.replace })),
    ...(moved.length === 0
      ? []
      : [
          {
            name: "the moved generators",
            at: checkerAt,
            length: 0,
            replace: moved.map((m) => m.topLevel).join(""),
          },
        ]),
    ...edits.map(({ e, at }) => ({ name: e.name, at, length: e.find.length, replace: e.replace })),
  ].sort((a, b) => a.at - b.at || a.length - b.length);
  // Two edits whose texts overlap (another TypeScript) cannot both be made: none is.
  const overlapping = splices.filter((s, i) => i > 0 && s.at < splices[i - 1].at + splices[i - 1].length);
  if (overlapping.length > 0) return { text, missing: overlapping.map((s) => `${s.name} (overlaps another edit)`) };
  const pieces = [];
  let from = 0;
  for (const s of splices) {
    pieces.push(text.slice(from, s.at), s.replace);
    from = s.at + s.length;
  }
  pieces.push(text.slice(from));
  return { text: pieces.join(""), missing };
}

/**
 * What the kernel and the snapshot's builder print when editTypeScript made no edit: TypeScript
 * then runs as it is (cells check and run the same; a dead checker lives longer).
 * @param {string[]} missing editTypeScript's `missing`
 */
const uneditedWarning = (missing) => `TypeScript runs unedited (edits not made: ${missing.join("; ")})`;

module.exports = { editTypeScript, uneditedWarning, EDITS, HOISTS, hoistName };
