// @ts-check
// What the kernel itself offers cells, beside the library: `input` (a line from the student,
// through Jupyter's stdin channel) and `clearOutput`. Cells reach them through one global
// (KERNEL_API); the prelude declares them with their types, so they need no import.

/** The global under which the kernel publishes its cell API. */
const KERNEL_API = Symbol.for("tslab-ipc.kernel");

/** What input() throws when the front end cannot answer (nbconvert, nbclient: allow_stdin false). */
class StdinNotImplementedError extends Error {
  constructor() {
    super(
      "input() was called, but this front end does not accept input (allow_stdin is false: nbconvert, nbclient, a handout run)",
    );
    this.name = "StdinNotImplementedError";
    this.code = "ERR_STDIN_NOT_ALLOWED";
  }
}

/** What a pending input() rejects with when the kernel is interrupted. */
class InterruptedInputError extends Error {
  constructor() {
    super("input() was interrupted");
    this.name = "Interrupted";
    this.code = "ERR_INPUT_INTERRUPTED";
  }
}

/**
 * The prelude's declarations of the cell API, appended to the library's import. tslab carries a
 * cell's declarations (and their doc comments) over to later cells.
 */
const CELL_API_DECLARATIONS = `
/**
 * Asks the student for one line of text, as Python's input() does: the front end shows a box
 * (Notebook) or a prompt (jupyter console) and the promise resolves to what was typed, without the
 * newline. \`{ password: true }\` hides the typing. Where the front end cannot answer (nbconvert,
 * nbclient, handouts), it throws StdinNotImplementedError at once; \`input.allowed\` says which
 * applies to the running cell. An interrupt cancels the wait.
 * @example const name = await input("your name: ");
 */
const input: ((prompt?: string, options?: { password?: boolean }) => Promise<string>) & { readonly allowed: boolean } =
  (globalThis as any)[Symbol.for("tslab-ipc.kernel")].input;
/**
 * Clears the cell's output, as IPython's clear_output: with \`wait\` true the front end clears
 * only when the next output arrives, so an animation does not flicker.
 * @example clearOutput(true); console.log(\`step \${i}\`);
 */
const clearOutput: (wait?: boolean) => void = (globalThis as any)[Symbol.for("tslab-ipc.kernel")].clearOutput;
`;

/**
 * Publishes the cell API.
 * @param {{ input(prompt: string, password: boolean): Promise<string>, stdinAllowed(): boolean, clearOutput(wait: boolean): void }} kernel
 */
function installCellApi(kernel) {
  const input = (/** @type {unknown} */ prompt = "", /** @type {{ password?: boolean }} */ options = {}) => {
    if (!kernel.stdinAllowed()) return Promise.reject(new StdinNotImplementedError());
    return kernel.input(String(prompt), Boolean(options?.password));
  };
  Object.defineProperty(input, "allowed", { get: () => kernel.stdinAllowed(), enumerable: true });
  const clearOutput = (/** @type {unknown} */ wait = false) => kernel.clearOutput(Boolean(wait));
  Object.defineProperty(globalThis, KERNEL_API, { value: Object.freeze({ input, clearOutput }), configurable: true });
}

module.exports = { KERNEL_API, CELL_API_DECLARATIONS, installCellApi, StdinNotImplementedError, InterruptedInputError };
