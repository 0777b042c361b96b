// Names that are unique per run, so a re-run of a notebook or a second kernel on the same
// machine never collides with what an earlier run made (files, /dev/shm names, FIFOs).
import crypto from "crypto";
import { ERR_INVALID_ARG_VALUE_RANGE } from "../codes";
import { validateString } from "../validators";

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
  validateString(prefix, "prefix");
  if (!/^[A-Za-z0-9._-]*$/.test(prefix)) {
    throw new ERR_INVALID_ARG_VALUE_RANGE("prefix", prefix, 'may hold only letters, digits, ".", "_" and "-"');
  }
  counter += 1;
  const random = crypto.randomBytes(3).toString("hex");
  return `${prefix}-${process.pid}-${counter}-${random}`;
}
