// MIME bundles: what a Jupyter output carries (one value, several representations).
//
// The convention (Deno's, which the kernel honours): any object with a
// `[Symbol.for("Jupyter.display")]()` method returning a bundle such as
// { "text/html": "...", "text/plain": "..." } (or { data, metadata }) is shown with that bundle.
import { inspect } from "util";

/** The well-known symbol an object implements to show itself in Jupyter. */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;

/** MIME type -> representation: a string, JSON (application/json, *+json) or bytes (images). */
export type MimeBundle = Record<string, unknown>;

/** A bundle with per-type metadata (e.g. { "image/png": { width: 400 } }), as Jupyter sends it. */
export interface DisplayData {
  data: MimeBundle;
  metadata: Record<string, unknown>;
}

/** Something that shows itself: returns a bundle or { data, metadata }. */
export interface Displayable {
  /** Returns what to show: a MIME bundle, or `{ data, metadata }`. */
  [JUPYTER_DISPLAY](): MimeBundle | DisplayData;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

/** Whether every key looks like a MIME type ("text/html"): a bare bundle. */
export function isMimeBundle(v: unknown): v is MimeBundle {
  if (!isObject(v) || Array.isArray(v) || Object.getPrototypeOf(v) !== Object.prototype) return false;
  const keys = Object.keys(v);
  return keys.length > 0 && keys.every((k) => /^[a-z]+\/[\w.+-]+$/i.test(k));
}

function isDisplayData(v: unknown): v is { data: MimeBundle; metadata?: Record<string, unknown> } {
  return isObject(v) && isMimeBundle(v.data) && (v.metadata === undefined || isObject(v.metadata));
}

/** Whether `value` implements the Jupyter.display symbol. */
export function hasDisplay(value: unknown): value is Displayable {
  return (
    (isObject(value) || typeof value === "function") &&
    typeof (value as Record<symbol, unknown>)[JUPYTER_DISPLAY] === "function"
  );
}

/**
 * Makes a bundle wire-ready: bytes become base64 (Jupyter's encoding for binary types), JSON
 * types stay objects, everything else becomes a string. text/plain is always present.
 */
function wire(data: MimeBundle, fallback: () => string): MimeBundle {
  const out: MimeBundle = {};
  for (const [type, value] of Object.entries(data)) {
    if (value === undefined) continue;
    if (value instanceof Uint8Array)
      out[type] = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
    else if (/json$/i.test(type)) out[type] = typeof value === "string" ? JSON.parse(value) : value;
    else out[type] = typeof value === "string" ? value : String(value);
  }
  if (!("text/plain" in out)) out["text/plain"] = fallback();
  return out;
}

/** text/plain for any value: what Node's REPL would print. */
export function plainText(value: unknown): string {
  return inspect(value, { depth: 4, maxArrayLength: 100, breakLength: 100 });
}

/**
 * The display data for `value`: its own bundle when it implements the Jupyter.display symbol;
 * with `acceptBundle`, the bundle itself when `value` is one (`{ "text/html": ... }` or
 * `{ data, metadata }`, what display() takes); else text/plain from util.inspect.
 */
export function displayDataOf(
  value: unknown,
  metadata: Record<string, unknown> = {},
  acceptBundle = true,
): DisplayData {
  const own = hasDisplay(value);
  if (own || acceptBundle) {
    const shown: unknown = own ? value[JUPYTER_DISPLAY]() : value;
    if (isDisplayData(shown)) {
      return { data: wire(shown.data, () => plainText(value)), metadata: { ...(shown.metadata ?? {}), ...metadata } };
    }
    if (isMimeBundle(shown)) return { data: wire(shown, () => plainText(value)), metadata };
  }
  return { data: { "text/plain": plainText(value) }, metadata };
}
