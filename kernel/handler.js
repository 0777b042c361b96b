// @ts-check
// tslab's Jupyter pieces, extended for teaching (subclasses; tslab's files stay untouched):
// - IpcJupyterHandler: a cell's exception or TypeScript errors become a real Jupyter error
//   (iopub "error" + execute_reply with ename/evalue/traceback); the last expression's value
//   becomes an execute_result with every MIME type it has; display() reaches the cell.
// - IpcZmqServer: gives the handler a way to publish any iopub message for the request, and
//   makes shutdown remove what the kernel created and actually end the process.
"use strict";
const { JupyterHandlerImpl, ZmqServer } = require("tslab/dist/jupyter");
const { describeDiagnostics, describeThrown, expectCell } = require("./traceback");
const { rewriteCell } = require("./rewrite");

/** Where the server leaves the iopub publisher on a request's content for the handler. */
const PUBLISH = Symbol("publish");
/** Where the handler leaves a failed request's error fields for its execute_reply. */
const FAILURE = Symbol("failure");

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
    console: { log: (/** @type {unknown} */ v) => target.log(v), error: (/** @type {unknown[]} */ ...a) => target.error(...a) },
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

class IpcJupyterHandler extends JupyterHandlerImpl {
  /**
   * @param {any} executor tslab's executor
   * @param {ReturnType<typeof createExecutorConsole>["target"]} consoleTarget
   * @param {{ displayDataOf: Function, setDisplayPublisher: Function }} display the library's display module
   */
  constructor(executor, consoleTarget, display) {
    super(executor, false);
    /** @type {Promise<unknown>} */
    this.queue = Promise.resolve();
    /** Failures so far: a request queued before a failure is aborted. */
    this.errorEpoch = 0;
    this.consoleTarget = consoleTarget;
    this.display = display;
  }

  handleKernel() {
    const reply = super.handleKernel();
    reply.implementation = "tslab-ipc";
    reply.banner = "TypeScript (IPC): tslab with tslab-ipc preloaded";
    reply.language_info.version = require("@tslab/typescript-for-tslab").version;
    return reply;
  }

  /**
   * Queues the cell and answers with Jupyter's execute_reply. Replaces tslab's queueing, which
   * cancels every request arriving within 200 ms after a failure: here, as in ipykernel, a
   * failure aborts only the requests already waiting, and not at all when the request says
   * stop_on_error: false (nbclient does so for cells tagged raises-exception).
   * @param {any} req @param {Function} writeStream @param {Function} writeDisplayData
   */
  handleExecute(req, writeStream, writeDisplayData) {
    const epoch = this.errorEpoch;
    const reply = this.enqueue(async () => {
      if (epoch !== this.errorEpoch) return { status: "aborted", execution_count: this.execCount };
      try {
        const count = await this.handleExecuteImpl(req, writeStream, writeDisplayData);
        return { status: "ok", execution_count: count.count };
      } catch (e) {
        if (req.stop_on_error !== false) this.errorEpoch++;
        const failure = req[FAILURE] ?? { ename: "KernelError", evalue: String(e), traceback: [String(e && /** @type {any} */ (e).stack || e)] };
        return { status: "error", execution_count: typeof e?.count === "number" ? e.count : this.execCount, ...failure };
      }
    });
    return reply;
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

  /** Runs one cell: tslab's run, with its output and failure reported the Jupyter way. */
  async handleExecuteImpl(/** @type {any} */ req, /** @type {any} */ rawWriteStream, /** @type {Function} */ rawWriteDisplayData) {
    // Output keeps its order: buffered text goes out before any other message of the cell.
    const stream = coalescedStream(rawWriteStream);
    const writeStream = stream.write;
    const writeDisplayData = (/** @type {unknown[]} */ ...args) => {
      stream.flush();
      return rawWriteDisplayData(...args);
    };
    /** @type {(msgType: string, content: object) => void} */
    const rawPublish = req[PUBLISH] ?? (() => {});
    const publish = (/** @type {string} */ msgType, /** @type {object} */ content) => {
      stream.flush();
      rawPublish(msgType, content);
    };
    /** @type {unknown[]} */
    const thrown = [];
    /** @type {Array<{ fileName: string, line: number, character: number, message: string }>} */
    const diagnostics = [];
    const count = this.execCount + 1;

    this.consoleTarget.log = (value) => {
      let out;
      try {
        out = this.display.displayDataOf(value, {}, false);
      } catch (e) {
        // An object whose display method throws still shows, as text.
        process.stderr.write(`[Symbol.for("Jupyter.display")] failed: ${e instanceof Error ? e.message : e}\n`);
        out = { data: { "text/plain": require("util").inspect(value) }, metadata: {} };
      }
      publish("execute_result", { execution_count: count, data: out.data, metadata: out.metadata });
    };
    this.consoleTarget.error = (...args) => {
      if (args[0] === DIAGNOSTIC_FORMAT && args.length === 5) {
        diagnostics.push({ fileName: String(args[1]), line: Number(args[2]), character: Number(args[3]), message: String(args[4]) });
      } else if (args.length === 1) {
        thrown.push(args[0]);
      } else {
        process.stderr.write(require("util").format(...args) + "\n");
      }
    };
    // display() in this cell sends display_data for this request (tslab's own display API is
    // wired by super.handleExecuteImpl, through the same writeDisplayData).
    this.display.setDisplayPublisher((/** @type {object} */ out, /** @type {boolean} */ update) => writeDisplayData(out, update));
    expectCell(`In[${count}]`, String(req.code));
    try {
      // tslab compiles the rewritten cell (same lines); tracebacks show what the student wrote.
      return await super.handleExecuteImpl({ ...req, code: rewriteCell(String(req.code)) }, writeStream, writeDisplayData);
    } catch (e) {
      // tslab throws the ExecutionCount when the cell failed: report what failed.
      const failure = thrown.length ? describeThrown(thrown[0]) : diagnostics.length ? describeDiagnostics(diagnostics, String(req.code)) : null;
      if (failure) {
        req[FAILURE] = failure;
        publish("error", failure);
      }
      throw e;
    } finally {
      expectCell(null, "");
      // Diagnostics of a cell that still ran (`//@module` cells register despite errors).
      if (!req[FAILURE] && diagnostics.length) {
        process.stderr.write(describeDiagnostics(diagnostics, String(req.code)).traceback.join("\n") + "\n");
      }
      stream.flush();
    }
  }

  /** @param {any} req */
  handleShutdown(req) {
    return { status: "ok", restart: Boolean(req && req.restart) };
  }
}

// The kernel's own log (Jupyter's terminal): tslab later points process.stderr.write at the cell.
const logToTerminal = process.stderr.write.bind(process.stderr);

/**
 * A stand-in for a zeromq socket whose send waits for the previous one. zeromq 6 refuses a send
 * while one is in progress ("Socket is busy writing", EBUSY), which happens after ~512
 * back-to-back sends: a cell printing thousands of lines would lose output and even the final
 * "idle" status, and the client would wait forever. tslab sends without waiting, so we queue.
 * (The sockets themselves are sealed, hence a stand-in rather than a patched method.)
 * @param {any} sock
 */
function queuedSender(sock) {
  /** @type {Promise<unknown>} */
  let last = Promise.resolve();
  return {
    send(/** @type {unknown} */ msg) {
      last = last.then(() => sock.send(msg)).catch((/** @type {unknown} */ e) => {
        logToTerminal(`tslab-ipc: a message could not be sent: ${e}\n`);
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
  };
}

class IpcZmqServer extends ZmqServer {
  /**
   * @param {IpcJupyterHandler} handler
   * @param {string} configPath the connection file
   * @param {() => void} onShutdown runs before the sockets close (cleanup)
   */
  constructor(handler, configPath, onShutdown) {
    super(handler, configPath);
    this.onShutdown = onShutdown;
  }

  /**
   * Called by tslab's init for each socket it made (its receive loops already hold the socket):
   * from now on tslab's sends through this.iopub/shell/control/hb go one at a time.
   */
  async bindSocket(/** @type {any} */ sock, /** @type {number} */ port) {
    const self = /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (this));
    for (const name of ["iopub", "shell", "control", "stdin", "hb"]) {
      if (self[name] === sock) self[name] = queuedSender(sock);
    }
    // Outputs are never dropped for a slow client (zeromq's default keeps 1000, then drops).
    if (self.iopub !== sock && sock.constructor?.name === "Publisher") sock.sendHighWaterMark = 0;
    return super.bindSocket(sock, port);
  }

  /** tslab's handleExecute, plus a publisher of any iopub message for this request. */
  async handleExecute(/** @type {any} */ sock, /** @type {any} */ msg) {
    const send = (/** @type {string} */ msgType, /** @type {object} */ content) => {
      const out = msg.createReply();
      out.header.msg_type = msgType;
      out.content = content;
      out.signAndSend(this.connInfo.key, this.iopub);
    };
    Object.defineProperty(msg.content, PUBLISH, { value: send });
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
            process.exit(0);
          }
        });
    }
  }
}

module.exports = { IpcJupyterHandler, IpcZmqServer, createExecutorConsole };
