// Putting a document into a print page: loaded fresh, or, when the page already holds a
// document with the same shell, by replacing its body.
//
// Why: nbconvert's pages all carry the same ~540 KB of JupyterLab's CSS in the same <head>. A
// fresh load parses it and builds its rule set again for every PDF; replacing the body keeps the
// parsed style sheets, and a print took ~0.5 s of Chromium's CPU instead of ~0.75-0.85 s here
// (bench/analysis.md, npm start).
//
// Invariants:
// - A swap gives the same PDF as a fresh load, byte for byte but for its dates: the shell (the
//   <head> but for its <title>, and the <body> tag) is compared as text, and the title is set.
// - A body with anything that loads, runs or draws by itself (a script, a frame, a link, media,
//   SVG, a canvas) is loaded fresh: innerHTML runs no script, and such content would differ.
// - Images are decoded before the load counts as done, as a fresh load waits for them.
// - The print layout (PRINT_CSS, print media, the A4 text width) is part of every document a
//   print page holds; media and viewport are page settings, set once per page.
import type { OfflinePage } from "../figures/chromium";

/** How a document got into the page: a fresh load, or its body swapped into the one there. */
export type PrintLoad = "loaded" | "swapped";

interface Shell {
  /** The <head> with its title's text left out, and the <body ...> tag: what a swap keeps. */
  key: string;
  /** Where the head ends (its "</head>"): the print CSS goes there. */
  headEnd: number;
  /** The title's source text (entities undecoded), or null when the head has no <title>. */
  title: string | null;
  body: string;
}

// What loads, runs or draws by itself (an element, or a CSS url()); a body with any of it is
// loaded fresh.
const ACTIVE =
  /<(?:script|iframe|frame|frameset|object|embed|link|meta|base|video|audio|source|picture|svg|math|canvas|template|noscript|input|portal)\b|url\s*\(/i;

/** The shell of an nbconvert page, or null when the text is not shaped like one (then it is loaded fresh). */
function shellOf(html: string): Shell | null {
  const headEnd = html.indexOf("</head>");
  if (headEnd < 0) return null;
  const bodyTag = /<body\b[^>]*>/i.exec(html.slice(headEnd));
  if (!bodyTag) return null;
  const bodyEnd = html.lastIndexOf("</body>");
  const bodyStart = headEnd + bodyTag.index + bodyTag[0].length;
  if (bodyEnd < bodyStart || !/^\s*<\/html>\s*$/i.test(html.slice(bodyEnd + "</body>".length))) return null;
  const body = html.slice(bodyStart, bodyEnd);
  if (ACTIVE.test(body)) return null;
  const head = html.slice(0, headEnd);
  const title = /<title>([\s\S]*?)<\/title>/i.exec(head);
  const untitled = title
    ? `${head.slice(0, title.index)}<title></title>${head.slice(title.index + title[0].length)}`
    : head;
  return { key: untitled + bodyTag[0], headEnd, title: title ? title[1] : null, body };
}

// The shell of the document each page holds (only documents loaded here; the rest load fresh).
const shells = new WeakMap<OfflinePage, string>();
// Pages whose media and viewport are set for printing.
const prepared = new WeakSet<OfflinePage>();

// The part of the page's document a swap uses: written against a minimal shape, since the DOM
// types are not in scope here.
type PrintDocument = {
  title: string;
  body: { innerHTML: string };
  images: ArrayLike<{ decode(): Promise<void> }>;
  fonts: { ready: Promise<unknown> };
  createElement(tag: "title"): { innerHTML: string; textContent: string };
};

/**
 * Loads `html` into `page` for printing with `printCss` at `widthPx`: by replacing the body of the
 * document there when its shell is the same, else fresh. Resolves when the page and its images
 * are ready to print.
 */
export async function loadForPrint(
  page: OfflinePage,
  html: string,
  printCss: string,
  widthPx: number,
): Promise<PrintLoad> {
  if (!prepared.has(page)) {
    await page.emulateMedia({ media: "print" });
    await page.setViewportSize({ width: widthPx, height: 1100 });
    prepared.add(page);
  }
  const shell = shellOf(html);
  if (shell && shells.get(page) === shell.key) {
    await page.evaluate(
      async ([title, body]) => {
        const document = (globalThis as unknown as { document: PrintDocument }).document;
        if (title !== null) {
          // Parsed as the parser reads a title (entities decoded, tags as text).
          const parsed = document.createElement("title");
          parsed.innerHTML = title;
          document.title = parsed.textContent;
        }
        document.body.innerHTML = body;
        await Promise.all(Array.from(document.images, (img) => img.decode().catch(() => undefined)));
        await document.fonts.ready;
      },
      [shell.title, shell.body] as const,
    );
    return "swapped";
  }
  // With a shell, the print CSS goes where addStyleTag would put it, last in the head, before the
  // body is laid out; without one, addStyleTag adds it after the load.
  const source = shell ? `${html.slice(0, shell.headEnd)}<style>${printCss}</style>${html.slice(shell.headEnd)}` : html;
  shells.delete(page);
  await page.setContent(source, { waitUntil: "load", timeout: 120000 });
  if (shell) shells.set(page, shell.key);
  else await page.addStyleTag({ content: printCss });
  return "loaded";
}
