// TypeScript source -> CommonJS JavaScript for a child process, transpile-only (like
// `ts-node --transpile-only`): syntax errors are reported before anything is spawned; type
// errors are not checked (the notebook kernel already type-checks cells, and a child is often
// a deliberately broken program); runtime errors appear on the child's stderr.
//
// Which TypeScript: this package's own (`typescript`), loaded on first use, unless the host
// already holds one and hands it over (`useTypeScript`): the notebook kernel gives the compiler
// its cells are checked with, so a child's source is read by the same TypeScript as the cell
// that holds it, and the kernel loads no second compiler (measured: the first runTs of a kernel
// 380 -> ~160 ms, and the kernel ~21 MiB smaller for the rest of its session).
import type * as TS from "typescript";
import { withCode } from "../codes";
import { validateFunction, validateObject } from "../validators";

/** What transpiling uses of TypeScript: any TypeScript from 4.6 on (ES2022) has it. */
export type TranspilerTypeScript = Pick<
  typeof TS,
  "transpileModule" | "flattenDiagnosticMessageText" | "ModuleKind" | "ScriptTarget" | "DiagnosticCategory"
>;

let ts: TranspilerTypeScript | undefined;

function typescript(): TranspilerTypeScript {
  // Loaded on first use: it is large, and many programs never run a child.
  return (ts ??= require("typescript") as typeof TS);
}

/**
 * Transpiles children's sources with `instance` from now on, instead of loading this package's
 * own TypeScript. For a host that already holds a TypeScript (the notebook kernel). Throws a
 * TypeError, and changes nothing, for anything without TypeScript's `transpileModule`.
 */
export function useTypeScript(instance: TranspilerTypeScript): void {
  const given = validateObject<Record<string, unknown>>(instance, "instance");
  validateFunction(given.transpileModule, "instance.transpileModule");
  validateFunction(given.flattenDiagnosticMessageText, "instance.flattenDiagnosticMessageText");
  for (const e of ["ModuleKind", "ScriptTarget", "DiagnosticCategory"]) validateObject(given[e], `instance.${e}`);
  ts = instance;
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
  // The wrapper goes on the first line, so the source map's line numbers stay right; its columns
  // on that line move by the wrapper's length.
  return PREFIX + withFirstLineShifted(out.outputText, PREFIX.length) + SUFFIX;
}

const INLINE_MAP = /^\/\/# sourceMappingURL=data:application\/json;base64,(.*)$/m;
const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/**
 * `code` with its inline source map saying that everything on the first generated line now
 * starts `by` columns later. Without it, an error on a one-line child's line 1 was reported that
 * many columns to the right (`child.ts:1:26` for a call at column 11), caret and all. Only the
 * first segment of the line holds an absolute column (source map v3: the others are relative
 * to it), so that one number, a base64 VLQ, is all that changes.
 */
function withFirstLineShifted(code: string, by: number): string {
  return code.replace(INLINE_MAP, (line, payload: string) => {
    const map = JSON.parse(Buffer.from(payload, "base64").toString("utf8")) as { mappings: string };
    if (map.mappings === "" || map.mappings[0] === ";" || map.mappings[0] === ",") return line;
    let value = 0;
    let shift = 0;
    let i = 0;
    for (let digit = 32; digit & 32; i++, shift += 5) {
      digit = BASE64.indexOf(map.mappings[i]);
      value += (digit & 31) << shift;
    }
    const column = (value & 1 ? -(value >>> 1) : value >>> 1) + by;
    let rest = column < 0 ? (-column << 1) | 1 : column << 1;
    let encoded = "";
    do {
      const digit = rest & 31;
      rest >>>= 5;
      encoded += BASE64[rest ? digit | 32 : digit];
    } while (rest);
    map.mappings = encoded + map.mappings.slice(i);
    return `//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString("base64")}`;
  });
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
