// @ts-check
// Turns what failed in a cell into Jupyter's error fields: ename, evalue, traceback.
//
// tslab compiles a cell to JavaScript and runs it with vm.runInThisContext. We give each run a
// file name ("In[3]", like IPython) and remember the compiled code, so a stack frame
// "In[3]:5:9" can be traced back to the line the student wrote. The compiled code is not
// line-for-line the source (types removed, imports rewritten, `exports.x = x` added), and
// tslab keeps no source map, so the line is found by matching the frame's compiled line with
// the source lines on their identifiers and literals, nearest in order on a tie.

const vm = require("vm");
const { habitNote } = require("./habit-notes");

/** @typedef {{ filename: string, code: string, source: string }} CellRun */

/** Compiled runs by file name ("In[3]"); kept for the traces of functions defined in old cells. */
const runs = new Map();
/** @type {{ filename: string, source: string } | null} */
let pending = null;

const WRAPPER = /^\(async function\(exports, require\) \{ |^\(function\(exports, require\) \{ /;

/** Wraps vm.runInThisContext so that tslab's run of a cell carries the cell's name. Once. */
function installCellNames() {
  const original = vm.runInThisContext;
  if (/** @type {any} */ (original).__tslabIpc) return;
  /** @this {unknown} @param {string} code @param {any} options */
  const named = function (code, options) {
    if (
      pending &&
      typeof code === "string" &&
      WRAPPER.test(code) &&
      (options === undefined || typeof options === "object")
    ) {
      options = { ...(options || {}), filename: pending.filename };
      runs.set(pending.filename, { filename: pending.filename, code, source: pending.source });
      if (runs.size > 200) runs.delete(runs.keys().next().value);
      pending = null;
    }
    return original.call(this, code, options);
  };
  /** @type {any} */ (named).__tslabIpc = true;
  vm.runInThisContext = /** @type {any} */ (named);
}

/**
 * The next vm run of a cell is `source`, to be called `filename` (null: no cell pending).
 * @param {string | null} filename @param {string} source
 */
function expectCell(filename, source) {
  pending = filename === null ? null : { filename, source };
}

const IGNORED = new Set(
  "exports require void const let var new await return function async this true false null undefined of in typeof get enumerable value Object defineProperty".split(
    " ",
  ),
);

/** Identifiers, numbers and string contents of a line: what survives compilation. */
/** @param {string} line @returns {Set<string>} */
function tokens(line) {
  const out = new Set();
  for (const m of line.matchAll(
    /"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|`((?:[^`\\]|\\.)*)`|([A-Za-z_$][\w$]*)|(\d[\w.]*)/g,
  )) {
    const t = m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[5];
    if (t === undefined || IGNORED.has(t) || /^\w+_\d+$/.test(t)) continue; // tslab_ipc_1: module aliases
    out.add(t);
  }
  return out;
}

/**
 * A run's lines, and what was worked out of them, once per run: a stack is mapped each time it
 * is formatted, and a loop of failed calls in a 60-line cell formats thousands (10,000 failed
 * shmget: 3.7 s, each frame tokenizing the whole cell again).
 * @typedef {{ compiled: string[], source: string[], sourceTokens: Array<Set<string>> | null, found: Map<number, number | null> }} RunLines
 * @type {WeakMap<CellRun, RunLines>}
 */
const linesOfRuns = new WeakMap();

/** @param {CellRun} run @returns {RunLines} */
function linesOf(run) {
  let lines = linesOfRuns.get(run);
  if (lines === undefined) {
    lines = { compiled: run.code.split("\n"), source: run.source.split("\n"), sourceTokens: null, found: new Map() };
    linesOfRuns.set(run, lines);
  }
  return lines;
}

/**
 * The 1-based source line for line `line` of the compiled run, or null when nothing matches.
 * @param {CellRun} run
 * @param {number} line
 */
function sourceLineOf(run, line) {
  const lines = linesOf(run);
  let found = lines.found.get(line);
  if (found === undefined) {
    found = findSourceLine(lines, line);
    lines.found.set(line, found);
  }
  return found;
}

/** sourceLineOf, worked out. @param {RunLines} lines @param {number} line @returns {number | null} */
function findSourceLine(lines, line) {
  const compiled = lines.compiled;
  const text = (compiled[line - 1] ?? "").replace(WRAPPER, "");
  const want = tokens(text);
  if (want.size === 0) return null;
  const src = lines.source;
  lines.sourceTokens ??= src.map(tokens);
  const sourceTokens = lines.sourceTokens;
  // Where in the source this compiled line sits proportionally: the tie-breaker.
  const expected = ((line - 1) / Math.max(1, compiled.length - 1)) * (src.length - 1);
  /** @type {number | null} */
  let best = null;
  let bestScore = 0;
  src.forEach((_, i) => {
    const have = sourceTokens[i];
    let common = 0;
    for (const t of want) if (have.has(t)) common++;
    const score = common / want.size;
    if (
      score > bestScore ||
      (score === bestScore && best !== null && Math.abs(i - expected) < Math.abs(best - expected))
    ) {
      best = i;
      bestScore = score;
    }
  });
  return best === null || bestScore < 0.5 ? null : best + 1;
}

const CELL_FRAME = /^(\s*at .*?)\(?(In\[\d+\]):(\d+):(\d+)\)?$/;
const MAPPED_FRAME = /\(?(In\[\d+\]) line (\d+)\)?$/;

/**
 * "    at f (In[3]:5:9)" -> "    at f (In[3] line 2)": the frame at the line the student wrote.
 * Null for tslab's call of the cell's wrapper (not the student's code); any other frame unchanged.
 * @param {string} frame @returns {string | null}
 */
function cellFrame(frame) {
  const m = frame.match(CELL_FRAME);
  if (!m) return frame;
  const run = runs.get(m[2]);
  if (!run) return frame;
  // The last line is tslab's call of the cell's wrapper function: not the student's code.
  if (Number(m[3]) >= linesOf(run).compiled.length) return null;
  const n = sourceLineOf(run, Number(m[3]));
  const where = n === null ? m[2] : `${m[2]} line ${n}`;
  // An anonymous frame names no function: "at In[3] line 2", "at async In[3] line 5".
  return /^\s*at (?:async )?$/.test(m[1]) ? `${m[1]}${where}` : `${m[1].trimEnd()} (${where})`;
}

/** A frame at a cell's line, followed by that line: "        2 | shmget(...)". */
/** @param {string} frame @returns {string[]} */
function withSourceLine(frame) {
  const m = frame.match(MAPPED_FRAME);
  const run = m ? runs.get(m[1]) : undefined;
  const line = run === undefined ? undefined : linesOf(run).source[Number(m?.[2]) - 1];
  return line === undefined ? [frame] : [frame, `        ${m?.[2]} | ${line.trim()}`];
}

/** Frames worth a student's attention: cells and libraries, not tslab's or Node's machinery. */
/** @param {string} frame */
function isUserFrame(frame) {
  return !/node:internal|node_modules[\\/]tslab[\\/]|[\\/]kernel[\\/](?:traceback|handler|interrupt|cell-api)\.js|\(node:|at new Promise \(<anonymous>\)|^\s*at <anonymous>$/.test(
    frame,
  );
}

/**
 * The frames of a stack worth a student's attention, cells' at the lines the student wrote
 * (already so in a stack formatted through a cell). "Proxy.f": functions of earlier cells are
 * called through tslab's exports proxy. @param {string[]} frames @returns {string[]}
 */
function shownFrames(frames) {
  /** @type {string[]} */
  const shown = [];
  for (const f of frames) {
    if (!isUserFrame(f)) continue;
    const mapped = cellFrame(f.replace(/\bat Proxy\./, "at "));
    if (mapped !== null) shown.push(mapped);
  }
  return shown;
}

const errorToString = Error.prototype.toString;

/**
 * A stack's first line as Node writes it: `TypeError [ERR_INVALID_ARG_TYPE]: message` for Node's
 * own errors (and ours, which carry the same codes), which Node's stack formatter, replaced here,
 * writes so; `Name: message` (V8's) for any other. @param {any} error
 */
function stackHeader(error) {
  try {
    const code = error?.code;
    if (typeof code === "string" && /^ERR_[A-Z0-9_]+$/.test(code)) return `${error.name} [${code}]: ${error.message}`;
    return errorToString.call(error);
  } catch {
    return "<error>";
  }
}

/**
 * The stack of an error that passed through a cell, as the student reads it wherever it is
 * shown (`console.log(err)`, a caught error as a cell's value, `err.stack`): frames of the cells
 * at the lines the student wrote, without the kernel's, tslab's and Node's machinery below them.
 * `In[2]:6:13` was a line of the compiled cell, which the student never saw. A stack that never
 * passed through a cell (the kernel's own errors) keeps every frame, as V8 formats it.
 * Error.prepareStackTrace is the process's; the kernel sets it here, once.
 */
function installCellStacks() {
  if (/** @type {any} */ (Error.prepareStackTrace)?.__tslabIpc) return;
  /** @param {Error} error @param {NodeJS.CallSite[]} callSites */
  const prepare = (error, callSites) => {
    const header = stackHeader(error);
    const frames = callSites.map((site) => `    at ${site}`);
    if (!frames.some((f) => CELL_FRAME.test(f))) return [header, ...frames].join("\n");
    return [header, ...shownFrames(frames)].join("\n");
  };
  /** @type {any} */ (prepare).__tslabIpc = true;
  Error.prepareStackTrace = prepare;
}

/**
 * Jupyter's error fields for a value thrown by a cell.
 * @param {unknown} thrown
 */
function describeThrown(thrown) {
  try {
    return describeWithCauses(thrown, new Set());
  } catch (failed) {
    // A value whose every look throws (a revoked Proxy, a throwing getter): the cell still fails
    // with an error shown, not a reply the front end shows nothing for.
    let why = "";
    try {
      why = `: ${failed instanceof Error ? failed.message : String(failed)}`;
    } catch {}
    const evalue = `the cell threw a value that cannot be described${why}`;
    return { ename: "Uncaught", evalue, traceback: [`Uncaught ${evalue}`] };
  }
}

/** How many causes a traceback follows (`new Error(..., { cause })`, each under the last). */
const CAUSES_SHOWN = 5;

/**
 * describeThrown, and under its traceback the error's cause, and the cause's, as Python prints
 * "the direct cause of" and Node `[cause]`. @param {unknown} thrown @param {Set<unknown>} seen
 * @returns {{ ename: string, evalue: string, traceback: string[] }}
 */
function describeWithCauses(thrown, seen) {
  seen.add(thrown);
  if (thrown instanceof Error || (thrown && typeof thrown === "object" && "stack" in thrown && "message" in thrown)) {
    const e = /** @type {Error & { code?: string }} */ (thrown);
    if (e.code === "ERR_SCRIPT_EXECUTION_INTERRUPTED" || e.message === "Interrupted asynchronously") {
      return {
        ename: "Interrupted",
        evalue: "the cell was interrupted (SIGINT)",
        traceback: ["Interrupted: the cell was interrupted (SIGINT)"],
      };
    }
    const ename = String(e.name || e.constructor?.name || "Error");
    const evalue = String(e.message);
    const stack = String(e.stack || "");
    // Already mapped when the stack passed through a cell (installCellStacks); mapped here otherwise.
    const frames = stack.split("\n").filter((l) => /^\s+at /.test(l));
    const traceback = [`${ename}: ${evalue}`];
    traceback.push(...framesWithSource(shownFrames(frames)));
    // Extra properties (code, errno, syscall, path) as Node prints them.
    const extra = Object.entries(e).filter(
      ([k, v]) => v !== undefined && !["name", "message", "stack", "cause"].includes(k),
    );
    if (extra.length) traceback.push(`  { ${extra.map(([k, v]) => `${k}: ${shown(v)}`).join(", ")} }`);
    const cause = /** @type {{ cause?: unknown }} */ (e).cause;
    if (cause !== undefined && !seen.has(cause) && seen.size <= CAUSES_SHOWN) {
      const [first, ...rest] = describeWithCauses(cause, seen).traceback;
      traceback.push(`Caused by: ${first.replace(/^Uncaught /, "")}`, ...rest);
    }
    return { ename, evalue, traceback };
  }
  const text = typeof thrown === "string" ? thrown : require("util").inspect(thrown);
  return { ename: "Uncaught", evalue: text, traceback: [`Uncaught ${text}`] };
}

/**
 * The traceback's frames with their source lines, a run of the same frame (a recursion that
 * overflowed the stack: ten `at f (In[1] line 1)`) once, then how many more times it came, as
 * Python prints "[Previous line repeated 996 more times]". Only the frames the stack kept are
 * counted (Error.stackTraceLimit, 10 by default). @param {string[]} frames
 */
function framesWithSource(frames) {
  /** @type {string[]} */
  const lines = [];
  for (let i = 0; i < frames.length; ) {
    let next = i + 1;
    while (next < frames.length && frames[next] === frames[i]) next++;
    lines.push(...withSourceLine(frames[i]));
    const more = next - i - 1;
    if (more > 0) lines.push(`    [the frame above repeated ${more} more time${more === 1 ? "" : "s"}]`);
    i = next;
  }
  return lines;
}

/** A field's value in the traceback: JSON where it has one (`"ENOENT"`, `2`), else as Node shows it (`5n`). */
/** @param {unknown} value */
function shown(value) {
  try {
    const json = JSON.stringify(value);
    if (json !== undefined) return json;
  } catch {}
  return require("util").inspect(value);
}

/**
 * Jupyter's error fields for TypeScript diagnostics (tslab's, already in cell coordinates).
 * @param {Array<{ fileName: string, line: number, character: number, message: string }>} diags
 * @param {string} source the cell
 */
function describeDiagnostics(diags, source) {
  const lines = source.split("\n");
  const evalue = diags
    .map((d) => `${d.fileName ? d.fileName + " " : ""}${d.line}:${d.character} - ${d.message}`)
    .join("\n");
  const traceback = [`TSError: ⨯ Unable to compile TypeScript`];
  const given = new Set();
  for (const d of diags) {
    traceback.push(`${d.fileName || "cell"} line ${d.line}, column ${d.character}: ${d.message}`);
    if (!d.fileName && lines[d.line - 1] !== undefined) {
      traceback.push(`    ${d.line} | ${lines[d.line - 1]}`);
      traceback.push(`    ${" ".repeat(String(d.line).length)} | ${" ".repeat(Math.max(0, d.character - 1))}^`);
    }
    const note = habitNote(d.message, d.fileName ? undefined : lines[d.line - 1]);
    // Under the first diagnostic that calls for it: argv[1] and argv[2] get one note.
    if (note !== undefined && !given.has(note)) {
      given.add(note);
      traceback.push(`    note: ${note}`);
    }
  }
  return { ename: "TSError", evalue, traceback };
}

module.exports = {
  installCellNames,
  installCellStacks,
  expectCell,
  describeThrown,
  describeDiagnostics,
  sourceLineOf,
  tokens,
};
