// TypeScript source -> CommonJS JavaScript for a child process, transpile-only (like
// `ts-node --transpile-only`): syntax errors are reported before anything is spawned; type
// errors are not checked (the notebook kernel already type-checks cells, and a child is often
// a deliberately broken program); runtime errors appear on the child's stderr.
import type * as TS from "typescript";
import { withCode } from "../codes";

let ts: typeof TS | undefined;

function typescript(): typeof TS {
  // Loaded on first use: it is large, and many programs never run a child.
  return (ts ??= require("typescript") as typeof TS);
}

/** Wraps the module body so `await` works at the top level, as in a notebook cell; a rejection
 * of the wrapper is an unhandled rejection: Node prints it and exits with code 1. */
const PREFIX = "(async () => { ";
const SUFFIX = "\n})();\n";

/**
 * Transpiles `source` (TypeScript, ES modules syntax allowed) to CommonJS. Throws a SyntaxError
 * naming line and column, with the offending line, when the source does not parse.
 */
export function transpileForChild(source: string, fileName: string): string {
  const t = typescript();
  const out = t.transpileModule(source, {
    fileName,
    reportDiagnostics: true,
    compilerOptions: {
      module: t.ModuleKind.CommonJS,
      target: t.ScriptTarget.ES2022,
      esModuleInterop: true,
      inlineSourceMap: true,
      inlineSources: true,
    },
  });
  const errors = (out.diagnostics ?? []).filter((d) => d.category === t.DiagnosticCategory.Error);
  if (errors.length > 0) throw syntaxError(errors, source, fileName);
  // The wrapper goes on the first line, so the source map's line numbers stay right.
  return PREFIX + out.outputText + SUFFIX;
}

function syntaxError(diagnostics: readonly TS.Diagnostic[], source: string, fileName: string): SyntaxError {
  const t = typescript();
  const lines = source.split("\n");
  const parts = diagnostics.slice(0, 5).map((d) => {
    const text = t.flattenDiagnosticMessageText(d.messageText, "\n");
    if (d.file === undefined || d.start === undefined) return `${fileName}: ${text}`;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    const shown = lines[line] ?? "";
    return `${fileName}:${line + 1}:${character + 1} - error TS${d.code}: ${text}\n    ${shown}\n    ${" ".repeat(character)}^`;
  });
  const more = diagnostics.length > 5 ? `\n(${diagnostics.length - 5} more)` : "";
  return withCode(
    new SyntaxError(`the child's TypeScript does not compile:\n${parts.join("\n")}${more}`),
    "ERR_TS_SYNTAX",
  );
}
