// Argument checks, shaped like Node's lib/internal/validators.js. Every public function calls
// them first, before any syscall, so a bad argument changes nothing; each throws one of Node's
// coded errors (src/codes.ts) with Node's message form. Each returns the value it checked, with
// its type narrowed, so a call site reads `const size = validateInteger(size_, "size", 1)`.
// No koffi here.
import { ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE, ERR_INVALID_ARG_VALUE_RANGE, ERR_OUT_OF_RANGE } from "./codes";

export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;
export const UINT32_MAX = 2 ** 32 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** An integer from `min` to `max` (a safe integer unless told otherwise). */
export function validateInteger(
  value: unknown,
  name: string,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== "number") throw new ERR_INVALID_ARG_TYPE(name, "number", value);
  if (!Number.isInteger(value)) throw new ERR_OUT_OF_RANGE(name, "an integer", value);
  if (value < min || value > max) throw new ERR_OUT_OF_RANGE(name, `>= ${min} && <= ${max}`, value);
  return value;
}

/** A C `int`: an integer from `min` to `max`, within -2 ** 31 .. 2 ** 31 - 1 by default. */
export function validateInt32(value: unknown, name: string, min = INT32_MIN, max = INT32_MAX): number {
  return validateInteger(value, name, min, max);
}

/** A C `unsigned int`; `positive` excludes 0. */
export function validateUint32(value: unknown, name: string, positive = false): number {
  return validateInteger(value, name, positive ? 1 : 0, UINT32_MAX);
}

/** Any number, NaN excluded, from `min` to `max` when given. */
export function validateNumber(value: unknown, name: string, min?: number, max?: number): number {
  if (typeof value !== "number") throw new ERR_INVALID_ARG_TYPE(name, "number", value);
  if (Number.isNaN(value) || (min !== undefined && value < min) || (max !== undefined && value > max)) {
    const range =
      min !== undefined && max !== undefined
        ? `>= ${min} && <= ${max}`
        : min !== undefined
          ? `>= ${min}`
          : max !== undefined
            ? `<= ${max}`
            : "a number";
    throw new ERR_OUT_OF_RANGE(name, range, value);
  }
  return value;
}

/** A C `int64_t` given as a bigint. */
export function validateBigInt64(value: unknown, name: string): bigint {
  if (typeof value !== "bigint") throw new ERR_INVALID_ARG_TYPE(name, "bigint", value);
  if (value < INT64_MIN || value > INT64_MAX)
    throw new ERR_OUT_OF_RANGE(name, ">= -(2n ** 63n) and < 2n ** 63n", value);
  return value;
}

export function validateString(value: unknown, name: string): string {
  if (typeof value !== "string") throw new ERR_INVALID_ARG_TYPE(name, "string", value);
  return value;
}

/** A string that goes to C (a path, a name): a NUL byte would silently cut it short there. */
export function validateCString(value: unknown, name: string): string {
  validateString(value, name);
  if ((value as string).includes("\0"))
    throw new ERR_INVALID_ARG_VALUE(name, value, "must be a string without null bytes");
  return value as string;
}

export function validateBoolean(value: unknown, name: string): boolean {
  if (typeof value !== "boolean") throw new ERR_INVALID_ARG_TYPE(name, "boolean", value);
  return value;
}

/** A bit mask with no bits outside `known`; `names` lists the flags for the message. */
export function validateFlags(value: unknown, name: string, known: number, names: string): number {
  const flags = validateInt32(value, name, 0);
  const unknown = flags & ~known;
  if (unknown !== 0) {
    throw new ERR_INVALID_ARG_VALUE_RANGE(
      name,
      flags,
      `has unknown bits 0x${unknown.toString(16)} (allowed: ${names})`,
    );
  }
  return flags;
}

/** One of a fixed set of values (strings shown quoted). */
export function validateOneOf<T>(value: unknown, name: string, oneOf: readonly T[]): T {
  if (!oneOf.includes(value as T)) {
    const allowed = oneOf.map((v) => (typeof v === "string" ? `'${v}'` : String(v))).join(", ");
    throw new ERR_INVALID_ARG_VALUE(name, value, `must be one of: ${allowed}`);
  }
  return value as T;
}

/** A plain object (not null, not an array). */
export function validateObject<T extends object = Record<string, unknown>>(value: unknown, name: string): T {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new ERR_INVALID_ARG_TYPE(name, "Object", value);
  return value as T;
}

/** An options bag: undefined means no options; otherwise an object. */
export function validateOptions<T extends object>(value: unknown, name = "options"): Partial<T> {
  if (value === undefined) return {};
  return validateObject<Partial<T>>(value, name);
}

export function validateFunction<F extends Function = (...args: never[]) => unknown>(value: unknown, name: string): F {
  if (typeof value !== "function") throw new ERR_INVALID_ARG_TYPE(name, "Function", value);
  return value as F;
}

/** An array of at least `minLength` items. */
export function validateArray<T = unknown>(value: unknown, name: string, minLength = 0): T[] {
  if (!Array.isArray(value)) throw new ERR_INVALID_ARG_TYPE(name, "Array", value);
  if (value.length < minLength) throw new ERR_INVALID_ARG_VALUE(name, value, `must be longer than ${minLength}`);
  return value as T[];
}

export function validateStringArray(value: unknown, name: string): string[] {
  const list = validateArray(value, name);
  for (const [i, item] of list.entries()) validateString(item, `${name}[${i}]`);
  return list as string[];
}

/**
 * Numbers to compute on or plot: an array or typed array (any array-like) of numbers, NaN
 * excluded. NaN has no order: sorted with the rest it would shift every percentile without a word.
 * Returns a copy as a plain array.
 */
export function validateNumberArray(value: unknown, name: string): number[] {
  if (value === null || typeof value !== "object" || typeof (value as ArrayLike<unknown>).length !== "number") {
    throw new ERR_INVALID_ARG_TYPE(name, "an array of numbers", value);
  }
  const list = Array.from(value as ArrayLike<unknown>);
  for (const [i, item] of list.entries()) validateNumber(item, `${name}[${i}]`);
  return list as number[];
}

/** Bytes: a Buffer or any Uint8Array. */
export function validateBuffer(value: unknown, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new ERR_INVALID_ARG_TYPE(name, ["Buffer", "Uint8Array"], value);
  return value;
}

/** An AbortSignal, or undefined. */
export function validateAbortSignal(value: unknown, name: string): AbortSignal | undefined {
  if (value !== undefined && (value === null || typeof value !== "object" || !("aborted" in value))) {
    throw new ERR_INVALID_ARG_TYPE(name, "AbortSignal", value);
  }
  return value as AbortSignal | undefined;
}
