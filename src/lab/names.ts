// Names that are unique per run, so a re-run of a notebook or a second kernel on the same
// machine never collides with what an earlier run made (files, /dev/shm names, FIFOs).
import crypto from "crypto";

let counter = 0;

/**
 * `prefix-<pid>-<n>-<random>`: unique within this process (the counter), across live
 * processes (the pid) and across runs that reuse a pid (the random part).
 * Safe as a file name and as a POSIX shm name after a leading "/".
 *
 *   uniqueName("shmdemo")  // "shmdemo-4242-1-9f3a1c"
 *
 * @example
 * {@includeCode ../../docs/examples/uniqueName.ts}
 */
export function uniqueName(prefix: string): string {
  if (typeof prefix !== "string") {
    throw new TypeError(`The "prefix" argument must be of type string. Received ${typeof prefix}`);
  }
  if (!/^[A-Za-z0-9._-]*$/.test(prefix)) {
    throw new RangeError(`The "prefix" argument may hold only letters, digits, ".", "_" and "-". Received ${JSON.stringify(prefix)}`);
  }
  counter += 1;
  const random = crypto.randomBytes(3).toString("hex");
  return `${prefix}-${process.pid}-${counter}-${random}`;
}
