// @ts-check
// A cell's process.exit() does not end the kernel, as a cell's sys.exit() does not end IPython's:
// it throws where it was called, so the cell stops there with an error that says why, and every
// variable of the session is still there. The lecture's C ends its programs with exit(0) and
// exit(1) after perror, and a student writes process.exit(1) for it; the kernel died, the front
// end restarted it, and the session was gone (in a grader's run, every cell after it failed).
//
// Invariants:
// - process.exit is the kernel's: the guard replaces it once, and the kernel's own ways out
//   (shutdown_request, SIGTERM, a port it cannot bind) call exitKernel(), the real one.
// - The error is thrown, never swallowed: code that catches it (as Python code may catch
//   SystemExit) gets it; thrown from a timer after its cell, it is the cell's stray error.
// - process.exitCode, process.kill and process.abort are left alone.

const realExit = process.exit;

/** What a cell's process.exit(code) throws. */
class ProcessExitError extends Error {
  /** @param {unknown} code what process.exit was called with */
  constructor(code) {
    const called = `process.exit(${code === undefined ? "" : String(code)})`;
    super(
      `${called} would end the kernel, and every variable of this session with it: the cell stopped here instead. ` +
        "To start over, restart the kernel (Kernel > Restart).",
    );
    this.name = "ProcessExit";
    this.code = "ERR_KERNEL_EXIT";
    /** The code the cell asked to exit with. */
    this.exitCode = code;
  }
}

/** Replaces process.exit for the cells. Once; later calls change nothing. */
function guardExit() {
  if (process.exit !== realExit) return;
  /** @param {unknown} [code] @returns {never} */
  function exit(code) {
    const error = new ProcessExitError(code);
    Error.captureStackTrace(error, exit); // from the cell's line, not this function's
    throw error;
  }
  process.exit = /** @type {typeof process.exit} */ (exit);
}

/**
 * Ends the kernel with `code`: the kernel's own way out, past the guard.
 * @param {number} code @returns {never}
 */
function exitKernel(code) {
  return realExit.call(process, code);
}

module.exports = { guardExit, exitKernel, ProcessExitError };
