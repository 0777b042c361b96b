// @ts-check
// An execute_request's user_expressions (Jupyter's messaging spec, "Execute"): once the cell has
// run without an error, each expression is evaluated where the cells' names live and answered
// under its key, with its display data or with an error of its own, as ipykernel answers them.
// Front ends use them to fill a prompt or a status line from the kernel's state without a cell
// of their own; before, the kernel answered every request with none ({}), so a front end that
// asked for a key found it missing.
//
// Invariants:
// - An expression is TypeScript with its types stripped (transpiled, not type-checked: it answers
//   a front end, it is no cell of the student's and has no line of its own to report against),
//   then run as JavaScript with the names the cells declared in scope, then the globals.
// - It declares nothing a later cell sees; an expression that assigns changes the value, as in
//   ipykernel.
// - One expression's failure (a syntax error, a throw, a key that is not a string) is that key's
//   error; the other keys are still answered.

const vm = require("vm");
const { describeThrown } = require("./traceback");

/**
 * Runs `code` (JavaScript) with the properties of `scope` as its outermost names: a direct eval
 * in a `with`. It is compiled here from a string because the kernel's files are type-checked, and
 * TypeScript refuses a `with` statement (TS2410). Assignments to a name the cells declared change
 * that name's value.
 * @type {(scope: object, code: string) => unknown}
 */
const evaluateInScope = vm.runInThisContext("(function (scope, code) { with (scope) { return eval(code); } })", {
  filename: "user_expressions",
});

/**
 * The JavaScript of one expression: TypeScript's syntax stripped, the expression kept whole (an
 * object literal stays one, a trailing `;` or comment does not end it early).
 * @param {any} ts @param {string} expression
 * @returns {string}
 */
function javaScriptOf(ts, expression) {
  const source = `(${expression.replace(/[\s;]+$/, "")}\n)`;
  const out = ts.transpileModule(source, {
    reportDiagnostics: true,
    fileName: "user_expression.ts",
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  });
  const errors = (out.diagnostics ?? []).filter((/** @type {any} */ d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) {
    const text = ts.flattenDiagnosticMessageText(errors[0].messageText, "\n");
    throw new SyntaxError(`${text} (in the user expression ${JSON.stringify(expression)})`);
  }
  return out.outputText;
}

/**
 * The `user_expressions` of an execute_reply.
 * @param {unknown} expressions the request's user_expressions (anything but a plain object: none)
 * @param {{
 *   ts: any,
 *   scope: object,
 *   displayDataOf: (value: unknown) => { data: Record<string, unknown>, metadata: object },
 * }} context TypeScript, the cells' names, and how a value is shown (an error is shown as a
 *   cell's error is, by kernel/traceback.js)
 * @returns {Record<string, object>}
 */
function evaluateUserExpressions(expressions, context) {
  /** @type {Record<string, object>} */
  const answers = {};
  if (!expressions || typeof expressions !== "object" || Array.isArray(expressions)) return answers;
  for (const [key, expression] of Object.entries(expressions)) {
    try {
      if (typeof expression !== "string") {
        throw new TypeError(`the user expression ${JSON.stringify(key)} must be a string, not ${typeof expression}`);
      }
      const value = evaluateInScope(context.scope, javaScriptOf(context.ts, expression));
      const { data, metadata } = context.displayDataOf(value);
      answers[key] = { status: "ok", data, metadata };
    } catch (thrown) {
      answers[key] = { status: "error", ...describeThrown(thrown) };
    }
  }
  return answers;
}

module.exports = { evaluateUserExpressions };
