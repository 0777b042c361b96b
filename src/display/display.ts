// display(): show a value or a MIME bundle as ONE Jupyter output with all its types.
//
// The kernel installs the publisher (a function that sends display_data); the slot is on a
// global symbol so that every copy of this library loaded in the kernel process reaches the
// same kernel. Outside a kernel, display() prints the text/plain representation.
import { cellEnded } from "./lifecycle";
import { ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE } from "../codes";
import { validateFunction, validateObject, validateString } from "../validators";
import { displayDataOf, type DisplayData } from "./mime";

/** Sends one display_data (or update_display_data when `update`). */
export type DisplayPublisher = (output: DisplayData & { transient?: { display_id?: string } }, update: boolean) => void;

const PUBLISHER = Symbol.for("tslab-ipc.display.publisher");

interface PublisherSlot {
  [PUBLISHER]?: DisplayPublisher;
}

/** Called by the kernel: where display() sends its outputs (undefined to stop). */
export function setDisplayPublisher(publisher: DisplayPublisher | undefined): void {
  if (publisher !== undefined) validateFunction(publisher, "publisher");
  // A new publisher means the cell that owned the old one is over: its live displays end now,
  // through the old publisher (for a kernel that does not call cellEnded() itself).
  const old = (globalThis as PublisherSlot)[PUBLISHER];
  if (old !== undefined && old !== publisher) cellEnded();
  (globalThis as PublisherSlot)[PUBLISHER] = publisher;
}

/** Metadata and the display id of one output. */
export interface DisplayOptions {
  /** Per-type metadata, e.g. { "image/png": { width: 320 } }. */
  metadata?: Record<string, unknown>;
  /** Give an id to replace this output later with `display(value, { displayId, update: true })`. */
  displayId?: string;
  /** Replace the output shown earlier under `displayId` (update_display_data) instead of adding one. */
  update?: boolean;
}

/**
 * Shows `value` in the current cell as one output: a bundle such as
 * `{ "text/html": "<b>hi</b>", "text/plain": "hi" }`, `{ data, metadata }`, an object with a
 * `[Symbol.for("Jupyter.display")]()` method, or any value (shown as text/plain).
 */
function show(value: unknown, options: DisplayOptions = {}): void {
  validateObject(options, "options");
  const out: DisplayData & { transient?: { display_id?: string } } = displayDataOf(value, options.metadata ?? {});
  if (options.displayId !== undefined) out.transient = { display_id: String(options.displayId) };
  const publish = (globalThis as PublisherSlot)[PUBLISHER];
  if (publish) {
    publish(out, options.update === true);
  } else {
    process.stdout.write(String(out.data["text/plain"]) + "\n");
  }
}

/** Whether display() reaches a notebook (a kernel installed its publisher) rather than stdout. */
export function hasDisplayPublisher(): boolean {
  return (globalThis as PublisherSlot)[PUBLISHER] !== undefined;
}

/** A MIME type as Jupyter keys a bundle by it: "text/html", "application/vnd.plotly.v1+json". */
const MIME_TYPE = /^[\w.+-]+\/[\w.+-]+$/;

/**
 * One output of one type: `content` is text, or bytes (sent as base64). Anything else was sent
 * as it was (`display.html(123)`, a PNG of the string "not bytes") for the front end to fail on.
 */
function showOne(type: string, content: string | Uint8Array): void {
  if (typeof content !== "string" && !(content instanceof Uint8Array)) {
    throw new ERR_INVALID_ARG_TYPE("content", ["string", "Uint8Array"], content);
  }
  show({ [type]: content });
}

/** One MIME type, tslab's style: display.html("<b>hi</b>"), display.png(bytes). */
function one(type: string) {
  return (content: string | Uint8Array): void => showOne(type, content);
}

/** display(value | bundle, options?) plus tslab's one-type shortcuts (display.html, display.png, ...). */
export const display = Object.assign(show, {
  /** Shows HTML as one output. */
  html: one("text/html"),
  /** Shows Markdown as one output. */
  markdown: one("text/markdown"),
  /** Shows LaTeX as one output. */
  latex: one("text/latex"),
  /** Shows an SVG image as one output. */
  svg: one("image/svg+xml"),
  /** Shows a PNG image (bytes) as one output. */
  png: one("image/png"),
  /** Shows a JPEG image (bytes) as one output. */
  jpeg: one("image/jpeg"),
  /** Shows a GIF image (bytes) as one output. */
  gif: one("image/gif"),
  /** Shows a PDF document (bytes) as one output. */
  pdf: one("application/pdf"),
  /** Shows JavaScript the front end runs as one output. */
  javascript: one("application/javascript"),
  /** Shows plain text as one output. */
  text: one("text/plain"),
  /** Any one type: display.raw("text/csv", "a,b"). */
  raw: (type: string, content: string | Uint8Array): void => {
    if (!MIME_TYPE.test(validateString(type, "type"))) {
      throw new ERR_INVALID_ARG_VALUE("type", type, 'is not a MIME type ("text/csv")');
    }
    showOne(type, content);
  },
});
