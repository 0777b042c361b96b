// @ts-check
// What a student who brings a habit of C (the lecture's code) or of Python (a course's other
// notebooks) to a cell is told beside TypeScript's own words: the habit TypeScript rejected, and
// what a cell writes instead. kernel/traceback.js puts a diagnostic's note under it, once per
// cell. Matched on the diagnostic's message and on the line it is on; the diagnostics themselves
// are never changed, and a line of TypeScript that looks alike gets no note.

/**
 * C's failure checks (`shmdt(d) == -1`, `address == MAP_FAILED`): TS2367 names the two types
 * that cannot be equal, in either order; each check is the two sets of types it is between.
 * @type {Array<[string[], string[], string]>}
 */
const C_CHECKS = [
  [
    ["0"],
    ["-1"],
    "tslab-ipc's calls return 0 or throw: a failure is an IpcError whose code is C's errno name " +
      "(err.code === 'EINVAL'), not -1 and perror. Call it without the check, or catch the error.",
  ],
  [
    ["Attachment", "Mapping"],
    ["number", "bigint", "-1", "-1n"],
    "shmat and mmap return the Attachment or Mapping, or throw: a failure is an IpcError whose code is " +
      "C's errno name (err.code === 'EINVAL'), never (void *) -1 or MAP_FAILED. Use it without the check, or catch the error.",
  ],
];
const NO_OVERLAP =
  /^This comparison appears to be unintentional because the types '(.+)' and '(.+)' have no overlap\.$/;

/** What a cell writes for C's seeks, lseek(fd, offset, SEEK_SET) then write, and fseek. */
const WRITE_AT = 'fs.writeSync(fd, buffer, 0, length, position) writes at a position (import fs from "fs").';

/** The lecture's C library calls and names, and what a cell writes instead ("Cannot find name"). */
const C_NAMES = new Map([
  ["NULL", "C's NULL is null here (mmap(null, ...), shmat(id, null, 0))."],
  ["printf", 'console.log(...) prints a line; util.format("%s", ...) formats as printf does.'],
  [
    "sprintf",
    'attachment.writeString(util.format("%s", ...)) writes formatted text into the memory, as sprintf(shared_memory, ...) ' +
      'does (import util from "util").',
  ],
  ["perror", "a failed call throws an IpcError; its message is what perror would print, its code the errno name."],
  ["exit", "throw an Error to stop the cell; the kernel goes on (process.exit(1) in a cell does the same)."],
  ["strcpy", "attachment.writeString(text) copies a string and its NUL into the memory."],
  ["strncpy", "attachment.writeString(text) copies a string and its NUL into the memory, refusing what does not fit."],
  ["strcmp", 'strings compare with === (a.readString() === "read").'],
  ["scanf", 'await input("prompt: ") reads a line from the student.'],
  ["sleep", "await new Promise((r) => setTimeout(r, 1000)) waits a second, and the cell can be interrupted."],
  [
    "open",
    'fs.openSync(path, "r+") opens a file and returns its descriptor (import fs from "fs"); O_RDWR | O_CREAT work as its flags.',
  ],
  ["close", "fs.closeSync(fd) closes a descriptor of fs.openSync; a mapping stays valid after it, as in C."],
  ["write", 'fs.writeSync(fd, data) writes to a descriptor of fs.openSync (import fs from "fs").'],
  ["read", 'fs.readSync(fd, buffer) reads from a descriptor of fs.openSync (import fs from "fs").'],
  ["lseek", WRITE_AT],
  ["argv", "a cell has no command line: give the value a name; a child's arguments are process.argv.slice(2)."],
  ["unlink", 'fs.unlinkSync(path) removes a file (import fs from "fs"); shm_unlink(name) removes a POSIX object.'],
  ["fseek", WRITE_AT],
]);
const UNKNOWN_NAME = /^Cannot find name '([\w$]+)'\.( Did you mean .*)?$/;
/**
 * A member of a Promise that its result has (`runTs(...).code`): in C a call returns its result.
 * TypeScript says "Did you forget to use 'await'?" only as related information, which the cell's
 * error does not carry.
 */
const PROMISE_MEMBER = /^Property '[\w$]+' does not exist on type 'Promise<.+>'\.$/;
const AWAIT_NOTE =
  "the call returns a Promise of its result, as runTs and spawnTs do: write await before it (const r = await runTs(...)).";
/** A member of C's struct shmid_ds read from what shmctl(IPC_STAT) returns (`buf.shm_segsz`). */
const SHMID_DS_MEMBER = /^Property '(shm_\w+)' does not exist on type 'ShmidDs'\./;
/** What each of struct shmid_ds's members is called here: `ipcs -m`'s names, at the top level. */
const SHMID_DS_NAMES = new Map([
  ["shm_segsz", "size"],
  ["shm_nattch", "nattch"],
  ["shm_cpid", "cpid"],
  ["shm_lpid", "lpid"],
  ["shm_atime", "atime"],
  ["shm_dtime", "dtime"],
  ["shm_ctime", "ctime"],
]);
/** @param {string} member */
function shmidDsNote(member) {
  const name = SHMID_DS_NAMES.get(member);
  const fields =
    "shmctl(id, IPC_STAT) gives struct shmid_ds's members by the names ipcs -m shows: size, nattch, cpid, lpid, " +
    "atime, dtime, ctime (Dates), and shm_perm's mode, uid, gid, cuid, cgid at the top level (buf.mode, not " +
    "buf.shm_perm.mode); key and shmid too.";
  return name ? `C's buf.${member} is buf.${name} here. ${fields}` : fields;
}

/** `return 0;` ending the slides' main, or a `return` meant to stop a cell early. */
const TOP_LEVEL_RETURN = "A 'return' statement can only be used within a function body.";
const RETURN_NOTE =
  "a cell is not a function, so it has no return: its last expression is its value, and throw new Error(...) stops it " +
  "early (a C main's return 0 needs nothing here).";

/**
 * Lines of the slides' C that TypeScript reads as names it cannot find, missing `;`s and missing
 * expressions, and the note each gets:
 * - a name declared with its type first (`int shmid = ...`, `char *data = shmat(...)`, `const
 *   char *text`, `struct shmid_ds buf;`, `int main(int argc, ...`, `for (int i = 0; ...`); `void`
 *   only as a pointer, since `void f(x)` is a TypeScript statement;
 * - a pointer cast (`(void *) 0`, `(char *) shmat(...)`, `(char *)(-1)`);
 * - an address passed for the call to fill in (`shmctl(shmid, IPC_STAT, &buf)`).
 * @type {Array<[RegExp, string]>}
 */
const C_LINES = [
  [
    /^\s*(?:for\s*\(\s*)?(?:(?:const|unsigned|signed|static|extern)\s+)*(?:(?:struct\s+\w+|int|char|short|long|float|double|size_t|ssize_t|off_t|key_t|pid_t|mode_t|FILE|u?int\d+_t)\b[\s*]*|void\s*\*+\s*)[A-Za-z_]\w*\s*(?:[=;,[(]|$)/,
    "C declares a name with its type first (int shmid = ..., char *data = ...); here write const shmid = shmget(...), " +
      "and the type is inferred: a number for ids and keys, an Attachment or Mapping for shmat and mmap, which is the " +
      "memory itself (no * and no casts; (void *) 0 is null).",
  ],
  [
    /\(\s*(?:const\s+)?(?:void|char|int|long|struct\s+\w+)\s*\*+\s*\)/,
    "C's pointer casts are not written here: (void *) 0 is null, and what shmat and mmap return is the memory " +
      "itself, an Attachment or Mapping ((char *) shmat(...) is shmat(...)); a failure throws, never (char *) -1.",
  ],
  [
    /^\s*#\s*include\b/,
    "C's #include has no counterpart in a cell: the lecture's calls and constants (shmget, IPC_CREAT, mmap, " +
      'PROT_READ, ...) are already in scope; a child started with runTs imports them: import { shmget } from "tslab-ipc";',
  ],
  [
    /^\s*#\s*define\s+[A-Za-z_]\w*/,
    "C's #define of a constant is a const here: #define SHM_SIZE 1024 is const SHM_SIZE = 1024;",
  ],
  [
    /[(,]\s*&\s*[A-Za-z_]/,
    "C passes &name for a call to fill in; here the call returns what it would fill: const info = shmctl(id, IPC_STAT).",
  ],
];

/** IPython's help by `name?`, `name??` or `?name` (a line of its own). */
const IPYTHON_HELP = /^\s*(?:\?{1,2}\s*[A-Za-z_$][\w$.]*|[A-Za-z_$][\w$.]*\s*\?{1,2})\s*$/;

/**
 * Lines of Python's and IPython's syntax, which a course's Python notebooks teach: a shell
 * escape (`!ipcs -m`, `!ls /tmp`), a magic (`%timeit f()`), help by `name?`, a `# comment` (not
 * C's `#include`), `for x in xs:`, `if x:`, an f-string, `def f(x):` and `import os`. Each is a compile error here; the note says what a cell writes instead. `!name`
 * followed by an operator or a call (`!done && f()`, `!ready(x)`) is TypeScript and is not matched.
 * @type {Array<[RegExp, string]>}
 */
const PYTHON_LINES = [
  [
    /^\s*!\s*ipcs\b/,
    "IPython's !ipcs -m is ipcs() here: the segments as a table, read from /proc/sysvipc/shm " +
      "(watchIpcs() shows one that keeps up to date while cells run).",
  ],
  [
    /^\s*!\s*[a-z][\w.-]*(?:\s+(?!(?:in|instanceof)\b)[-/.~\w"'$]|\s*$)/,
    'IPython\'s !command is not TypeScript: runProgram("ls", ["-l", "/tmp"]).stdout runs a program and gives its output.',
  ],
  [
    /^\s*%{1,2}[a-z]\w*/,
    "IPython's %magics are not TypeScript: sampleLatency(() => f()) times a call as %timeit does; " +
      "console.time(label) and console.timeEnd(label) time a stretch of code.",
  ],
  [
    IPYTHON_HELP,
    "IPython's name? is not TypeScript: Shift-Tab on a name (inspection) shows its signature and documentation.",
  ],
  [
    // `# ` with its space (PEP 8's), so a private field (`#count = 0;`) is not taken for one.
    /^\s*#(?=\s|$)(?!\s*(?:include|define|undef|if|ifdef|ifndef|elif|else|endif|pragma|error)\b)/,
    "Python's # comment is // comment here (/* ... */ across lines).",
  ],
  [
    /^\s*for\s+[A-Za-z_]\w*\s+in\s+.*:\s*$/,
    "Python's for x in xs: is for (const x of xs) { ... } here (of: in gives the keys), and for i in range(n): is " +
      "for (let i = 0; i < n; i++) { ... }.",
  ],
  [
    /^\s*(?:if|elif|while)\s+[^(\s].*:\s*$/,
    "Python's if x: (and while x:) is if (x) { ... } here, the condition in parentheses and the body in braces " +
      "(elif is else if); and, or, not are &&, ||, !.",
  ],
  [
    /(?:^|[^\w$])f(["'])(?:(?!\1).)*\{/,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the note shows the syntax of a template literal
    "Python's f'{x}' is `${x}` here: a template literal, in backquotes.",
  ],
  [
    /^\s*(?:async\s+)?def\s+[A-Za-z_]\w*\s*\(/,
    "Python's def f(x): is function f(x) { ... } here, its body in braces; const f = (x) => ... is the short form.",
  ],
  [
    /^\s*import\s+[A-Za-z_][\w.]*(?:\s+as\s+\w+)?\s*;?\s*$/,
    "Python's import os is import os from \"os\" here (a module is named by a string); Node's fs, path, os and " +
      "child_process stand for Python's os, os.path and subprocess.",
  ],
];

/**
 * Names of Python's builtins, which TypeScript does not know, and the note each gets. `int` is
 * left to C (`int shmid = ...`), which the lecture's code uses.
 */
const PYTHON_NAMES = new Map([
  ["print", "console.log(...) prints a line, as Python's print does."],
  ["len", "x.length is len(x) for a string, an array or a Buffer; a Map's or a Set's is x.size."],
  ["True", "true and false are written in lower case here."],
  ["False", "true and false are written in lower case here."],
  ["None", "Python's None is null here (undefined is what was never set)."],
  ["str", "String(x) is str(x); n.toString(16) writes a number in hex."],
  ["and", "Python's and, or, not are &&, ||, ! here."],
  ["or", "Python's and, or, not are &&, ||, ! here."],
  ["not", "Python's and, or, not are &&, ||, ! here."],
  ["pass", "an empty block is {} here, with nothing in it: there is no pass."],
  ["elif", "Python's elif is else if here: if (a) { ... } else if (b) { ... }."],
  [
    "range",
    "for (let i = 0; i < n; i++) loops as for i in range(n) does; Array.from({ length: n }, (_, i) => i) is the list.",
  ],
]);

/** The note the first of `notes` whose pattern `line` matches gives, or undefined. @param {Array<[RegExp, string]>} notes @param {string | undefined} line */
function lineNote(notes, line) {
  return line === undefined ? undefined : notes.find(([pattern]) => pattern.test(line))?.[1];
}

/**
 * The note for a diagnostic that a habit of C or Python caused, or undefined.
 * @param {string} message @param {string} [line] the source line the diagnostic is on
 */
function habitNote(message, line) {
  // A line of (I)Python's syntax is that whatever its names (`!sleep 1` is not C's sleep); then
  // what the diagnostic itself names (a check against -1, printf); then what its line of C is.
  return lineNote(PYTHON_LINES, line) ?? namedNote(message) ?? lineNote(C_LINES, line);
}

/** The note for a diagnostic's own words: C_CHECKS, a Promise's member, a cell's return, shmid_ds's members, C_NAMES, PYTHON_NAMES. @param {string} message */
function namedNote(message) {
  const types = NO_OVERLAP.exec(message);
  if (types) {
    const [, a, b] = types;
    return C_CHECKS.find(([x, y]) => (x.includes(a) && y.includes(b)) || (x.includes(b) && y.includes(a)))?.[2];
  }
  if (PROMISE_MEMBER.test(message)) return AWAIT_NOTE;
  if (message === TOP_LEVEL_RETURN) return RETURN_NOTE;
  const member = SHMID_DS_MEMBER.exec(message);
  if (member) return shmidDsNote(member[1]);
  const name = UNKNOWN_NAME.exec(message)?.[1] ?? "";
  return C_NAMES.get(name) ?? PYTHON_NAMES.get(name);
}

module.exports = { habitNote, IPYTHON_HELP };
