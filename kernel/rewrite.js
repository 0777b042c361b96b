// @ts-check
// Two rewrites of a cell's source before tslab compiles it, for idioms tslab's cell compiler
// gets wrong. Both keep every line where it was, so tracebacks still point at the right line.
//
// 1. Shorthand properties: tslab turns names declared in earlier cells (and the preloaded
//    ones) into properties of its exports object, but leaves `{ PROT_READ }` as it is, which
//    then fails with "PROT_READ is not defined". `{ a }` becomes `{ a: a }`.
// 2. `await (expr)`: a cell is compiled as a script, where `await (` parses as a call of a
//    function named await ("await is not defined"). `await (expr)…` becomes
//    `await Promise.resolve((expr)…)`, which awaits the same value.

// The TypeScript that compiles the cells (tslab's, loaded anyway), not a second copy: loading
// the project's own would cost the kernel's start about 150 ms and its memory some 20 MB.
/** @type {typeof import("typescript")} */
const ts = require("./converter").ts;

/**
 * @param {string} source the cell as the student wrote it
 * @returns {string} the cell tslab should compile (unchanged when nothing needs rewriting)
 */
function rewriteCell(source) {
  if (!/[{,]\s*[A-Za-z_$][\w$]*\s*[,}=]/.test(source) && !/\bawait\s*\(/.test(source)) return source;
  const file = ts.createSourceFile("cell.ts", source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  /** @type {Array<{ at: number, text: string }>} insertions, applied from the end */
  const edits = [];

  /** @param {import("typescript").Node} node @param {boolean} inFunction */
  function visit(node, inFunction) {
    if (ts.isShorthandPropertyAssignment(node)) {
      edits.push({ at: node.name.getEnd(), text: `: ${node.name.text}` });
    } else if (!inFunction && isAwaitCallChain(node) && !isAwaitCallChain(node.parent)) {
      // `await(x)…` at the top level: the whole chain after the word `await` is the operand.
      const word = awaitIdentifier(node);
      if (word) {
        edits.push({ at: word.getEnd(), text: " Promise.resolve(" });
        edits.push({ at: node.getEnd(), text: ")" });
      }
    }
    const fn = inFunction || ts.isFunctionLike(node) || ts.isClassLike(node);
    ts.forEachChild(node, (child) => visit(child, fn));
  }
  visit(file, false);
  if (edits.length === 0) return source;
  edits.sort((a, b) => b.at - a.at);
  let out = source;
  for (const e of edits) out = out.slice(0, e.at) + e.text + out.slice(e.at);
  return out;
}

/** A call/property/element chain whose leftmost part is a call of the identifier `await`. */
function isAwaitCallChain(/** @type {import("typescript").Node | undefined} */ node) {
  return node !== undefined && awaitIdentifier(node) !== null;
}

/** @param {import("typescript").Node} node @returns {import("typescript").Identifier | null} */
function awaitIdentifier(node) {
  let n = node;
  while (ts.isCallExpression(n) || ts.isPropertyAccessExpression(n) || ts.isElementAccessExpression(n)) {
    const inner = n.expression;
    if (ts.isIdentifier(inner) && inner.text === "await") return ts.isCallExpression(n) ? inner : null;
    n = inner;
  }
  return null;
}

module.exports = { rewriteCell };
