// Errors that carry a stable `code`, shaped like Node's lib/internal/errors.js: the code is the
// contract, the message may change. No koffi here, so every layer (handouts, the child bootstrap)
// can throw coded errors without loading the FFI.
//
// Codes the library uses besides errno names (those are IpcError, src/errors.ts):
//   ERR_INVALID_ARG_TYPE     TypeError   an argument of the wrong type
//   ERR_OUT_OF_RANGE         RangeError  a number outside its range
//   ERR_INVALID_ARG_VALUE    TypeError   the right type, a value we cannot use (RangeError:
//                                        ERR_INVALID_ARG_VALUE_RANGE, a value past a bound)
//   ERR_MISSING_OPTION       TypeError   a required option is absent
//   ERR_ILLEGAL_CONSTRUCTOR  TypeError   `new` on a class whose objects come from a call
//   ERR_NOT_AN_ARRAY         TypeError   a region indexed as C indexes a pointer (`data[0]`): its bytes are `.buffer[0]`
//   ERR_BUFFER_TOO_LARGE     RangeError  a region longer than one Buffer can be
//   ERR_CC_FAILED            Error       compileC: cc rejected the source (`status`, `stderr`)
//   ERR_TS_SYNTAX            SyntaxError runTs/spawnTs: the child's TypeScript does not parse
//   ERR_NOT_BUILT            Error       dist/ is missing: run `npm run build`
//   ERR_PACKAGE_ROOT         Error       no package.json of tslab-ipc above this file
//   ERR_MISSING_ARGS         Error       the child bootstrap started without a script
//   ERR_INVALID_NOTEBOOK     Error       a file that is not an nbformat 4 notebook
//   ERR_JUPYTER_FAILED       Error       a jupyter command (kernelspec, nbconvert) failed
//   ERR_LIBC_LAYOUT          Error       libc's struct layout is not the one we declared
//   ERR_NO_MOUNT             Error       fsInfo: no mount in /proc/self/mountinfo holds the path
//   ERR_PROC_FORMAT          Error       a /proc file in a form we do not read
//   ERR_INVALID_ASSIGNMENT   Error       an assignment notebook the grader cannot use
//   ERR_PDF_UNAVAILABLE      Error       no Chromium to print a PDF with
//   ERR_CHROMIUM_UNAVAILABLE Error       launchOfflineBrowser: no Chromium or playwright-core, or it did not start
//   ERR_USAGE                Error       a command line npm start, release or grade does not take
//   ERR_GRADER_SETUP         Error       the grader cannot run submissions where it is set up (TMPDIR)
//   ERR_FOREIGN_LINK         Error       a submission reached through a student's link to a file not theirs
//   ERR_SUBMISSION_CHANGED   Error       a submission's way (its links) changed while it was read
//   ERR_SUBMISSION_TOO_LARGE Error       a submission larger than the grader reads (limits.notebookBytes)
import { inspect } from "util";
import { captureCallerStack } from "./caller-stack";

// typeof names are written in lower case; capitalised names are classes.
const TYPEOF_NAMES = ["string", "function", "number", "object", "Function", "Object", "boolean", "bigint", "symbol"];
const CLASS_NAME = /^([A-Z][a-z0-9]*)+$/;

/** How a received value is shown: `type string ('4096')`, `an instance of Array`, `null`. */
export function determineSpecificType(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  switch (typeof value) {
    case "bigint":
      return `type bigint (${value}n)`;
    case "number":
      return `type number (${Object.is(value, -0) ? "-0" : String(value)})`;
    case "boolean":
      return `type boolean (${value})`;
    case "symbol":
      return `type symbol (${String(value)})`;
    case "function":
      return `function ${value.name}`;
    case "object": {
      const ctor = (value as object).constructor as { name?: unknown } | undefined;
      if (ctor && typeof ctor.name === "string" && ctor.name) return `an instance of ${ctor.name}`;
      return inspect(value, { depth: -1 });
    }
    case "string": {
      const shown = value.length > 28 ? `${value.slice(0, 25)}...` : value;
      return shown.includes("'") ? `type string (${JSON.stringify(shown)})` : `type string ('${shown}')`;
    }
    default:
      return `type ${typeof value} (${inspect(value, { colors: false })})`;
  }
}

/** `"size" argument` or `"options.size" property`: a dotted name is a property. */
function subject(name: string): string {
  if (name.endsWith(" argument")) return name;
  return `"${name}" ${name.includes(".") ? "property" : "argument"}`;
}

function listOf(items: string[], lead: string): string {
  if (items.length > 2) return `${lead}${items.slice(0, -1).join(", ")}, or ${items[items.length - 1]}`;
  return `${lead}${items.join(" or ")}`;
}

/** `of type number`, `one of type string or number`, `an instance of Buffer or Uint8Array`. */
function expectedText(expected: string | readonly string[]): string {
  const all = typeof expected === "string" ? [expected] : [...expected];
  const types: string[] = [];
  const instances: string[] = [];
  const other: string[] = [];
  for (const e of all) {
    if (TYPEOF_NAMES.includes(e)) types.push(e.toLowerCase());
    else if (CLASS_NAME.test(e)) instances.push(e);
    else other.push(e);
  }
  // "object" beside classes reads as one more class: "an instance of Buffer or Object".
  const objectAt = types.indexOf("object");
  if (instances.length > 0 && objectAt !== -1) {
    types.splice(objectAt, 1);
    instances.push("Object");
  }
  const parts: string[] = [];
  if (types.length > 0) parts.push(types.length === 1 ? `of type ${types[0]}` : listOf(types, "one of type "));
  if (instances.length > 0) parts.push(listOf(instances, "an instance of "));
  if (other.length > 0) parts.push(other.length === 1 ? other[0] : listOf(other, "one of "));
  return parts.join(" or ");
}

/** 4_294_967_296: Node's separators for integers past 2 ** 32. */
function withSeparators(digits: string): string {
  const sign = digits.startsWith("-") ? "-" : "";
  let rest = digits.slice(sign.length);
  let out = "";
  while (rest.length > 3) {
    out = `_${rest.slice(-3)}${out}`;
    rest = rest.slice(0, -3);
  }
  return `${sign}${rest}${out}`;
}

function receivedNumber(value: unknown): string {
  // Digits only: 1e+300 is an integer too, and keeps its exponent form.
  if (
    typeof value === "number" &&
    Number.isInteger(value) &&
    Math.abs(value) > 2 ** 32 &&
    /^-?\d+$/.test(String(value))
  ) {
    return withSeparators(String(value));
  }
  if (typeof value === "bigint") {
    const digits = String(value);
    return `${value > 2n ** 32n || value < -(2n ** 32n) ? withSeparators(digits) : digits}n`;
  }
  return inspect(value);
}

function receivedValue(value: unknown): string {
  const shown = inspect(value);
  return shown.length > 128 ? `${shown.slice(0, 128)}...` : shown;
}

type Coded<E extends Error> = E & { readonly code: string };
type CodedErrorConstructor<A extends unknown[], E extends Error> = new (...args: A) => Coded<E>;

/**
 * An error constructor for `code`: `new ERR_OUT_OF_RANGE(...)` makes a plain RangeError (as Node
 * does, so `constructor.name` is RangeError) with an own `code` and Node's `Name [CODE]: message`
 * string form.
 */
function coded<A extends unknown[], E extends Error>(
  code: string,
  Base: new (message: string) => E,
  message: (...args: A) => string,
): CodedErrorConstructor<A, E> {
  function CodedError(...args: A): Coded<E> {
    const err = new Base(message(...args));
    // Node's stack form `TypeError [ERR_INVALID_ARG_TYPE]: message`, from the call the user made.
    captureCallerStack(err, CodedError, `${err.name} [${code}]: ${err.message}`);
    Object.defineProperty(err, "toString", {
      value(this: Error) {
        return `${this.name} [${code}]: ${this.message}`;
      },
      enumerable: false,
      writable: true,
      configurable: true,
    });
    return Object.assign(err, { code });
  }
  Object.defineProperty(CodedError, "name", { value: code });
  return CodedError as unknown as CodedErrorConstructor<A, E>;
}

/**
 * `The "size" argument must be of type number. Received type string ('4096')`. `expected` holds
 * typeof names ("number"), class names ("Buffer") or phrases ("a Region").
 */
export const ERR_INVALID_ARG_TYPE = coded(
  "ERR_INVALID_ARG_TYPE",
  TypeError,
  (name: string, expected: string | readonly string[], actual: unknown) =>
    `The ${subject(name)} must be ${expectedText(expected)}. Received ${determineSpecificType(actual)}`,
);

/** `The value of "size" is out of range. It must be >= 1 && <= 4294967295. Received -1` */
export const ERR_OUT_OF_RANGE = coded(
  "ERR_OUT_OF_RANGE",
  RangeError,
  (name: string, range: string, received: unknown) =>
    `The value of "${name}" is out of range. It must be ${range}. Received ${receivedNumber(received)}`,
);

function invalidArgValueMessage(name: string, value: unknown, reason = "is invalid"): string {
  return `The ${name.includes(".") ? "property" : "argument"} '${name}' ${reason}. Received ${receivedValue(value)}`;
}

/** `The argument 'name' must not contain "..". Received '/a..b'`: the right type, a value we cannot use. */
export const ERR_INVALID_ARG_VALUE = coded("ERR_INVALID_ARG_VALUE", TypeError, invalidArgValueMessage);

/** ERR_INVALID_ARG_VALUE as a RangeError, for a value past a bound (Node registers the code with both classes). */
export const ERR_INVALID_ARG_VALUE_RANGE = coded("ERR_INVALID_ARG_VALUE", RangeError, invalidArgValueMessage);

/** `The "options.size" property is required` */
export const ERR_MISSING_OPTION = coded(
  "ERR_MISSING_OPTION",
  TypeError,
  (name: string) => `The ${subject(name)} is required`,
);

/** `Mapping objects come from shmat() or mmap(); they cannot be constructed` */
export const ERR_ILLEGAL_CONSTRUCTOR = coded("ERR_ILLEGAL_CONSTRUCTOR", TypeError, (message: string) => message);
export const ERR_NOT_AN_ARRAY = coded("ERR_NOT_AN_ARRAY", TypeError, (message: string) => message);

/**
 * Gives an error that is neither a bad argument nor a failed syscall its code (and fields such
 * as `status`, `stderr`), keeping its class and message: a compile failure stays an Error, a
 * child's parse failure a SyntaxError.
 */
export function withCode<E extends Error, F extends object = {}>(
  err: E,
  code: string,
  fields?: F,
): E & F & { code: string } {
  const coded = Object.assign(err, fields, { code });
  // As the coded errors above: Node's header, the stack from the call the user made.
  captureCallerStack(coded, withCode, `${err.name} [${code}]: ${err.message}`);
  return coded;
}
