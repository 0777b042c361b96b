// The argument errors carry Node's codes and read exactly like Node's own: each case makes Node
// throw first and compares.
import { Buffer, constants as bufferConstants } from "buffer";
import fs from "fs";
import path from "path";
import {
  ERR_INVALID_ARG_TYPE,
  ERR_INVALID_ARG_VALUE,
  ERR_MISSING_OPTION,
  ERR_OUT_OF_RANGE,
  withCode,
} from "../src/codes";
import {
  validateAbortSignal,
  validateArray,
  validateBigInt64,
  validateBuffer,
  validateCString,
  validateFlags,
  validateFunction,
  validateInt32,
  validateInteger,
  validateOneOf,
  validateOptions,
  validateString,
  validateStringArray,
  validateUint32,
} from "../src/validators";

function thrown(call: () => unknown): Error & { code?: string } {
  try {
    call();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error("did not throw");
}

test("ERR_INVALID_ARG_TYPE reads like Node's", () => {
  const node = thrown(() => Buffer.alloc("4096" as never));
  const ours = thrown(() => validateInteger("4096", "size"));
  expect(ours.message).toBe(`The "size" argument must be of type number. Received type string ('4096')`);
  expect(ours).toBeInstanceOf(TypeError);
  expect({ code: ours.code, message: ours.message }).toEqual({ code: node.code, message: node.message });
  const cb = thrown(() => setTimeout("x" as never));
  expect(thrown(() => validateFunction("x", "callback")).message).toBe(cb.message);
  const list = thrown(() => Buffer.concat([1 as never]));
  expect(thrown(() => validateBuffer(1, "list[0]")).message).toBe(list.message);
  expect(String(ours)).toBe(`TypeError [ERR_INVALID_ARG_TYPE]: ${ours.message}`);
});

test("ERR_OUT_OF_RANGE reads like Node's", () => {
  const node = thrown(() => Buffer.alloc(-1));
  const ours = thrown(() => validateInteger(-1, "size", 0, bufferConstants.MAX_LENGTH));
  expect(ours).toBeInstanceOf(RangeError);
  expect({ code: ours.code, message: ours.message }).toEqual({ code: node.code, message: node.message });
  expect(thrown(() => validateUint32(-1, "size", true)).message).toBe(
    `The value of "size" is out of range. It must be >= 1 && <= 4294967295. Received -1`,
  );
  expect(thrown(() => validateInt32(1.5, "fd")).message).toBe(
    `The value of "fd" is out of range. It must be an integer. Received 1.5`,
  );
  expect(thrown(() => validateInteger(2 ** 40, "n", 0, 10)).message).toMatch(/Received 1_099_511_627_776$/);
  expect(thrown(() => validateInteger(1e300, "n", 0, 10)).message).toMatch(/Received 1e\+300$/);
  expect(thrown(() => validateBigInt64(2n ** 63n, "value")).message).toBe(
    `The value of "value" is out of range. It must be >= -(2n ** 63n) and < 2n ** 63n. Received 9_223_372_036_854_775_808n`,
  );
});

test("ERR_INVALID_ARG_VALUE reads like Node's", () => {
  const node = thrown(() => fs.openSync("a\0b", "r"));
  const ours = new ERR_INVALID_ARG_VALUE("path", "a\0b", "must be a string, Uint8Array, or URL without null bytes");
  expect({ code: ours.code, message: ours.message }).toEqual({ code: node.code, message: node.message });
  expect(thrown(() => validateCString("a\0b", "name"))).toMatchObject({
    code: "ERR_INVALID_ARG_VALUE",
    name: "TypeError",
  });
  expect(thrown(() => validateOneOf("s", "unit", ["ns", "us", "ms"])).message).toBe(
    `The argument 'unit' must be one of: 'ns', 'us', 'ms'. Received 's'`,
  );
  const flags = thrown(() => validateFlags(0x100, "flags", 0xff, "A | B"));
  expect(flags).toBeInstanceOf(RangeError);
  expect(flags).toMatchObject({
    code: "ERR_INVALID_ARG_VALUE",
    message: `The argument 'flags' has unknown bits 0x100 (allowed: A | B). Received 256`,
  });
  expect(thrown(() => validateArray([], "z", 1)).message).toBe(`The argument 'z' must be longer than 1. Received []`);
});

test("a dotted name is a property, and the values of a received type are shown as Node shows them", () => {
  expect(thrown(() => validateString(null, "options.label")).message).toBe(
    `The "options.label" property must be of type string. Received null`,
  );
  expect(thrown(() => validateOptions(null)).message).toBe(
    `The "options" argument must be of type object. Received null`,
  );
  expect(thrown(() => validateOptions([])).message).toBe(
    `The "options" argument must be of type object. Received an instance of Array`,
  );
  expect(thrown(() => validateStringArray(["a", 2], "args")).message).toBe(
    `The "args[1]" argument must be of type string. Received type number (2)`,
  );
  expect(thrown(() => validateString(function named() {}, "x")).message).toMatch(/Received function named$/);
  expect(thrown(() => validateInteger("it's", "x")).message).toMatch(/Received type string \("it's"\)$/);
  expect(thrown(() => validateInteger("y".repeat(40), "x")).message).toMatch(/Received type string \('y{25}\.\.\.'\)$/);
  expect(thrown(() => validateString(Object.create(null), "x")).message).toMatch(
    /Received \[Object: null prototype\] \{\}$/,
  );
  expect(thrown(() => validateAbortSignal({}, "options.signal")).message).toBe(
    `The "options.signal" property must be an instance of AbortSignal. Received an instance of Object`,
  );
  expect(validateAbortSignal(undefined, "signal")).toBeUndefined();
  expect(validateOptions(undefined)).toEqual({});
  expect(new ERR_MISSING_OPTION("options.size").message).toBe(`The "options.size" property is required`);
  expect(new ERR_INVALID_ARG_TYPE("region", ["Buffer", "Object", "number", "string"], 1).message).toBe(
    `The "region" argument must be one of type number or string or an instance of Buffer or Object. Received type number (1)`,
  );
});

test("withCode keeps the class and the message, and adds the code and fields", () => {
  const e = withCode(new SyntaxError("bad"), "ERR_TS_SYNTAX", { file: "child.ts" });
  expect(e).toBeInstanceOf(SyntaxError);
  expect(e).toMatchObject({ message: "bad", code: "ERR_TS_SYNTAX", file: "child.ts" });
  expect(ERR_OUT_OF_RANGE.name).toBe("ERR_OUT_OF_RANGE");
  // As in Node, a coded error is a plain TypeError/RangeError: only `code` tells them apart.
  expect(new ERR_OUT_OF_RANGE("x", "an integer", 1.5).constructor).toBe(RangeError);
  expect(Object.keys(new ERR_INVALID_ARG_TYPE("x", "number", "1"))).toEqual(["code"]);
});

test("every error src/ throws carries a code: no bare Error, TypeError or RangeError", () => {
  const bare: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (file.endsWith(".ts")) {
        fs.readFileSync(file, "utf8")
          .split("\n")
          .forEach((line, i) => {
            // Not inside a string: a notebook's stub may say throw new Error("not implemented").
            if (/(?<!['"`])\bthrow new (Type|Range|Syntax)?Error\(/.test(line))
              bare.push(`${path.relative(process.cwd(), file)}:${i + 1}`);
          });
      }
    }
  };
  walk(path.join(__dirname, "..", "src"));
  expect(bare).toEqual([]);
});
