// @ts-check
// What a cell that failed at run time leaves declared: the names it assigned before it threw, as
// IPython keeps the names a cell assigned before its exception. tslab's executor keeps the
// declarations of the last cell that ran to its end, so a cell that threw on its last line lost
// every name it made to the cells after it ("Cannot find name 'data'"), though their values were
// there: the segment a student had just attached could not even be detached.
//
// Invariants:
// - A name of the failed cell is kept when its value is there (not undefined) after the
//   failure: the compiled cell sets each of its names to undefined first, then each as its
//   statement runs (so a name the cell declares again after the throw is gone, as its value is).
//   Types (interfaces, type aliases) and imports are kept; the names of earlier cells the failed
//   cell did not declare again are kept as they were.
// - tslab's executor is not changed: it still hands the converter the declarations from before
//   the failed cell; the converter answers every convert, inspect and complete as if it had
//   been handed the kept ones, until the executor moves on (a cell that ran to its end).

const { ts } = require("./converter");

/**
 * The part of `declarations` (a cell's .d.ts) whose names `isAssigned` holds, and its
 * declarations of types, imports and namespaces whole.
 * @param {string} declarations @param {(name: string) => boolean} isAssigned
 */
function declarationsAssigned(declarations, isAssigned) {
  const sf = ts.createSourceFile("cell.d.ts", declarations, ts.ScriptTarget.Latest, true);
  let out = "";
  for (const stmt of sf.statements) {
    const lead = declarations.slice(stmt.getFullStart(), stmt.getStart(sf));
    const whole = declarations.slice(stmt.getFullStart(), stmt.end);
    if (ts.isVariableStatement(stmt)) {
      const all = stmt.declarationList.declarations;
      const kept = all.filter((/** @type {any} */ d) => ts.isIdentifier(d.name) && isAssigned(d.name.text));
      if (kept.length === all.length) out += whole;
      else if (kept.length > 0) {
        const head = declarations.slice(stmt.getStart(sf), all[0].getStart(sf));
        out += `${lead}${head}${kept.map((/** @type {any} */ d) => declarations.slice(d.getStart(sf), d.end)).join(", ")};`;
      }
    } else if (
      (ts.isFunctionDeclaration(stmt) || ts.isClassDeclaration(stmt) || ts.isEnumDeclaration(stmt)) &&
      stmt.name !== undefined
    ) {
      if (isAssigned(stmt.name.text)) out += whole;
    } else out += whole;
  }
  return out + declarations.slice(sf.statements.length ? sf.statements[sf.statements.length - 1].end : 0);
}

/**
 * `converter` (kernel/converter.js) for tslab's executor, keeping what a cell that failed at run
 * time declared: after `ranUntilFailure(isAssigned)`, the declarations from before that cell
 * stand for the ones it assigned (see the header).
 * @template {{ convert: Function, inspect: Function, complete: Function, cellDeclarations: Function, prepare: Function, isPrepared: (decls: string) => boolean }} C
 * @param {C} converter
 */
function keepingFailedCells(converter) {
  /** The declarations tslab gave the last cell that will run, and what it converted to. @type {{ given: string, result: any } | null} */
  let last = null;
  /** The executor's declarations while they are stale, and those that stand for them. @type {{ stale: string, kept: string } | null} */
  let standIn = null;
  /** Whether the last convert compiled: the executor then takes its declarations, unless its run fails. */
  let executorMovesOn = false;
  /** The declarations the next convert will be handed, once known (what prepareNext makes ready). @type {string | null} */
  let next = null;
  const current = (/** @type {string} */ declarations) =>
    standIn !== null && declarations === standIn.stale ? standIn.kept : declarations;
  return {
    ...converter,
    /** @param {string} prevDecl @param {string} src */
    convert(prevDecl, src) {
      // The executor moved on: to declarations of its own, or (equal to the stale ones, as a
      // failed cell run again may give) to those of the cell that compiled and was not reported failed.
      if (standIn !== null && (executorMovesOn || prevDecl !== standIn.stale)) standIn = null;
      const result = converter.convert(current(prevDecl), src);
      executorMovesOn = result.diagnostics.length === 0;
      last = result.output ? { given: prevDecl, result } : null;
      // tslab's executor takes `declOutput || ""` after a cell that compiled (and ran); after one
      // that did not, the declarations stay those just converted against.
      next = executorMovesOn ? result.declOutput || "" : null;
      return result;
    },
    /** @param {string} prevDecl @param {string} src @param {number} position */
    inspect(prevDecl, src, position) {
      return converter.inspect(current(prevDecl), src, position);
    },
    /** @param {string} prevDecl @param {string} src @param {number} position */
    complete(prevDecl, src, position) {
      return converter.complete(current(prevDecl), src, position);
    },
    /**
     * The cell last converted threw (or was interrupted) as it ran: its names whose values are
     * there are declared for the cells after it.
     * @param {(name: string) => boolean} isAssigned
     */
    ranUntilFailure(isAssigned) {
      const ran = last;
      last = null;
      executorMovesOn = false;
      next = null;
      if (ran === null) return;
      const own = converter.cellDeclarations(ran.result);
      if (typeof own !== "string") return; // a result the converter did not compile (seeded)
      const earlier = String(ran.result.declOutput).slice(own.length);
      standIn = { stale: ran.given, kept: declarationsAssigned(own, isAssigned) + earlier };
      next = standIn.kept;
    },
    /**
     * Whether the declarations the next cell will be handed are unknown, or prepared already
     * (the converter's isPrepared).
     */
    nextPrepared() {
      return next === null || converter.isPrepared(next);
    },
    /**
     * Makes ready the declarations the next cell will be compiled against (the converter's
     * prepare), once per cell: after the last cell's run, failed or not, they are known.
     */
    prepareNext() {
      if (next !== null) converter.prepare(next);
      next = null;
    },
  };
}

module.exports = { keepingFailedCells, declarationsAssigned };
