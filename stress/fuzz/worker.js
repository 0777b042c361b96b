// One fuzzing process: `node stress/fuzz/worker.js <seed> <calls> <progressFile>`, run with its
// cwd in a fresh folder. Makes `calls` calls chosen by the seeded PRNG, writes each call to the
// progress file before making it (so a crash leaves its reproducer there), and prints one JSON
// line with the counts. The parent checks how the process ended and what it left behind.

const fs = require("fs");
const path = require("path");
const { performance } = require("perf_hooks");
const { prng } = require("../prng");
const { World, targets } = require("./catalogue");
const { describeArg, FuzzCallbackError } = require("./values");
const { knownBugs } = require("./known");

const DIST = path.join(__dirname, "..", "..", "dist");
const lib = require(path.join(DIST, "index.js"));

/** Our argument errors carry Node's own ERR_* codes: the first stack frame says whose check threw. */
function thrownByLibrary(e) {
  const frame = String(e.stack || "")
    .split("\n")
    .find((line) => /^\s+at /.test(line));
  return frame?.includes(DIST + path.sep) ?? false;
}

// Errors the engine or an FFI layer raises when a bad value got past the argument checks: the
// class may be TypeError, but the message names no argument of ours, so it counts as a bug.
const ENGINE_MESSAGES = [
  /Cannot read propert/,
  /Cannot set propert/,
  /is not a function/,
  /is not iterable/,
  /Cannot convert/,
  /Cannot mix BigInt/,
  /is not a constructor/,
  /Cannot destructure/,
  /Invalid array length/,
  /Maximum call stack/,
  /Do not know how to serialize/,
  /Cannot create property/,
  /called on null or undefined/,
  /Reduce of empty array/,
  /Unexpected .* value, expected/,
  /Invalid typed array length/,
  /offset is out of bounds/,
  /Start offset .* is outside the bounds/,
  /Invalid atomic access index/,
  /Invalid time value/,
  /Invalid string length/,
  /Array buffer allocation failed/,
];

/** 'IpcError' | 'TypeError' | 'RangeError' | 'callback' | 'SyntaxError(documented)' | 'bug:<why>' */
function classify(e, target) {
  if (e instanceof FuzzCallbackError) return "callback"; // the user's callback threw: passed through, as it should be
  if (e instanceof lib.IpcError) {
    if (typeof e.code !== "string" || !e.code || !e.message.startsWith(e.code + ":"))
      return "bug:IpcError without code-prefixed message";
    return "IpcError";
  }
  if (e instanceof TypeError || e instanceof RangeError) {
    const { code } = /** @type {{ code?: unknown }} */ (e);
    const msg = String(e.message || "");
    if (msg.length < 10) return "bug:message too short";
    if (ENGINE_MESSAGES.some((re) => re.test(msg)) && !/The "[^"]+" (argument|property)|The value of "/.test(msg)) {
      return `bug:engine ${e.constructor.name}`;
    }
    // Node's own argument checks (fs, child_process): right class, but our checks missed it.
    if (typeof code === "string" && code.startsWith("ERR_") && !thrownByLibrary(e))
      return `${e.constructor.name}(node)`;
    return e.constructor.name;
  }
  if (e instanceof SyntaxError && /^(runTs|spawnTs)$/.test(target)) return "SyntaxError(documented)";
  // compileC documents "throws an Error with cc's diagnostics when the source does not compile".
  if (target === "compileC" && e instanceof Error && /^cc could not compile /.test(e.message))
    return "Error(documented)";
  // biome-ignore lint/complexity/useOptionalChain: e is anything thrown; for a falsy primitive (0, "", false) `e && …` keeps typeof's "number", where e?.constructor?.name would give "Number"
  return `bug:${(e && e.constructor && e.constructor.name) || typeof e}${e && e.code ? ` ${e.code}` : ""}`;
}

function withTimeout(promise, ms) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error(`no answer within ${ms} ms`), { fuzzTimeout: true })),
        ms,
      );
    }),
  ]);
}

async function main() {
  const [seedText, callsText, progressFile] = process.argv.slice(2);
  const seed = Number(seedText) >>> 0;
  const calls = Number(callsText);
  const rng = prng(seed);
  const dir = process.cwd();
  const avoid = new Set(
    knownBugs()
      .filter((k) => k.avoid)
      .map((k) => k.id),
  );
  const world = new World(lib, rng, dir, `tfz${seed.toString(36)}`, avoid);
  const all = targets(lib);
  const totalWeight = all.reduce((s, t) => s + t.weight, 0);
  const progress = fs.openSync(progressFile, "w");
  const counts = { calls: 0, ok: 0, errors: {}, byTarget: {} };
  /** @type {object[]} */
  const bugs = [];
  const pickTarget = () => {
    let x = rng.float() * totalWeight;
    for (const t of all) if ((x -= t.weight) < 0) return t;
    return all[all.length - 1];
  };

  for (let i = 0; i < calls; i++) {
    if (i % 50 === 0) world.replenish();
    const target = pickTarget();
    const call = target.run(world);
    // A method whose receiver does not exist yet (no lock made so far): choose another call.
    if (call.length > 1 && call[1] === null && /#|\.(size|length)$/.test(target.name)) {
      i--;
      continue;
    }
    const [fn, ...args] = call;
    while (args.length && args[args.length - 1] === undefined) args.pop();
    const text = `${target.name}(${args.map((a) => describeArg(a, world.names_)).join(", ")})`;
    fs.writeSync(progress, `${i} ${text}\n`);
    counts.calls++;
    const per = (counts.byTarget[target.name] ??= { calls: 0, ok: 0, ms: 0 });
    const t0 = performance.now();
    per.calls++;
    let outcome;
    try {
      let value = fn(...args);
      if (value && typeof value.then === "function") value = await withTimeout(value, 5000);
      world.adopt(value);
      outcome = "ok";
    } catch (caught) {
      const e = /** @type {any} */ (caught); // anything a call can throw, Error or not
      outcome = e?.fuzzTimeout ? "bug:async call never settled" : classify(e, target.name);
      if (outcome.startsWith("bug:") && bugs.length < 50) {
        bugs.push({
          call: i,
          target: target.name,
          text,
          outcome,
          // biome-ignore lint/complexity/useOptionalChain: e is anything thrown; a thrown null or 0 prints as "null"/"0" here, e?.name would print "undefined"
          error: `${e && e.name}: ${e && e.message}`.slice(0, 300),
          // biome-ignore lint/complexity/useOptionalChain: as above, String(null && …) is "null", String(null?.stack) "undefined"
          stack: String(e && e.stack)
            .split("\n")
            .slice(1, 4)
            .join(" | "),
        });
      }
    }
    per.ms += performance.now() - t0;
    if (outcome === "ok") {
      counts.ok++;
      per.ok++;
    } else counts.errors[outcome] = (counts.errors[outcome] ?? 0) + 1;
  }

  // Leave nothing: dispose what we hold (the registry removes what we created at exit too).
  for (const r of world.regions) r.detach ? r.detach() : r.unmap();
  for (const s of world.segments) {
    try {
      s[Symbol.dispose]();
    } catch {
      /* removed already */
    }
  }
  for (const p of world.posix) p[Symbol.dispose]();
  if (world.lockSegment) world.lockSegment[Symbol.dispose]();
  if (lib.killChildren) lib.killChildren();
  fs.closeSync(progress);
  // A call's promise that never settled may keep the event loop alive: end here (the 'exit'
  // handlers still remove what this process created).
  fs.writeSync(1, JSON.stringify({ seed, counts, bugs }) + "\n");
  process.exit(0);
}

main().catch((e) => {
  // biome-ignore lint/complexity/useOptionalChain: a rejection with null or 0 prints as "null"/"0"; e?.stack would print "undefined"
  process.stderr.write(`fuzz worker failed outside a fuzzed call: ${e && e.stack}\n`);
  process.exit(70);
});
