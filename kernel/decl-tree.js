// @ts-check
// The declarations file (__prev__.d.ts, kernel/converter.js) from one cell to the next: parsed
// again only where its text changed, and printed again only where a statement changed. A cell
// that declares names changes the file by the statements it puts first (and those of earlier
// cells it declares again); parsing and printing the whole file for that cost a cell that came
// right after one ~3 ms of its ~10 (the kernel section of bench/analysis.md).
//
// Invariants:
// - reparse(tree, text) gives the tree a fresh parse of `text` with the tree's parse options
//   gives, or null: TypeScript's incremental parser (the one editors and tsserver run on every
//   edit), fed the one span where the old and the new text differ. It reuses the old tree's
//   nodes, so the old tree must not be used after it but as a program's oldProgram file (as
//   tsserver's old programs are), and it is used so only once: a tree TypeScript has parsed
//   incrementally before is parsed afresh. So is a text with syntax errors: there a reused node
//   keeps the error flags of its old tree (containsParseError), where a fresh parse gives the
//   flags to the nodes beside the error. Declarations a cell carries on have no syntax errors
//   (they are TypeScript's declaration output, printed), so this costs nothing in practice.
// - printStatements(sf, statements) gives what printer.printFile gives for `sf` with those
//   statements and nothing else. The file's printer prints each statement where the last ended,
//   on a new line, and a statement's print depends only on the text from its full start (its
//   leading comments) to the end of its trailing comments on its line; so a print is kept by
//   that text, from one print to the next, for a statement whose tree matches its text.

/** @typedef {{ span: { start: number, length: number }, newLength: number }} TextChangeRange */

/**
 * The one span where `before` and `after` differ: everything before it and after it is the same
 * in both (the longest common head, then the longest common tail of what is left).
 * @param {string} before @param {string} after @returns {TextChangeRange}
 */
function changeRange(before, after) {
  const shorter = Math.min(before.length, after.length);
  let head = 0;
  while (head < shorter && before.charCodeAt(head) === after.charCodeAt(head)) head++;
  let tail = 0;
  const room = shorter - head;
  while (tail < room && before.charCodeAt(before.length - 1 - tail) === after.charCodeAt(after.length - 1 - tail))
    tail++;
  return { span: { start: head, length: before.length - head - tail }, newLength: after.length - head - tail };
}

/**
 * The tree of `text` made from `tree` (the same file name and parse options), or null when
 * `tree` was the base of an incremental parse before (TypeScript allows one) or `text` has
 * syntax errors (see the header). Either way `tree` is not to be used again.
 * @param {any} ts @param {any} tree @param {string} text
 */
function reparse(ts, tree, text) {
  if (tree.hasBeenIncrementallyParsed) return null;
  // Counted beside TypeScript's own "beforeParse" while its performance log is on (the tests).
  ts.performance.mark("beforeReparse");
  const made = ts.updateSourceFile(tree, text, changeRange(tree.text, text));
  return made.parseDiagnostics.length > 0 ? null : made;
}

/**
 * A printer of declaration statements that keeps each statement's print by its text until the
 * next print.
 * @param {any} ts
 */
function createStatementPrinter(ts) {
  const printer = ts.createPrinter({ newLine: ts.NewLineKind.LineFeed });
  /** The last print's statements: their text (see the header) to their print. @type {Map<string, string>} */
  let kept = new Map();
  return {
    /**
     * @param {any} sf the file the statements were parsed in
     * @param {readonly any[]} statements some of its statements, in its order
     * @param {ReadonlySet<any>} [changed] statements whose tree no longer matches their text
     *   (names taken out of them): printed afresh, and not kept
     * @returns {string}
     */
    printStatements(sf, statements, changed) {
      const text = sf.text;
      /** @type {Map<string, string>} */
      const next = new Map();
      /** @type {string[]} */
      const out = [];
      for (const stmt of statements) {
        let printed;
        if (changed?.has(stmt)) {
          printed = printer.printNode(ts.EmitHint.Unspecified, stmt, sf);
        } else {
          const trailing = ts.getTrailingCommentRanges(text, stmt.end);
          const key = text.slice(stmt.pos, trailing?.length ? trailing[trailing.length - 1].end : stmt.end);
          printed = kept.get(key) ?? next.get(key) ?? printer.printNode(ts.EmitHint.Unspecified, stmt, sf);
          next.set(key, printed);
        }
        out.push(printed);
        // The file's printer starts each statement on a new line (a `//` comment ends a line itself).
        if (printed.length > 0 && !printed.endsWith("\n")) out.push("\n");
      }
      kept = next;
      return out.join("");
    },
  };
}

module.exports = { changeRange, reparse, createStatementPrinter };
