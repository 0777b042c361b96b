// @ts-check
// Three rewrites of a cell's source before tslab compiles it, for idioms tslab's cell compiler
// gets wrong. Each keeps every line where it was, so tracebacks still point at the right line.
//
// 1. Shorthand properties: tslab turns names declared in earlier cells (and the preloaded
//    ones) into properties of its exports object, but leaves `{ PROT_READ }` as it is, which
//    then fails with "PROT_READ is not defined". `{ a }` becomes `{ a: a }`.
// 2. `await (expr)`: a cell is compiled as a script, where `await (` parses as a call of a
//    function named await ("await is not defined"). `await (expr)…` becomes
//    `await Promise.resolve((expr)…)`, which awaits the same value.
// 3. `export` on a cell's declarations (code pasted from a module): tslab exports every name a
//    cell declares by appending `export { names }`, which then conflicts with the cell's own
//    export ("Cannot redeclare exported variable", reported at a line past the cell's end), and
//    it leaves `export { a }` of declared names to a "Duplicate identifier". A cell's names are
//    seen by the later cells anyway, so the word `export` (and `default` after it), and an
//    `export { a, b }` of names without renaming or a module, become spaces: every column stays
//    where it was too. A `/** @module name */` cell is a module, whose exports mean what they
//    say, and is left as it is.

// The TypeScript that compiles the cells (tslab's, loaded anyway), not a second copy: loading
// the project's own would cost the kernel's start about 150 ms and its memory some 20 MB.
/** @type {typeof import("typescript")} */
const ts = require("./converter").ts;
const { getCodeMetadata } = require("tslab/dist/metadata");

/**
 * @param {string} source the cell as the student wrote it
 * @returns {string} the cell tslab should compile (unchanged when nothing needs rewriting)
 */
function rewriteCell(source) {
  if (!/[{,]\s*[A-Za-z_$][\w$]*\s*[,}=]/.test(source) && !/\bawait\s*\(/.test(source) && !/\bexport\b/.test(source)) {
    return source;
  }
  const file = ts.createSourceFile("cell.ts", source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  /** @type {Array<{ at: number, text: string, end?: number }>} edits (text replaces at..end), applied from the end */
  const edits = [];
  if (!getCodeMetadata(source).module) {
    for (const statement of file.statements) edits.push(...exportBlanked(statement));
  }

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
  for (const e of edits) out = out.slice(0, e.at) + e.text + out.slice(e.end ?? e.at);
  return out;
}

/**
 * The edits that take `export` out of a top-level statement of a cell: the keywords `export`
 * and `default` of a declaration, or the whole of an `export { a, b }` that renames nothing and
 * names no module. Each becomes as many spaces (a line break stays), so nothing moves.
 * @param {import("typescript").Statement} statement
 * @returns {Array<{ at: number, text: string, end: number }>}
 */
function exportBlanked(statement) {
  /** @param {import("typescript").Node} node */
  const blank = (node) => {
    const at = node.getStart();
    const end = node.getEnd();
    return {
      at,
      end,
      text: node
        .getSourceFile()
        .text.slice(at, end)
        .replace(/[^\r\n]/g, " "),
    };
  };
  if (ts.isExportDeclaration(statement)) {
    const names = statement.exportClause;
    const plain =
      !statement.moduleSpecifier &&
      names !== undefined &&
      ts.isNamedExports(names) &&
      names.elements.every((element) => element.propertyName === undefined);
    return plain ? [blank(statement)] : [];
  }
  const modifiers = ts.canHaveModifiers(statement) ? (ts.getModifiers(statement) ?? []) : [];
  if (!modifiers.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) return [];
  // `export default function f` declares f; `export default class {}` names nothing to keep.
  if (modifiers.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword) && !(/** @type {any} */ (statement).name)) {
    return [];
  }
  return modifiers
    .filter((m) => m.kind === ts.SyntaxKind.ExportKeyword || m.kind === ts.SyntaxKind.DefaultKeyword)
    .map(blank);
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
