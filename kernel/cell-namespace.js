// @ts-check
// The object that holds the cells' names (tslab's `exports`: a cell's compiled code reads and
// writes an earlier cell's `total` as `exports.total`, and its own top-level `let s` as
// `exports.s = s += i`), with writes that take V8's fast path.
//
// Why: tslab makes that object a Proxy with a defineProperty trap alone, so that a name a cell
// imported (which TypeScript exports through Object.defineProperty with a getter) becomes a
// plain value a later cell may assign. With no `set` trap, every `exports.x = v` runs the
// default [[Set]], which defines the property on the receiver (the Proxy) through that trap,
// and V8 takes its runtime's slow path for it: 0.87-0.90 µs a write on this host, against
// 0.045 µs through a `set` trap and 0.014-0.025 µs on a plain object (3M writes in a loop,
// Node 20). A cell `let s = 0; for (let i = 0; i < 3_000_000; i++) s += i;` took 2.27 s where
// ipykernel's took 0.16 s, and a student's timing loop that sums into a top-level `let` added
// ~0.9 µs to every microsecond-sized call it timed.
//
// What: tslab creates the Proxy inside createExecutor, out of reach. createExecutor is called
// here with a Proxy constructor that gives the handler it is handed a `set` trap, for that call
// only. The trap does what the default [[Set]] ends in for every property a cell writes (the
// target holds data properties only, since tslab's trap turns a getter into its value): it
// defines a data property through the handler's own defineProperty trap, so tslab's rules (it
// ignores __esModule) still decide, but from a call in JavaScript instead of V8's runtime.
//
// Invariants:
// - The global Proxy is the native one again when createExecutor returns or throws.
// - Only the objects tslab makes in that call get the trap; a handler that has its own `set`
//   keeps it. If tslab ever makes no Proxy there, the kernel says so in its log and runs as before.

/**
 * The handler with a `set` trap that defines the value as the default [[Set]] would, through
 * the handler's defineProperty trap. A handler without that trap (its writes are V8's fast path
 * already) or with a `set` of its own is returned as it is.
 * @param {ProxyHandler<any>} handler
 * @returns {ProxyHandler<any>}
 */
function withSetTrap(handler) {
  const define = handler.defineProperty;
  if (handler.set || !define) return handler;
  return {
    ...handler,
    set: (target, prop, value) =>
      define.call(handler, target, prop, { value, writable: true, enumerable: true, configurable: true }),
  };
}

/**
 * Runs `create` (tslab's createExecutor, bound to its arguments) with every Proxy it makes given
 * the `set` trap above, and returns what it returns.
 * @template T @param {() => T} create
 * @param {(message: string) => void} [log] told when no Proxy was made
 * @returns {T}
 */
function withPlainWrites(create, log = (message) => console.error(message)) {
  const NativeProxy = globalThis.Proxy;
  let made = 0;
  globalThis.Proxy = new NativeProxy(NativeProxy, {
    construct(_native, [target, handler]) {
      made++;
      return new NativeProxy(target, withSetTrap(handler));
    },
  });
  try {
    return create();
  } finally {
    globalThis.Proxy = NativeProxy;
    if (made === 0) log("tslab-ipc: tslab's executor made no Proxy for the cells' names; their writes stay slow");
  }
}

module.exports = { withPlainWrites };
