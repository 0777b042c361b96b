// @ts-check
// tslab's Jupyter pieces, extended for teaching (subclasses; tslab's files stay untouched):
// - IpcJupyterHandler: a cell's exception or TypeScript errors become a real Jupyter error
//   (iopub "error" + execute_reply with ename/evalue/traceback); the last expression's value
//   becomes an execute_result with every MIME type it has; display() reaches the cell.
// - IpcZmqServer: its own dispatch of the wire protocol (constant-time signatures, history,
//   comm_info, stdin, an error reply for unknown requests), a bounded outgoing queue, and a
//   shutdown that removes what the kernel created and actually ends the process.

const fs = require("fs");
const path = require("path");
const url = require("url");
const tslabJupyter = require("tslab/dist/jupyter");
const { JupyterHandlerImpl, ZmqServer } = tslabJupyter;
const { SOCKET_NAMES } = require("./sockets");
const { WireMessage } = require("./wire");
const { InterruptedInputError } = require("./cell-api");
const { describeDiagnostics, describeThrown, expectCell } = require("./traceback");
const { IPYTHON_HELP } = require("./habit-notes");
const { exitKernel } = require("./exit-guard");
const { rewriteCell } = require("./rewrite");
const { evaluateUserExpressions } = require("./user-expressions");
const { printQuickInfo } = require("tslab/dist/inspect");

/** TypeScript's "Unterminated template literal." (TS1160). */
const UNTERMINATED_TEMPLATE = 1160;

/** Where the server leaves the iopub publisher on a request's content for the handler. */
const PUBLISH = Symbol("publish");
/** Where the handler leaves a failed request's error fields for its execute_reply. */
const FAILURE = Symbol("failure");
/** Where the server leaves the request's input_request sender for the handler. */
const INPUT = Symbol("input");

/**
 * The console tslab's executor reports to: `log(value)` is the last expression's value,
 * `error(...)` a thrown value or one formatted TypeScript diagnostic. It forwards to whatever
 * the handler sets as the current cell.
 */
function createExecutorConsole() {
  const target = {
    /** @type {(value: unknown) => void} */
    log: (value) => console.log(value),
    /** @type {(...args: unknown[]) => void} */
    error: (...args) => console.error(...args),
  };
  return {
    target,
    console: {
      log: (/** @type {unknown} */ v) => target.log(v),
      error: (/** @type {unknown[]} */ ...a) => target.error(...a),
    },
  };
}

const DIAGNOSTIC_FORMAT = "%s%d:%d - %s";

/**
 * Coalesces a cell's stdout/stderr writes into few stream messages, as ipykernel does: tslab
 * sends one message per write, and thousands of them overflow the iopub socket's queue, which
 * then drops messages (possibly the final "idle", leaving the client waiting). Text is sent
 * when the event loop is free, when 64 KiB piled up, and before any other output of the cell.
 * @param {(name: string, text: string) => void} writeStream
 */
function coalescedStream(writeStream) {
  /** @type {Array<[string, string]>} */
  let pending = [];
  let size = 0;
  /** @type {NodeJS.Immediate | null} */
  let timer = null;
  const flush = () => {
    if (timer) clearImmediate(timer);
    timer = null;
    const parts = pending;
    pending = [];
    size = 0;
    for (const [name, text] of parts) writeStream(name, text);
  };
  const write = (/** @type {string} */ name, /** @type {string} */ text) => {
    const last = pending[pending.length - 1];
    if (last && last[0] === name) last[1] += text;
    else pending.push([name, text]);
    size += text.length;
    if (size >= 65536) flush();
    else if (!timer) timer = setImmediate(flush);
  };
  return { write, flush };
}

/** The Linux man pages the course leans on, offered in the front end's Help menu. */
const MAN_PAGES = [
  ["shmget", 2],
  ["shmat", 2],
  ["mmap", 2],
  ["msync", 2],
];

/** Help links of kernel_info_reply: the API reference, then the man pages. */
function helpLinks(/** @type {string} */ repoRoot) {
  const docs = path.join(repoRoot, "docs", "index.html");
  const reference = fs.existsSync(docs) ? docs : path.join(repoRoot, "README.md");
  return [
    { text: "tslab-ipc API reference", url: url.pathToFileURL(reference).href },
    ...MAN_PAGES.map(([name, section]) => ({
      text: `${name}(${section})`,
      url: `https://man7.org/linux/man-pages/man${section}/${name}.${section}.html`,
    })),
  ];
}

/** The C calls the library names after, with their manual section (Shift-Tab names it). */
const MAN_SECTIONS = new Map([
  ...["shmget", "shmat", "shmdt", "shmctl", "mmap", "munmap", "msync", "mprotect", "madvise", "mincore"].map(
    (n) => /** @type {[string, number]} */ ([n, 2]),
  ),
  ...["ftok", "sysconf", "shm_open", "shm_unlink"].map((n) => /** @type {[string, number]} */ ([n, 3])),
]);

/**
 * The reference's examples (typedoc's `{@includeCode ../../docs/examples/shmget.ts}` in the
 * TSDoc) written out in place, indented, where a tooltip showed the tag itself. A file that
 * cannot be read leaves its name.
 * @param {string} text @param {string} repoRoot
 */
function withExamples(text, repoRoot) {
  return text.replace(/\{@includeCode\s+(?:\.\.\/)*(docs\/examples\/[\w.-]+)\s*\}/g, (_tag, file) => {
    let code;
    try {
      code = fs.readFileSync(path.join(repoRoot, file), "utf8").trimEnd();
    } catch {
      return `Example: ${file}`;
    }
    return `\nExample (${file}):\n${code.replace(/^/gm, "    ")}`;
  });
}

/**
 * Jupyter counts a cursor in Unicode code points (protocol 5.2, as Python's str and the
 * frontends do); TypeScript and tslab in UTF-16 code units. They differ after each character
 * outside the BMP (an emoji in a string): there tslab's completion range landed past the word,
 * and the frontend replaced the wrong text. These convert at the boundary.
 * @param {string} text @param {number} codePoints
 */
function utf16Offset(text, codePoints) {
  let offset = 0;
  for (let n = 0; n < codePoints && offset < text.length; n++)
    offset += (text.codePointAt(offset) ?? 0) > 0xffff ? 2 : 1;
  return offset;
}

/** @param {string} text @param {number} offset UTF-16 code units */
function codePointOffset(text, offset) {
  return [...text.slice(0, offset)].length;
}

/** A request whose cursor_pos counts UTF-16 code units, as tslab's executor does. @param {any} req */
function inUtf16(req) {
  const code = String(req.code);
  return { ...req, code, cursor_pos: utf16Offset(code, Number(req.cursor_pos)) };
}

class IpcJupyterHandler extends JupyterHandlerImpl {
  /**
   * @param {import("tslab/dist/executor").Executor} executor tslab's executor
   * @param {ReturnType<typeof createExecutorConsole>["target"]} consoleTarget
   * @param {{ displayDataOf: Function, setDisplayPublisher: Function }} display the library's display module
   * @param {{ history: import("./history").History | null, repoRoot: string, ts: any, onRunFailed?: () => void }} options
   *   onRunFailed: the cell compiled, then threw (or was interrupted) as it ran
   */
  constructor(executor, consoleTarget, display, options) {
    super(executor, false);
    this.cellExecutor = executor;
    /** Execution count: cells run so far (tslab's own counter is private). */
    this.count = 0;
    /** @type {Promise<unknown>} */
    this.queue = Promise.resolve();
    /** Failures so far: a request queued before a failure is aborted. */
    this.errorEpoch = 0;
    this.consoleTarget = consoleTarget;
    this.display = display;
    this.history = options.history;
    this.onRunFailed = options.onRunFailed;
    /** Cells ended whose history entry is not written yet (handleExecute). @type {Array<() => void>} */
    this.unrecorded = [];
    this.repoRoot = options.repoRoot;
    this.ts = options.ts;
    /**
     * The running cell's channel to the front end, null between cells.
     * @type {{ publish: (msgType: string, content: object) => void, allowStdin: boolean, input: (prompt: string, password: boolean) => Promise<string> } | null}
     */
    this.current = null;
    /** Settles the pending input() of the running cell (null: none pending). @type {((e: Error) => void) | null} */
    this.cancelInput = null;
    /** Settles when the prelude has run: completion and inspection wait for its names. @type {Promise<unknown>} */
    this.ready = Promise.resolve();
    /** Told when a cell has ended (the interrupt watchdog). @type {() => void} */
    this.onCellEnd = () => {};
    /**
     * Where the process's output goes: the last cell that was not silent (directOutput).
     * @type {{ writeStream: (name: string, text: string) => void, writeDisplayData: (data: any, update: boolean) => unknown } | null}
     */
    this.output = null;
  }

  handleKernel() {
    const reply = super.handleKernel();
    return {
      status: "ok",
      ...reply,
      implementation: "tslab-ipc",
      implementation_version: require(path.join(this.repoRoot, "package.json")).version,
      banner: "TypeScript (IPC): tslab with tslab-ipc preloaded",
      language_info: { ...reply.language_info, version: this.ts.version, pygments_lexer: "typescript" },
      // tslab declares help_links as a one-element tuple; Jupyter's schema says an array.
      help_links: /** @type {[{ text: string, url: string }]} */ (helpLinks(this.repoRoot)),
    };
  }

  /**
   * tslab's answer, plus `invalid` for code that cannot parse whatever follows (ipykernel's three
   * states). Two answers differ from what the parse says: IPython's `name?` asks for help, not for
   * more lines (tslab said incomplete, and a console waited for a line that would never finish
   * it): it runs, and its error's note says where help is; and a template literal left open goes
   * on on the next line, as a triple-quoted string does in Python (it was invalid).
   * @param {{ code: string }} req
   */
  handleIsComplete(req) {
    if (typeof req.code === "string" && IPYTHON_HELP.test(req.code))
      return { status: /** @type {const} */ ("complete") };
    const res = super.handleIsComplete(req);
    if (res.status !== "complete" || /(^|\n)\s*\n\s*$/.test(req.code)) return res;
    const out = this.ts.transpileModule(req.code, { reportDiagnostics: true, fileName: "cell.tsx" });
    const errors = (out.diagnostics ?? []).filter(
      (/** @type {any} */ d) => d.category === this.ts.DiagnosticCategory.Error,
    );
    if (errors.some((/** @type {any} */ d) => d.code === UNTERMINATED_TEMPLATE)) {
      return { status: /** @type {const} */ ("incomplete"), indent: "" };
    }
    return errors.length > 0 ? { status: /** @type {const} */ ("invalid") } : res;
  }

  /**
   * tslab's quick info (signature and TSDoc) of what is at the cursor, or of the call whose
   * parentheses hold it (kernel/converter.js), with the examples the TSDoc includes written out
   * and the Linux manual page of a C-named call.
   * @param {any} req @returns {{ status: "ok", found: boolean, data: Record<string, string>, metadata: {} }}
   */
  handleInspect(req) {
    const at = inUtf16(req);
    const info = this.cellExecutor.inspect(at.code, at.cursor_pos);
    if (!info) return { status: "ok", found: false, data: {}, metadata: {} };
    let text = withExamples(printQuickInfo(info), this.repoRoot);
    const name = info.textSpan ? at.code.slice(info.textSpan.start, info.textSpan.start + info.textSpan.length) : "";
    const section = MAN_SECTIONS.get(name);
    if (section !== undefined) {
      text += `\n\nLinux manual: ${name}(${section}) (man ${section} ${name}; https://man7.org/linux/man-pages/man${section}/${name}.${section}.html)`;
    }
    return { status: "ok", found: true, data: { "text/plain": text }, metadata: {} };
  }

  /** tslab's completions, with the cursor and the range replaced counted in code points. @param {any} req */
  handleComplete(req) {
    const at = inUtf16(req);
    const reply = super.handleComplete(at);
    return {
      ...reply,
      cursor_start: codePointOffset(at.code, reply.cursor_start),
      cursor_end: codePointOffset(at.code, reply.cursor_end),
    };
  }

  /**
   * Queues the cell and answers with Jupyter's execute_reply. Replaces tslab's queueing, which
   * cancels every request arriving within 200 ms after a failure: here, as in ipykernel, a
   * failure aborts only the requests already waiting, and not at all when the request says
   * stop_on_error: false (nbclient does so for cells tagged raises-exception).
   * @param {any} req @param {(name: string, text: string) => void} writeStream @param {(data: any, update: boolean) => void} writeDisplayData
   */
  handleExecute(req, writeStream, writeDisplayData) {
    const epoch = this.errorEpoch;
    const reply = this.enqueue(async () => {
      if (epoch !== this.errorEpoch) return { status: "aborted", execution_count: this.count };
      try {
        await this.runCell(req, writeStream, writeDisplayData);
        const userExpressions = evaluateUserExpressions(req.user_expressions, {
          ts: this.ts,
          scope: this.cellExecutor.locals,
          displayDataOf: (value) => this.display.displayDataOf(value, {}, false),
        });
        return { status: "ok", execution_count: this.count, payload: [], user_expressions: userExpressions };
      } catch (e) {
        if (req.stop_on_error !== false) this.errorEpoch++;
        const failure = req[FAILURE] ?? {
          ename: "KernelError",
          evalue: String(e),
          traceback: [String((e && /** @type {any} */ (e).stack) || e)],
        };
        return { status: "error", execution_count: this.count, ...failure };
      }
    });
    return /** @type {Promise<any>} */ (reply);
  }

  /**
   * Runs `task` after everything queued before it (cells and the prelude run one at a time).
   * @template T @param {() => Promise<T>} task @returns {Promise<T>}
   */
  enqueue(task) {
    const result = this.queue.then(task);
    this.queue = result.catch(() => {});
    return result;
  }

  /** Stops the running cell (or its pending input()), keeping the kernel. */
  interrupt() {
    this.cancelInput?.(new InterruptedInputError());
    this.cellExecutor.interrupt();
  }

  /** @returns {boolean} whether the running cell's front end answers input_request */
  stdinAllowed() {
    return Boolean(this.current?.allowStdin);
  }

  /** input() of the running cell: an input_request on the stdin channel. @param {string} prompt @param {boolean} password */
  input(prompt, password) {
    const cell = this.current;
    if (!cell) return Promise.reject(new Error("input() is only available while a cell runs"));
    return new Promise((resolve, reject) => {
      const settle = (/** @type {Error} */ e) => {
        this.cancelInput = null;
        reject(e);
      };
      this.cancelInput = settle;
      cell.input(prompt, password).then((value) => {
        this.cancelInput = null;
        resolve(value);
      }, settle);
    });
  }

  /** clearOutput() of the running cell. @param {boolean} wait */
  clearOutput(wait) {
    this.current?.publish("clear_output", { wait });
  }

  /**
   * Runs one cell: tslab's executor, with its output and failure reported the Jupyter way. As the
   * messaging spec says (and ipykernel does), only a request that stores history (store_history,
   * which silent turns off) counts a cell; one that does not shows the number the next cell will
   * have and leaves the counter as it was. A silent request sends no output on iopub: its stream,
   * displays, result and error stay in the kernel (the reply still says how it ended), and the
   * output of earlier cells' timers still goes to the cell that started them.
   */
  async runCell(
    /** @type {any} */ req,
    /** @type {any} */ rawWriteStream,
    /** @type {Function} */ rawWriteDisplayData,
  ) {
    const silent = req.silent === true;
    // Output keeps its order: buffered text goes out before any other message of the cell.
    const stream = coalescedStream(silent ? () => {} : rawWriteStream);
    const writeStream = stream.write;
    const writeDisplayData = (/** @type {any} */ data, /** @type {boolean} */ update) => {
      stream.flush();
      if (silent) return;
      // update_display_data must carry transient (its display_id); display_data may.
      return rawWriteDisplayData({ transient: {}, ...data }, update);
    };
    /** @type {(msgType: string, content: object) => unknown} */
    const rawPublish = (!silent && req[PUBLISH]) || (() => {});
    /** Sends an iopub message; the result settles once it has been handed to zeromq. */
    const publish = (/** @type {string} */ msgType, /** @type {object} */ content) => {
      stream.flush();
      return rawPublish(msgType, content);
    };
    /** @type {unknown[]} */
    const thrown = [];
    /** @type {Array<{ fileName: string, line: number, character: number, message: string }>} */
    const diagnostics = [];
    const stored = !silent && req.store_history !== false;
    const count = stored ? ++this.count : this.count + 1;
    const source = String(req.code);
    /** @type {string | null} */
    let resultText = null;
    const inputSent = silent ? null : publish("execute_input", { code: source, execution_count: count });

    this.consoleTarget.log = (value) => {
      let out;
      try {
        out = this.display.displayDataOf(value, {}, false);
      } catch (e) {
        // An object whose display method throws still shows, as text.
        process.stderr.write(`[Symbol.for("Jupyter.display")] failed: ${e instanceof Error ? e.message : e}\n`);
        out = { data: { "text/plain": require("util").inspect(value) }, metadata: {} };
      }
      resultText = typeof out.data["text/plain"] === "string" ? out.data["text/plain"] : null;
      publish("execute_result", { execution_count: count, data: out.data, metadata: out.metadata });
    };
    this.consoleTarget.error = (...args) => {
      if (args[0] === DIAGNOSTIC_FORMAT && args.length === 5) {
        diagnostics.push({
          fileName: String(args[1]),
          line: Number(args[2]),
          character: Number(args[3]),
          message: String(args[4]),
        });
      } else if (args.length === 1) {
        thrown.push(args[0]);
      } else {
        process.stderr.write(require("util").format(...args) + "\n");
      }
    };
    const earlierOutput = this.output;
    this.directOutput({ writeStream, writeDisplayData });
    this.current = {
      publish,
      allowStdin: req.allow_stdin === true,
      input: req[INPUT] ?? (() => Promise.reject(new Error("no stdin channel"))),
    };
    expectCell(`In[${count}]`, source);
    try {
      // The compile holds the event loop (~3 ms for `1+1`, more for a longer cell), so
      // execute_input leaves first: the client reads it during the compile, as it reads
      // ipykernel's, instead of after the cell, where its reading would add to the cell's time.
      await inputSent;
      // tslab compiles the rewritten cell (same lines); tracebacks show what the student wrote.
      const ok = await this.cellExecutor.execute(rewriteCell(source));
      // Node reports a promise the cell rejected and nobody awaited once this turn of the event
      // loop is over: one more turn, so that the report is in this cell's output before its idle
      // status. After it, front ends have let go of the cell, and the report was lost.
      await new Promise((resolve) => setImmediate(resolve));
      if (!ok) {
        if (thrown.length && !diagnostics.length) this.onRunFailed?.();
        const failure = thrown.length
          ? describeThrown(thrown[0])
          : diagnostics.length
            ? describeDiagnostics(diagnostics, source)
            : null;
        if (failure) {
          req[FAILURE] = failure;
          publish("error", failure);
        }
        throw new Error("the cell failed");
      }
    } finally {
      this.onCellEnd();
      this.current = null;
      this.cancelInput?.(new Error("the cell ended before input() was answered"));
      expectCell(null, "");
      // Diagnostics of a cell that still ran (`//@module` cells register despite errors).
      if (!req[FAILURE] && diagnostics.length) {
        process.stderr.write(describeDiagnostics(diagnostics, source).traceback.join("\n") + "\n");
      }
      stream.flush();
      if (silent && earlierOutput) this.directOutput(earlierOutput);
      // Recorded once the reply and the idle status are on their way (~0.15 ms of file calls off
      // the cell's round trip). A history_request read before then records it first
      // (recordHistory), so the history holds every cell whose reply has gone: the cell now ends
      // in the check phase (the turn above), and the request can come in the next poll.
      const history = this.history;
      if (history && stored) {
        this.unrecorded.push(() => history.add(count, source, resultText));
        setImmediate(() => this.recordHistory());
      }
    }
  }

  /**
   * Points the process's output at a cell: display() in it and tslab's own display API (which
   * reads the writer tslab exports for it) send display_data for its request, and so do
   * process.stdout and process.stderr. As in ipykernel, a cell's later output (timers,
   * callbacks) still goes to that cell, until another cell runs.
   * @param {{ writeStream: (name: string, text: string) => void, writeDisplayData: (data: any, update: boolean) => unknown }} output
   */
  directOutput(output) {
    this.output = output;
    const { writeStream, writeDisplayData } = output;
    this.display.setDisplayPublisher((/** @type {object} */ out, /** @type {boolean} */ update) =>
      writeDisplayData(out, update),
    );
    /** @type {any} */ (tslabJupyter).lastWriteDisplayData = writeDisplayData;
    process.stdout.write = /** @type {any} */ (this.createWriteToIopub("stdout", writeStream));
    process.stderr.write = /** @type {any} */ (this.createWriteToIopub("stderr", writeStream));
  }

  /** Writes the history entries of the cells that have ended, oldest first. */
  recordHistory() {
    for (const add of this.unrecorded.splice(0)) add();
  }

  /** @param {any} req */
  handleShutdown(req) {
    return { status: "ok", restart: Boolean(req?.restart) };
  }
}

// The kernel's own log (Jupyter's terminal): tslab later points process.stderr.write at the cell.
const logToTerminal = process.stderr.write.bind(process.stderr);

/** Outgoing messages waiting for zeromq, at most: beyond this, a client is not reading. */
const MAX_QUEUED_MESSAGES = 10_000;
/** Bytes of outgoing messages waiting for zeromq, at most. */
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/**
 * A stand-in for a zeromq socket whose send waits for the previous one. zeromq 6 refuses a send
 * while one is in progress ("Socket is busy writing", EBUSY), which happens after ~512
 * back-to-back sends: a cell printing thousands of lines would lose output and even the final
 * "idle" status, and the client would wait forever. tslab sends without waiting, so we queue.
 * The queue is bounded (MAX_QUEUED_MESSAGES, MAX_QUEUED_BYTES): when no client reads, newer
 * messages are dropped, and the kernel's log says how many, once per episode.
 * (The sockets themselves are sealed, hence a stand-in rather than a patched method.)
 * @param {any} sock @param {string} name @param {(line: string) => unknown} [log] where the reports go
 */
function queuedSender(sock, name, log = logToTerminal) {
  /** @type {Promise<unknown>} */
  let last = Promise.resolve();
  let queued = 0;
  let bytes = 0;
  let dropped = 0;
  return {
    /** @param {Array<string | Buffer>} msg */
    send(msg) {
      const size = msg.reduce((n, part) => n + part.length, 0);
      if (queued >= MAX_QUEUED_MESSAGES || bytes + size > MAX_QUEUED_BYTES) {
        if (dropped++ === 0)
          log(
            `tslab-ipc: the ${name} queue is full (${queued} messages, ${bytes} bytes): no client is reading; dropping messages\n`,
          );
        return last;
      }
      queued++;
      bytes += size;
      last = last
        .then(() => sock.send(msg))
        .catch((/** @type {unknown} */ e) => log(`tslab-ipc: a message could not be sent: ${e}\n`))
        .finally(() => {
          queued--;
          bytes -= size;
          if (queued === 0 && dropped > 0) {
            log(`tslab-ipc: the ${name} queue drained; ${dropped} message(s) were dropped\n`);
            dropped = 0;
          }
        });
      return last;
    },
    close() {
      sock.close();
    },
    /** Resolves when every queued message has been handed to zeromq. */
    drained() {
      return last;
    },
    /** What waits now, for tests and the log. */
    get stats() {
      return { queued, bytes, dropped };
    },
  };
}

/**
 * How long the first kernel_info_request waits, at most, for a client to subscribe to iopub.
 * jupyter_client (and so nbclient, nbconvert, the notebook server's kernels) sends kernel_info
 * as soon as it starts the kernel and takes the reply as "ready" only if the busy/idle status
 * around it reaches its iopub socket; a status published before that socket has joined is lost,
 * and the client waits 0.2 s, asks again and waits another 0.2 s. A kernel that starts fast
 * answers before the client's iopub has joined (zeromq connects it up to 0.2 s after the bind,
 * kernel/sockets.js).
 * ipykernel's answer to the same race is the iopub welcome message (JEP 65); ours is to hold
 * each kernel_info reply until the first subscription has arrived (an XPUB socket reports it),
 * or this long after the kernel could first answer one: a client without iopub waits once.
 * The wait starts when the prelude is done, not when the request arrives: the prelude's compile
 * holds the event loop (0.1–0.5 s, more on a busy machine), and a wait that ran during it would
 * be over before the kernel could see the subscription.
 */
const IOPUB_JOIN_WAIT_MS = 500;

/** Requests answered by tslab's own handlers (the message class is ours, the replies theirs). */
const TSLAB_REPLIES = new Set(["kernel_info_request", "is_complete_request", "inspect_request", "complete_request"]);

class IpcZmqServer extends ZmqServer {
  /**
   * @param {IpcJupyterHandler} handler
   * @param {string} configPath the connection file
   * @param {() => void} onShutdown runs before the sockets close (cleanup)
   * @param {import("./sockets").BoundSockets} early the sockets kernel/sockets.js made and began
   *   binding, the kernel's first act (init serves them)
   */
  constructor(handler, configPath, onShutdown, early) {
    super(handler, configPath);
    this.ipcHandler = handler;
    this.onShutdown = onShutdown;
    this.early = early;
    /** Pending input_request replies by the request's msg_id. @type {Map<string, { resolve: (v: string) => void, reject: (e: Error) => void }>} */
    this.pendingInput = new Map();
    /**
     * Settles iopubReady, the first call only: "subscribed" (a client has subscribed to iopub)
     * or "wait over". @type {(how: "subscribed" | "wait over") => void}
     */
    this.iopubJoined = () => {};
    /** @type {Promise<void>} */
    this.iopubReady = new Promise((resolve) => {
      this.iopubJoined = (how) => {
        if (this.iopubOutcome) return;
        this.iopubOutcome = how;
        this.onIopubJoin(how);
        resolve();
      };
    });
    /** How iopubReady settled, once it has. @type {"subscribed" | "wait over" | null} */
    this.iopubOutcome = null;
    /** Told how iopubReady settled (the kernel's timing log). @type {(how: "subscribed" | "wait over") => void} */
    this.onIopubJoin = () => {};
    /** @type {Promise<void> | null} */
    this.iopubWait = null;
    /** Whether a kernel_info reply has been sent. */
    this.kernelInfoSent = false;
    /**
     * Called once, when the first kernel_info reply and its idle status have been handed to
     * zeromq (whose own thread sends them, whatever the main thread does next). @type {() => void}
     */
    this.afterFirstKernelInfo = () => {};
    /**
     * Called after each execute_request, once its reply and idle status have been handed to
     * zeromq: the kernel is then idle until the next request. @type {() => void}
     */
    this.afterExecute = () => {};
    /** Shell and control messages read and verified so far: read twice, whether one came in between. */
    this.requestsRead = 0;
  }

  /**
   * Settles once a client has subscribed to iopub, or IOPUB_JOIN_WAIT_MS after the kernel could
   * first answer (the prelude done).
   */
  iopubJoin() {
    this.iopubWait ??= this.ipcHandler.ready.then(() => {
      setTimeout(() => this.iopubJoined("wait over"), IOPUB_JOIN_WAIT_MS).unref();
    });
    return this.iopubReady;
  }

  /**
   * tslab's init, on the sockets kernel/sockets.js made and began binding (the kernel's first
   * act): from now on tslab's sends through this.iopub/shell/control/stdin/hb go one at a time
   * (queuedSender), and each socket is read once every bind has settled. Rejects if a bind
   * failed.
   */
  async init() {
    const { connInfo, sockets, bound } = this.early;
    const self = /** @type {Record<string, any>} */ (/** @type {unknown} */ (this));
    self.connInfo = connInfo;
    for (const name of SOCKET_NAMES) self[name] = queuedSender(sockets[name], name);
    // tslab starts its receive loops before binding: a request arriving while its socket's bind
    // is still settling makes zeromq refuse the loop's next receive (EBUSY), which ends the loop,
    // and the kernel never answers. Requests that arrive meanwhile wait in zeromq.
    await bound;
    /** Reads `sock` until it closes. @param {string} name @param {any} sock @param {(frames: Buffer[]) => unknown} onMessage */
    const readLoop = (name, sock, onMessage) =>
      (async () => {
        for await (const frames of sock) onMessage(frames);
      })().catch((/** @type {unknown} */ e) => {
        if (!sock.closed) logToTerminal(`tslab-ipc: the ${name} socket stopped reading: ${e}\n`);
      });
    // Replies go through this.shell/control/hb: the senders in front of the sockets.
    readLoop("shell", sockets.shell, (frames) => this.handleShellMessage(self.shell, ...frames));
    readLoop("control", sockets.control, (frames) => this.handleShellMessage(self.control, ...frames));
    // A subscription is a frame starting with 1 (0: an unsubscription).
    readLoop("iopub", sockets.iopub, (frames) => {
      if (frames[0]?.[0] === 1) this.iopubJoined("subscribed");
    });
    // hb is only used by `jupyter console`.
    readLoop("hb", sockets.hb, (frames) => self.hb.send(frames));
    // tslab never reads stdin: the replies to our input_request arrive here.
    readLoop("stdin", sockets.stdin, (frames) => this.handleStdinMessage(frames));
  }

  /** An input_reply: settles the input() waiting for it. @param {Buffer[]} frames */
  handleStdinMessage(frames) {
    let msg;
    try {
      msg = WireMessage.fromRaw(this.connInfo.key, frames);
    } catch (e) {
      logToTerminal(`tslab-ipc: a stdin message was refused: ${e instanceof Error ? e.message : e}\n`);
      return;
    }
    if (msg.header.msg_type !== "input_reply") return;
    // jupyter_client's input() sends its reply without a parent header: as in ipykernel, the
    // reply answers the request that waits (a cell waits for one line at a time).
    const id = this.pendingInput.has(msg.parent?.msg_id) ? msg.parent.msg_id : this.pendingInput.keys().next().value;
    const waiting = id === undefined ? undefined : this.pendingInput.get(id);
    if (id === undefined || !waiting) return;
    this.pendingInput.delete(id);
    waiting.resolve(String(msg.content.value ?? ""));
  }

  /**
   * Reads, verifies and dispatches one shell or control message (tslab's dispatch, with our
   * message class and the requests tslab lacks). A message that cannot be verified is dropped
   * with a line in the kernel's log, as ipykernel does.
   * @param {any} sock @param {Buffer[]} frames
   */
  async handleShellMessage(sock, ...frames) {
    /** @type {WireMessage} */
    let msg;
    try {
      msg = WireMessage.fromRaw(this.connInfo.key, frames);
    } catch (e) {
      logToTerminal(`tslab-ipc: a message was refused: ${e instanceof Error ? e.message : e}\n`);
      return;
    }
    const type = msg.header.msg_type;
    this.requestsRead++;
    const msgAsTslabs = /** @type {any} */ (msg);
    // tslab's ZmqServer declares no fields: its sockets (self.iopub) are read through this.
    const self = /** @type {Record<string, any>} */ (/** @type {unknown} */ (this));
    let terminated = false;
    if (type === "kernel_info_request") await this.iopubJoin();
    this.publishStatus("busy", msgAsTslabs);
    try {
      if (TSLAB_REPLIES.has(type)) {
        // A client may ask as soon as kernel_info is answered, before the preloaded names exist.
        if (type === "complete_request" || type === "inspect_request") await this.ipcHandler.ready;
        if (type === "kernel_info_request") this.handleKernelInfo(sock, msgAsTslabs);
        else if (type === "is_complete_request") this.handleIsComplete(sock, msgAsTslabs);
        else if (type === "inspect_request") this.handleInspect(sock, msgAsTslabs);
        else this.handleComplete(sock, msgAsTslabs);
      } else if (type === "execute_request") {
        await this.handleExecute(sock, msgAsTslabs);
      } else if (type === "history_request") {
        // After the cells asked for before it, and with them, as ipykernel's one shell thread
        // answers: a client that sends execute and history_request back to back sees that cell.
        await this.ipcHandler.queue;
        this.ipcHandler.recordHistory();
        this.reply(sock, msg, "history_reply", {
          status: "ok",
          history: this.ipcHandler.history?.query(msg.content) ?? [],
        });
      } else if (type === "comm_info_request") {
        // No comms are implemented: the reply says so (tslab sends a complete_reply here).
        this.reply(sock, msg, "comm_info_reply", { status: "ok", comms: {} });
      } else if (type === "comm_open") {
        // No target exists here, and the spec asks for a comm_close at once, as ipykernel sends
        // for a target it lacks: a front end that opens one (ipywidgets' jupyter.widget.control,
        // asking for the widgets' states) learns it is closed instead of waiting on it.
        this.reply(self.iopub, msg, "comm_close", { comm_id: msg.content.comm_id, data: {} });
      } else if (type === "interrupt_request") {
        this.ipcHandler.interrupt();
        this.reply(sock, msg, "interrupt_reply", { status: "ok" });
      } else if (type === "shutdown_request") {
        this.handleShutdown(sock, msgAsTslabs);
        terminated = true;
      } else if (type.endsWith("_request")) {
        // ipykernel logs and stays silent; a reply lets the client stop waiting.
        this.replyError(sock, msg, "UnknownMessageType", `the kernel does not implement ${type}`);
      }
    } catch (e) {
      logToTerminal(`tslab-ipc: ${type} failed: ${e instanceof Error ? e.stack : e}\n`);
      // A reply is each of these handlers' last act, so none was sent: an error reply lets the
      // client stop waiting (a request without its code made is_complete throw, and jupyter
      // console waits on that reply at every Enter). tslab answers execute_request's own errors.
      if (type !== "execute_request" && type !== "shutdown_request" && type.endsWith("_request"))
        this.replyError(sock, msg, e instanceof Error ? e.name : "Error", e instanceof Error ? e.message : String(e));
    } finally {
      this.publishStatus("idle", msgAsTslabs);
    }
    const handedToZeromq = () => Promise.all([sock.drained?.(), self.iopub.drained?.()]);
    if (type === "kernel_info_request" && !this.kernelInfoSent) {
      this.kernelInfoSent = true;
      handedToZeromq().then(() => this.afterFirstKernelInfo());
    }
    if (type === "execute_request") handedToZeromq().then(() => this.afterExecute());
    if (terminated) this.close();
  }

  /**
   * Sends `msgType` with `content` in answer to `msg` on `sock`; returns what its send returns.
   * @param {any} sock @param {WireMessage} msg @param {string} msgType @param {object} content
   */
  reply(sock, msg, msgType, content) {
    const out = msg.createReply();
    out.header.msg_type = msgType;
    out.content = content;
    return out.signAndSend(this.connInfo.key, sock);
  }

  /**
   * Answers the request `msg` (some `<type>_request`) with `<type>_reply`, status error.
   * @param {any} sock @param {WireMessage} msg @param {string} ename @param {string} evalue
   */
  replyError(sock, msg, ename, evalue) {
    const type = msg.header.msg_type.replace(/_request$/, "_reply");
    return this.reply(sock, msg, type, { status: "error", ename, evalue, traceback: [] });
  }

  /** tslab's handleExecute, plus a publisher of any iopub message and input_request for this request. */
  async handleExecute(/** @type {any} */ sock, /** @type {any} */ msg) {
    const send = (/** @type {string} */ msgType, /** @type {object} */ content) =>
      this.reply(this.iopub, msg, msgType, content);
    const input = (/** @type {string} */ prompt, /** @type {boolean} */ password) =>
      new Promise((resolve, reject) => {
        const request = msg.createReply();
        request.header.msg_type = "input_request";
        request.content = { prompt, password };
        // One line at a time: an earlier request still waiting was cancelled (interrupt).
        this.pendingInput.clear();
        this.pendingInput.set(request.header.msg_id, { resolve, reject });
        request.signAndSend(this.connInfo.key, this.stdin);
      });
    Object.defineProperty(msg.content, PUBLISH, { value: send });
    Object.defineProperty(msg.content, INPUT, { value: input });
    return super.handleExecute(sock, msg);
  }

  close() {
    try {
      this.onShutdown();
    } finally {
      // Let the shutdown_reply and the last status leave (at most 1 s), then close and exit:
      // tslab's close leaves handles (the TypeScript watcher's timers, zeromq) that would keep
      // the process alive.
      const self = /** @type {Record<string, any>} */ (/** @type {unknown} */ (this));
      const queues = ["iopub", "shell", "control", "hb"].map((name) => self[name]?.drained?.());
      const timeout = new Promise((resolve) => setTimeout(resolve, 1000));
      Promise.race([Promise.all(queues), timeout])
        .then(() => new Promise((resolve) => setTimeout(resolve, 20)))
        .finally(() => {
          try {
            super.close();
          } finally {
            exitKernel(0);
          }
        });
    }
  }
}

module.exports = {
  IpcJupyterHandler,
  IpcZmqServer,
  createExecutorConsole,
  queuedSender,
  logToTerminal,
  MAX_QUEUED_MESSAGES,
};
