// The kernel's own parts, without Jupyter: the prelude covers the library's exports, tracebacks
// find the cell line, and type resolution makes tslab-ipc and @types/node visible anywhere.
import fs from "fs";
import path from "path";
import { bareTempBase } from "../helpers";

const repo = path.resolve(__dirname, "..", "..");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { preludeSource } = require(path.join(repo, "kernel", "prelude.js"));
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { sourceLineOf, describeThrown, describeDiagnostics } = require(path.join(repo, "kernel", "traceback.js"));
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { installTypeResolution } = require(path.join(repo, "kernel", "resolve.js"));

describe("prelude", () => {
  test("imports every value the built library exports, and its type-only exports", () => {
    const lib = require(path.join(repo, "dist", "index.js"));
    const src: string = preludeSource(lib, repo);
    expect(src).toMatch(/^import \{ .* \} from "tslab-ipc";$/);
    const names = new Set(/\{ (.*) \}/.exec(src)![1].split(", "));
    for (const name of Object.keys(lib)) expect(names).toContain(name);
    expect(names).toContain("type IpcsEntry");
    expect(names).not.toContain("default");
  });
});

describe("traceback", () => {
  const run = (code: string, source: string) => ({ filename: "In[1]", code, source });

  test("a compiled line maps back to the source line despite removed types and added exports", () => {
    const source =
      'interface P { x: number }\n\nconst path: string = "/none";\n// find its key\nconst key = ftok(path, "R");';
    const code = [
      '(function(exports, require) { Object.defineProperty(exports, "__esModule", { value: true });',
      "exports.key = exports.path = void 0;",
      'const path = "/none";',
      "exports.path = path;",
      'const key = exports.ftok(path, "R");',
      "exports.key = key;",
      "})(__tslab__.exports, __tslab__.require)",
    ].join("\n");
    expect(sourceLineOf(run(code, source), 5)).toBe(5);
    expect(sourceLineOf(run(code, source), 3)).toBe(3);
  });

  test("a thrown error keeps its name, message and Node-style extra fields", () => {
    const e = Object.assign(new RangeError("too big"), { code: "ERR_X" });
    const d = describeThrown(e);
    expect(d.ename).toBe("RangeError");
    expect(d.evalue).toBe("too big");
    expect(d.traceback[0]).toBe("RangeError: too big");
    expect(d.traceback.join("\n")).toContain('code: "ERR_X"');
    expect(describeThrown("plain string")).toEqual({
      ename: "Uncaught",
      evalue: "plain string",
      traceback: ["Uncaught plain string"],
    });
  });

  test("a run of the same frame (a recursion that overflowed) is shown once, with how many more times it came", () => {
    const overflow = new RangeError("Maximum call stack size exceeded");
    const recursing = "    at f (/home/student/lab.js:1:35)";
    overflow.stack = [
      "RangeError: Maximum call stack size exceeded",
      ...Array(9).fill(recursing),
      "    at g (/home/student/lab.js:2:10)",
      "    at g (/home/student/lab.js:2:10)",
      recursing,
    ].join("\n");
    expect(describeThrown(overflow).traceback).toEqual([
      "RangeError: Maximum call stack size exceeded",
      recursing,
      "    [the frame above repeated 8 more times]",
      "    at g (/home/student/lab.js:2:10)",
      "    [the frame above repeated 1 more time]",
      recursing,
    ]);
  });

  test("an error's causes follow its traceback, each once; a field JSON cannot write is shown as Node does", () => {
    const root = Object.assign(new Error("ENOENT: no such file or directory, shmget key 0x7e57ab1a"), {
      code: "ENOENT",
      address: 4096n,
    });
    const outer = new Error("cannot load the counter", { cause: new TypeError("bad state", { cause: root }) });
    const lines: string[] = describeThrown(outer).traceback;
    expect(describeThrown(outer).evalue).toBe("cannot load the counter");
    expect(lines[0]).toBe("Error: cannot load the counter");
    expect(lines.filter((l) => l.startsWith("Caused by: "))).toEqual([
      "Caused by: TypeError: bad state",
      "Caused by: Error: ENOENT: no such file or directory, shmget key 0x7e57ab1a",
    ]);
    expect(lines).toContain('  { code: "ENOENT", address: 4096n }');
    // A cycle (a cause that is its own cause) ends; a cause that is not an Error is shown as a value.
    const looped: Error & { cause?: unknown } = new Error("looped");
    looped.cause = looped;
    expect(describeThrown(looped).traceback.filter((l: string) => l.startsWith("Caused by"))).toEqual([]);
    expect(describeThrown(new Error("x", { cause: "a reason" })).traceback).toContain("Caused by: a reason");
    // A value every look at which throws is still described, as what it is.
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const described = describeThrown(proxy);
    expect(described.ename).toBe("Uncaught");
    expect(described.evalue).toMatch(/^the cell threw a value that cannot be described: .*revoked/);
    expect(described.traceback).toEqual([`Uncaught ${described.evalue}`]);
  });

  test("an interrupt is named as one", () => {
    const e = Object.assign(new Error("Script execution was interrupted by `SIGINT`"), {
      code: "ERR_SCRIPT_EXECUTION_INTERRUPTED",
    });
    expect(describeThrown(e).ename).toBe("Interrupted");
  });

  test("diagnostics carry the cell line and a caret", () => {
    const d = describeDiagnostics(
      [{ fileName: "", line: 2, character: 7, message: "Type 'string' is not assignable to type 'number'." }],
      "1\nconst n: number = 'x'",
    );
    expect(d.ename).toBe("TSError");
    expect(d.evalue).toBe("2:7 - Type 'string' is not assignable to type 'number'.");
    expect(d.traceback).toContain("    2 | const n: number = 'x'");
    expect(d.traceback).toContain("      |       ^");
    // No note where no C habit is recognised.
    expect(d.traceback.filter((l: string) => l.includes("note:"))).toEqual([]);
  });

  test("a line of C declaring a name with its type first, casting a pointer or passing an address gets one note; TypeScript that looks alike none", () => {
    const noted = (line: string) =>
      describeDiagnostics(
        [1, 5].map((character) => ({ fileName: "", line: 1, character, message: "Unexpected keyword or identifier." })),
        line,
      ).traceback.filter((l: string) => l.startsWith("    note: C declares")).length;
    for (const c of [
      "int shmid = shmget(key, 1024, 0644 | IPC_CREAT);",
      "char *data = shmat(shmid, (void *)0, 0);",
      "void *address = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);",
      '  const char *text = "This is a test";',
      "struct shmid_ds buf;",
      "key_t key;",
      "off_t my_offset = 0;",
      "int main(int argc, char *argv[]) {",
      "for (int i = 0; i < SHM_SIZE; i++) data[i] = 'a';",
    ])
      expect([c, noted(c)]).toEqual([c, 1]);
    for (const ts of [
      "void f(x);",
      "const char = 1;",
      "let int = 5;",
      "const id: number = shmget(k, 1, 0);",
      "for (const char of text) count++;",
      "interface S { x: number }",
    ])
      expect([ts, noted(ts)]).toEqual([ts, 0]);
    // The slides' casts and the address passed to shmctl: a note each.
    const notes = (line: string) =>
      describeDiagnostics([{ fileName: "", line: 1, character: 1, message: "Expression expected." }], line)
        .traceback.filter((l: string) => l.startsWith("    note: "))
        .map((l: string) => l.split(" ").slice(5, 8).join(" "));
    expect(notes("data = shmat(shmid, (void *)0, 0);")).toEqual(["C's pointer casts"]);
    expect(notes("shared_memory = (char *) shmat(id, (void *) 0, 0);")).toEqual(["C's pointer casts"]);
    expect(notes("if (data == (char *)(-1)) {")).toEqual(["C's pointer casts"]);
    expect(notes("shmctl(shmid, IPC_STAT, &buf);")).toEqual(["C passes &name"]);
    expect(notes("const both = a & b;")).toEqual([]);
    // The preprocessor lines the slides' programs start with.
    expect(notes("#include <sys/shm.h>")).toEqual(["C's #include has"]);
    expect(notes(" # include <stdio.h>")).toEqual(["C's #include has"]);
    expect(notes("#define SHM_SIZE 1024  /* a 1K shared memory segment */")).toEqual(["C's #define of"]);
    expect(notes("class A { #define = 1 }")).toEqual([]);
    // A note the diagnostic's own words call for comes before its line's.
    const both = describeDiagnostics(
      [
        { fileName: "", line: 1, character: 1, message: "Cannot find name 'int'." },
        { fileName: "", line: 1, character: 20, message: "Cannot find name 'argv'." },
      ],
      "int main(int argc, char *argv[]) {",
    ).traceback.filter((l: string) => l.startsWith("    note: "));
    expect(both.map((l: string) => l.split(" ")[5])).toEqual(["C", "a"]);
  });

  test("a line of IPython's or Python's syntax (a shell escape, a magic, name?, def, builtins) gets a note; TypeScript that starts alike none", () => {
    const note = (line: string, message = "Expression expected.") =>
      describeDiagnostics([{ fileName: "", line: 1, character: 1, message }], line)
        .traceback.filter((l: string) => l.startsWith("    note: "))
        .map((l: string) => l.slice("    note: ".length).split(" ").slice(0, 3).join(" "));
    expect(note("!ipcs -m")).toEqual(["IPython's !ipcs -m"]);
    expect(note("!ls /tmp | head -2")).toEqual(["IPython's !command is"]);
    expect(note("!pwd")).toEqual(["IPython's !command is"]);
    expect(note("!cat notes.txt")).toEqual(["IPython's !command is"]);
    // Its words are the shell's, not C's: `sleep` here is no call of C's sleep.
    expect(note("!sleep 1", "Cannot find name 'sleep'.")).toEqual(["IPython's !command is"]);
    expect(note("%timeit shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600)")).toEqual(["IPython's %magics are"]);
    expect(note("%%time")).toEqual(["IPython's %magics are"]);
    expect(note("shmget?")).toEqual(["IPython's name? is"]);
    expect(note("?? plot.histogram")).toEqual(["IPython's name? is"]);
    for (const ts of [
      "!done && finish()",
      "!ready(x)",
      "!flag || go()",
      "!key in table",
      "const ok = !x;",
      "a ? b : c",
    ])
      expect([ts, note(ts, "Cannot find name 'x'.")]).toEqual([ts, []]);
    // Python's own: a def, a bare import, and builtins TypeScript does not know.
    expect(note("def f(x):")).toEqual(["Python's def f(x):"]);
    expect(note("import os")).toEqual(["Python's import os"]);
    expect(note('import os from "os";')).toEqual([]);
    expect(note("print('hello')", "Cannot find name 'print'.")).toEqual(["console.log(...) prints a"]);
    expect(note("const t = True", "Cannot find name 'True'.")).toEqual(["true and false"]);
    expect(note("n = None", "Cannot find name 'None'.")).toEqual(["Python's None is"]);
    expect(note("len(xs)", "Cannot find name 'len'.")).toEqual(["x.length is len(x)"]);
    expect(note("# compute the key")).toEqual(["Python's # comment"]);
    expect(note("#include <stdio.h>")).toEqual(["C's #include has"]);
    expect(note("for i in range(3):", "Cannot find name 'range'.")).toEqual(["Python's for x"]);
    expect(note("if k == 1 and k > 0:", "Cannot find name 'and'.")).toEqual(["Python's if x:"]);
    expect(note("while k < 3:")).toEqual(["Python's if x:"]);
    expect(note("const s = f'{k}'", "Cannot find name 'f'.")).toEqual(["Python's f'{x}' is"]);
    expect(note("x = not k", "Cannot find name 'not'.")).toEqual(["Python's and, or,"]);
    expect(note("    pass", "Cannot find name 'pass'.")).toEqual(["an empty block"]);
    for (const ts of [
      "if (k == 1) {",
      "for (const x of xs) {",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a line of TypeScript with a template literal
      "const s = `${k}`;",
      "label: while (x) {",
      "#!/usr/bin/env node",
      "  #count = 0;",
    ])
      expect([ts, note(ts, "Cannot find name 'q'.")]).toEqual([ts, []]);
    // C's int stays C's: the declaration's note.
    expect(note("int shmid = 5;", "Cannot find name 'int'.")).toEqual(["C declares a"]);
  });

  test("a C library name the lecture uses gets a note on what a cell writes instead; other names none", () => {
    const notes = (message: string) =>
      describeDiagnostics([{ fileName: "", line: 1, character: 1, message }], "x").traceback.filter((l: string) =>
        l.startsWith("    note: "),
      );
    // C's struct shmid_ds members, read from what shmctl(IPC_STAT) returns.
    expect(notes("Property 'shm_segsz' does not exist on type 'ShmidDs'.")[0]).toMatch(
      /^ {4}note: C's buf\.shm_segsz is buf\.size here\. shmctl\(id, IPC_STAT\) gives struct shmid_ds's members by the names ipcs -m shows: /,
    );
    expect(notes("Property 'shm_perm' does not exist on type 'ShmidDs'.")[0]).toMatch(
      /^ {4}note: shmctl\(id, IPC_STAT\) gives .*\(buf\.mode, not buf\.shm_perm\.mode\)/,
    );
    expect(notes("Property 'shm_segsz' does not exist on type 'Mapping'.")).toEqual([]);
    // The slides' main ends with `return 0;`; a cell has no return.
    expect(notes("A 'return' statement can only be used within a function body.")).toEqual([
      "    note: a cell is not a function, so it has no return: its last expression is its value, and throw new Error(...) stops it early (a C main's return 0 needs nothing here).",
    ]);
    // The slides' sprintf writes into the segment: the note says how to do that.
    expect(notes("Cannot find name 'sprintf'.")).toEqual([
      '    note: attachment.writeString(util.format("%s", ...)) writes formatted text into the memory, as sprintf(shared_memory, ...) does (import util from "util").',
    ]);
    expect(notes("Cannot find name 'printf'.")).toEqual([
      '    note: console.log(...) prints a line; util.format("%s", ...) formats as printf does.',
    ]);
    // TS2552 adds a guess; the note still comes.
    expect(notes("Cannot find name 'exit'. Did you mean 'exec'?")).toEqual([
      "    note: throw an Error to stop the cell; the kernel goes on (process.exit(1) in a cell does the same).",
    ]);
    for (const name of ["perror", "strncpy", "sleep", "scanf", "open", "argv", "write", "NULL", "unlink", "fseek"])
      expect(notes(`Cannot find name '${name}'.`)).toHaveLength(1);
    expect(notes("Cannot find name 'frobnicate'.")).toEqual([]);
    // A member of a Promise the student did not await (runTs(...).code).
    expect(notes("Property 'code' does not exist on type 'Promise<ChildResult>'.")).toEqual([
      "    note: the call returns a Promise of its result, as runTs and spawnTs do: write await before it (const r = await runTs(...)).",
    ]);
    expect(notes("Property 'code' does not exist on type 'ChildResult'.")).toEqual([]);
    // One note however often the name comes (argv[1], argv[2]).
    const twice = describeDiagnostics(
      [1, 13].map((character) => ({ fileName: "", line: 1, character, message: "Cannot find name 'argv'." })),
      "f(argv[1], argv[2])",
    ).traceback;
    expect(twice.filter((l: string) => l.startsWith("    note: "))).toHaveLength(1);
    expect(notes("Cannot find name 'printfx'.")).toEqual([]);
  });
});

const base = bareTempBase();
// Skipped only when every temp folder has a node_modules above it: nothing to resolve virtually.
const describeBare = base ? describe : describe.skip;

describeBare("type resolution from a folder without node_modules", () => {
  test("tslab-ipc, @types/node and the undici-types it imports appear under the folder's node_modules, read from the repository", () => {
    const dir = fs.mkdtempSync(path.join(base!, "tslab-ipc-resolve-"));
    const real = {
      fileExists: (p: string) => fs.existsSync(p) && fs.statSync(p).isFile(),
      directoryExists: (p: string) => fs.existsSync(p) && fs.statSync(p).isDirectory(),
      readFile: (p: string) => (fs.existsSync(p) ? fs.readFileSync(p, "utf8") : undefined),
      getDirectories: (p: string) => fs.readdirSync(p).filter((n) => fs.statSync(path.join(p, n)).isDirectory()),
      readDirectory: () => [],
      realpath: (p: string) => fs.realpathSync(p),
    };
    const ts = { sys: { ...real } };
    try {
      installTypeResolution(ts, dir);
      const nm = path.join(dir, "node_modules");
      expect(ts.sys.directoryExists(nm)).toBe(true);
      expect(ts.sys.directoryExists(path.join(nm, "@types"))).toBe(true);
      expect(ts.sys.getDirectories(path.join(nm, "@types"))).toEqual(["node"]);
      expect(ts.sys.fileExists(path.join(nm, "@types", "node", "package.json"))).toBe(true);
      // As @types/node finds it for its fetch types: a cell resolves it from every folder too.
      expect(ts.sys.realpath(path.join(nm, "undici-types", "index.d.ts"))).toBe(
        fs.realpathSync(
          require.resolve("undici-types/index.d.ts", {
            paths: [fs.realpathSync(path.join(repo, "node_modules", "@types", "node"))],
          }),
        ),
      );
      expect(ts.sys.readFile(path.join(nm, "tslab-ipc", "package.json"))).toBe(
        fs.readFileSync(path.join(repo, "package.json"), "utf8"),
      );
      expect(ts.sys.realpath(path.join(nm, "tslab-ipc", "dist", "index.d.ts"))).toBe(
        fs.realpathSync(path.join(repo, "dist", "index.d.ts")),
      );
      // Nothing else is invented.
      expect(ts.sys.fileExists(path.join(nm, "left-pad", "package.json"))).toBe(false);
      expect(ts.sys.directoryExists(path.join(dir, "other"))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("type resolution inside the repository", () => {
  test("the repository's own @types list only node (no jest globals in notebooks)", () => {
    const typesDir = path.join(repo, "node_modules", "@types");
    const ts = {
      sys: {
        fileExists: (p: string) => fs.existsSync(p),
        directoryExists: (p: string) => fs.existsSync(p),
        readFile: (p: string) => fs.readFileSync(p, "utf8"),
        getDirectories: (p: string) => fs.readdirSync(p).filter((n) => fs.statSync(path.join(p, n)).isDirectory()),
        readDirectory: () => [],
        realpath: (p: string) => fs.realpathSync(p),
      },
    };
    expect(ts.sys.getDirectories(typesDir)).toContain("jest");
    installTypeResolution(ts, path.join(repo, "notebooks"));
    expect(ts.sys.getDirectories(typesDir)).toEqual(["node"]);
  });
});

describe("user_expressions", () => {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { evaluateUserExpressions } = require(path.join(repo, "kernel", "user-expressions.js"));
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const ts = require(
    require.resolve("@tslab/typescript-for-tslab", { paths: [path.dirname(require.resolve("tslab"))] }),
  );
  const context = (scope: object) => ({
    ts,
    scope,
    displayDataOf: (value: unknown) => ({ data: { "text/plain": JSON.stringify(value) }, metadata: {} }),
  });

  test("each key is answered: a value, TypeScript's syntax, an object literal, and an error of its own", () => {
    const answers = evaluateUserExpressions(
      {
        sum: "a + b",
        typed: "(a as number) * 2;",
        literal: "{ a, b }",
        commented: "a // the first",
        missing: "c",
        notText: 5,
      },
      context({ a: 1, b: 2 }),
    );
    expect(answers.sum).toEqual({ status: "ok", data: { "text/plain": "3" }, metadata: {} });
    expect(answers.typed.data["text/plain"]).toBe("2");
    expect(answers.literal.data["text/plain"]).toBe('{"a":1,"b":2}');
    expect(answers.commented.data["text/plain"]).toBe("1");
    expect(answers.missing).toMatchObject({ status: "error", ename: "ReferenceError", evalue: "c is not defined" });
    expect(answers.notText).toMatchObject({ status: "error", ename: "TypeError" });
  });

  test("anything but an object of expressions is none; an assignment changes the cells' value, as in ipykernel", () => {
    for (const none of [undefined, null, "a", ["a"], 3]) expect(evaluateUserExpressions(none, context({}))).toEqual({});
    const scope = { a: 1 };
    expect(evaluateUserExpressions({ set: "a = 5" }, context(scope)).set.status).toBe("ok");
    expect(scope.a).toBe(5);
  });
});

describe("the cells' names (kernel/cell-namespace.js)", () => {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { withPlainWrites } = require(path.join(repo, "kernel", "cell-namespace.js"));
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { createExecutor } = require("tslab/dist/executor");
  const convs = { node: {}, browser: {}, close() {} };
  const quiet = { log() {}, error() {} };

  test("tslab's executor made with writes through a set trap holds what tslab's own holds, over 5,000 random writes", () => {
    const ours = withPlainWrites(() => createExecutor(repo, convs, quiet)).locals;
    const tslabs = createExecutor(repo, convs, quiet).locals;
    const names = ["a", "b", "c", "__esModule", "toString", "tsLastExpr"];
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    // What a cell's compiled code does to `exports`: assignments (`exports.s = s += i`),
    // TypeScript's defineProperty of an imported name (a getter) and of __esModule, and deletes.
    for (let step = 0; step < 5000; step++) {
      const name = names[next(names.length)];
      const value = next(100);
      const op = next(4);
      for (const locals of [ours, tslabs]) {
        if (op === 0 || op === 1) locals[name] = value;
        else if (op === 2) Object.defineProperty(locals, name, { enumerable: true, get: () => value });
        else delete locals[name];
      }
      expect(Object.getOwnPropertyNames(ours).sort()).toEqual(Object.getOwnPropertyNames(tslabs).sort());
      for (const n of Object.getOwnPropertyNames(tslabs)) {
        expect(Object.getOwnPropertyDescriptor(ours, n)).toEqual(Object.getOwnPropertyDescriptor(tslabs, n));
      }
    }
  });

  test("the global Proxy is the native one again after the call, and after a throw; none made is logged", () => {
    const native = globalThis.Proxy;
    const logged: string[] = [];
    expect(() =>
      withPlainWrites(() => {
        throw new Error("in create");
      }),
    ).toThrow("in create");
    expect(globalThis.Proxy).toBe(native);
    expect(
      withPlainWrites(
        () => 3,
        (m: string) => logged.push(m),
      ),
    ).toBe(3);
    expect(globalThis.Proxy).toBe(native);
    expect(logged).toEqual([expect.stringContaining("made no Proxy")]);
    // A handler's own set trap is kept.
    const seen: string[] = [];
    const p = withPlainWrites(
      () =>
        new Proxy({} as Record<string, number>, {
          set: (t, k, v) => {
            seen.push(String(k));
            t[k as string] = v;
            return true;
          },
        }),
    );
    p.x = 1;
    expect(seen).toEqual(["x"]);
    // A handler with only a defineProperty trap: an assignment reaches it through the set trap.
    const stacks: string[] = [];
    const q = withPlainWrites(
      () =>
        new Proxy({} as Record<string, number>, {
          defineProperty: (t, k, d) => {
            stacks.push(String(new Error().stack));
            return Reflect.defineProperty(t, k, d);
          },
        }),
    );
    q.y = 2;
    expect(q.y).toBe(2);
    expect(stacks[0]).toContain("cell-namespace.js");
  });
});
