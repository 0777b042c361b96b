// Wrong arguments of every kind, and a way to print any argument so a failing call can be read
// and replayed.

class FuzzCallbackError extends Error {
  constructor() {
    super("thrown on purpose by a fuzz callback");
    this.name = "FuzzCallbackError";
  }
}

const LONG = "x".repeat(70000); // longer than most regions: "strings longer than the memory"

/** Values that are wrong for almost every parameter: wrong types, NaN, negative, huge, fractional… */
function wildValues() {
  return [
    undefined,
    null,
    true,
    false,
    NaN,
    Infinity,
    -Infinity,
    -1,
    -0,
    0,
    1,
    0.5,
    1.5,
    -4096,
    3,
    7,
    4095,
    4097,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 32,
    2 ** 32 + 1,
    2 ** 53,
    -(2 ** 53),
    1e300,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    Number.MAX_SAFE_INTEGER,
    0xffffffff,
    -0x80000000,
    0n,
    1n,
    -1n,
    4096n,
    2n ** 64n,
    0x7fff00000000n,
    0x7fff00000001n,
    "",
    "0",
    "4096",
    "x",
    "a/b",
    "..",
    "\0",
    "é€😀",
    LONG,
    "-1",
    "NaN",
    Symbol("fuzz"),
    {},
    [],
    [1, 2, 3],
    { length: -1 },
    { size: -1 },
    { size: 2 ** 60 },
    new Date(0),
    /re/,
    Buffer.alloc(0),
    Buffer.alloc(16, 0x41),
    new Uint8Array(5),
    new Int32Array(3),
    new ArrayBuffer(8),
    new Map(),
    () => 0,
    function named() {},
    Promise.resolve(1),
  ];
}

function describeArg(v, names) {
  if (v === undefined) return "undefined";
  if (v === null) return "null";
  const t = typeof v;
  if (t === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (t === "bigint") return `${v}n`;
  if (t === "boolean") return String(v);
  if (t === "symbol") return "Symbol()";
  if (t === "string") return v.length > 40 ? `"${v.slice(0, 12)}…"(${v.length} chars)` : JSON.stringify(v);
  if (t === "function") return v.fuzzName || `function ${v.name || "anonymous"}`;
  const name = names?.get(v);
  if (name) return name;
  if (Buffer.isBuffer(v)) return `Buffer(${v.length})`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${/** @type {any} */ (v).length})`;
  if (Array.isArray(v))
    return `[${v
      .slice(0, 4)
      .map((x) => describeArg(x, names))
      .join(", ")}${v.length > 4 ? ", …" : ""}]`;
  if (v.constructor === Object) {
    const parts = Object.entries(v)
      .slice(0, 6)
      .map(([k, x]) => `${k}: ${describeArg(x, names)}`);
    return `{ ${parts.join(", ")} }`;
  }
  return v.constructor ? `<${v.constructor.name}>` : "<object>";
}

/** Callbacks handed to functions that take one (measure, sampleLatency, recordResidency, display publisher). */
function callbacks() {
  const ok = () => 1;
  ok.fuzzName = "() => 1";
  const thrower = () => {
    throw new FuzzCallbackError();
  };
  thrower.fuzzName = "() => { throw FuzzCallbackError }";
  const asyncFn = async () => 1;
  asyncFn.fuzzName = "async () => 1";
  return [ok, thrower, asyncFn];
}

module.exports = { wildValues, describeArg, callbacks, FuzzCallbackError, LONG };
